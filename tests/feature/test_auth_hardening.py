"""Sign-in hardening: forced and voluntary password changes, per-account throttling, idle timeout, real sign-out."""

import json
import logging
import re
import time

import flask_migrate
import pytest
import sqlalchemy as sa

from shop import create_app
from shop.config import ProductionConfig
from shop.extensions import db
from shop.models import AuditEvent, EndedSession, Role, User
from shop.staff import accounts
from tests.conftest import PASSWORD, Api, base_config

GOOD = "teal kettle drifts north"
BETTER = "amber lantern quietly hums"


def send(user: Api, url: str, **fields):
    """Post a page's form with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def page_login(client, username: str, password: str):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def stored(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == username)).one()
        db.session.expunge(user)
        return user


@pytest.fixture
def newcomer(staff):
    """An account the manager just made: its first password must be replaced."""
    with staff.app_context():
        accounts.create_user("newcomer", GOOD, Role.OFFICER, must_change_password=True)
    return staff


# ---------------------------------------------------------------- forced change


def test_a_newcomer_signing_in_is_sent_to_choose_a_password_first(newcomer, client):
    response = page_login(client, "newcomer", GOOD)
    assert response.headers["Location"] == "/account/password"
    for url in ("/admin/", "/admin/households/", "/admin/users/"):
        held = client.get(url)
        assert held.status_code == 302 and held.headers["Location"] == "/account/password", url
    assert client.get("/").status_code == 200  # the public catalog stays open
    assert client.get("/account/password").status_code == 200


def test_the_api_answers_a_newcomer_with_password_change_required(newcomer, api):
    assert api.login("newcomer", GOOD).status_code == 200
    response = api.get("/api/households")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "password_change_required"
    assert api.get("/api/products").status_code == 200
    assert api.delete("/api/session").status_code == 200
    assert api.get("/api/session").get_json()["user"] is None


def test_after_choosing_a_password_the_newcomer_goes_on(newcomer, app):
    user = Api(app.test_client())
    user.login("newcomer", GOOD)
    response = send(user, "/account/password", current=GOOD, password=BETTER, confirm=BETTER)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert user.client.get("/admin/").status_code == 200
    assert user.get("/api/households").status_code == 200
    after = stored(app, "newcomer")
    assert not after.must_change_password and after.password_changed_at is not None
    assert Api(app.test_client()).login("newcomer", BETTER).status_code == 200


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"current": "wrong wrong wrong", "password": BETTER, "confirm": BETTER}, 422),
        ({"current": GOOD, "password": BETTER, "confirm": BETTER + "x"}, 422),
        ({"current": GOOD, "password": GOOD, "confirm": GOOD}, 422),
        ({"current": GOOD, "password": "password123!", "confirm": "password123!"}, 422),
        ({"current": GOOD, "password": "1234567890", "confirm": "1234567890"}, 422),
        ({"current": GOOD, "password": "newcomer123", "confirm": "newcomer123"}, 422),
        ({"current": GOOD, "password": "iloveyou2024", "confirm": "iloveyou2024"}, 422),
        ({"current": GOOD, "password": "x" * 129, "confirm": "x" * 129}, 422),
        ({"current": GOOD, "password": "nine char", "confirm": "nine char"}, 422),
    ],
)
def test_a_wrong_current_password_or_a_weak_new_one_is_refused(newcomer, app, fields, status):
    user = Api(app.test_client())
    user.login("newcomer", GOOD)
    before = stored(app, "newcomer").password_hash
    assert send(user, "/account/password", **fields).status_code == status
    assert stored(app, "newcomer").password_hash == before
    assert user.client.get("/admin/").headers["Location"] == "/account/password"


def test_every_staff_member_may_change_their_password_and_other_sessions_end(staff, as_role):
    here, elsewhere = as_role("clerk"), as_role("clerk")
    assert 'href="/account/password"' in here.client.get("/admin/").get_data(as_text=True)
    response = send(here, "/account/password", current=PASSWORD, password=BETTER, confirm=BETTER)
    assert response.status_code == 302
    assert here.get("/api/session").get_json()["user"]["username"] == "clerk"
    assert elsewhere.get("/api/session").get_json()["user"] is None


# ---------------------------------------------------------------- throttling


class TestPerAccountThrottle:
    @pytest.fixture
    def config_overrides(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "100 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
        }

    @staticmethod
    def from_address(app, address: str) -> Api:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return Api(client)

    def test_guesses_at_one_account_from_many_addresses_are_throttled(self, staff, app):
        for n in range(3):
            guesser = self.from_address(app, f"203.0.113.{n + 1}")
            assert guesser.login("Clerk ", "guess guess guess").status_code == 401
        response = self.from_address(app, "203.0.113.99").login("clerk")
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "too_many_requests"
        assert self.from_address(app, "203.0.113.99").login("officer").status_code == 200

    def test_successful_sign_ins_do_not_use_up_the_accounts_budget(self, staff, app):
        for _ in range(5):
            assert self.from_address(app, "198.51.100.7").login("clerk").status_code == 200
        assert self.from_address(app, "198.51.100.7").login("clerk", "guess guess").status_code == 401

    def test_the_login_page_says_so_when_throttled(self, staff, app):
        for n in range(3):
            self.from_address(app, f"203.0.113.{n + 1}").login("clerk", "guess guess guess")
        client = app.test_client()
        client.get("/lang/en")
        response = page_login(client, "clerk", PASSWORD)
        assert response.status_code == 429
        html = response.get_data(as_text=True)
        assert "Too many sign-in attempts" in html and 'name="username"' in html


class TestWindowsExpire:
    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_ACCOUNT_RATE_LIMIT": "2 per 1 second"}

    def test_the_account_can_sign_in_again_once_the_window_passes(self, staff, api):
        for _ in range(2):
            api.login("clerk", "guess guess guess")
        assert api.login("clerk").status_code == 429
        time.sleep(1.5)
        assert api.login("clerk").status_code == 200


class TestPerAddressThrottle:
    @pytest.fixture
    def config_overrides(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "50 per minute",
        }

    def test_one_address_trying_many_accounts_is_throttled(self, staff, api):
        for name in ("clerk", "officer", "heshe"):
            assert api.login(name, "guess guess guess").status_code == 401
        assert api.login("county").status_code == 429


# ---------------------------------------------------------------- sessions


def test_an_idle_session_expires(staff, as_role):
    clerk = as_role("clerk")
    with clerk.client.session_transaction() as session:
        session["_seen"] -= 31 * 60
    assert clerk.get("/api/session").get_json()["user"] is None
    assert clerk.client.get("/admin/").status_code == 302
    with clerk.client.session_transaction() as session:
        assert "_user_id" not in session


def test_a_session_in_use_stays_signed_in_and_its_clock_moves_on(staff, as_role):
    clerk = as_role("clerk")
    with clerk.client.session_transaction() as session:
        session["_seen"] -= 25 * 60
    assert clerk.client.get("/admin/counter/").status_code in (200, 302)
    assert clerk.get("/api/session").get_json()["user"]["username"] == "clerk"
    with clerk.client.session_transaction() as session:
        assert time.time() - session["_seen"] < 60


class TestShortIdleTimeout:
    @pytest.fixture
    def config_overrides(self):
        return {"SESSION_IDLE_MINUTES": 1}

    def test_the_idle_limit_is_configurable(self, staff, as_role):
        clerk = as_role("clerk")
        with clerk.client.session_transaction() as session:
            session["_seen"] -= 90
        assert clerk.get("/api/session").get_json()["user"] is None


def test_a_cookie_replayed_after_sign_out_is_not_signed_in(staff, as_role, app):
    officer = as_role("officer")
    other_device = as_role("officer")
    old_cookie = officer.client.get_cookie("session").value
    assert officer.delete("/api/session").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/api/session").get_json()["user"] is None
    assert replay.get("/api/households").status_code == 401
    # Only that session ended: the officer's other device is still signed in.
    assert other_device.get("/api/session").get_json()["user"]["username"] == "officer"


def test_signing_out_on_the_page_ends_the_session_for_good(staff, app):
    client = app.test_client()
    page_login(client, "clerk", PASSWORD)
    old_cookie = client.get_cookie("session").value
    home = client.get("/admin/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/admin/").status_code == 302


def test_signing_out_removes_a_remember_cookie(staff, as_role):
    clerk = as_role("clerk")
    clerk.client.set_cookie("remember_token", "1|whatever")
    response = clerk.delete("/api/session")
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=;") and "Expires=Thu, 01 Jan 1970" in c for c in cookies)


def test_the_session_cookie_is_http_only_and_same_site(staff, api):
    response = api.login("clerk")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_only():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY and ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"


class TestSecureCookies:
    @pytest.fixture
    def config_overrides(self):
        return {"SESSION_COOKIE_SECURE": True}

    def test_a_secure_app_marks_the_session_cookie_secure(self, staff, app):
        api = Api(app.test_client())
        response = api.login("clerk")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "Secure" in cookie


# ---------------------------------------------------------------- logging and the trail


def test_sign_ins_are_logged_by_account_id_only(staff, api, caplog):
    caplog.set_level(logging.INFO)
    api.login("clerk")
    api.token = api.delete("/api/session").get_json()["csrf_token"]
    assert api.login("clerk", "secret guess 123").status_code == 401
    assert api.login("nobody-here", "another secret 456").status_code == 401
    clerk_id = stored(staff, "clerk").id
    assert f"user id {clerk_id}" in caplog.text
    for secret in ("clerk", "nobody-here", PASSWORD, "secret guess 123", "another secret 456"):
        assert secret not in caplog.text


def test_sign_ins_failures_and_sign_outs_are_in_the_audit_trail(staff, api, app):
    api.login("clerk")
    api.token = api.delete("/api/session").get_json()["csrf_token"]
    assert api.login("clerk", "wrong wrong wrong").status_code == 401
    assert api.login("nobody", "wrong wrong wrong").status_code == 401
    clerk_id = str(stored(app, "clerk").id)
    with app.app_context():
        events = [(e.action, e.entity_id) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    trail = [e for e in events if e[0].startswith("sign")]
    assert trail == [
        ("sign_in", clerk_id),
        ("sign_out", clerk_id),
        ("sign_in_failed", clerk_id),
        ("sign_in_failed", ""),
    ]


def test_two_sign_outs_of_one_session_end_it_once(staff, app):
    with app.app_context():
        clerk = db.session.scalars(sa.select(User).where(User.username == "clerk")).one()
        accounts.signed_out(clerk, "a" * 32)
        accounts.signed_out(clerk, "a" * 32)
        assert accounts.session_ended(clerk.id, "a" * 32)
        assert not accounts.session_ended(clerk.id, "b" * 32)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EndedSession)) == 1
        other = db.session.scalars(sa.select(User).where(User.username == "officer")).one()
        assert not accounts.session_ended(other.id, "a" * 32)  # a nonce ends only its own user's session


def test_sessions_signed_out_before_the_ended_session_table_stay_ended(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(base_config(url))
    with app.app_context():
        flask_migrate.upgrade(revision="0009_household_amounts_index")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO app_user (id, username, password_hash, role, display_name, active, must_change_password,"
                " created_at) VALUES (7, 'clerk', 'x', 'clerk', '', 1, 0, '2026-01-01 00:00:00')"
            )
            for action, nonce in (("sign_in", "c" * 32), ("sign_out", "c" * 32), ("sign_in", "d" * 32)):
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_event (at, actor_id, action, entity, entity_id, before, after)"
                        " VALUES ('2026-11-01 08:00:00', 7, :action, 'app_user', '7', '', :after)"
                    ),
                    {"action": action, "after": json.dumps({"session": nonce})},
                )
        flask_migrate.upgrade()
        assert accounts.session_ended(7, "c" * 32)
        assert not accounts.session_ended(7, "d" * 32)  # signed in, never out
        db.session.remove()
        db.engine.dispose()


def test_an_ended_session_cannot_be_revived_by_deleting_its_row(staff, app):
    with app.app_context():
        clerk = db.session.scalars(sa.select(User).where(User.username == "clerk")).one()
        clerk_id = clerk.id
        accounts.signed_out(clerk, "e" * 32)
    with app.app_context(), pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
        conn.execute(sa.delete(EndedSession.__table__))
    with app.app_context():
        assert accounts.session_ended(clerk_id, "e" * 32)
