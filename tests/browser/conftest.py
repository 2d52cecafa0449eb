"""Browser fixtures: a live server over a migrated SQLite file, seeded afresh for each test, and Chromium.

Without Playwright or Chromium the browser tests are skipped; under CI=true they fail instead,
so that CI never passes by running nothing.
"""

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from shop import create_app
from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, Lot, Role, Sale, Town, Village
from shop.staff import accounts
from tests.conftest import FU, PASSWORD, PASTE, SHRIMP, WANG, Api, base_config, empty_database, migrate_to_head

#: Chromium as Debian installs it; CHROMIUM_PATH points elsewhere.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, if they cannot."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, shared by the browser tests of a session."""
    if reason := _unavailable():
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app on a migrated SQLite file, as production builds it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'live.sqlite3'}"
    migrate_to_head(url)
    return create_app(base_config(url))


@pytest.fixture(scope="session")
def server(live_app) -> Iterator[str]:
    """The app served over HTTP on 127.0.0.1 in a thread; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def shelf(live_app, server) -> dict[str, int]:
    """An empty database seeded with a counter, a clerk, shrimp (1000 g) and paste (10 jars); their lot ids."""
    with live_app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_database(conn)
        lots = _seed(live_app)
        db.session.remove()
    return lots


def _seed(app) -> dict[str, int]:
    """The smallest shop worth selling in: accounts by the use case, goods through the API."""
    lincheng, heshe = Town(name_zh="临城镇", name_en="Lincheng"), Town(name_zh="和舍镇", name_en="Heshe")
    db.session.add(Counter(code="LC-JN", name="临城江南市场对面专柜", address="临城镇江南市场正对面"))
    db.session.add(Village(town=lincheng, name_zh="大波村", name_en="Dabo"))
    db.session.add(Village(town=heshe, name_zh="丛潭村", name_en="Congtan"))
    db.session.commit()
    accounts.create_user("admin", PASSWORD, Role.ADMIN)
    accounts.create_user("clerk", PASSWORD, Role.CLERK)
    accounts.create_user("officer", PASSWORD, Role.OFFICER)
    accounts.create_user("officer2", PASSWORD, Role.OFFICER)
    admin = Api(app.test_client())
    assert admin.login("admin").status_code == 200
    shrimp, paste = _created(admin, "/api/products", SHRIMP), _created(admin, "/api/products", PASTE)
    wang, fu = _created(admin, "/api/households", WANG), _created(admin, "/api/households", FU)
    best_before = (business_today() + timedelta(days=90)).isoformat()
    shrimp_lot = {"product_id": shrimp, "household_id": wang, "quantity": 1000, "mode": "consignment"}
    paste_lot = {
        "product_id": paste,
        "household_id": fu,
        "quantity": 10,
        "mode": "purchase",
        "purchase_price_fen": 9000,
    }
    return {
        "shrimp": _created(admin, "/api/lots", {**shrimp_lot, "best_before": best_before}),
        "paste": _created(admin, "/api/lots", {**paste_lot, "best_before": best_before}),
    }


def _created(api: Api, url: str, body: dict) -> int:
    """POST a body that must be created; its new id."""
    response = api.post(url, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


class Shop:
    """What the server has recorded, read straight from its database."""

    def __init__(self, app, lots: dict[str, int]):
        self.app = app
        self.lots = lots

    def sales(self) -> int:
        """How many sales are recorded."""
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Sale))

    def on_hand(self, name: str) -> int:
        """Grams or pieces left in one of the seeded lots."""
        with self.app.app_context():
            return db.session.get(Lot, self.lots[name]).qty_on_hand


@pytest.fixture
def shop(live_app, shelf) -> Shop:
    return Shop(live_app, shelf)


@pytest.fixture
def context(browser):
    """A fresh browser profile (cookies, localStorage) with service workers off, so page.route sees every call."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", service_workers="block")
    yield ctx
    ctx.close()


@pytest.fixture
def till(context, server, shop):
    """A page signed in as the clerk, on the till."""
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server)
    return page


def sign_in(page, server: str, username: str = "clerk") -> None:
    """Sign in through the login page and land on the till."""
    page.goto(f"{server}/login?next=/admin/counter/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/counter/")
    page.wait_for_selector("#grid .product")
