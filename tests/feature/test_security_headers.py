"""Every answer carries the security headers: pages, JSON, errors, static files and PDFs."""

from datetime import timedelta

import pytest

from shop.clock import business_today
from shop.web.access import PUBLIC


def directives(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    parts = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: sources for name, sources in parts}


def assert_hardened(response) -> None:
    policy = directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"].split()[0] == "'self'" and "https://js.stripe.com" in policy["script-src"]
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin-when-cross-origin"}
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]


def test_the_catalog_page_is_hardened(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_hardened(response)
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_policy_lets_in_stripe_js_its_frames_and_its_api_and_nothing_else(client):
    policy = directives(client.get("/"))
    assert set(policy["script-src"].split()) == {"'self'", "https://js.stripe.com", "https://*.js.stripe.com"}
    assert set(policy["frame-src"].split()) == {
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    }
    assert set(policy["connect-src"].split()) == {"'self'", "https://api.stripe.com"}
    assert set(policy["img-src"].split()) == {"'self'", "data:"}


def test_json_answers_are_hardened(client):
    response = client.get("/api/products")
    assert response.status_code == 200 and response.is_json
    assert_hardened(response)


@pytest.mark.parametrize(
    ("url", "status"), [("/nothing-here", 404), ("/api/nothing-here", 404), ("/api/products", 405)]
)
def test_error_answers_are_hardened(client, url, status):
    response = client.put(url) if status == 405 else client.get(url)
    assert response.status_code == status
    assert_hardened(response)


def test_strangers_turned_away_are_answered_with_the_headers_too(client):
    page, api = client.get("/admin/"), client.get("/api/households")
    assert (page.status_code, api.status_code) == (302, 401)
    assert_hardened(page)
    assert_hardened(api)


class TestCrashes:
    @pytest.fixture
    def config_overrides(self):
        return {"HANDLE_UNEXPECTED_ERRORS": True}

    def test_a_500_page_and_a_json_500_are_hardened(self, app, client):
        def crash():
            raise RuntimeError("the till's drawer jammed")

        crash.allowed_roles = PUBLIC
        app.add_url_rule("/crash", "page_crash", crash)
        app.add_url_rule("/api/crash", "api_crash", crash)
        for url in ("/crash", "/api/crash"):
            response = client.get(url)
            assert response.status_code == 500
            assert_hardened(response)


def test_static_files_are_hardened(client):
    for url in ("/static/css/app.css", "/static/js/pos.js"):
        response = client.get(url)
        assert response.status_code == 200
        assert_hardened(response)
        response.close()


def test_the_tills_service_worker_keeps_its_scope_and_gets_the_headers(as_role):
    response = as_role("clerk").client.get("/admin/counter/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/admin/counter/"
    assert_hardened(response)
    response.close()


def test_pdfs_shown_inline_are_hardened(goods, as_role):
    admin = as_role("admin")
    lot = {
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "quantity": 1000,
        "mode": "consignment",
        "best_before": (business_today() + timedelta(days=90)).isoformat(),
    }
    lot_id = admin.post("/api/lots", json=lot).get_json()["id"]
    response = admin.client.get(f"/admin/stock/lots/{lot_id}/labels.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert_hardened(response)


def test_a_views_own_referrer_policy_is_kept(client):
    # The statement check names a household's month in its address: it sends no referrer at all.
    response = client.get("/verify/statement/1/2025-01/0000")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert_hardened(response)


def no_store(response) -> bool:
    return "no-store" in (response.headers.get("Cache-Control") or "")


def test_staff_pages_and_staff_json_are_never_stored(app, goods, as_role, client):
    from shop.extensions import db
    from shop.models import Household

    with app.app_context():
        db.session.get(Household, goods["wang"]).phone = "13812345678"
        db.session.commit()
    assert no_store(client.get("/login")) and no_store(client.get("/login?next=/admin/"))
    assert no_store(client.get("/admin/"))  # a stranger's redirect to sign in, too
    assert no_store(client.get("/api/households"))  # a stranger's 401
    admin = as_role("admin")
    for url in ("/admin/", "/admin/households/", f"/admin/households/{goods['wang']}", "/account/password"):
        response = admin.client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url
    assert no_store(admin.client.get("/api/households")) and no_store(admin.client.get("/api/session"))
    # The one page that shows a household's whole phone number.
    phone = admin.client.get(f"/admin/households/{goods['wang']}/phone")
    assert phone.status_code == 200 and "13812345678" in phone.get_data(as_text=True) and no_store(phone)


def test_the_public_catalog_and_static_files_keep_their_caching(client):
    for url in ("/", "/api/products", "/static/css/app.css"):
        response = client.get(url)
        assert response.status_code == 200 and not no_store(response), url
        response.close()


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"] == "max-age=31536000"
