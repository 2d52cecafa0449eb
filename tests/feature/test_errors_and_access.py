"""Errors have one JSON shape for the API and a page for people; every route says who may use it."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Product, Role
from shop.web.access import PUBLIC


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "allowed_roles")
    ]
    assert undeclared == []


def test_every_non_public_route_turns_strangers_away(app, client):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or view.allowed_roles == PUBLIC or rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method != "GET":
                continue  # writes are refused earlier, for lack of a CSRF token
            response = client.open(rule.rule, method=method)
            assert response.status_code in (401, 302), rule.rule
            if rule.rule.startswith("/api/"):
                assert response.get_json()["error"]["code"] == "unauthenticated"
            else:
                assert response.headers["Location"].startswith("/login")


def test_the_staff_home_shows_each_role_what_it_looks_after(goods, as_role, app):
    officer_home = as_role("officer").client.get("/admin/").get_data(as_text=True)
    assert "DB001" in officer_home and "CT001" not in officer_home
    assert "王亦明" in officer_home and "王**" not in officer_home  # their own, in full
    clerk_home = as_role("clerk").client.get("/admin/").get_data(as_text=True)
    assert "在售库存" in clerk_home and "DB001" not in clerk_home
    county_home = as_role("county").client.get("/admin/").get_data(as_text=True)
    assert "DB001" in county_home and "CT001" in county_home and "全县" in county_home


def test_an_unknown_api_address_is_a_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "not_found", "message": "您要找的页面或商品不存在。", "fields": {}}
    }


def test_a_wrong_method_is_a_json_405(client):
    response = client.put("/api/products", json={})
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


class TestUnexpectedErrors:
    @pytest.fixture
    def config_overrides(self):
        return {"HANDLE_UNEXPECTED_ERRORS": True}

    @pytest.fixture
    def broken(self, app):
        """Routes that record a product and then crash before the use case commits."""

        def crash():
            db.session.add(Product(sku="HALF", name_zh="半截", unit="g", price_fen=1, price_per=1))
            db.session.flush()
            raise RuntimeError("the scale's cable came loose")

        crash.allowed_roles = PUBLIC
        app.add_url_rule("/api/crash", "api_crash", crash)
        app.add_url_rule("/crash", "page_crash", crash)
        return app

    def test_a_crash_in_the_api_is_a_json_500_that_records_nothing(self, broken, client, caplog):
        response = client.get("/api/crash")
        assert response.status_code == 500
        assert response.get_json()["error"]["code"] == "internal_error"
        assert "cable" not in response.get_data(as_text=True)
        assert "cable came loose" in caplog.text
        with broken.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 0

    def test_a_crash_on_a_page_is_a_chinese_500_page(self, broken, client):
        response = client.get("/crash")
        assert response.status_code == 500
        assert "系统出错了" in response.get_data(as_text=True)

    def test_a_crash_after_the_commit_claims_nothing_it_cannot_know(self, app, client):
        """The database may fail after a sale committed: a 500 must not say that nothing was recorded."""

        def committed_then_crashed():
            db.session.add(Product(sku="DONE", name_zh="已记", unit="g", price_fen=1, price_per=1))
            db.session.commit()
            raise RuntimeError("the connection dropped after the commit")

        committed_then_crashed.allowed_roles = PUBLIC
        app.add_url_rule("/api/late-crash", "api_late_crash", committed_then_crashed)
        app.add_url_rule("/late-crash", "page_late_crash", committed_then_crashed)
        answer = client.get("/api/late-crash")
        assert answer.status_code == 500
        error = answer.get_json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["code"] == "internal_error"
        assert "Nothing was recorded" not in error["message"] and "未做任何记录" not in error["message"]
        # No idempotency key on this route: the client is told to check, not that resending is safe.
        assert "幂等" not in error["message"] and "核实" in error["message"]
        page = client.get("/late-crash").get_data(as_text=True)
        assert "未做任何记录" not in page and "Nothing was recorded" not in page
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Product.id)).where(Product.sku == "DONE")) == 1


def test_roles_are_the_five_of_the_design():
    assert {r.value for r in Role} == {"admin", "clerk", "officer", "supervisor", "inspector"}
