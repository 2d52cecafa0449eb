"""The buyer's pages: the cart, checkout, the order's own page, paying online and finding an order again.

A buyer reads the pages in English here (the `lang` cookie), so that the tests
do not depend on the Chinese catalog; what they check is what the server
recorded and worked out: grams, fen, reservations and orders.
"""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Order, OrderPayment, PaymentMethod
from shop.selling import orders
from tests.conftest import Api

PHONE = "13812345678"


class Buyer:
    """A shopper in a browser: a cookie jar, the session's CSRF token, and the forms of the buyer's pages."""

    def __init__(self, client):
        client.set_cookie("lang", "en")
        self.client = client
        self.token = Api(client).refresh_token()

    def post(self, url: str, **fields):
        return self.client.post(url, data={"csrf_token": self.token, **fields})

    def page(self, url: str, status: int = 200, **kwargs) -> str:
        response = self.client.get(url, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    def add(self, product_id: int, quantity: str, unit: str):
        """Add to the cart from the product page."""
        return self.post(f"/cart/add/{product_id}", quantity=quantity, unit=unit)

    def cart(self) -> list[list[int]]:
        """The cart as the session holds it: [[product id, grams or pieces], …]."""
        with self.client.session_transaction() as session:
            return session.get("cart", [])

    def check_out(self, **changes):
        """Send the checkout form: 王 picks up and pays at the counter, unless told otherwise."""
        fields = {"name": "王小明", "phone": PHONE, "fulfilment": "pickup", "address": "", "payment": "pay_at_pickup"}
        return self.post("/checkout", **{**fields, **changes})

    def place_order(self, **changes) -> str:
        """Check out successfully; the token of the new order."""
        response = self.check_out(**changes)
        assert response.status_code == 302, response.get_data(as_text=True)
        return re.fullmatch(r"/orders/([\w-]+)(?:/pay)?", response.headers["Location"]).group(1)


@pytest.fixture
def shelf(goods, as_role) -> dict[str, int]:
    """1000 g of 王's shrimp and 10 jars of 符's paste on the first counter's shelf; the goods' ids."""
    clerk = as_role("clerk")
    best_before = (business_today() + timedelta(days=90)).isoformat()
    for product, household, quantity in (("shrimp", "wang", 1000), ("paste", "fu", 10)):
        lot = {"product_id": goods[product], "household_id": goods[household], "quantity": quantity}
        response = clerk.post("/api/lots", json={**lot, "best_before": best_before, "mode": "consignment"})
        assert response.status_code == 201, response.get_json()
    return goods


@pytest.fixture
def buyer(client) -> Buyer:
    return Buyer(client)


def available(api, product_id: int) -> int:
    """What GET /api/products says is available: on hand less what live orders hold."""
    return next(p for p in api.get("/api/products").get_json() if p["id"] == product_id)["available"]


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def the_order(app, token: str) -> Order:
    with app.app_context():
        order = orders.order_by_token(token)
        db.session.expunge_all()
        return order


# The cart.


def test_adding_one_and_a_half_jin_of_shrimp_puts_exactly_750_grams_in_the_cart(app, shelf, buyer):
    response = buyer.add(shelf["shrimp"], "1.5", "jin")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert buyer.cart() == [[shelf["shrimp"], 750]]
    html = buyer.page("/cart")
    assert "Added 0.75 kg of Dried shrimp to your cart." in html
    assert "¥102.00" in html  # 750 g at ¥68.00 per 500 g


def test_grams_pieces_and_full_width_digits_are_taken_as_typed_and_adding_again_adds_up(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "２５０", "g")
    buyer.add(shelf["paste"], "2", "piece")
    buyer.add(shelf["shrimp"], "0.5", "jin")
    assert buyer.cart() == [[shelf["shrimp"], 500], [shelf["paste"], 2]]


def test_the_cart_prices_every_line_on_the_server(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "333", "g")
    buyer.add(shelf["paste"], "2", "piece")
    html = buyer.page("/cart")
    assert "¥45.29" in html  # 333 g at ¥68.00 / 500 g is ¥45.288, rounded half up
    assert "¥36.00" in html
    assert "¥81.29" in html


@pytest.mark.parametrize(
    ("quantity", "unit", "message"),
    [
        ("-1", "jin", "The quantity must be more than zero."),
        ("0", "g", "The quantity must be more than zero."),
        ("1.2345", "jin", "1.2345 jin is not a whole number of grams"),
        ("0.5", "g", "Give whole grams."),
        ("two", "jin", "Write the quantity as a number"),
        ("", "jin", "Give the quantity."),
        ("999999999999", "jin", "At most 5 kg of one product."),
        ("11", "jin", "At most 5 kg of one product."),
        ("1", "kg", "Choose the unit from the list."),
        ("1", "piece", "Choose the unit from the list."),  # shrimp is weighed, not counted
    ],
)
def test_a_quantity_that_cannot_be_weighed_out_is_refused_and_nothing_is_added(
    app, shelf, buyer, quantity, unit, message
):
    response = buyer.add(shelf["shrimp"], quantity, unit)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'value="{quantity}"' in html  # the page keeps what was typed
    assert buyer.cart() == []


def test_pieces_are_whole_and_never_weighed(app, shelf, buyer):
    assert buyer.add(shelf["paste"], "1.5", "piece").status_code == 422
    assert buyer.add(shelf["paste"], "1", "jin").status_code == 422
    assert buyer.cart() == []


def test_a_product_not_on_sale_cannot_be_added(app, shelf, buyer):
    assert buyer.add(999_999, "1", "jin").status_code == 404
    assert buyer.cart() == []


def test_adding_to_the_cart_without_the_forms_csrf_token_is_refused(app, shelf, client):
    response = client.post(f"/cart/add/{shelf['shrimp']}", data={"quantity": "1", "unit": "jin"})
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "cart" not in session


def test_a_cart_holds_at_most_fifty_products(app, shelf, buyer):
    with buyer.client.session_transaction() as session:
        session["cart"] = [[100_000 + n, 1] for n in range(50)]
    response = buyer.add(shelf["shrimp"], "1", "jin")
    assert response.status_code == 422
    assert "A cart holds at most 50 products." in response.get_data(as_text=True)


def test_the_cart_warns_when_it_asks_for_more_than_is_on_sale(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "3", "jin")
    html = buyer.page("/cart")
    assert "Only 1 kg is on sale now" in html
    assert "Some products are short." in html


def test_a_line_can_be_changed_and_removed(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    buyer.add(shelf["paste"], "1", "piece")
    assert buyer.post(f"/cart/{shelf['shrimp']}", quantity="300", unit="g").status_code == 302
    assert buyer.cart() == [[shelf["shrimp"], 300], [shelf["paste"], 1]]
    refused = buyer.post(f"/cart/{shelf['shrimp']}", quantity="-2", unit="jin")
    assert refused.status_code == 422 and "The quantity must be more than zero." in refused.get_data(as_text=True)
    assert buyer.cart() == [[shelf["shrimp"], 300], [shelf["paste"], 1]]
    assert buyer.post(f"/cart/{shelf['shrimp']}/remove").status_code == 302
    assert buyer.cart() == [[shelf["paste"], 1]]


def test_the_cart_shows_a_quantity_again_in_jin_only_when_that_is_exact(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "333", "g")
    html = buyer.page("/cart")
    assert 'value="333"' in html and '<option value="g" selected>' in html
    buyer.post(f"/cart/{shelf['shrimp']}", quantity="1.25", unit="jin")
    assert 'value="1.25"' in buyer.page("/cart")


# Checkout.


def test_checking_out_to_pay_at_pickup_reserves_the_stock_and_shows_the_order(app, shelf, buyer, api):
    assert available(api, shelf["shrimp"]) == 1000
    buyer.add(shelf["shrimp"], "1.5", "jin")
    token = buyer.place_order()
    assert available(api, shelf["shrimp"]) == 250
    assert buyer.cart() == []
    order = the_order(app, token)
    assert order.payment is OrderPayment.PAY_AT_PICKUP and order.total_fen == 10200 and order.contact_phone == PHONE
    html = buyer.page(f"/orders/{token}")
    assert order.number in html
    assert "138****5678" in html and PHONE not in html
    assert "Reserved: pay at the counter" in html
    assert "Show this number at the counter" in html
    assert f"http://localhost/orders/{token}" in html  # the link to keep


def test_the_checkout_form_offers_only_paying_at_pickup_without_stripe(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    html = buyer.page("/checkout")
    assert 'value="pay_at_pickup"' in html and 'value="stripe"' not in html
    assert "临城江南市场对面专柜" in html


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(app, shelf, buyer):
    response = buyer.client.get("/checkout")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert buyer.check_out().status_code == 302
    assert order_count(app) == 0


def test_a_delivery_without_an_address_is_refused_and_nothing_is_recorded(app, shelf, buyer, api, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    response = buyer.check_out(fulfilment="delivery", address="  ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give the delivery address." in html
    assert "Paying at the counter is only for orders picked up there." in html
    assert order_count(app) == 0
    assert available(api, shelf["shrimp"]) == 1000
    assert buyer.cart() == [[shelf["shrimp"], 500]]


@pytest.mark.parametrize("phone", ["12345678901", "1381234567", "138123456789", "phone", "", "١٣٨١٢٣٤٥٦٧٨"])
def test_a_phone_that_is_not_a_mainland_mobile_is_refused_and_nothing_is_recorded(app, shelf, buyer, phone):
    buyer.add(shelf["shrimp"], "1", "jin")
    response = buyer.check_out(phone=phone)
    assert response.status_code == 422
    assert order_count(app) == 0


def test_a_phone_typed_with_full_width_digits_and_spaces_is_read_as_its_digits(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(phone="１３８ １２３４ ５６７８")
    assert the_order(app, token).contact_phone == PHONE


def test_a_name_is_required_and_short(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    assert buyer.check_out(name=" ").status_code == 422
    assert buyer.check_out(name="王" * 51).status_code == 422
    assert buyer.check_out(name="王\x00明").status_code == 422
    assert order_count(app) == 0


def test_checking_out_more_than_is_available_is_409_and_records_nothing(app, shelf, buyer, api):
    buyer.add(shelf["shrimp"], "3", "jin")
    buyer.add(shelf["paste"], "1", "piece")
    response = buyer.check_out()
    assert response.status_code == 409
    assert "Only 1 kg of Dried shrimp is left." in response.get_data(as_text=True)
    assert order_count(app) == 0
    assert available(api, shelf["shrimp"]) == 1000 and available(api, shelf["paste"]) == 10
    assert len(buyer.cart()) == 2


def test_stock_reserved_by_one_buyer_is_not_sold_to_the_next(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1.5", "jin")
    buyer.place_order()
    other = Buyer(app.test_client())
    other.add(shelf["shrimp"], "1", "jin")
    assert other.check_out().status_code == 409
    assert order_count(app) == 1


def test_the_summary_names_villages_and_masked_households_never_a_full_name(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    buyer.add(shelf["paste"], "2", "piece")
    pages = buyer.page("/cart") + buyer.page("/checkout")
    assert "Dabo" in pages and "Congtan" in pages
    assert "Household of 王**" in pages and "Household of 符**" in pages
    assert "Your purchase helps 2 households in 2 villages." in pages
    token = buyer.place_order()
    pages += buyer.page(f"/orders/{token}")
    assert "王亦明" not in pages and "符海成" not in pages


# The order's own page.


def test_the_order_page_opens_by_its_token_for_anyone_and_an_unknown_token_is_404(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    token = buyer.place_order()
    stranger = Buyer(app.test_client())
    html = stranger.page(f"/orders/{token}")
    assert the_order(app, token).number in html
    response = stranger.client.get(f"/orders/{token}")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    stranger.page("/orders/not-a-real-token", status=404)


def test_cancelling_an_order_frees_its_stock(app, shelf, buyer, api):
    buyer.add(shelf["shrimp"], "2", "jin")
    token = buyer.place_order()
    assert available(api, shelf["shrimp"]) == 0
    response = buyer.post(f"/orders/{token}/cancel")
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{token}"
    assert available(api, shelf["shrimp"]) == 1000
    html = buyer.page(f"/orders/{token}")
    assert "Cancelled" in html and "Cancel this order" not in html
    again = buyer.post(f"/orders/{token}/cancel")
    assert again.status_code == 409


def test_a_collected_order_can_no_longer_be_cancelled(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    token = buyer.place_order()
    with app.app_context():
        order_id = orders.order_by_token(token).id
        orders.pay_order(order_id=order_id, method=PaymentMethod.CASH, today=business_today(), collected=True)
    html = buyer.page(f"/orders/{token}")
    assert "Collected" in html and "Cancel this order" not in html
    assert buyer.post(f"/orders/{token}/cancel").status_code == 409


def test_an_unpaid_order_past_its_hold_reads_as_expired(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    token = buyer.place_order()
    with app.app_context():
        orders.order_by_token(token).expires_at -= timedelta(days=2)
        db.session.commit()
    html = buyer.page(f"/orders/{token}")
    assert "Expired" in html and "Cancel this order" not in html


# Finding an order again.


def test_an_order_is_found_by_its_number_and_phone_but_not_with_another_phone(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    token = buyer.place_order()
    number = the_order(app, token).number
    found = buyer.post("/orders/lookup", number=number.lower(), phone=PHONE)
    assert found.status_code == 302 and found.headers["Location"] == f"/orders/{token}"
    wrong_phone = buyer.post("/orders/lookup", number=number, phone="13900000000")
    no_such_number = buyer.post("/orders/lookup", number="W999999", phone=PHONE)
    for response in (wrong_phone, no_such_number):
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "No order has that number and phone." in html and token not in html


class TestLookupThrottling:
    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True}

    def test_guessing_order_numbers_is_throttled(self, app, shelf, buyer):
        for n in range(10):
            assert buyer.post("/orders/lookup", number=f"W{n:06d}", phone=PHONE).status_code == 404
        assert buyer.post("/orders/lookup", number="W000011", phone=PHONE).status_code == 429
        assert buyer.client.get("/orders/lookup").status_code == 200


# Paying online (Stripe itself is stood in for).


class FakeStripe:
    """shop.selling.payments' functions, standing in for Stripe: what the views asked, and what they get back."""

    def __init__(self):
        self.started: list[int] = []
        self.synced: list[int] = []
        self.pays_on_sync = False
        self.unreachable = False

    def install(self, monkeypatch):
        from shop.selling import payments

        monkeypatch.setattr(payments, "configured", lambda: True)
        monkeypatch.setattr(payments, "publishable_key", lambda: "pk_test_123")
        monkeypatch.setattr(payments, "start_payment", self.start_payment)
        monkeypatch.setattr(payments, "sync_payment", self.sync_payment)

    def start_payment(self, order_id: int) -> tuple[str, str]:
        from shop.selling.payments import PaymentUnavailable

        if self.unreachable:
            raise PaymentUnavailable("The payment service did not answer. Please try again.")
        self.started.append(order_id)
        return "pi_123", "pi_123_secret_456"

    def sync_payment(self, order_id: int) -> None:
        self.synced.append(order_id)
        if self.pays_on_sync:
            orders.pay_order(order_id=order_id, method=PaymentMethod.STRIPE, today=business_today())


@pytest.fixture
def stripe(monkeypatch) -> FakeStripe:
    fake = FakeStripe()
    fake.install(monkeypatch)
    return fake


def test_with_stripe_set_up_checkout_goes_on_to_the_payment_form(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    assert 'value="stripe"' in buyer.page("/checkout")
    response = buyer.check_out(fulfilment="delivery", address="临城镇江南路 8 号", payment="stripe")
    assert response.status_code == 302
    token = re.fullmatch(r"/orders/([\w-]+)/pay", response.headers["Location"]).group(1)
    html = buyer.page(f"/orders/{token}/pay")
    order = the_order(app, token)
    assert stripe.started == [order.id]
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert "/static/js/pay.js" in html
    assert '"clientSecret": "pi_123_secret_456"' in html and '"publishableKey": "pk_test_123"' in html
    assert f'"returnUrl": "http://localhost/orders/{token}"' in html
    assert buyer.client.get("/static/js/pay.js").status_code == 200


def test_only_the_pay_page_loads_anything_from_another_site(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    cart_and_checkout = buyer.page("/cart") + buyer.page("/checkout")
    token = buyer.place_order(payment="stripe")
    pages = cart_and_checkout + buyer.page(f"/orders/{token}") + buyer.page("/orders/lookup")
    assert '<script src="http' not in pages and 'stylesheet" href="http' not in pages
    assert "js.stripe.com" in buyer.page(f"/orders/{token}/pay")


def test_a_buyer_back_from_stripe_sees_the_payment_being_confirmed_until_it_is(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(payment="stripe")
    order_id = the_order(app, token).id
    back = {"payment_intent": "pi_123", "redirect_status": "succeeded"}
    html = buyer.page(f"/orders/{token}", query_string=back)
    assert stripe.synced == [order_id]
    assert "Confirming your payment…" in html
    assert re.search(r'<meta http-equiv="refresh" content="3; url=/orders/[\w-]+\?[^"]*checks=1', html)
    stripe.pays_on_sync = True
    html = buyer.page(f"/orders/{token}", query_string={**back, "checks": "1"})
    assert stripe.synced == [order_id, order_id]
    assert "Paid: being prepared" in html and "http-equiv" not in html


def test_the_order_page_stops_looking_again_after_a_while(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(payment="stripe")
    html = buyer.page(
        f"/orders/{token}", query_string={"payment_intent": "pi_123", "redirect_status": "succeeded", "checks": "20"}
    )
    assert "http-equiv" not in html and "has not been confirmed yet" in html


def test_a_failed_payment_offers_to_pay_again(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(payment="stripe")
    back = {"payment_intent": "pi_123", "redirect_status": "failed"}
    html = buyer.page(f"/orders/{token}", query_string=back)
    assert "The payment did not go through." in html
    assert f'href="/orders/{token}/pay"' in html and "http-equiv" not in html


def test_when_stripe_does_not_answer_the_buyer_is_told_and_can_try_again(app, shelf, buyer, stripe, api):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(payment="stripe")
    stripe.unreachable = True
    response = buyer.client.get(f"/orders/{token}/pay")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "The payment service did not answer." in html and f'href="/orders/{token}/pay"' in html
    assert available(api, shelf["shrimp"]) == 500  # the order still holds its goods


def test_the_pay_page_is_only_for_online_orders_awaiting_payment(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    token = buyer.place_order(payment="pay_at_pickup")
    response = buyer.client.get(f"/orders/{token}/pay")
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{token}"
    assert stripe.started == []
