"""One client cannot hoard the shelf: unpaid orders per address and per phone are bounded, placing is throttled.

The defect: one anonymous POST /api/orders (pay at pickup) reserved every unit
of every product for a day, and the till then refused sales as out of stock.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today, now_utc
from shop.extensions import db
from shop.models import Order, PaymentMethod, Reservation
from shop.selling import orders
from tests.concurrency import run_together
from tests.conftest import Api
from tests.factories import receive

from .test_checkout_pages import Buyer


@pytest.fixture
def shelf(app, goods, as_role):
    """10 kg of shrimp (¥68 a jin) and 100 jars of paste (¥18) on the first counter; the till that sells them."""
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 10_000)
    receive(clerk, goods["paste"], goods["fu"], 100)
    return {**goods, "clerk": clerk}


def buyer_at(app, address: str) -> Api:
    """A JSON client, not signed in, coming from this address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.set_cookie("lang", "en")
    return Api(client)


def order(shelf, phone="13812345678", shrimp=250, paste=1) -> dict:
    lines = [{"product_id": shelf["shrimp"], "quantity": shrimp}] if shrimp else []
    lines += [{"product_id": shelf["paste"], "quantity": paste}] if paste else []
    return {
        "lines": lines,
        "contact": {"name": "林女士", "phone": phone},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }


def available(api, product_id) -> int:
    return next(p for p in api.get("/api/products").get_json() if p["id"] == product_id)["available"]


def held(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Reservation.id)))


def till_sells(shelf, key: str, jars: int) -> int:
    sale = {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": shelf["paste"], "quantity": jars}],
    }
    return shelf["clerk"].post("/api/counter/sales", json=sale).status_code


def refused_as_hoarding(response) -> str:
    assert response.status_code == 429, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests"
    return error["message"]


def test_a_fourth_unpaid_order_from_one_address_is_429_and_reserves_nothing(app, shelf):
    buyer = buyer_at(app, "203.0.113.7")
    for n in range(3):
        assert buyer.post("/api/orders", json=order(shelf, phone=f"1381234000{n}")).status_code == 201
    reservations = held(app)
    message = refused_as_hoarding(buyer.post("/api/orders", json=order(shelf, phone="13812340009", paste=90)))
    assert "3 orders waiting for payment" in message
    assert held(app) == reservations
    assert available(buyer, shelf["paste"]) == 97
    # The till can still sell what the refused order asked for.
    assert till_sells(shelf, "after-hoarder", 90) == 201
    # Another client is not held back by this one.
    assert buyer_at(app, "203.0.113.8").post("/api/orders", json=order(shelf)).status_code == 201


def test_the_same_phone_from_other_addresses_is_429(app, shelf):
    for n in range(3):
        assert buyer_at(app, f"198.51.100.{n + 1}").post("/api/orders", json=order(shelf)).status_code == 201
    refused_as_hoarding(buyer_at(app, "198.51.100.9").post("/api/orders", json=order(shelf)))
    assert held(app) == 6
    # The phone is compared whole: another number with the same last four digits is another client.
    assert buyer_at(app, "198.51.100.9").post("/api/orders", json=order(shelf, phone="13912345678")).status_code == 201


def test_unpaid_orders_hold_at_most_two_thousand_yuan_together(app, shelf):
    buyer = buyer_at(app, "203.0.113.20")
    # 5 kg of shrimp (¥68 a jin) and 20 jars (¥18): ¥680 + ¥360 = ¥1,040.
    assert buyer.post("/api/orders", json=order(shelf, shrimp=5000, paste=20)).status_code == 201
    # The same again would bring the client to ¥2,080.
    message = refused_as_hoarding(buyer.post("/api/orders", json=order(shelf, shrimp=5000, paste=20)))
    assert "¥2,000.00" in message
    assert available(buyer, shelf["shrimp"]) == 5000 and available(buyer, shelf["paste"]) == 80
    assert till_sells(shelf, "after-big-basket", 80) == 201
    # Five jars fewer stays within: ¥1,990.
    receive(shelf["clerk"], shelf["paste"], shelf["fu"], 15)
    assert buyer.post("/api/orders", json=order(shelf, shrimp=5000, paste=15)).status_code == 201


@pytest.mark.parametrize("config_overrides", [{"UNPAID_FEN_PER_CLIENT": 5_000}])
def test_one_basket_beyond_the_money_bound_is_429(app, shelf):
    buyer = buyer_at(app, "203.0.113.21")
    refused_as_hoarding(buyer.post("/api/orders", json=order(shelf, shrimp=500, paste=1)))  # ¥86
    assert held(app) == 0
    assert buyer.post("/api/orders", json=order(shelf, shrimp=250, paste=0)).status_code == 201  # ¥34


def test_paid_cancelled_and_expired_orders_no_longer_count(app, shelf):
    buyer = buyer_at(app, "203.0.113.30")
    placed = [buyer.post("/api/orders", json=order(shelf)).get_json()["id"] for _ in range(3)]
    refused_as_hoarding(buyer.post("/api/orders", json=order(shelf)))
    paid, cancelled, lapsed = placed
    with app.app_context():
        orders.pay_order(order_id=paid, method=PaymentMethod.CASH, today=business_today(), collected=True)
        orders.cancel_order(cancelled)
        db.session.get(Order, lapsed).expires_at = now_utc() - timedelta(seconds=1)
        db.session.commit()
    for _ in range(3):
        assert buyer.post("/api/orders", json=order(shelf)).status_code == 201
    refused_as_hoarding(buyer.post("/api/orders", json=order(shelf)))


def test_two_orders_at_once_cannot_both_slip_past_the_bound(app, shelf):
    buyer = buyer_at(app, "203.0.113.40")
    for _ in range(2):
        assert buyer.post("/api/orders", json=order(shelf)).status_code == 201
    buyer.refresh_token()
    racers = [buyer_at(app, "203.0.113.40") for _ in range(4)]
    for racer in racers:
        racer.refresh_token()
    answers = run_together([lambda r=r: r.post("/api/orders", json=order(shelf)) for r in racers])
    assert sorted(a.status_code for a in answers) == [201, 429, 429, 429]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 3


def test_the_checkout_page_shows_the_bound_with_429_and_keeps_the_cart(app, shelf, client):
    client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    buyer = Buyer(client)
    for _ in range(3):
        buyer.add(shelf["paste"], "1", "piece")
        buyer.place_order()
    buyer.add(shelf["paste"], "5", "piece")
    response = buyer.check_out()
    assert response.status_code == 429
    assert "You already have 3 orders waiting for payment." in response.get_data(as_text=True)
    assert buyer.cart() == [[shelf["paste"], 5]]
    assert held(app) == 3


def test_a_pay_at_pickup_order_holds_its_stock_for_four_hours(app, shelf):
    placed = buyer_at(app, "203.0.113.60").post("/api/orders", json=order(shelf)).get_json()
    with app.app_context():
        hold = db.session.get(Order, placed["id"]).expires_at - now_utc()
    assert timedelta(hours=3, minutes=59) < hold <= timedelta(hours=4)


# ---------------------------------------------------------------- one line's cap


def test_the_cart_takes_at_most_five_kg_or_twenty_pieces_of_a_product(app, shelf, buyer_client):
    buyer = buyer_client
    refused = buyer.add(shelf["shrimp"], "11", "jin")
    assert refused.status_code == 422 and "At most 5 kg of one product." in refused.get_data(as_text=True)
    assert buyer.add(shelf["shrimp"], "10", "jin").status_code == 302
    # Adding again adds up, and the sum is capped too.
    assert buyer.add(shelf["shrimp"], "1", "g").status_code == 422
    refused = buyer.add(shelf["paste"], "100000", "piece")
    assert refused.status_code == 422 and "At most 20 pcs of one product." in refused.get_data(as_text=True)
    changed = buyer.post(f"/cart/{shelf['shrimp']}", quantity="5001", unit="g")
    assert changed.status_code == 422 and "At most 5 kg of one product." in changed.get_data(as_text=True)
    assert buyer.cart() == [[shelf["shrimp"], 5000]]


@pytest.fixture
def buyer_client(client) -> Buyer:
    return Buyer(client)


@pytest.mark.parametrize(("product", "quantity"), [("shrimp", 5001), ("paste", 21), ("paste", 100_000)])
def test_an_order_line_beyond_the_cap_is_422_and_reserves_nothing(app, shelf, product, quantity):
    buyer = buyer_at(app, "203.0.113.70")
    lines = [{"product_id": shelf[product], "quantity": quantity}]
    response = buyer.post("/api/orders", json={**order(shelf), "lines": lines})
    assert response.status_code == 422, response.get_json()
    assert "lines.0.quantity" in response.get_json()["error"]["fields"]
    assert held(app) == 0


@pytest.mark.parametrize(
    "config_overrides", [{"RATELIMIT_ENABLED": True, "ORDER_RATE_LIMIT": "2 per minute", "UNPAID_ORDERS_PER_CLIENT": 9}]
)
def test_placing_orders_is_throttled_per_address_on_the_api_and_the_checkout_together(app, shelf):
    buyer = buyer_at(app, "203.0.113.80")
    assert buyer.post("/api/orders", json=order(shelf)).status_code == 201
    assert buyer.post("/api/orders", json=order(shelf, phone="13912345678")).status_code == 201
    refused_as_hoarding(buyer.post("/api/orders", json=order(shelf, phone="13712345678")))
    page = Buyer(buyer.client)
    page.add(shelf["paste"], "1", "piece")
    assert page.check_out(phone="13612345678").status_code == 429
    # Looking at the checkout page is not placing an order.
    assert buyer.client.get("/checkout").status_code == 200
    assert buyer_at(app, "203.0.113.81").post("/api/orders", json=order(shelf)).status_code == 201
    assert held(app) == 2 * 2 + 2


# ---------------------------------------------------------------- the migration


def test_the_migration_adds_the_client_digest_and_goes_back_down_with_orders_recorded(tmp_path):
    import flask_migrate

    from shop import create_app
    from tests.conftest import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        flask_migrate.upgrade()
    # Orders with lines referring to them: the shop_order table must not be copied.
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id)))
        flask_migrate.downgrade(revision="0012_stock_transfer")
        assert "client_address_digest" not in {c["name"] for c in sa.inspect(db.engine).get_columns("shop_order")}
        flask_migrate.upgrade()
        assert "client_address_digest" in {c["name"] for c in sa.inspect(db.engine).get_columns("shop_order")}
        db.session.remove()
        db.engine.dispose()
