"""The till in a real browser: selling, and selling through a network that fails.

Each test checks what the server recorded, not only what the page shows: a sale is recorded
exactly once and its stock taken exactly once, however often the till had to send it.
"""

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Lot, Sale
from tests.browser.conftest import sign_in

SALES_API = "**/api/counter/sales"


def add(page, product: str, *keys: str, mode: str | None = None) -> None:
    """Tap a product, type a quantity on the keypad, and put it in the basket."""
    page.click(f"#grid .product:has-text('{product}')")
    if mode:
        page.click(f"#unit-toggle [data-mode='{mode}']")
    page.fill("#qty-input", "")
    for key in keys:
        page.click(f"#keypad [data-key='{key}']")
    page.click("#qty-ok")


def pay(page, method: str, tendered: str | None = None) -> None:
    """Check out, choose how the buyer pays, and confirm."""
    page.click("#checkout")
    page.click(f"#methods [data-method='{method}']")
    if tendered is not None:
        page.fill("#tendered", tendered)
    page.click("#pay-confirm")


def pending(page) -> str:
    return page.text_content("#pending-count")


def pending_after_load(page, expected: str) -> str:
    """The queue's count once the till's script has read the queue on a freshly loaded page.

    The count is served as 0 and set by the script, so reading it straight after a page load races it.
    """
    script = "n => document.querySelector('#pending-count').textContent === n"
    page.wait_for_function(script, arg=expected, timeout=10_000)
    return pending(page)


def next_buyer(page) -> None:
    page.wait_for_selector("#done-dialog[open]")
    page.click("#next-buyer")


def come_back_online(page) -> None:
    """What the tablet does when the network returns: the 'online' event starts the sync."""
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('pending-count').textContent === '0'")


def test_a_cash_sale_typed_in_jin_is_recorded_once_with_its_change(till, shop):
    till.click("#grid .product:has-text('虾干')")
    till.click("#unit-toggle [data-mode='jin']")
    for key in "0.5":
        till.click(f"#keypad [data-key='{key}']")
    # The line price shows as the clerk types, computed as the server will.
    assert till.text_content("#qty-amount") == "¥34.00"
    assert "250" in till.text_content("#qty-equals")
    till.click("#qty-ok")
    assert till.text_content("#total") == "¥34.00"
    pay(till, "cash", "50")
    till.wait_for_selector("#done-dialog[open]")
    assert till.text_content("#done-total") == "¥34.00"
    assert till.text_content("#done-change") == "¥16.00"
    assert till.get_attribute("#done-receipt", "href").startswith("/admin/counter/sales/")
    assert till.get_attribute("#done-pdf", "href").endswith("/receipt.pdf")
    assert shop.sales() == 1
    assert shop.on_hand("shrimp") == 750
    next_buyer(till)
    assert till.text_content("#total") == "¥0.00"
    assert pending(till) == "0"


def test_a_sale_made_offline_waits_survives_a_reload_and_is_sent_once(till, shop):
    till.route(SALES_API, lambda route: route.abort())
    add(till, "虾酱", "2")
    pay(till, "wechat_qr")
    till.wait_for_selector("#done-dialog[open]")
    assert till.text_content("#done-total") == "¥36.00"
    assert not till.is_visible("#done-links")
    next_buyer(till)
    assert pending(till) == "1"
    assert till.text_content("#total") == "¥0.00"  # the basket is free for the next buyer
    assert shop.sales() == 0

    till.reload()  # still cut off
    till.wait_for_selector("#grid .product")
    assert pending(till) == "1"
    till.click("#queue-button")
    assert "¥36.00" in till.text_content("#queue-list")
    till.click("#queue-close")
    assert shop.sales() == 0

    till.unroute(SALES_API)
    come_back_online(till)
    assert shop.sales() == 1
    assert shop.on_hand("paste") == 8


def test_a_sale_whose_answer_was_lost_is_not_recorded_twice(till, shop):
    def lose_the_answer(route):
        route.fetch()  # the server records the sale…
        route.abort()  # …but the answer never reaches the tablet

    till.route(SALES_API, lose_the_answer)
    add(till, "虾干", "1", mode="jin")
    pay(till, "cash")
    next_buyer(till)
    assert pending(till) == "1"
    assert shop.sales() == 1 and shop.on_hand("shrimp") == 500

    till.unroute(SALES_API)
    come_back_online(till)  # sent again under the same key: the server replays it
    assert shop.sales() == 1
    assert shop.on_hand("shrimp") == 500


def test_out_of_stock_shows_the_servers_message_and_keeps_the_basket(till, shop):
    add(till, "虾酱", "1", "1")
    pay(till, "card")
    till.wait_for_selector("#pay-error:not([hidden])")
    assert "10" in till.text_content("#pay-error")  # "Only 10 left of 虾酱."
    till.click("#pay-back")
    assert till.text_content("#total") == "¥198.00"
    assert pending(till) == "0"
    assert shop.sales() == 0


def test_a_queued_sale_the_server_later_refuses_needs_attention_and_is_not_dropped(till, shop, live_app):
    till.route(SALES_API, lambda route: route.abort())
    add(till, "虾酱", "8")
    pay(till, "cash")
    next_buyer(till)
    # Meanwhile the manager sells the paste from another till.
    admin = _api(live_app, "admin")
    sold = admin.post(
        "/api/counter/sales",
        json={
            "idempotency_key": "other-till-1",
            "payment_method": "cash",
            "lines": [{"product_id": _paste(till), "quantity": 5}],
        },
    )
    assert sold.status_code == 201

    till.unroute(SALES_API)
    come_back_online(till)
    assert till.text_content("#attention-count") == "1"
    till.click("#attention-button")
    assert "5" in till.text_content("#attention-list")  # "Only 5 left of 虾酱."
    assert shop.sales() == 1 and shop.on_hand("paste") == 5


def test_a_stale_csrf_token_is_renewed_and_the_sale_sent_once(till, shop):
    till.evaluate("document.querySelector('meta[name=csrf-token]').content = 'stale'")
    add(till, "虾酱", "1")
    pay(till, "alipay_qr")
    till.wait_for_selector("#done-dialog[open]")
    assert till.text_content("#done-title") != ""
    assert till.is_visible("#done-links")
    assert shop.sales() == 1 and shop.on_hand("paste") == 9


def test_a_sale_made_after_the_session_expired_waits_for_the_clerk_to_sign_in(till, shop, context, server):
    context.clear_cookies()
    add(till, "虾酱", "3")
    pay(till, "cash")
    next_buyer(till)
    assert pending(till) == "1"
    assert till.is_visible("#signed-out")
    assert shop.sales() == 0
    sign_in(till, server)  # the till syncs its queue as it loads
    till.wait_for_function("() => document.getElementById('pending-count').textContent === '0'")
    assert shop.sales() == 1 and shop.on_hand("paste") == 7


def test_favourites_come_first_and_search_finds_by_sku(till):
    first = "#grid .tile:first-child .product-name"
    assert till.text_content(first) == "虾干"  # catalog order
    till.click("#grid .tile:has-text('虾酱') .star")
    assert till.text_content(first) == "虾酱"
    till.reload()  # favourites live in the tablet's localStorage
    assert till.text_content(first) == "虾酱"
    till.fill("#search", "lg-xj")
    names = till.locator("#grid .product-name").all_text_contents()
    assert names == ["虾酱"]


def test_the_service_worker_lets_the_till_reload_offline(browser, server, shop):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, server)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now the worker controls the page, and keeps a copy of it and its files
        page.wait_for_function("() => !!navigator.serviceWorker.controller")
        page.wait_for_selector("#grid .product")
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#grid .product")
        assert "虾干" in page.text_content("#grid")
        assert page.evaluate("typeof document.getElementById('pos-config') === 'object'")
    finally:
        context.close()


def _api(app, username):
    from tests.conftest import Api

    api = Api(app.test_client())
    assert api.login(username).status_code == 200
    return api


def _paste(page) -> int:
    """The paste's product id, as the till knows it."""
    return page.evaluate(
        "JSON.parse(document.getElementById('pos-products').textContent).find(p => p.sku === 'LG-XJ').id"
    )


def test_the_managers_queued_sale_is_recorded_at_the_counter_it_was_made_at(context, server, shop, live_app):
    """A sale made offline at the second counter stays the second counter's, though it is sent after switching back."""
    from shop.models import Counter

    with live_app.app_context():
        db.session.add(Counter(code="BL-01", name="波莲镇专柜"))
        db.session.commit()
        second = db.session.scalars(sa.select(Counter.id).where(Counter.code == "BL-01")).one()
    moved = _api(live_app, "admin").post(
        f"/api/lots/{shop.lots['paste']}/transfers", json={"to_counter_id": second, "quantity": 4}
    )
    assert moved.status_code == 201
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "admin")
    page.click(".till-counters a:has-text('波莲镇专柜')")
    page.wait_for_selector(".till-counters a.active:has-text('波莲镇专柜')")
    page.route(SALES_API, lambda route: route.abort())
    add(page, "虾酱", "1")
    pay(page, "cash")
    next_buyer(page)
    assert pending(page) == "1"
    page.click(".till-counters a:has-text('临城江南市场对面专柜')")  # back at the first counter, still offline
    page.wait_for_selector(".till-counters a.active:has-text('临城江南市场对面专柜')")
    assert pending_after_load(page, "1") == "1"
    page.unroute(SALES_API)
    come_back_online(page)
    with live_app.app_context():
        (sale,) = db.session.scalars(sa.select(Sale)).all()
        assert sale.counter_id == second
        assert db.session.get(Lot, moved.get_json()["id"]).qty_on_hand == 3
    assert shop.on_hand("paste") == 6
