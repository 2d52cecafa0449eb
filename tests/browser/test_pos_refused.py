"""A queued sale the server refused, settled on the tablet: the record reaches the server once, then the entry goes."""

import sqlalchemy as sa

from shop.extensions import db
from shop.models import RefusedSale, Sale
from tests.browser.test_pos import SALES_API, _api, _paste, add, come_back_online, next_buyer, pay

REFUSED_API = "**/api/counter/refused-sales"


def refuse_a_queued_sale(till, live_app) -> None:
    """8 jars of paste sold offline, then the manager sells 5 of the 10 elsewhere: the queued sale is refused."""
    till.route(SALES_API, lambda route: route.abort())
    add(till, "虾酱", "8")
    pay(till, "cash", "200")
    next_buyer(till)
    body = {
        "idempotency_key": "other-till-1",
        "payment_method": "cash",
        "lines": [{"product_id": _paste(till), "quantity": 5}],
    }
    assert _api(live_app, "admin").post("/api/counter/sales", json=body).status_code == 201
    till.unroute(SALES_API)
    come_back_online(till)
    assert till.text_content("#attention-count") == "1"


def records(app) -> list[RefusedSale]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(RefusedSale)))
        db.session.expunge_all()
        return found


def test_a_refused_sale_dismissed_offline_reaches_the_server_once_before_it_leaves_the_list(till, shop, live_app):
    refuse_a_queued_sale(till, live_app)
    sent = []
    till.route(REFUSED_API, lambda route: (sent.append(1), route.abort()))
    till.click("#attention-button")
    till.click("#attention-list [data-dismiss]")
    till.wait_for_selector("#settle-dialog[open]")
    assert till.is_disabled("#settle-ok")  # how the money went is asked first
    till.check("#settle-ways input[value=returned]")
    till.fill("#settle-note", "退回 ¥144")
    till.click("#settle-ok")
    # No network: the entry stays, marked as settled and waiting, and nothing is on record yet.
    till.wait_for_function("() => document.querySelector('#attention-list .hint') !== null")
    assert till.text_content("#attention-count") == "1" and not till.query_selector("#attention-list [data-dismiss]")
    assert records(live_app) == []
    till.reload()  # the record survives a reload, like a queued sale
    till.wait_for_selector("#grid .product")
    till.unroute(REFUSED_API)
    till.evaluate("window.dispatchEvent(new Event('online'))")
    till.wait_for_function("() => document.getElementById('attention-button').hidden")
    (record,) = records(live_app)
    assert record.outcome.value == "returned" and record.note == "退回 ¥144"
    assert record.taken_fen == 14400 and record.tendered_fen == 20000 and '"quantity": 8' in record.lines
    assert "5" in record.refused_error and record.settled_by_id is not None
    assert till.evaluate("localStorage.getItem('bangfu.pos.settlements')") == "[]"
    assert shop.sales() == 1


def test_a_refused_sale_sold_again_is_recorded_as_sold_again_naming_the_new_sale(till, shop, live_app):
    refuse_a_queued_sale(till, live_app)
    till.click("#attention-button")
    till.click("#attention-list [data-again]")
    till.wait_for_selector("#settle-dialog[open]")
    assert till.is_hidden("#settle-ways")
    till.click("#settle-ok")
    till.wait_for_selector("#basket .line")
    # Only 5 are left: the clerk sells 5 of the 8 jars this time.
    till.click("#basket [data-edit='0']")
    till.fill("#qty-input", "5")
    till.click("#qty-ok")
    pay(till, "cash")
    next_buyer(till)
    till.wait_for_function("() => document.getElementById('attention-button').hidden")
    (record,) = records(live_app)
    with live_app.app_context():
        resale = db.session.scalars(sa.select(Sale).order_by(Sale.id.desc())).first()
        assert record.outcome.value == "resold" and record.resold_key == resale.idempotency_key
    assert shop.sales() == 2 and shop.on_hand("paste") == 0
