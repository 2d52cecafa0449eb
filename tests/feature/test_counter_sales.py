"""POST /api/counter/sales: selling at the counter, by weight and by the piece."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Lot, SaleLine, StockMovement
from tests.factories import receive, sale
from tests.probes import counts, movements_explain_stock, on_hand


@pytest.fixture
def shelf(app, goods, clerk):
    """Two shrimp lots (the sooner best-before from 符, at 80 %) and paste from 王."""
    return {
        "late": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=200),
        "soon": receive(clerk, goods["shrimp"], goods["fu"], 300, days=30, share_bp=8000),
        "paste": receive(clerk, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=12000),
    }


def test_a_sale_draws_the_soonest_lot_first_and_splits_the_amount_exactly(app, goods, shelf, clerk):
    response = clerk.post("/api/counter/sales", json=sale(goods))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    shrimp, paste = body["lines"]
    assert shrimp["amount_fen"] == 6800 and paste["amount_fen"] == 3600
    assert body["total_fen"] == 10400
    assert [(d["lot_id"], d["quantity"]) for d in shrimp["draws"]] == [(shelf["soon"], 300), (shelf["late"], 200)]
    assert [d["amount_fen"] for d in shrimp["draws"]] == [4080, 2720]
    assert [d["credit_fen"] for d in shrimp["draws"]] == [3264, 2448]
    # The paste was bought outright: its household was paid at intake, so the sale credits nothing.
    assert [(d["quantity"], d["credit_fen"]) for d in paste["draws"]] == [(2, 0)]
    assert (on_hand(app, shelf["soon"]), on_hand(app, shelf["late"]), on_hand(app, shelf["paste"])) == (0, 800, 8)


def test_every_sale_is_a_movement_that_explains_the_stock_left(app, goods, shelf, clerk):
    clerk.post("/api/counter/sales", json=sale(goods))
    with app.app_context():
        kinds = db.session.scalars(sa.select(StockMovement.kind).order_by(StockMovement.id)).all()
    assert [k.value for k in kinds] == ["receipt"] * 3 + ["sale"] * 3
    assert movements_explain_stock(app)


def test_the_same_sale_sent_five_times_is_recorded_once(app, goods, shelf, clerk):
    first = clerk.post("/api/counter/sales", json=sale(goods))
    replays = [clerk.post("/api/counter/sales", json=sale(goods)) for _ in range(4)]
    assert first.status_code == 201
    assert [r.status_code for r in replays] == [200] * 4
    assert all(r.get_json() == first.get_json() for r in replays)
    assert counts(app)[:3] == (1, 2, 3)
    assert on_hand(app, shelf["late"]) == 800


def test_a_key_reused_for_a_different_basket_is_refused_and_records_nothing(app, goods, shelf, clerk):
    clerk.post("/api/counter/sales", json=sale(goods))
    before = counts(app)
    other = sale(goods, lines=[{"product_id": goods["paste"], "quantity": 1}])
    response = clerk.post("/api/counter/sales", json=other)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert counts(app) == before


def test_too_little_stock_is_409_and_not_even_the_lines_that_fit_are_sold(app, goods, shelf, clerk):
    before = counts(app)
    body = sale(
        goods, lines=[{"product_id": goods["paste"], "quantity": 1}, {"product_id": goods["shrimp"], "quantity": 1301}]
    )
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "out_of_stock" and "lines.1.quantity" in error["fields"]
    assert counts(app) == before
    assert (on_hand(app, shelf["paste"]), on_hand(app, shelf["late"]), on_hand(app, shelf["soon"])) == (10, 1000, 300)


def test_two_lines_of_one_product_draw_from_the_shelf_in_turn(app, goods, shelf, clerk):
    body = sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 250}] * 2)
    lines = clerk.post("/api/counter/sales", json=body).get_json()["lines"]
    assert [(d["lot_id"], d["quantity"]) for d in lines[0]["draws"]] == [(shelf["soon"], 250)]
    assert [(d["lot_id"], d["quantity"]) for d in lines[1]["draws"]] == [(shelf["soon"], 50), (shelf["late"], 200)]


def test_goods_past_their_best_before_are_not_sold(app, goods, shelf, clerk):
    with app.app_context():
        db.session.get(Lot, shelf["soon"]).best_before = business_today() - timedelta(days=1)
        db.session.commit()
    body = sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 1001}])
    assert clerk.post("/api/counter/sales", json=body).status_code == 409
    body = sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 100}])
    draws = clerk.post("/api/counter/sales", json=body).get_json()["lines"][0]["draws"]
    assert [d["lot_id"] for d in draws] == [shelf["late"]]


def test_a_clerk_sells_only_from_their_own_counters_lots(app, goods, shelf, as_role):
    response = as_role("clerk2").post("/api/counter/sales", json=sale(goods))
    assert response.status_code == 409
    assert counts(app)[0] == 0


def test_cash_handed_over_gives_change_and_too_little_cash_is_refused(app, goods, shelf, clerk):
    short = clerk.post("/api/counter/sales", json=sale(goods, key="till-short", tendered_fen=10000))
    assert short.status_code == 422 and "tendered_fen" in short.get_json()["error"]["fields"]
    assert counts(app)[0] == 0
    paid = clerk.post("/api/counter/sales", json=sale(goods, tendered_fen=20000)).get_json()
    assert (paid["total_fen"], paid["change_fen"]) == (10400, 9600)


def test_only_cash_is_handed_over(app, goods, shelf, clerk):
    body = sale(goods, payment_method="wechat_qr", tendered_fen=20000)
    assert clerk.post("/api/counter/sales", json=body).status_code == 422
    assert counts(app)[0] == 0


def test_a_sale_keeps_its_price_when_the_shelf_price_changes_later(app, goods, shelf, clerk):
    from shop.models import Product

    sale_id = clerk.post("/api/counter/sales", json=sale(goods)).get_json()["id"]
    with app.app_context():
        db.session.get(Product, goods["shrimp"]).price_fen = 9900
        db.session.commit()
    body = clerk.get(f"/api/counter/sales/{sale_id}").get_json()
    assert body["lines"][0]["amount_fen"] == 6800 and body["total_fen"] == 10400
    with app.app_context():
        line = db.session.scalars(sa.select(SaleLine).where(SaleLine.sale_id == sale_id)).first()
        assert (line.price_fen, line.product_name) == (6800, "虾干")


def test_a_product_taken_off_sale_cannot_be_sold(app, goods, shelf, clerk):
    from shop.models import Product

    with app.app_context():
        db.session.get(Product, goods["paste"]).active = False
        db.session.commit()
    response = clerk.post("/api/counter/sales", json=sale(goods))
    assert response.status_code == 422 and "lines.1.product_id" in response.get_json()["error"]["fields"]
    assert counts(app)[0] == 0


@pytest.mark.parametrize("who, status", [(None, 401), ("officer", 403), ("county", 403), ("admin", 201)])
def test_only_clerks_and_the_manager_sell(app, goods, shelf, api, as_role, who, status):
    client = as_role(who) if who else api
    assert client.post("/api/counter/sales", json=sale(goods)).status_code == status


def test_a_sale_without_the_csrf_token_is_refused(app, goods, shelf, clerk):
    assert clerk.post("/api/counter/sales", json=sale(goods), csrf=False).status_code == 400
    assert counts(app)[0] == 0


def line(product_id, quantity):
    return [{"product_id": product_id, "quantity": quantity}]


HOSTILE = {
    "negative quantity": lambda g: sale(g, lines=line(g["shrimp"], -500)),
    "zero quantity": lambda g: sale(g, lines=line(g["shrimp"], 0)),
    "fractional quantity": lambda g: sale(g, lines=line(g["shrimp"], 250.5)),
    "float that looks whole": lambda g: sale(g, lines=line(g["shrimp"], 250.0)),
    "huge quantity": lambda g: sale(g, lines=line(g["shrimp"], 10**30)),
    "quantity as text": lambda g: sale(g, lines=line(g["shrimp"], "500")),
    "quantity null": lambda g: sale(g, lines=line(g["shrimp"], None)),
    "boolean quantity": lambda g: sale(g, lines=line(g["shrimp"], True)),
    "unknown product": lambda g: sale(g, lines=line(999_999, 100)),
    "product id too big": lambda g: sale(g, lines=line(2**63, 100)),
    "product id as text": lambda g: sale(g, lines=line("1 OR 1=1", 100)),
    "missing quantity": lambda g: sale(g, lines=[{"product_id": g["shrimp"]}]),
    "extra field in line": lambda g: sale(g, lines=[{"product_id": g["shrimp"], "quantity": 5, "price_fen": 1}]),
    "client total": lambda g: {**sale(g), "total_fen": 1},
    "no lines": lambda g: sale(g, lines=[]),
    "lines not a list": lambda g: sale(g, lines={"product_id": g["shrimp"], "quantity": 5}),
    "too many lines": lambda g: sale(g, lines=line(g["paste"], 1) * 51),
    "missing key": lambda g: {k: v for k, v in sale(g).items() if k != "idempotency_key"},
    "short key": lambda g: sale(g, key="abc"),
    "key with spaces": lambda g: sale(g, key="till 1 sale 2"),
    "key too long": lambda g: sale(g, key="k" * 65),
    "key as number": lambda g: sale(g, key=12345678),
    "unknown payment method": lambda g: sale(g, payment_method="bitcoin"),
    "online payment at the till": lambda g: sale(g, payment_method="stripe"),
    "script in key": lambda g: sale(g, key="<script>alert(1)</script>"),
    "negative tendered": lambda g: sale(g, tendered_fen=-1),
    "body is a list": lambda g: [sale(g)],
    "body is a string": lambda g: "sell me shrimp",
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_or_clumsy_sales_get_a_4xx_and_change_nothing(app, goods, shelf, clerk, case):
    before = counts(app)
    response = clerk.post("/api/counter/sales", json=HOSTILE[case](goods))
    assert 400 <= response.status_code < 500, response.get_json()
    assert "error" in response.get_json()
    assert counts(app) == before
    assert on_hand(app, shelf["late"]) == 1000


def test_a_body_that_is_not_json_is_refused(app, goods, shelf, clerk):
    headers = {"X-CSRFToken": clerk.token or clerk.refresh_token()}
    malformed = clerk.client.post(
        "/api/counter/sales", data='{"lines": [', headers=headers, content_type="application/json"
    )
    form = clerk.client.post("/api/counter/sales", data={"lines": "x"}, headers=headers)
    assert (malformed.status_code, form.status_code) == (422, 415)
    assert counts(app)[0] == 0


def test_an_oversized_body_is_refused(app, goods, shelf, clerk):
    body = sale(goods, padding="x" * (2 * 1024 * 1024))
    assert clerk.post("/api/counter/sales", json=body).status_code == 413
    assert counts(app)[0] == 0
