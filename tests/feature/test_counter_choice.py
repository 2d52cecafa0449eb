"""Choosing a counter where there are several: the manager's till, the buyer's pickup, the collect list, reports."""

import json
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Counter, Order, Reservation, Sale
from tests.factories import receive
from tests.probes import counts, on_hand

from .test_checkout_pages import Buyer
from .test_online_orders import body as order_body
from .test_reports import MONTH, figure, page, read_csv, rows_by_code


@pytest.fixture
def counters(app, staff):
    """The ids of the first counter (clerk's), the second (clerk2's) and a closed third."""
    with app.app_context():
        db.session.add(Counter(code="OLD", name="旧专柜", active=False))
        db.session.commit()
        ids = dict(db.session.execute(sa.select(Counter.code, Counter.id)).all())
    return {"first": ids["LC-JN"], "second": ids["BL-01"], "closed": ids["OLD"]}


@pytest.fixture
def shelves(app, goods, counters, admin):
    """Paste at both counters: 5 jars from 王 at the first, 3 jars from 符 at the second."""
    return {
        "first": receive(admin, goods["paste"], goods["wang"], 5),
        "second": receive(admin, goods["paste"], goods["fu"], 3, counter_id=counters["second"]),
    }


def sale(goods, key, quantity=1, **extra):
    return {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": goods["paste"], "quantity": quantity}],
        **extra,
    }


def till_config(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="pos-config">(.*?)</script>', html, re.S)[1])


# ---------------------------------------------------------------- the manager's till


def test_the_manager_chooses_a_counter_at_the_till_and_it_is_remembered(app, goods, counters, shelves, admin):
    html = admin.get("/admin/counter/").get_data(as_text=True)
    assert "波莲镇专柜" in html and till_config(html)["counterId"] == counters["first"]
    html = admin.get(f"/admin/counter/?counter={counters['second']}").get_data(as_text=True)
    config = till_config(html)
    assert config["counterId"] == counters["second"]
    assert config["productsUrl"].endswith(f"counter_id={counters['second']}")
    # The choice sticks for the till and the day's sales until the manager changes it.
    assert till_config(admin.get("/admin/counter/").get_data(as_text=True))["counterId"] == counters["second"]
    products = admin.get(config["productsUrl"]).get_json()
    assert next(p for p in products if p["id"] == goods["paste"])["available"] == 3


def test_a_sale_naming_a_counter_sells_from_that_counters_lots(app, goods, counters, shelves, admin):
    response = admin.post("/api/counter/sales", json=sale(goods, "mgr-sale-1", 2, counter_id=counters["second"]))
    assert response.status_code == 201, response.get_json()
    assert [d["lot_id"] for d in response.get_json()["lines"][0]["draws"]] == [shelves["second"]]
    assert (on_hand(app, shelves["first"]), on_hand(app, shelves["second"])) == (5, 1)
    with app.app_context():
        assert db.session.scalars(sa.select(Sale.counter_id)).one() == counters["second"]
    # The same key sent again (a queued sale from the tablet) replays; naming another counter is another sale.
    again = admin.post("/api/counter/sales", json=sale(goods, "mgr-sale-1", 2, counter_id=counters["second"]))
    assert again.status_code == 200 and again.get_json()["id"] == response.get_json()["id"]
    assert (
        admin.post("/api/counter/sales", json=sale(goods, "mgr-sale-1", 2, counter_id=counters["first"])).status_code
        == 409
    )
    assert admin.post("/api/counter/sales", json=sale(goods, "mgr-sale-1", 2)).status_code == 200


def test_the_days_sales_and_cash_up_are_per_counter(app, goods, counters, shelves, admin, clerk):
    assert (
        admin.post("/api/counter/sales", json=sale(goods, "at-second", 2, counter_id=counters["second"])).status_code
        == 201
    )
    assert clerk.post("/api/counter/sales", json=sale(goods, "at-first", 1)).status_code == 201
    second = admin.get(f"/admin/counter/sales?counter={counters['second']}").get_data(as_text=True)
    first = admin.get(f"/admin/counter/sales?counter={counters['first']}").get_data(as_text=True)
    assert "¥36.00" in second and "¥18.00" not in second
    assert "¥18.00" in first and "¥36.00" not in first
    assert "¥18.00" in clerk.get("/admin/counter/sales").get_data(as_text=True)


def test_a_clerk_sells_only_at_their_own_counter(app, goods, counters, shelves, clerk):
    assert (
        clerk.post("/api/counter/sales", json=sale(goods, "own-sale-1", counter_id=counters["first"])).status_code
        == 201
    )
    before = counts(app)
    for other in (counters["second"], counters["closed"], 99999):
        response = clerk.post("/api/counter/sales", json=sale(goods, f"other-counter-{other}", counter_id=other))
        assert response.status_code == 403, response.get_json()
    # Not even by replaying a key already recorded at their own counter.
    assert (
        clerk.post("/api/counter/sales", json=sale(goods, "own-sale-1", counter_id=counters["second"])).status_code
        == 403
    )
    assert counts(app) == before
    assert clerk.get(f"/api/counter/products?counter_id={counters['second']}").status_code == 403
    html = clerk.get(f"/admin/counter/?counter={counters['second']}").get_data(as_text=True)
    assert till_config(html)["counterId"] is None and "波莲镇专柜" not in html


@pytest.mark.parametrize("counter_id, status", [("closed", 422), (99999, 422), (2**31, 422), (0, 422), ("7", 422)])
def test_the_manager_cannot_sell_at_a_closed_or_unknown_counter(
    app, goods, counters, shelves, admin, counter_id, status
):
    before = counts(app)
    counter_id = counters.get(counter_id, counter_id) if counter_id == "closed" else counter_id
    response = admin.post("/api/counter/sales", json=sale(goods, "nowhere-1", counter_id=counter_id))
    assert response.status_code == status, response.get_json()
    assert counts(app) == before


def test_a_closed_or_unknown_counter_in_the_till_address_falls_back_to_the_first(app, goods, counters, shelves, admin):
    for bad in (counters["closed"], 99999, 10**20, "abc"):
        response = admin.get(f"/admin/counter/?counter={bad}")
        assert response.status_code == 200
        assert till_config(response.get_data(as_text=True))["counterId"] == counters["first"]
    assert admin.get(f"/api/counter/products?counter_id={counters['closed']}").status_code == 422
    assert admin.get("/api/counter/products?counter_id=99999999999").status_code == 404


def test_a_single_counter_installation_never_sees_a_choice(app, goods, counters, admin):
    with app.app_context():
        db.session.get(Counter, counters["second"]).active = False
        db.session.commit()
    html = admin.get("/admin/counter/").get_data(as_text=True)
    assert till_config(html)["counterId"] is None and "till-counters" not in html


# ---------------------------------------------------------------- the buyer's pickup counter


def test_a_buyer_picks_up_at_the_counter_they_choose(app, api, goods, counters, shelves, as_role):
    lines = [{"product_id": goods["paste"], "quantity": 2}]
    response = api.post("/api/orders", json=order_body(goods, lines=lines, counter_id=counters["second"]))
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert placed["counter_id"] == counters["second"]
    with app.app_context():
        assert db.session.scalars(sa.select(Reservation.lot_id)).all() == [shelves["second"]]
    order_page = api.get(f"/orders/{placed['token']}").get_data(as_text=True)
    assert "波莲镇专柜" in order_page
    # The counter's collect list shows its own orders only.
    assert placed["number"] in as_role("clerk2").get("/admin/orders/collect").get_data(as_text=True)
    assert placed["number"] not in as_role("clerk").get("/admin/orders/collect").get_data(as_text=True)
    admin = as_role("admin")
    assert placed["number"] in admin.get(f"/admin/orders/collect?counter={counters['second']}").get_data(as_text=True)
    assert placed["number"] not in admin.get("/admin/orders/collect").get_data(as_text=True)
    assert as_role("clerk").get(f"/admin/orders/collect?counter={counters['second']}").status_code == 403


def test_a_pickup_with_no_counter_named_is_held_at_the_first(app, api, goods, counters, shelves):
    lines = [{"product_id": goods["paste"], "quantity": 1}]
    assert api.post("/api/orders", json=order_body(goods, lines=lines)).get_json()["counter_id"] == counters["first"]


def test_a_delivery_ships_from_the_first_counter_that_holds_the_whole_basket(app, goods, counters, shelves, admin):
    from shop.clock import business_today
    from shop.models import Fulfilment, OrderPayment
    from shop.selling import orders
    from shop.selling.sales import LineRequest

    receive(admin, goods["paste"], goods["fu"], 4, counter_id=counters["second"])  # the second now holds 7

    def deliver(quantity: int) -> int:
        with app.app_context():
            order = orders.place_order(
                lines=[LineRequest(goods["paste"], quantity)],
                name="林女士",
                phone="13812345678",
                fulfilment=Fulfilment.DELIVERY,
                address="临城镇大波村 3 号",
                payment=OrderPayment.STRIPE,
                today=business_today(),
            )
            return order.counter_id

    assert deliver(5) == counters["first"]  # the first counter holds it all: it ships
    assert deliver(6) == counters["second"]  # only the second holds six more
    assert api_free(app, goods) == 1


def api_free(app, goods) -> int:
    """What the catalog offers once the two deliveries hold their stock."""
    return app.test_client().get("/api/products").get_json()[1]["available"]


@pytest.mark.parametrize("counter_id, status", [("closed", 422), (99999, 422), (2**31, 422), ("2", 422)])
def test_a_pickup_at_a_closed_or_unknown_counter_is_refused(app, api, goods, counters, shelves, counter_id, status):
    counter_id = counters["closed"] if counter_id == "closed" else counter_id
    before = counts(app)
    lines = [{"product_id": goods["paste"], "quantity": 1}]
    response = api.post("/api/orders", json=order_body(goods, lines=lines, counter_id=counter_id))
    assert response.status_code == status, response.get_json()
    assert counts(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_the_catalog_offers_what_one_counter_can_hand_over(app, api, goods, counters, shelves):
    available = {p["id"]: p["available"] for p in api.get("/api/products").get_json()}
    assert available[goods["paste"]] == 5  # not 8: an order is held at one counter


def test_the_checkout_page_offers_the_pickup_counters(app, client, goods, counters, shelves):
    buyer = Buyer(client)
    assert buyer.add(goods["paste"], "2", "piece").status_code == 302
    html = buyer.page("/checkout")
    assert 'name="counter"' in html and "波莲镇专柜" in html and "旧专柜" not in html
    token = buyer.place_order(counter=str(counters["second"]))
    with app.app_context():
        order = db.session.scalars(sa.select(Order).where(Order.token == token)).one()
        assert order.counter_id == counters["second"]
    assert "波莲镇专柜" in buyer.page(f"/orders/{token}")


@pytest.mark.parametrize("value", ["closed", "99999", "99999999999999999999", "abc"])
def test_the_checkout_page_refuses_a_counter_it_did_not_offer(app, client, goods, counters, shelves, value):
    buyer = Buyer(client)
    buyer.add(goods["paste"], "1", "piece")
    value = str(counters["closed"]) if value == "closed" else value
    response = buyer.check_out(counter=value)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_a_single_counter_checkout_shows_no_choice(app, client, goods, counters, shelves):
    with app.app_context():
        db.session.get(Counter, counters["second"]).active = False
        db.session.commit()
    buyer = Buyer(client)
    buyer.add(goods["paste"], "1", "piece")
    assert 'name="counter"' not in buyer.page("/checkout")


# ---------------------------------------------------------------- reports per counter


@pytest.fixture
def traded(app, goods, counters, shelves, admin, clerk):
    """王's jar sold at the first counter, 符's two at the second, and a lot bought in at the second."""
    assert clerk.post("/api/counter/sales", json=sale(goods, "rep-first", 1)).status_code == 201
    assert (
        admin.post("/api/counter/sales", json=sale(goods, "rep-second", 2, counter_id=counters["second"])).status_code
        == 201
    )
    receive(
        admin,
        goods["shrimp"],
        goods["wang"],
        1000,
        mode="purchase",
        purchase_price_fen=5000,
        counter_id=counters["second"],
    )
    # The first counter's paste is consignment at 90 %: 王 earned 1620 there; 符 earned 3240 at the second.
    return {"wang_first": 1620, "fu_second": 3240, "wang_second": 5000}


def test_the_month_report_limits_the_households_income_to_the_counter(app, goods, counters, traded, admin):
    whole = rows_by_code(page(admin, f"/admin/reports/month/{MONTH}"))
    assert set(whole) == {"DB001", "CT001"}
    first = page(admin, f"/admin/reports/month/{MONTH}?counter={counters['first']}")
    assert set(rows_by_code(first)) == {"DB001"}
    assert figure(first, "credited_fen") == "¥16.20"
    second = page(admin, f"/admin/reports/month/{MONTH}?counter={counters['second']}")
    rows = rows_by_code(second)
    assert set(rows) == {"DB001", "CT001"}
    assert rows["DB001"][2] == "¥50.00" and rows["CT001"][2] == "¥32.40"
    assert figure(second, "credited_fen") == "¥82.40"
    csv_rows = read_csv(admin.get(f"/admin/reports/month/{MONTH}.csv?counter={counters['first']}"))
    assert [r["户编号"] for r in csv_rows] == ["DB001"]
    pdf = admin.get(f"/admin/reports/month/{MONTH}.pdf?counter={counters['second']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_the_year_report_limits_the_income_to_the_counter(app, goods, counters, traded, admin):
    year = MONTH[:4]
    first = page(admin, f"/admin/reports/year/{year}?counter={counters['first']}")
    assert "DB001" in first and "CT001" not in first
    rows = read_csv(admin.get(f"/admin/reports/year/{year}.csv?counter={counters['second']}"))
    assert {r["户编号"]: r["全年（元）"] for r in rows} == {"DB001": "50.00", "CT001": "32.40"}
    assert admin.get(f"/admin/reports/year/{year}?counter=99999").status_code == 404
    assert admin.get(f"/admin/reports/year/{year}?counter=1e3").status_code == 404


# ---------------------------------------------------------------- stock pages


def test_the_stock_pages_keep_the_managers_counter(app, goods, counters, shelves, admin, clerk):
    second = counters["second"]
    index = admin.get(f"/admin/stock/?counter={second}").get_data(as_text=True)
    assert f"/admin/stock/receive?counter={second}" in index and f"/admin/stock/stocktake?counter={second}" in index
    receive_page = admin.get(f"/admin/stock/receive?counter={second}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{second}">|<option value="{second}" selected>', receive_page)
    assert f'href="/admin/stock/?counter={second}"' in receive_page
    stocktake = admin.get(f"/admin/stock/stocktake?counter={second}").get_data(as_text=True)
    assert f"P{shelves['second']:06d}" in stocktake and f"P{shelves['first']:06d}" not in stocktake
    lot_page = admin.get(f"/admin/stock/lots/{shelves['second']}").get_data(as_text=True)
    assert f'href="/admin/stock/?counter={second}"' in lot_page
    # A clerk stays at their counter whatever the address says, and cannot open the other's lots.
    assert f"P{shelves['second']:06d}" not in clerk.get(f"/admin/stock/stocktake?counter={second}").get_data(
        as_text=True
    )
    assert clerk.get(f"/admin/stock/lots/{shelves['second']}").status_code == 403
    assert admin.get(f"/admin/stock/?counter={counters['closed']}").status_code == 422
    assert admin.get("/admin/stock/?counter=99999999999").status_code == 404
