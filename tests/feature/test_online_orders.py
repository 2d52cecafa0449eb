"""POST/GET /api/orders without Stripe: reservations, pay at pickup, lapsing holds, and races for the last stock."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today, now_utc
from shop.extensions import db
from shop.models import Order, Reservation, Sale
from tests.concurrency import run_together
from tests.factories import receive
from tests.probes import on_hand


@pytest.fixture
def shelf(app, goods, as_role):
    clerk = as_role("clerk")
    return {
        "clerk": clerk,
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000),
        "paste": receive(clerk, goods["paste"], goods["fu"], 3),
    }


def body(goods, lines=None, **changes):
    order = {
        "lines": [{"product_id": goods["shrimp"], "quantity": 250}, {"product_id": goods["paste"], "quantity": 1}]
        if lines is None
        else lines,
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    return {**order, **changes}


def available(api, product_id) -> int:
    return next(p for p in api.get("/api/products").get_json() if p["id"] == product_id)["available"]


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Order.id)))


def test_a_pay_at_pickup_order_holds_its_stock_until_the_buyer_comes(app, api, goods, shelf):
    response = api.post("/api/orders", json=body(goods))
    assert response.status_code == 201
    placed = response.get_json()
    assert placed["total_fen"] == 3400 + 1800 and placed["status"] == "awaiting_payment"
    assert "stripe" not in placed and placed["number"].startswith("W")
    assert (available(api, goods["shrimp"]), available(api, goods["paste"])) == (750, 2)
    # Held, not sold: nothing left the shelf.
    assert on_hand(app, shelf["shrimp"]) == 1000
    shown = api.get(f"/api/orders/{placed['token']}").get_json()
    assert shown["contact"] == {"name": "林女士", "phone_masked": "138****5678"}
    assert [line["quantity"] for line in shown["lines"]] == [250, 1]


def test_the_server_prices_the_order_and_refuses_a_price_from_the_buyer(app, api, goods, shelf):
    tampered = body(goods, lines=[{"product_id": goods["shrimp"], "quantity": 500, "price_fen": 1}])
    assert api.post("/api/orders", json=tampered).status_code == 422
    assert api.post("/api/orders", json={**body(goods), "total_fen": 1}).status_code == 422
    assert order_count(app) == 0


def test_stock_held_for_an_order_is_not_sold_at_the_counter(app, api, goods, shelf):
    api.post("/api/orders", json=body(goods, lines=[{"product_id": goods["paste"], "quantity": 3}]))
    sale = {
        "idempotency_key": "till-after-order",
        "payment_method": "cash",
        "lines": [{"product_id": goods["paste"], "quantity": 1}],
    }
    assert shelf["clerk"].post("/api/counter/sales", json=sale).status_code == 409


def test_a_lapsed_hold_frees_the_stock_at_once_and_the_command_records_it(app, api, goods, shelf):
    placed = api.post("/api/orders", json=body(goods)).get_json()
    with app.app_context():
        db.session.get(Order, placed["id"]).expires_at = now_utc() - timedelta(seconds=1)
        db.session.commit()
    assert available(api, goods["paste"]) == 3
    assert api.get(f"/api/orders/{placed['token']}").get_json()["status"] == "expired"
    result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert result.exit_code == 0 and "Expired 1" in result.output
    with app.app_context():
        assert db.session.get(Order, placed["id"]).status.value == "expired"


def test_collecting_at_the_counter_turns_the_order_into_a_sale_once(app, api, goods, shelf):
    from shop.models import PaymentMethod, User
    from shop.selling import orders

    placed = api.post("/api/orders", json=body(goods)).get_json()
    with app.app_context():
        clerk = db.session.scalars(sa.select(User).where(User.username == "clerk")).one()
        args = dict(order_id=placed["id"], method=PaymentMethod.CASH, today=business_today(), by=clerk, collected=True)
        first = orders.pay_order(**args).id
        again = orders.pay_order(**args).id
        assert first == again
        assert db.session.scalar(sa.select(sa.func.count(Sale.id))) == 1
        assert db.session.get(Order, placed["id"]).status.value == "collected"
    assert (on_hand(app, shelf["shrimp"]), on_hand(app, shelf["paste"])) == (750, 2)
    assert api.get(f"/api/orders/{placed['token']}").get_json()["status"] == "collected"


def test_paying_online_is_refused_when_stripe_is_not_configured(app, api, goods, shelf):
    response = api.post("/api/orders", json=body(goods, payment="stripe"))
    assert response.status_code == 422 and "payment" in response.get_json()["error"]["fields"]
    assert order_count(app) == 0


def test_an_unknown_order_token_is_404(app, api):
    assert api.get("/api/orders/not-a-real-token").status_code == 404


HOSTILE = {
    "delivery without address": {"fulfilment": "delivery", "payment": "stripe"},
    "pay at pickup for a delivery": {"fulfilment": "delivery", "address": "海口市", "payment": "pay_at_pickup"},
    "bad phone": {"contact": {"name": "林", "phone": "12345"}},
    "full-width phone": {"contact": {"name": "林", "phone": "１３８１２３４５６７８"}},
    "no name": {"contact": {"name": "", "phone": "13812345678"}},
    "script name": {"contact": {"name": "<script>" * 20, "phone": "13812345678"}},
    "control characters": {"contact": {"name": "林\x00", "phone": "13812345678"}},
    "no lines": {"lines": []},
    "zero quantity": {"lines": [{"product_id": 1, "quantity": 0}]},
    "fractional quantity": {"lines": [{"product_id": 1, "quantity": 2.5}]},
    "huge quantity": {"lines": [{"product_id": 1, "quantity": 10**20}]},
    "unknown product": {"lines": [{"product_id": 999999, "quantity": 1}]},
    "unknown fulfilment": {"fulfilment": "drone"},
    "unknown payment": {"payment": "iou"},
    "more than there is": {"lines": [{"product_id": 2, "quantity": 4}]},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_bad_orders_get_a_4xx_and_hold_nothing(app, api, goods, shelf, case):
    response = api.post("/api/orders", json=body(goods, **HOSTILE[case]))
    assert 400 <= response.status_code < 500, response.get_json()
    assert order_count(app) == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_an_order_without_the_csrf_token_is_refused(app, api, goods, shelf):
    assert api.post("/api/orders", json=body(goods), csrf=False).status_code == 400
    assert order_count(app) == 0


def test_online_buyers_and_tills_racing_for_the_last_jars_never_oversell(app, goods, shelf, as_role):
    from tests.conftest import Api

    # Eight different buyers, each on their own phone and network, so the per-client bound on
    # unpaid orders (429) never stands in for the stock running out (409).
    buyers = [Api(app.test_client()) for _ in range(8)]
    for n, buyer in enumerate(buyers):
        buyer.client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
    tills = [as_role("clerk") for _ in range(8)]
    for client in buyers + tills:
        client.refresh_token()
    jar = [{"product_id": goods["paste"], "quantity": 1}]

    def online(buyer, n):
        contact = {"name": "林女士", "phone": f"1381234{n:04d}"}
        return lambda: buyer.post("/api/orders", json=body(goods, lines=jar, contact=contact))

    def counter(till, n):
        sale = {"idempotency_key": f"race-counter-{n:03d}", "payment_method": "cash", "lines": jar}
        return lambda: till.post("/api/counter/sales", json=sale)

    calls = [online(b, n) for n, b in enumerate(buyers)] + [counter(t, n) for n, t in enumerate(tills)]
    responses = run_together(calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(409) == 13, statuses
    assert all(r.status_code in (201, 409) for r in responses), statuses
    with app.app_context():
        held = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Reservation.quantity), 0)))
        sold = db.session.scalar(sa.select(sa.func.count(Sale.id)))
    assert held + sold == 3
    assert on_hand(app, shelf["paste"]) == 3 - sold
