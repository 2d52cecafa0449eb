"""An online buyer in a real browser, on a phone: from the shelf to an order waiting at the counter."""

import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderPayment, Reservation
from shop.selling.order_flow import OrderStatus


@pytest.fixture
def phone(browser, server, shop):
    """A fresh phone-sized page, in Chinese as most buyers read it."""
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True, service_workers="block"
    )
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    yield page
    ctx.close()


def test_a_buyer_orders_shrimp_to_pay_at_pickup_and_lands_on_the_order_page(phone, server, shop):
    order_to_pay_at_pickup(phone, server, shop)


def order_to_pay_at_pickup(phone, server, shop) -> str:
    """Shop on the phone from the shelf to the order page; return the order number shown."""
    phone.goto(f"{server}/")
    phone.click(".card:has-text('虾干') a")
    phone.fill("#qty-cart", "0.5")
    phone.select_option(".add-to-cart select[name=unit]", "jin")
    phone.click(".add-to-cart button[type=submit]")

    phone.wait_for_url("**/cart")
    assert phone.text_content(".cart-amount").strip() == "¥34.00"  # 250 g at ¥68.00 per 斤
    phone.click("a[href='/checkout']")

    phone.wait_for_url("**/checkout")
    phone.fill("input[name=name]", "王小明")
    phone.fill("input[name=phone]", "138 1234 5678")
    assert phone.is_checked("input[name=fulfilment][value=pickup]")
    assert phone.is_checked("input[name=payment][value=pay_at_pickup]")
    phone.click(".checkout-form button[type=submit]")

    phone.wait_for_url(re.compile(r".*/orders/[\w-]+$"))
    number = phone.text_content(".buyer-number").strip()
    assert re.fullmatch(r"W\d{6}", number)
    assert "138****5678" in phone.text_content("main")
    with shop.app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        held = db.session.scalar(sa.select(sa.func.sum(Reservation.quantity)))
        assert (order.number, order.payment, order.status) == (
            number,
            OrderPayment.PAY_AT_PICKUP,
            OrderStatus.AWAITING_PAYMENT,
        )
        assert phone.url.endswith(f"/orders/{order.token}")
    assert held == 250
    assert shop.on_hand("shrimp") == 1000  # reserved for the buyer, not sold until the counter takes the money
    assert shop.sales() == 0
    return number


def test_the_order_shows_up_at_the_till_and_the_clerk_takes_the_money(phone, server, shop, till):
    number = order_to_pay_at_pickup(phone, server, shop)
    # The till says an order is waiting, and the pickup page finds it by the number the buyer shows.
    till.reload()
    assert till.text_content("a[href='/admin/orders/collect']").split()[-1] == "1"
    till.click("a[href='/admin/orders/collect']")
    till.fill("#q", number)
    till.click(".pickup-search button[type=submit]")
    till.fill(".pickup-pay input[name=tendered]", "50")
    asked = []
    till.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    till.click(".pickup-pay button[type=submit]")
    till.wait_for_url(re.compile(r".*/admin/counter/sales/\d+$"))
    assert "¥34.00" in asked[0] and number in asked[0]  # the clerk was asked first, with the amount
    assert number in till.text_content("main") and "¥16.00" in till.text_content("main")  # the change
    assert (shop.sales(), shop.on_hand("shrimp")) == (1, 750)
    phone.reload()
    assert "已取货" in phone.text_content("main")


#: Stripe.js as far as the pay page uses it; the browser never reaches js.stripe.com in tests.
#: The first confirmation is declined, the second leaves for the return URL as Stripe does.
FAKE_STRIPE_JS = """
window.stripeCalls = [];
window.Stripe = function (key, options) {
  stripeCalls.push(["Stripe", key]);
  var attempts = 0;
  return {
    elements: function (options) {
      stripeCalls.push(["elements", options.clientSecret]);
      return {
        create: function (type) {
          stripeCalls.push(["create", type]);
          var handlers = {};
          return {
            on: function (event, handler) { handlers[event] = handler; },
            mount: function (selector) {
              stripeCalls.push(["mount", selector]);
              document.querySelector(selector).innerHTML = '<div class="fake-card">4242 4242 4242 4242</div>';
              setTimeout(handlers.ready, 0);
            },
          };
        },
      };
    },
    confirmPayment: function (options) {
      stripeCalls.push(["confirmPayment", options.confirmParams.return_url]);
      attempts += 1;
      if (attempts === 1) {
        return Promise.resolve({ error: { type: "card_error", message: "Your card was declined." } });
      }
      location.href = options.confirmParams.return_url + "?payment_intent=pi_fake&redirect_status=succeeded";
      return new Promise(function () {});
    },
  };
};
"""


@pytest.fixture
def stripe_online(monkeypatch, live_app):
    """shop.selling.payments with Stripe stood in for: a PaymentIntent per order, and a sync that finds it paid."""
    from shop.clock import business_today
    from shop.models import PaymentMethod
    from shop.selling import orders, payments

    def paid(order_id: int) -> None:
        orders.pay_order(order_id=order_id, method=PaymentMethod.STRIPE, today=business_today())

    monkeypatch.setattr(payments, "configured", lambda: True)
    monkeypatch.setattr(payments, "publishable_key", lambda: "pk_test_fake")
    monkeypatch.setattr(payments, "start_payment", lambda order_id: ("pi_fake", "pi_fake_secret_1"))
    monkeypatch.setattr(payments, "sync_payment", paid)


def test_a_buyer_pays_online_through_the_payment_element_and_sees_the_order_paid(phone, server, shop, stripe_online):
    requested = []

    def fake_stripe(route):
        requested.append(route.request.url)
        route.fulfill(content_type="application/javascript", body=FAKE_STRIPE_JS)

    phone.route("https://js.stripe.com/v3/", fake_stripe)
    phone.goto(f"{server}/")
    phone.click(".card:has-text('虾干') a")
    phone.fill("#qty-cart", "250")
    phone.select_option(".add-to-cart select[name=unit]", "g")
    phone.click(".add-to-cart button[type=submit]")
    phone.click("a[href='/checkout']")
    phone.fill("input[name=name]", "王小明")
    phone.fill("input[name=phone]", "13812345678")
    assert phone.is_checked("input[name=payment][value=stripe]")
    phone.click(".checkout-form button[type=submit]")

    phone.wait_for_url(re.compile(r".*/orders/[\w-]+/pay$"))
    token = phone.url.split("/")[-2]
    phone.wait_for_selector("#pay-submit:enabled")
    assert requested == ["https://js.stripe.com/v3/"]
    assert phone.evaluate("stripeCalls") == [
        ["Stripe", "pk_test_fake"],
        ["elements", "pi_fake_secret_1"],
        ["create", "payment"],
        ["mount", "#payment-element"],
    ]

    phone.click("#pay-submit")
    phone.wait_for_selector("#pay-message:not([hidden])")
    assert phone.text_content("#pay-message") == "Your card was declined."
    assert phone.is_enabled("#pay-submit")

    assert phone.evaluate("stripeCalls")[-1] == ["confirmPayment", f"{server}/orders/{token}"]

    phone.click("#pay-submit")  # Stripe takes the buyer back to the order page, which checks with Stripe
    phone.wait_for_url(f"{server}/orders/{token}?payment_intent=pi_fake&redirect_status=succeeded")
    phone.wait_for_selector(".buyer-head.status-paid")
    with shop.app.app_context():
        order = db.session.scalars(sa.select(Order)).one()
        assert (order.token, order.status, order.sale_id is not None) == (token, OrderStatus.PAID, True)
    assert shop.on_hand("shrimp") == 750
    assert shop.sales() == 1
