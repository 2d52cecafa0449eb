"""The staff's order pages: the list and its filters, an order and its steps, cancelling, refunds, payment at pickup."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today, now_utc
from shop.extensions import db
from shop.models import (
    AuditEvent,
    Draw,
    DrawReversal,
    Fulfilment,
    Order,
    OrderPayment,
    OrderRefund,
    PaymentMethod,
    Sale,
    SaleChannel,
)
from shop.selling import orders
from shop.selling.order_flow import OrderStatus
from shop.selling.sales import LineRequest
from tests.factories import receive
from tests.probes import count, on_hand

PHONE = "13812345678"
MASKED = "138****5678"


def place(app, goods, *, shrimp=500, paste=2, fulfilment="pickup", payment="pay_at_pickup", lapsed=False, **contact):
    """Place an order with the use case, as the checkout does, and return its id; `lapsed` puts its hold in the past."""
    lines = [LineRequest(goods["shrimp"], shrimp)] if shrimp else []
    lines += [LineRequest(goods["paste"], paste)] if paste else []
    with app.app_context():
        order = orders.place_order(
            lines=lines,
            name=contact.get("name", "李女士"),
            phone=contact.get("phone", PHONE),
            fulfilment=Fulfilment(fulfilment),
            address="临城镇江南路8号" if fulfilment == "delivery" else "",
            payment=OrderPayment(payment),
            today=business_today(),
            now=now_utc() - timedelta(days=3) if lapsed else None,
        )
        return order.id


def number(order_id: int) -> str:
    return f"W{order_id:06d}"


def order_in_db(app, order_id) -> Order:
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


def available(clerk) -> dict[str, int]:
    """What the till may sell at the clerk's counter: on hand less what live orders hold."""
    return {p["sku"]: p["available"] for p in clerk.get("/api/counter/products").get_json()}


def post(user, url, **data):
    """Send a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token, **data})


def text(user, url) -> str:
    response = user.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed(html: str) -> set[str]:
    """The order numbers a list or the pickup page shows."""
    return set(re.findall(r'data-order="(W\d+)"', html))


@pytest.fixture
def clerk(as_role):
    user = as_role("clerk")
    user.client.set_cookie("lang", "en")
    return user


@pytest.fixture
def admin(as_role):
    user = as_role("admin")
    user.client.set_cookie("lang", "en")
    return user


@pytest.fixture
def shelf(goods, clerk):
    """1000 g of shrimp from 王 (consignment, 90 %) and 10 jars of paste bought outright from 符."""
    return {
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90),
        "paste": receive(clerk, goods["paste"], goods["fu"], 10, days=90, mode="purchase", purchase_price_fen=9000),
    }


@pytest.fixture
def pickup(app, goods, shelf):
    """A pay-at-pickup order of 500 g of shrimp (¥68.00) and 2 jars of paste (¥36.00): ¥104.00."""
    return place(app, goods)


def pay_online(app, order_id):
    """Stripe's confirmation, as the webhook hands it over: the order becomes a paid online sale."""
    with app.app_context():
        return orders.pay_order(order_id=order_id, method=PaymentMethod.STRIPE, today=business_today()).id


def collect(clerk, order_id, method="cash", tendered=""):
    return post(clerk, f"/admin/orders/{order_id}/collect", method=method, tendered=tendered)


# ---------------------------------------------------------------- the list


def test_each_order_is_listed_under_the_filter_it_belongs_to(app, goods, shelf, clerk):
    # Each buyer their own phone: one phone holds at most three unpaid orders.
    small = {"shrimp": 50, "paste": 0}
    unpaid = place(app, goods, phone="13900000001", **small)
    lapsed = place(app, goods, lapsed=True, phone="13900000002", **small)
    cancelled = place(app, goods, phone="13900000003", **small)
    to_pack = place(app, goods, payment="stripe", phone="13900000004", **small)
    ready = place(app, goods, payment="stripe", phone="13900000005", **small)
    shipped = place(app, goods, payment="stripe", fulfilment="delivery", phone="13900000006", **small)
    collected = place(app, goods, phone="13900000007", **small)
    refunded = place(app, goods, payment="stripe", phone="13900000008", **small)
    with app.app_context():
        orders.cancel_order(cancelled)
        for order_id in (to_pack, ready, shipped, refunded):
            pay_online(app, order_id)
        orders.advance(ready, OrderStatus.PACKED)
        orders.advance(shipped, OrderStatus.PACKED)
        orders.advance(shipped, OrderStatus.SHIPPED)
        orders.pay_order(order_id=collected, method=PaymentMethod.CASH, today=business_today(), collected=True)
        # How an order comes to be refunded is shop.selling.payments' business; the list only reads the status.
        db.session.execute(sa.update(Order).where(Order.id == refunded).values(status=OrderStatus.PARTIALLY_REFUNDED))
        db.session.commit()
    expected = {
        "unpaid": {unpaid},
        "paid": {to_pack, ready, shipped, collected, refunded},
        "to_pack": {to_pack},
        "ready": {ready},
        "shipped": {shipped},
        "collected": {collected},
        "cancelled": {cancelled, lapsed},
        "refunded": {refunded},
        "all": {unpaid, lapsed, cancelled, to_pack, ready, shipped, collected, refunded},
    }
    for key, ids in expected.items():
        html = text(clerk, f"/admin/orders/?show={key}")
        assert listed(html) == {number(i) for i in ids}, key
        chip = re.search(rf'data-filter="{key}"[^>]*>.*?chip-count">(\d+)<', html, re.S)
        assert int(chip[1]) == len(ids), key
    assert order_in_db(app, lapsed).status is OrderStatus.EXPIRED  # the list recorded the lapse
    assert "Expired" in text(clerk, "/admin/orders/?show=cancelled")


def test_the_list_shows_the_contact_with_a_masked_phone_and_links_to_the_pickup_page(pickup, clerk):
    html = text(clerk, "/admin/orders/")
    assert number(pickup) in html and "李女士" in html and "¥104.00" in html
    assert MASKED in html and PHONE not in html
    assert 'href="/admin/orders/collect"' in html
    assert f'href="/admin/orders/{pickup}"' in html


# ---------------------------------------------------------------- who may see what


def test_officers_supervisors_and_strangers_are_refused(pickup, as_role, client):
    for username in ("officer", "county"):
        user = as_role(username)
        for url in ("/admin/orders/", f"/admin/orders/{pickup}", "/admin/orders/collect"):
            assert user.get(url).status_code == 403, (username, url)
        assert collect(user, pickup).status_code == 403
    for url in ("/admin/orders/", f"/admin/orders/{pickup}", "/admin/orders/collect"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_clerk_of_another_counter_gets_403_on_an_order_of_lc_jn(app, pickup, as_role, admin):
    clerk2 = as_role("clerk2")
    assert clerk2.get(f"/admin/orders/{pickup}").status_code == 403
    assert number(pickup) not in clerk2.get("/admin/orders/").get_data(as_text=True)
    assert listed(clerk2.get(f"/admin/orders/collect?q={number(pickup)}").get_data(as_text=True)) == set()
    assert collect(clerk2, pickup).status_code == 403
    assert post(clerk2, f"/admin/orders/{pickup}/advance", to="packed").status_code == 403
    assert post(clerk2, f"/admin/orders/{pickup}/cancel").status_code == 403
    assert post(clerk2, f"/admin/orders/{pickup}/refund", confirmed="yes", restock="yes").status_code == 403
    assert count(app, Sale) == 0
    assert order_in_db(app, pickup).status is OrderStatus.AWAITING_PAYMENT
    # The manager sees every counter's orders.
    assert admin.get(f"/admin/orders/{pickup}").status_code == 200


def test_an_unknown_order_is_404(staff, clerk):
    assert clerk.get("/admin/orders/999999").status_code == 404


def test_the_order_page_masks_the_phone_and_only_the_manager_may_see_a_delivery_number_in_full(
    app, goods, shelf, clerk, admin, caplog
):
    delivery = place(app, goods, fulfilment="delivery")
    page = text(clerk, f"/admin/orders/{delivery}?phone=full")
    assert MASKED in page and PHONE not in page and "临城镇江南路8号" in page
    page = text(admin, f"/admin/orders/{delivery}")
    assert MASKED in page and PHONE not in page
    assert f"/admin/orders/{delivery}?phone=full" in page
    assert PHONE in text(admin, f"/admin/orders/{delivery}?phone=full")
    with app.app_context():
        views = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "view_personal_data", AuditEvent.entity == "shop_order")
        ).all()
    assert [v.entity_id for v in views] == [str(delivery)] and all(PHONE not in v.after for v in views)
    # A pickup order's buyer comes to the counter: no one needs the full number.
    pickup = place(app, goods, shrimp=100, paste=0)
    assert PHONE not in text(admin, f"/admin/orders/{pickup}?phone=full")


# ---------------------------------------------------------------- payment at pickup


def test_the_pickup_page_lists_waiting_orders_and_finds_them_by_number_or_last_four(app, goods, pickup, clerk):
    other = place(app, goods, shrimp=100, paste=0, phone="13900001111", name="陈先生")
    html = text(clerk, "/admin/orders/collect")
    assert listed(html) == {number(pickup), number(other)} and "¥104.00" in html
    assert MASKED in html and PHONE not in html
    for query in (number(pickup), f"w{pickup}", str(pickup), "5678"):
        assert listed(text(clerk, f"/admin/orders/collect?q={query}")) == {number(pickup)}, query
    assert listed(text(clerk, "/admin/orders/collect?q=0000")) == set()
    assert "No unpaid pickup order matches" in text(clerk, "/admin/orders/collect?q=abc")


def test_collecting_with_cash_sells_online_credits_the_households_and_lands_on_the_sale(
    app, goods, shelf, pickup, clerk
):
    response = collect(clerk, pickup, tendered="150")
    assert response.status_code == 302
    order = order_in_db(app, pickup)
    assert order.status is OrderStatus.COLLECTED and order.sale_id is not None and order.paid_at is not None
    assert response.headers["Location"] == f"/admin/counter/sales/{order.sale_id}"
    with app.app_context():
        sale = db.session.get(Sale, order.sale_id)
        assert sale.channel is SaleChannel.ONLINE and sale.payment_method is PaymentMethod.CASH
        assert sale.total_fen == 10400 and sale.tendered_fen == 15000 and sale.clerk.username == "clerk"
        credits = {d.household_id: d.credit_fen for d in db.session.scalars(sa.select(Draw))}
    assert credits == {goods["wang"]: 6120, goods["fu"]: 0}  # 90 % of ¥68.00; 符's paste was bought outright
    assert on_hand(app, shelf["shrimp"]) == 500 and on_hand(app, shelf["paste"]) == 8
    page = clerk.client.get(response.headers["Location"]).get_data(as_text=True)
    assert number(pickup) in page and "¥46.00" in page  # the flash names the order and the change
    # Paid, it leaves the pickup list and shows its sale.
    assert listed(text(clerk, "/admin/orders/collect")) == set()
    assert f'href="/admin/counter/sales/{order.sale_id}"' in text(clerk, f"/admin/orders/{pickup}")


def test_collecting_twice_does_not_sell_twice(app, pickup, shelf, clerk):
    first = collect(clerk, pickup, method="wechat_qr")
    second = collect(clerk, pickup, method="cash", tendered="200")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, Sale) == 1
    assert on_hand(app, shelf["shrimp"]) == 500
    assert "already paid" in clerk.client.get(second.headers["Location"]).get_data(as_text=True)


def test_collecting_after_the_hold_lapsed_works_while_the_stock_is_still_there(app, goods, shelf, clerk):
    late = place(app, goods, lapsed=True)
    assert listed(text(clerk, "/admin/orders/collect")) == set()  # no longer held for the buyer…
    found = text(clerk, f"/admin/orders/collect?q={number(late)}")
    assert listed(found) == {number(late)} and "Hold lapsed" in found  # …but found when they come and quote it
    response = collect(clerk, late, method="alipay_qr")
    assert response.status_code == 302
    assert order_in_db(app, late).status is OrderStatus.COLLECTED
    assert on_hand(app, shelf["shrimp"]) == 500


def test_collecting_after_the_hold_lapsed_is_409_and_records_nothing_once_the_stock_was_sold(app, goods, shelf, clerk):
    late = place(app, goods, shrimp=1000, paste=0, lapsed=True)
    body = {
        "idempotency_key": "order-page-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 700}],
    }
    assert clerk.post("/api/counter/sales", json=body).status_code == 201  # the lapsed hold no longer stops the till
    response = collect(clerk, late, tendered="200")
    assert response.status_code == 409
    assert "Only 300 g (0.6 jin) left" in response.get_data(as_text=True)
    assert count(app, Sale) == 1
    assert on_hand(app, shelf["shrimp"]) == 300
    assert order_in_db(app, late).sale_id is None


@pytest.mark.parametrize(
    ("method", "tendered"),
    [("cash", "50"), ("cash", "12.345"), ("wechat_qr", "200"), ("stripe", ""), ("", "")],
)
def test_a_payment_typed_wrong_is_422_and_records_nothing(app, pickup, shelf, clerk, method, tendered):
    response = collect(clerk, pickup, method=method, tendered=tendered)
    assert response.status_code == 422
    assert listed(response.get_data(as_text=True)) == {number(pickup)}  # shown again beside the reason
    assert count(app, Sale) == 0 and on_hand(app, shelf["shrimp"]) == 1000
    assert order_in_db(app, pickup).status is OrderStatus.AWAITING_PAYMENT


def test_an_order_paid_online_is_not_paid_again_at_the_counter(app, goods, shelf, clerk):
    online = place(app, goods, payment="stripe")
    assert collect(clerk, online).status_code == 409
    assert count(app, Sale) == 0


def test_the_pickup_form_needs_its_csrf_token(app, pickup, clerk):
    response = clerk.client.post(f"/admin/orders/{pickup}/collect", data={"method": "cash"})
    assert response.status_code == 400
    assert count(app, Sale) == 0


# ---------------------------------------------------------------- handing over


def test_a_paid_pickup_order_is_packed_then_handed_over(app, goods, shelf, clerk):
    order_id = place(app, goods, payment="stripe")
    pay_online(app, order_id)
    page = text(clerk, f"/admin/orders/{order_id}")
    assert 'value="packed"' in page and 'value="shipped"' not in page
    assert post(clerk, f"/admin/orders/{order_id}/advance", to="packed").status_code == 302
    assert order_in_db(app, order_id).status is OrderStatus.PACKED
    assert number(order_id) in text(clerk, "/admin/orders/?show=ready")
    page = text(clerk, f"/admin/orders/{order_id}")
    assert 'value="collected"' in page and 'value="packed"' not in page
    assert post(clerk, f"/admin/orders/{order_id}/advance", to="collected").status_code == 302
    assert order_in_db(app, order_id).status is OrderStatus.COLLECTED
    assert "Nothing left to do" in text(clerk, f"/admin/orders/{order_id}")


def test_a_paid_delivery_order_is_packed_then_shipped(app, goods, shelf, clerk):
    order_id = place(app, goods, payment="stripe", fulfilment="delivery")
    pay_online(app, order_id)
    assert post(clerk, f"/admin/orders/{order_id}/advance", to="packed").status_code == 302
    assert 'value="shipped"' in text(clerk, f"/admin/orders/{order_id}")
    assert post(clerk, f"/admin/orders/{order_id}/advance", to="shipped").status_code == 302
    assert order_in_db(app, order_id).status is OrderStatus.SHIPPED


def test_a_step_the_state_machine_does_not_allow_is_refused_and_changes_nothing(app, goods, shelf, pickup, clerk):
    collect(clerk, pickup)
    response = post(clerk, f"/admin/orders/{pickup}/advance", to="packed")  # collected orders are not packed again
    assert response.status_code == 409
    assert "cannot become packed" in response.get_data(as_text=True)
    assert order_in_db(app, pickup).status is OrderStatus.COLLECTED
    unpaid = place(app, goods, shrimp=100, paste=0)
    assert post(clerk, f"/admin/orders/{unpaid}/advance", to="packed").status_code == 409
    assert post(clerk, f"/admin/orders/{unpaid}/advance", to="collected").status_code == 422  # take the money first
    assert post(clerk, f"/admin/orders/{unpaid}/advance", to="shipped").status_code == 422  # a pickup is not shipped
    assert post(clerk, f"/admin/orders/{unpaid}/advance", to="bogus").status_code == 422
    assert order_in_db(app, unpaid).status is OrderStatus.AWAITING_PAYMENT


# ---------------------------------------------------------------- cancelling


def test_cancelling_an_unpaid_order_frees_its_stock(app, goods, shelf, pickup, clerk):
    assert available(clerk) == {"LG-XG": 500, "LG-XJ": 8}
    page = text(clerk, f"/admin/orders/{pickup}")
    assert f'action="/admin/orders/{pickup}/cancel"' in page
    response = post(clerk, f"/admin/orders/{pickup}/cancel")
    assert response.status_code == 302
    assert order_in_db(app, pickup).status is OrderStatus.CANCELLED
    assert available(clerk) == {"LG-XG": 1000, "LG-XJ": 10}
    assert f'action="/admin/orders/{pickup}/cancel"' not in text(clerk, f"/admin/orders/{pickup}")
    assert post(clerk, f"/admin/orders/{pickup}/cancel").status_code == 409  # cancelled already


def test_a_paid_order_cannot_be_cancelled(app, pickup, clerk):
    collect(clerk, pickup)
    assert post(clerk, f"/admin/orders/{pickup}/cancel").status_code == 409
    assert order_in_db(app, pickup).status is OrderStatus.COLLECTED


# ---------------------------------------------------------------- refunds


def sale_line_ids(app, order_id) -> list[int]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        return [line.id for line in order.sale.lines]


def test_refunding_part_of_an_order_paid_at_the_counter_reverses_its_credit_and_says_what_to_hand_back(
    app, goods, pickup, shelf, clerk
):
    collect(clerk, pickup)
    shrimp_line, paste_line = sale_line_ids(app, pickup)
    page = text(clerk, f"/admin/orders/{pickup}")
    assert f'name="qty-{shrimp_line}"' in page and f'name="qty-{paste_line}"' in page
    data = {f"qty-{shrimp_line}": "0.5", f"unit-{shrimp_line}": "jin", f"qty-{paste_line}": "", "restock": "no"}
    response = post(clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", **data)
    assert response.status_code == 302
    order = order_in_db(app, pickup)
    assert order.refunded_fen == 3400 and order.status is OrderStatus.PARTIALLY_REFUNDED
    assert on_hand(app, shelf["shrimp"]) == 500  # written off, not restocked
    with app.app_context():
        refund = db.session.scalars(sa.select(OrderRefund)).one()
        assert (refund.status, refund.amount_fen, refund.restock) == ("succeeded", 3400, False)
        reversed_ = db.session.scalars(sa.select(DrawReversal)).one()
        assert (reversed_.household_id, reversed_.credit_fen) == (goods["wang"], 3060)  # 90 % of ¥34.00
    page = clerk.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "hand ¥34.00 back" in page and "Succeeded" in page and "Partly refunded" in page
    assert "250 g" in page  # left to refund of the shrimp line
    assert number(pickup) in text(clerk, "/admin/orders/?show=refunded")


def test_refunding_everything_leaves_the_order_refunded_and_the_goods_back_on_the_shelf(app, pickup, shelf, clerk):
    collect(clerk, pickup)
    shrimp_line, paste_line = sale_line_ids(app, pickup)
    data = {f"qty-{shrimp_line}": "500", f"qty-{paste_line}": "2", "restock": "yes"}
    assert post(clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", **data).status_code == 302
    order = order_in_db(app, pickup)
    assert order.refunded_fen == 10400 and order.status is OrderStatus.REFUNDED
    assert on_hand(app, shelf["shrimp"]) == 1000 and on_hand(app, shelf["paste"]) == 10
    assert f'action="/admin/orders/{pickup}/refund"' not in text(clerk, f"/admin/orders/{pickup}")


def test_refunding_more_than_is_left_shows_why_beside_the_line_and_records_nothing(app, pickup, shelf, clerk):
    collect(clerk, pickup)
    shrimp_line, _paste = sale_line_ids(app, pickup)
    response = post(
        clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", restock="yes", **{f"qty-{shrimp_line}": "600"}
    )
    assert response.status_code == 409
    assert "Only 500" in response.get_data(as_text=True)
    assert count(app, OrderRefund) == 0 and order_in_db(app, pickup).refunded_fen == 0
    assert on_hand(app, shelf["shrimp"]) == 500


def test_a_refund_typed_wrong_or_empty_is_422_and_records_nothing(app, pickup, clerk):
    collect(clerk, pickup)
    shrimp_line, _paste = sale_line_ids(app, pickup)
    for typed in ("abc", "1.5"):
        response = post(
            clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", restock="yes", **{f"qty-{shrimp_line}": typed}
        )
        assert response.status_code == 422, typed
    assert post(clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", restock="yes").status_code == 422
    assert count(app, OrderRefund) == 0


def test_an_unpaid_order_has_no_refund_form_and_refuses_one(app, pickup, clerk):
    assert f'action="/admin/orders/{pickup}/refund"' not in text(clerk, f"/admin/orders/{pickup}")
    assert post(clerk, f"/admin/orders/{pickup}/refund", confirmed="yes", restock="yes").status_code == 409


def test_an_online_sale_is_refunded_from_its_order_not_from_the_till(app, goods, as_role):
    from shop.clock import business_today
    from shop.models import PaymentMethod, User
    from shop.selling import orders
    from shop.selling.sales import LineRequest

    clerk = as_role("clerk")
    receive(clerk, goods["paste"], goods["fu"], 5, days=180)
    with app.app_context():
        order = orders.place_order(
            lines=[LineRequest(goods["paste"], 2)],
            name="林",
            phone="13812345678",
            fulfilment="pickup",
            address="",
            payment="pay_at_pickup",
            today=business_today(),
        )
        user = orders.db.session.scalars(orders.sa.select(User).where(User.username == "clerk")).one()
        sale = orders.pay_order(
            order_id=order.id, method=PaymentMethod.CASH, today=business_today(), by=user, collected=True
        )
        sale_id, line_id, number = sale.id, sale.lines[0].id, order.number
    page = clerk.client.get(f"/admin/counter/sales/{sale_id}").get_data(as_text=True)
    assert number in page and f"/admin/counter/sales/{sale_id}/refund" not in page
    refused = clerk.post(
        f"/api/counter/sales/{sale_id}/refunds",
        json={"idempotency_key": "order-refund-1", "lines": [{"line_id": line_id, "quantity": 1}], "restock": True},
    )
    assert refused.status_code == 409
    receipt = clerk.client.get(f"/admin/counter/sales/{sale_id}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
