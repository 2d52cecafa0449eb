"""Asking before money moves, in a real browser: the pickup's question, and the refund's confirm step."""

import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Fulfilment, Lot, Order, OrderPayment, Product, Refund
from shop.selling.orders import LineRequest, place_order
from tests.browser.conftest import sign_in


def pickup_order(app) -> str:
    """A pay-at-pickup order of 500 g of shrimp (¥68.00); its number."""
    with app.app_context():
        shrimp = db.session.scalar(sa.select(Product.id).where(Product.sku == "LG-XG"))
        order = place_order(
            lines=[LineRequest(shrimp, 500)],
            name="李女士",
            phone="13700001234",
            fulfilment=Fulfilment.PICKUP,
            address="",
            payment=OrderPayment.PAY_AT_PICKUP,
            today=business_today(),
        )
        number = order.number
        db.session.remove()
        return number


def paid(app, number: str) -> bool:
    with app.app_context():
        db.session.remove()  # a fresh read, not the snapshot of an earlier one
        return db.session.get(Order, int(number[1:])).sale_id is not None


def test_taking_a_pickups_money_asks_first_and_a_no_takes_nothing(context, server, shop, live_app):
    number = pickup_order(live_app)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server)
    page.goto(f"{server}/admin/orders/collect")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click(f"[data-order='{number}'] button[type=submit]")
    page.wait_for_timeout(300)
    assert asked and asked[0].startswith(f"收款 ¥68.00（订单 {number}）")
    assert "虾干 500 克（1 斤）" in asked[0]
    assert not paid(live_app, number) and page.url.endswith("/admin/orders/collect")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"[data-order='{number}'] button[type=submit]")
    page.wait_for_url("**/admin/counter/sales/*")
    assert paid(live_app, number)


def test_a_refund_on_a_phone_asks_with_its_amount_before_anything_is_recorded(browser, server, shop, live_app):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", service_workers="block")
    number = pickup_order(live_app)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server)
    page.goto(f"{server}/admin/orders/collect")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"[data-order='{number}'] button[type=submit]")
    page.wait_for_url("**/admin/counter/sales/*")
    page.goto(f"{server}/admin/orders/{int(number[1:])}")
    page.fill(".refund-form input[name^='qty-']", "0.5")
    page.click(".refund-form button[type=submit]")
    question = page.locator(".confirm-question").first
    assert question.text_content().startswith("退款 ¥34.00 给顾客，虾干 250 克（0.5 斤）")
    assert question.is_visible()
    with live_app.app_context():
        db.session.remove()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    page.click(".confirm-step button[type=submit]")
    page.wait_for_selector(".refund-list")
    with live_app.app_context():
        db.session.remove()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
        assert db.session.get(Lot, shop.lots["shrimp"]).qty_on_hand == 750
    context.close()
