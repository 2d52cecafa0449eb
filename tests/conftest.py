"""Fixtures: a migrated database per backend, an app per test, and clients that act like users.

Every test that takes `app` runs once on SQLite and once on PostgreSQL when a
server is reachable: set TEST_DATABASE_URL, or the PG* variables (as
`pg_virtualenv` does). Under CI=true a missing PostgreSQL is an error, not a skip.
"""

import os
import uuid
from collections.abc import Iterator

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from shop import create_app
from shop.extensions import db
from shop.ledger import guard

PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")
#: The key phone numbers are sealed with in tests (a Fernet key).
PERSONAL_DATA_KEY = "6Qy0_6t1cLQ2zq0J9dXGmKJ7bW2m1n3JvN4pC8sR0aE="
#: The password of every account the fixtures make.
PASSWORD = "correct horse battery"

# Tests assert behaviour, never time: a busy shared machine must not fail a property on its deadline.
settings.register_profile("bangfu", deadline=None)
settings.load_profile("bangfu")


def postgres_server_url() -> str | None:
    """Where a PostgreSQL server for tests is, if one is configured."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    if any(os.environ.get(name) for name in PG_VARIABLES):
        # libpq fills in host, port, user and password from the PG* variables.
        return "postgresql+psycopg:///" + os.environ.get("PGDATABASE", "postgres")
    return None


BACKENDS = ["sqlite"] + (["postgresql"] if postgres_server_url() else [])
if os.environ.get("CI") and "postgresql" not in BACKENDS:
    raise RuntimeError("CI runs the suite on PostgreSQL too: set TEST_DATABASE_URL or PG* (pg_virtualenv)")


def base_config(url: str) -> dict:
    """Settings of a test app on the database at `url`."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test secret key",
        "PERSONAL_DATA_KEYS": (PERSONAL_DATA_KEY,),
    }


def migrate_to_head(url: str) -> None:
    """Build the schema the way production does: with the Alembic migrations."""
    app = create_app(base_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database on each backend, shared by the tests of a session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        migrate_to_head(url)
        yield url
        return
    server = sa.make_url(postgres_server_url())
    name = f"bangfu_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        migrate_to_head(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def config_overrides() -> dict:
    """Extra settings for the `app` of one test; override this fixture to change them."""
    return {}


def empty_database(conn) -> None:
    """Delete every row, lifting the guards of the append-only tables (ledger, audit trail) and putting them back."""
    for table in guard.GUARDED:
        guard.remove(conn, table)
    for table in reversed(db.metadata.sorted_tables):
        conn.execute(table.delete())
    for table in guard.GUARDED:
        guard.install(conn, table)


@pytest.fixture
def app(database_url, config_overrides, tmp_path) -> Iterator[Flask]:
    """An app on the shared database, emptied again after the test; photos and rosters go to the test's own folder."""
    photos = {
        "PRODUCT_IMAGES_FOLDER": str(tmp_path / "product-images"),
        "ROSTER_UPLOADS_FOLDER": str(tmp_path / "roster-uploads"),
    }
    app = create_app({**base_config(database_url), **photos, **config_overrides})
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_database(conn)
        db.engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    """A browser-like client with its own cookies."""
    return app.test_client()


class Api:
    """A JSON client that fetches and sends the CSRF token as the POS page will."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.token = None
        #: Whom the client signed in as, for factories that act as the same person.
        self.username = None

    def refresh_token(self) -> str:
        """Ask the server for this session's CSRF token."""
        self.token = self.client.get("/api/session").get_json()["csrf_token"]
        return self.token

    def _headers(self, csrf: bool) -> dict:
        if not csrf:
            return {}
        return {"X-CSRFToken": self.token or self.refresh_token()}

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, json=None, csrf=True, **kwargs):
        return self.client.post(url, json=json, headers=self._headers(csrf), **kwargs)

    def delete(self, url, csrf=True, **kwargs):
        return self.client.delete(url, headers=self._headers(csrf), **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        """Sign in through POST /api/session and keep the token it returns."""
        response = self.post("/api/session", json={"username": username, "password": password})
        if response.status_code == 200:
            self.token = response.get_json()["csrf_token"]
            self.username = username
        return response


@pytest.fixture
def api(client) -> Api:
    """A JSON client, not signed in."""
    return Api(client)


@pytest.fixture
def as_role(app, staff):
    """A factory of JSON clients signed in as one of the `staff` accounts."""

    def signed_in(username: str) -> Api:
        api = Api(app.test_client())
        assert api.login(username).status_code == 200
        return api

    return signed_in


@pytest.fixture
def admin(as_role) -> Api:
    """The counter manager, signed in."""
    return as_role("admin")


@pytest.fixture
def clerk(as_role) -> Api:
    """A clerk of the first counter, signed in."""
    return as_role("clerk")


@pytest.fixture
def officer(as_role) -> Api:
    """The officer answerable for 王's household (DB001), signed in."""
    return as_role("officer")


@pytest.fixture
def world(app):
    """The smallest useful installation: a counter and two towns with a village each."""
    from shop.models import Counter, Town, Village

    with app.app_context():
        lincheng = Town(name_zh="临城镇", name_en="Lincheng")
        heshe = Town(name_zh="和舍镇", name_en="Heshe")
        db.session.add_all(
            [
                Counter(code="LC-JN", name="临城江南市场对面专柜"),
                Counter(code="BL-01", name="波莲镇专柜"),
                Village(town=lincheng, name_zh="大波村", name_en="Dabo"),
                Village(town=heshe, name_zh="丛潭村", name_en="Congtan"),
            ]
        )
        db.session.commit()
    return app


@pytest.fixture
def staff(world):
    """One account of each kind, made with the create-user use case; all use PASSWORD."""
    from shop.models import Role
    from shop.staff import accounts

    with world.app_context():
        accounts.create_user("admin", PASSWORD, Role.ADMIN)
        accounts.create_user("clerk", PASSWORD, Role.CLERK)
        accounts.create_user("clerk2", PASSWORD, Role.CLERK, counter_code="BL-01")
        accounts.create_user("officer", PASSWORD, Role.OFFICER)
        accounts.create_user("officer2", PASSWORD, Role.OFFICER)
        accounts.create_user("heshe", PASSWORD, Role.SUPERVISOR, town="和舍镇")
        accounts.create_user("county", PASSWORD, Role.SUPERVISOR)
        accounts.create_user("inspector", PASSWORD, Role.INSPECTOR)
        accounts.create_user("heshe-inspector", PASSWORD, Role.INSPECTOR, town="和舍镇")
    return world


SHRIMP = {"sku": "LG-XG", "name": "虾干", "unit": "g", "price_fen": 6800, "price_per": 500, "name_en": "Dried shrimp"}
PASTE = {"sku": "LG-XJ", "name": "虾酱", "unit": "piece", "price_fen": 1800, "price_per": 1}
WANG = {
    "code": "DB001",
    "head_name": "王亦明",
    "town": "临城镇",
    "village": "大波村",
    "members": 4,
    "category": "jiance",
    "officer": "officer",
    "monitor_subtype": "marginal",
}
FU = {
    "code": "CT001",
    "head_name": "符海成",
    "town": "和舍镇",
    "village": "丛潭村",
    "members": 2,
    "category": "tuopin",
    "officer": "officer2",
}


@pytest.fixture
def goods(staff, as_role):
    """Two products and two households (one per town), made through the API by the manager."""
    admin = as_role("admin")
    ids = {}
    for key, body in (("shrimp", SHRIMP), ("paste", PASTE)):
        response = admin.post("/api/products", json=body)
        assert response.status_code == 201, response.get_json()
        ids[key] = response.get_json()["id"]
    for key, body in (("wang", WANG), ("fu", FU)):
        response = admin.post("/api/households", json=body)
        assert response.status_code == 201, response.get_json()
        ids[key] = response.get_json()["id"]
    return ids


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe server on 127.0.0.1 for the session: a stateful stand-in for Stripe's API."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "localstripe"), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    deadline = time.monotonic() + 20
    while not listening():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("localstripe did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


#: The webhook secret test apps verify signatures with.
WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_settings(localstripe_url) -> dict:
    """Stripe settings pointing at localstripe, emptied of the previous test's objects."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")).close()
    return {
        "STRIPE_SECRET_KEY": "sk_test_bangfu",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bangfu",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe_url,
    }
