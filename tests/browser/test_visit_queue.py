"""The visit form in a real browser with no signal: a visit is kept, survives a reload, and is recorded once.

Each test checks what the server recorded: exactly one visit and its income lines, however often
the phone had to send it.
"""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import DeclaredIncome, Visit
from tests.conftest import PASSWORD

VISITS_API = "**/api/households/*/visits"


@pytest.fixture
def phone(browser, server, shop):
    """A phone-sized profile with service workers on, so that the form reloads with no network."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", service_workers="allow")
    ctx.add_cookies([{"name": "lang", "value": "zh_CN", "url": server}])
    yield ctx
    ctx.close()


@pytest.fixture
def blocked(context, server, shop):
    """The standard profile (service workers blocked) so that page.route sees every call."""
    return context


def open_form(context, server: str):
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{server}/login?next=/admin/visits/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/visits/")
    page.wait_for_selector("#visit-form")
    return page


def fill_visit(page, findings: str = "家中生产正常，虾干销售稳定") -> None:
    page.select_option("#household", index=1)
    page.check("input[name=kind][value=home]")
    page.fill("#findings", findings)
    page.click("#add-line")
    line = page.locator("#income-lines li").last
    line.locator("[data-field=source]").select_option("wages")
    line.locator("[data-field=amount]").fill("12000.50")
    today = page.eval_on_selector("#visited_on", "e => e.value")
    line.locator("[data-field=period_start]").fill(today)
    line.locator("[data-field=period_end]").fill(today)
    line.locator("[data-field=how_checked]").fill("工资条")
    page.click("#add-line")
    line = page.locator("#income-lines li").last
    line.locator("[data-field=source]").select_option("medical_cost")
    line.locator("[data-field=amount]").fill("300")
    line.locator("[data-field=period_start]").fill(today)
    line.locator("[data-field=period_end]").fill(today)
    line.locator("[data-field=how_checked]").fill("医院票据")


def recorded(app) -> tuple[int, list[tuple]]:
    with app.app_context():
        db.session.remove()
        visits = db.session.scalars(sa.select(Visit)).all()
        lines = db.session.execute(
            sa.select(DeclaredIncome.visit_id, DeclaredIncome.source, DeclaredIncome.amount_fen).order_by(
                DeclaredIncome.id
            )
        ).all()
        return len(visits), [(v, str(s), a) for v, s, a in lines]


def pending(page) -> str:
    return page.text_content("#pending-count")


def worker_ready(page) -> None:
    """Wait until the service worker controls nothing less than the form and has kept it."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null || false")
    page.wait_for_function(
        "async () => { const c = await caches.open('bangfu-visits-v1');"
        " return !!(await c.match('/admin/visits/')) && !!(await c.match('/static/js/visits.js')); }"
    )


def test_a_visit_typed_offline_survives_a_reload_and_is_recorded_once_online(phone, server, live_app):
    page = open_form(phone, server)
    page.reload()  # the second load is the worker's: it keeps the page from then on
    worker_ready(page)
    phone.set_offline(True)
    fill_visit(page)
    page.click("#visit-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('pending-count').textContent === '1'")
    assert page.input_value("#findings") == ""
    assert page.is_visible("#net-pill")

    page.reload()  # with no network: the worker answers with the kept page
    page.wait_for_selector("#visit-form")
    assert pending(page) == "1"
    assert "家中生产正常" in page.text_content("#pending-list")
    assert recorded(live_app) == (0, [])

    phone.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('pending-count').textContent === '0'")
    visits, lines = recorded(live_app)
    assert visits == 1
    assert [(s, a) for _v, s, a in lines] == [("wages", 1_200_050), ("medical_cost", 30_000)]
    # Sending again finds nothing left to send.
    page.click("#send-now")
    page.reload()
    assert pending(page) == "0" and recorded(live_app)[0] == 1


def test_an_answer_lost_on_the_way_back_still_gives_one_visit(blocked, server, live_app):
    page = open_form(blocked, server)
    lost = []

    def lose_the_answer(route):
        # The server records the visit, but the phone never hears back.
        route.fetch()
        lost.append(route.request.post_data_json["client_key"])
        route.abort()

    page.route(VISITS_API, lose_the_answer)
    fill_visit(page)
    page.click("#visit-form button[type=submit]")
    # The lost answer is a network failure to the phone: the record stays queued, with why.
    page.wait_for_selector("#pending-list .visit-error")
    assert pending(page) == "1"
    assert len(lost) >= 1 and recorded(live_app)[0] == 1

    page.unroute(VISITS_API)
    page.click("#send-now")
    page.wait_for_function("() => document.getElementById('pending-count').textContent === '0'")
    visits, lines = recorded(live_app)
    assert visits == 1 and len(lines) == 2
    with live_app.app_context():
        assert db.session.scalars(sa.select(Visit.client_key)).one() == lost[0]


def test_a_visit_the_server_refuses_waits_for_the_officer_and_is_never_dropped(blocked, server, live_app):
    page = open_form(blocked, server)
    fill_visit(page)
    # A line whose period ends in the future: the server refuses the whole visit.
    page.locator("#income-lines li").last.locator("[data-field=period_end]").fill("2999-01-01")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector("#attention-section:not([hidden])")
    assert page.is_hidden("#net-pill")  # the server answered: there is network
    assert pending(page) == "0" and page.text_content("#attention-count") == "1"
    # The reason names the line at fault, as the officer counts them.
    assert "第 2 条收入" in page.text_content("#attention-list")
    page.reload()
    page.wait_for_selector("#attention-section:not([hidden])")
    assert recorded(live_app) == (0, [])
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#attention-list [data-discard]")
    page.wait_for_selector("#attention-section[hidden]", state="attached")
