"""Addresses that leave the app (QR codes, Stripe's way back) honour PUBLIC_BASE_URL."""

import pytest

from shop.web.urls import public_base_url, public_url

#: A tablet printing through the counter's local network.
LOCAL = "http://192.168.1.20:8000"


def test_without_a_public_address_the_request_s_own_is_used(app):
    with app.test_request_context(base_url=LOCAL):
        assert public_base_url() == ""
        assert public_url("catalog.trace", token="T0001") == f"{LOCAL}/trace/T0001"


@pytest.mark.parametrize("config_overrides", [{"PUBLIC_BASE_URL": "https://bangfu.example.cn/"}])
def test_a_public_address_replaces_the_request_s_own(app):
    with app.test_request_context(base_url=LOCAL):
        assert public_base_url() == "https://bangfu.example.cn"
        assert public_url("catalog.trace", token="T0001") == "https://bangfu.example.cn/trace/T0001"
        statement = public_url("verify.statement", household_id=7, month="2026-05", digest="0123456789abcdef")
        assert statement == "https://bangfu.example.cn/verify/statement/7/2026-05/0123456789abcdef"


@pytest.mark.parametrize("public", ["", "https://bangfu.example.cn"])
def test_values_are_quoted_and_extra_ones_become_the_query(app, public):
    app.config["PUBLIC_BASE_URL"] = public
    with app.test_request_context(base_url=LOCAL):
        url = public_url("catalog.trace", token="a b?c", lang="zh")
    assert url == f"{public or LOCAL}/trace/a%20b%3Fc?lang=zh"


@pytest.mark.parametrize("public", ["", "https://bangfu.example.cn"])
def test_a_blueprint_s_own_endpoint_may_be_named_relatively(app, public):
    app.config["PUBLIC_BASE_URL"] = public
    with app.test_request_context("/admin/households/", base_url=LOCAL):
        assert public_url(".household", household_id=3) == f"{public or LOCAL}/admin/households/3"
