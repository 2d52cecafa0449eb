"""The work ledger's forms on an officer's phone: what is typed survives a reload, and is forgotten once saved."""

from datetime import timedelta

import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Household, Measure
from tests.conftest import PASSWORD

TITLE = "养殖生蚝 200 斤"


def household_id(app, code: str = "DB001") -> int:
    with app.app_context():
        found = db.session.scalar(sa.select(Household.id).where(Household.code == code))
        db.session.remove()
        return found


def measures(app) -> list[str]:
    with app.app_context():
        titles = db.session.scalars(sa.select(Measure.title)).all()
        db.session.remove()
        return titles


def open_worklog(browser, server, app):
    """The officer's phone, signed in, on 王's work ledger."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", service_workers="block")
    page = context.new_page()
    page.set_default_timeout(15_000)
    url = f"{server}/admin/worklog/households/{household_id(app)}"
    page.goto(f"{server}/login?next=/admin/worklog/households/{household_id(app)}")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    return context, page, url


def draft(page, key: str):
    return page.evaluate("key => window.localStorage.getItem('draft:' + key)", key)


def test_a_typed_measure_survives_a_reload_and_is_forgotten_once_saved(browser, server, shop, live_app):
    context, page, url = open_worklog(browser, server, live_app)
    key = f"wl{household_id(live_app)}-add"
    form = f"form[data-draft='{key}']"
    page.click("#plan details.wl-form summary")
    page.select_option(f"{form} select[name='add-kind']", "employment")
    page.fill(f"{form} input[name='add-title']", TITLE)
    page.fill(f"{form} input[name='add-due_on']", (business_today() + timedelta(days=20)).isoformat())
    assert TITLE in draft(page, key)

    # The connection dropped, or the phone closed the tab: a fresh load, which no browser fills in itself.
    page.goto(url)
    assert page.input_value(f"{form} input[name='add-title']") == TITLE
    assert page.input_value(f"{form} select[name='add-kind']") == "employment"
    assert page.locator("#plan details.wl-form").first.get_attribute("open") is not None

    page.click(f"{form} button[type=submit]")
    page.wait_for_url(f"{url}?saved=add*")
    assert measures(live_app) == [TITLE]
    assert draft(page, key) is None
    assert page.input_value(f"{form} input[name='add-title']") == ""
    context.close()


def test_a_refused_measure_keeps_its_draft(browser, server, shop, live_app):
    context, page, _url = open_worklog(browser, server, live_app)
    key = f"wl{household_id(live_app)}-add"
    form = f"form[data-draft='{key}']"
    page.click("#plan details.wl-form summary")
    page.fill(f"{form} input[name='add-title']", TITLE)
    page.fill(f"{form} input[name='add-due_on']", (business_today() - timedelta(days=1)).isoformat())
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(".field-error")
    assert measures(live_app) == [] and TITLE in draft(page, key)
    assert page.input_value(f"{form} input[name='add-title']") == TITLE
    context.close()
