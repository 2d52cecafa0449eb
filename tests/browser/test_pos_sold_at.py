"""The till sends the moment each sale was rung up (sold_at), so a sale that syncs late keeps its price and day."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Sale
from tests.browser.conftest import sign_in
from tests.browser.test_pos import SALES_API, _api, _paste, add, come_back_online, next_buyer, pay

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}")


@pytest.fixture
def far_till(browser, server, shop):
    """The till on a tablet whose clock zone is Los Angeles, not Hainan."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="zh-CN",
        service_workers="block",
        timezone_id="America/Los_Angeles",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server)
    yield page
    context.close()


def sent_bodies(page) -> list[dict]:
    """Every sale body the page sends from now on."""
    bodies: list[dict] = []

    def seen(request):
        if request.url.endswith("/api/counter/sales"):
            bodies.append(json.loads(request.post_data))

    page.on("request", seen)
    return bodies


def test_every_sale_carries_the_moment_it_was_rung_up_with_the_tablets_offset(far_till, shop):
    bodies = sent_bodies(far_till)
    before = datetime.now(UTC)
    add(far_till, "虾酱", "1")
    pay(far_till, "card")
    next_buyer(far_till)
    assert shop.sales() == 1
    (body,) = bodies
    assert RFC3339.fullmatch(body["sold_at"]), body["sold_at"]
    assert body["sold_at"][-6:] in ("-08:00", "-07:00")  # Los Angeles, winter or summer
    rung_up = datetime.fromisoformat(body["sold_at"])
    assert before - timedelta(seconds=1) <= rung_up <= datetime.now(UTC)


def test_a_sale_queued_while_the_price_changed_syncs_at_the_price_asked_and_is_resent_unchanged(
    far_till, shop, live_app
):
    bodies = sent_bodies(far_till)
    far_till.route(SALES_API, lambda route: route.abort())
    add(far_till, "虾酱", "2")  # ¥18.00 a jar
    pay(far_till, "wechat_qr")
    next_buyer(far_till)
    assert shop.sales() == 0
    admin = _api(live_app, "admin")
    changed = admin.client.patch(
        f"/api/products/{_paste(far_till)}", json={"price_fen": 2500}, headers={"X-CSRFToken": admin.token}
    )
    assert changed.status_code == 200, changed.get_json()

    far_till.unroute(SALES_API)
    come_back_online(far_till)
    with live_app.app_context():
        sale = db.session.scalars(sa.select(Sale)).one()
        assert sale.total_fen == 3600  # two jars at ¥18.00, as the buyer scanned
        db.session.remove()
    # Each try sent the same body: the same key and the same moment.
    assert len(bodies) >= 2 and all(b == bodies[0] for b in bodies)
