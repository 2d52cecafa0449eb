"""Staff sign in and out, by the JSON API and by the login page, with CSRF and throttling."""

from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import User
from tests.conftest import PASSWORD, Api


def test_a_stranger_gets_no_user_and_a_csrf_token(api):
    body = api.get("/api/session").get_json()
    assert body["user"] is None
    assert len(body["csrf_token"]) > 20


def test_a_clerk_signs_in_and_gets_a_fresh_token(staff, api):
    old_token = api.refresh_token()
    response = api.post("/api/session", json={"username": "clerk", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {"username": "clerk", "role": "clerk"}
    assert body["csrf_token"] != old_token
    assert api.get("/api/session").get_json()["user"] == {"username": "clerk", "role": "clerk"}


def test_the_token_from_before_sign_in_no_longer_works(staff, api):
    old_token = api.refresh_token()
    api.login("admin")
    response = api.client.delete("/api/session", headers={"X-CSRFToken": old_token})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert api.get("/api/session").get_json()["user"] is not None


def test_usernames_ignore_case_and_surrounding_spaces(staff, api):
    assert api.login("  Clerk ").status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [{"username": "clerk", "password": "wrong password"}, {"username": "nobody", "password": PASSWORD}],
)
def test_wrong_credentials_get_the_same_401(staff, api, credentials):
    response = api.post("/api/session", json=credentials)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "bad_credentials"
    assert api.get("/api/session").get_json()["user"] is None


def test_signing_in_without_the_csrf_header_is_refused(staff, api):
    response = api.post("/api/session", json={"username": "clerk", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert api.get("/api/session").get_json()["user"] is None


@pytest.mark.parametrize(
    "body",
    [{"username": "clerk"}, {"username": 5, "password": PASSWORD}, {"username": "clerk", "password": None}, []],
)
def test_malformed_credentials_are_422(staff, api, body):
    response = api.post("/api/session", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


def test_signing_out_ends_the_session(staff, api):
    api.login("officer")
    response = api.delete("/api/session")
    assert response.status_code == 200
    assert response.get_json()["user"] is None
    assert api.get("/api/session").get_json()["user"] is None
    assert api.get("/api/households").status_code == 401


def test_a_deactivated_account_cannot_sign_in_or_stay_signed_in(staff, api):
    other = Api(staff.test_client())
    assert other.login("clerk").status_code == 200
    with staff.app_context():
        db.session.execute(sa.update(User).where(User.username == "clerk").values(active=False))
        db.session.commit()
    assert api.login("clerk").status_code == 401
    assert other.get("/api/session").get_json()["user"] is None


class TestThrottling:
    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}

    def test_too_many_attempts_from_one_address_get_429(self, staff, api):
        for _ in range(3):
            assert api.post("/api/session", json={"username": "clerk", "password": "nope nope"}).status_code == 401
        response = api.post("/api/session", json={"username": "clerk", "password": PASSWORD})
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "too_many_requests"
        assert api.get("/api/session").get_json()["user"] is None

    def test_the_login_page_shares_the_budget_of_the_api(self, staff, client):
        api = Api(client)
        for _ in range(3):
            api.post("/api/session", json={"username": "clerk", "password": "nope nope"})
        page = client.get("/login")
        token = _form_token(page)
        response = client.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 429


def _form_token(page) -> str:
    """The csrf_token hidden field of an HTML form."""
    html = page.get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_the_login_page_asks_for_username_and_password_in_chinese(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "工作人员登录" in html
    assert "用户名" in html and "密码" in html


def test_signing_in_on_the_page_leads_to_the_staff_home(staff, client):
    token = _form_token(client.get("/login"))
    response = client.post("/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert "帮扶责任人" in client.get("/admin/").get_data(as_text=True)


def test_a_wrong_password_on_the_page_says_so(staff, client):
    token = _form_token(client.get("/login"))
    response = client.post("/login", data={"username": "officer", "password": "guess guess", "csrf_token": token})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_the_login_form_without_its_token_is_refused(staff, client):
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/products/1", "/products/1"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        # A line break once split the Location header: a 500 after the sign-in had succeeded.
        ("\r\nX", "/admin/"),
        ("/admin/\n", "/admin/"),
        ("/\t/evil.example", "/admin/"),
        ("//evil.example", "/admin/"),
        ("https://evil.example", "/admin/"),
        ("http://[::1", "/admin/"),
    ],
)
def test_after_signing_in_only_same_site_pages_are_returned_to(staff, client, next_url, lands_on):
    token = _form_token(client.get("/login", query_string={"next": next_url}))
    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": next_url}
    )
    assert response.headers["Location"] == lands_on


@pytest.mark.parametrize(
    "query", ["next=%0d%0aX", "next=//evil.example", "next=https://evil.example", "next=/admin/%0a"]
)
def test_an_unsafe_next_in_the_address_leads_to_the_staff_home(staff, client, query):
    """The login page as a link sends it: the form carries next back, and a signed-in visit follows it at once."""
    page = client.get(f"/login?{query}")
    assert page.status_code == 200
    sent = unquote(query.removeprefix("next="))
    form = {"username": "admin", "password": PASSWORD, "csrf_token": _form_token(page), "next": sent}
    response = client.post("/login", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    again = client.get(f"/login?{query}")
    assert again.status_code == 302 and again.headers["Location"] == "/admin/"


def test_a_staff_page_sends_strangers_to_sign_in_and_back(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/")


def test_signing_out_on_the_page_needs_its_token(staff, client):
    token = _form_token(client.get("/login"))
    client.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200
    home = client.get("/admin/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": _form_token_any(home)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def _form_token_any(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


class TestBehindAProxy:
    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": 1}

    def test_each_client_behind_the_proxy_has_its_own_budget(self, staff, app):
        first, second = Api(app.test_client()), Api(app.test_client())
        first.client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.1"
        second.client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.2"
        for _ in range(2):
            first.post("/api/session", json={"username": "clerk", "password": "nope nope"})
        assert first.post("/api/session", json={"username": "clerk", "password": PASSWORD}).status_code == 429
        assert second.login("clerk").status_code == 200
