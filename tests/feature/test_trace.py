"""The public trace page a buyer opens by scanning the QR code on a package label."""

from datetime import datetime, timedelta

import pytest

from shop.clock import business_today
from shop.extensions import db
from shop.models import Lot, Product


def in_days(days: int) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def lot(app, goods, as_role) -> Lot:
    """Shrimp from the 王 household (a 监测户) of 大波村, received by the clerk."""
    body = {
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "quantity": 3000,
        "best_before": in_days(180),
        "mode": "consignment",
    }
    response = as_role("clerk").post("/api/lots", json=body)
    assert response.status_code == 201
    with app.app_context():
        found = db.session.get(Lot, response.get_json()["id"])
        db.session.expunge(found)
        return found


def trace_page(client, lot: Lot, **kwargs) -> str:
    response = client.get(f"/trace/{lot.trace_token}", **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_buyer_signed_out_sees_where_the_lot_comes_from(client, lot):
    html = trace_page(client, lot)
    assert "虾干" in html and lot.code in html
    assert "临城镇" in html and "大波村" in html and "王**" in html
    assert "/static/img/" in html  # the product's picture


def test_the_page_never_shows_the_full_name_or_the_category(client, lot):
    for language in ("zh-CN", "en"):
        html = trace_page(client, lot, headers={"Accept-Language": language})
        assert "王亦明" not in html
        for category in ("监测户", "脱贫户", "Under monitoring", "Lifted out of poverty", "DB001"):
            assert category not in html


def test_the_date_received_is_the_day_at_the_counter_not_in_utc(app, client, lot):
    with app.app_context():
        # 17:30 UTC is already half past one the next morning in Hainan.
        db.session.get(Lot, lot.id).received_at = datetime(2026, 3, 1, 17, 30)
        db.session.commit()
    assert "2026年3月2日" in trace_page(client, lot)


def test_the_certificate_is_shown_and_an_expired_one_is_flagged(app, client, lot):
    with app.app_context():
        product = db.session.get(Product, lot.product_id)
        product.cert_no, product.cert_issuer = "LGBF-2025-001", "临高县乡村振兴局"
        product.cert_expires_on = business_today() + timedelta(days=30)
        db.session.commit()
    html = trace_page(client, lot)
    assert "LGBF-2025-001" in html and "临高县乡村振兴局" in html and "该认定证书已过期" not in html
    with app.app_context():
        db.session.get(Product, lot.product_id).cert_expires_on = business_today() - timedelta(days=1)
        db.session.commit()
    assert "该认定证书已过期" in trace_page(client, lot)


def test_an_uncertified_product_says_so(client, lot):
    assert "该商品尚未取得帮扶产品认定" in trace_page(client, lot)


def test_a_lot_past_its_best_before_date_says_so(app, client, lot):
    assert "已过期" not in trace_page(client, lot)
    with app.app_context():
        db.session.get(Lot, lot.id).best_before = business_today() - timedelta(days=1)
        db.session.commit()
    assert "已过期" in trace_page(client, lot)


# A lot's code or id is guessable, so neither opens its page: only the random token does.
@pytest.mark.parametrize("token", ["no-such-token", "x" * 200, "P000001", "1"])
def test_an_unknown_token_is_a_404_page(client, lot, token):
    response = client.get(f"/trace/{token}")
    assert response.status_code == 404
    assert "您要找的页面或商品不存在" in response.get_data(as_text=True)


def test_the_page_loads_only_assets_the_app_serves(client, lot):
    html = trace_page(client, lot)
    assert "http://" not in html and "https://" not in html
