"""The public catalog, as a buyer sees it in Chinese or English."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today, now_utc
from shop.extensions import db
from shop.models import Household, Lot, Product, SettlementMode, User
from shop.ops import demo


@pytest.fixture
def shop_floor(app):
    """The demo installation, seeded as `make run` seeds it."""
    with app.app_context():
        demo.seed()
    return app


def product_id(app, sku: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Product.id).where(Product.sku == sku))


def page(client, url: str, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_home_page_shows_lingao_goods_in_chinese_with_prices_per_jin(shop_floor, client):
    html = page(client, "/")
    assert '<html lang="zh-CN">' in html
    for name in ("虾干", "小鱼仔", "鱿鱼干"):
        assert f"<h2>{name}</h2>" in html
    assert "¥68.00 / 斤" in html
    assert "¥18.00 / 件" in html  # shrimp paste is sold by the jar
    assert "有货：" in html
    assert "暂时缺货" in html  # the demo cuttlefish has no lot


def test_the_home_page_names_the_supplying_villages(shop_floor, client):
    html = page(client, "/")
    assert "产地：" in html
    with shop_floor.app_context():
        villages = {
            h.village.name_zh
            for h in db.session.scalars(sa.select(Household).join(Lot, Lot.household_id == Household.id))
        }
    assert villages and all(v in html for v in villages)


def test_stock_shown_is_the_lots_on_sale_less_what_orders_hold(shop_floor, client, api):
    from shop.models import Reservation

    shrimp = product_id(shop_floor, "LG-XG")
    with shop_floor.app_context():
        on_hand = db.session.scalar(sa.select(sa.func.sum(Lot.qty_on_hand)).where(Lot.product_id == shrimp))
        # The demo's pay-at-pickup order holds some shrimp for its buyer.
        held = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Reservation.quantity), 0))
            .join(Lot, Reservation.lot_id == Lot.id)
            .where(Lot.product_id == shrimp)
        )
    assert held > 0
    listed = next(p for p in api.get("/api/products").get_json() if p["id"] == shrimp)
    assert listed["available"] == on_hand - held
    jin = f"{(on_hand - held) / 500:.2f}".rstrip("0").rstrip(".")
    assert f"有货：{jin} 斤" in page(client, f"/products/{shrimp}")


def test_a_lot_past_its_best_before_date_is_not_on_sale(shop_floor, client, api):
    shrimp = product_id(shop_floor, "LG-XG")
    before = next(p for p in api.get("/api/products").get_json() if p["id"] == shrimp)["available"]
    with shop_floor.app_context():
        clerk = db.session.scalar(sa.select(User).where(User.username == "clerk"))
        lot = db.session.scalars(sa.select(Lot).where(Lot.product_id == shrimp)).first()
        db.session.add(
            Lot(
                product_id=shrimp,
                household_id=lot.household_id,
                counter_id=lot.counter_id,
                qty_received=999,
                qty_on_hand=999,
                best_before=business_today() - timedelta(days=1),
                received_at=now_utc() - timedelta(days=400),
                received_by=clerk,
                mode=SettlementMode.CONSIGNMENT,
                share_bp=9000,
            )
        )
        db.session.commit()
    after = next(p for p in api.get("/api/products").get_json() if p["id"] == shrimp)["available"]
    assert after == before


def test_the_product_page_shows_the_certificate_and_masked_suppliers(shop_floor, client):
    shrimp = product_id(shop_floor, "LG-XG")
    html = page(client, f"/products/{shrimp}")
    assert "帮扶产品认定" in html and "LGBF-2025-001" in html and "临高县乡村振兴局" in html
    with shop_floor.app_context():
        suppliers = [
            (h.head_name, h.head_name_masked, h.village.name_zh)
            for h in db.session.scalars(
                sa.select(Household)
                .join(Lot, Lot.household_id == Household.id)
                .where(Lot.product_id == shrimp, Lot.qty_on_hand > 0)
            )
        ]
    assert suppliers
    for name, masked, village in suppliers:
        assert name not in html
        assert f"{masked}家" in html
        assert village in html


def test_an_uncertified_product_says_so(shop_floor, client):
    html = page(client, f"/products/{product_id(shop_floor, 'LG-XY')}")
    assert "该商品尚未取得帮扶产品认定" in html


def test_an_expired_certificate_is_flagged(shop_floor, client):
    shrimp = product_id(shop_floor, "LG-XG")
    with shop_floor.app_context():
        db.session.get(Product, shrimp).cert_expires_on = business_today() - timedelta(days=1)
        db.session.commit()
    assert "该认定证书已过期" in page(client, f"/products/{shrimp}")


def test_english_is_one_tap_away_and_remembered(shop_floor, client):
    response = client.get("/lang/en", query_string={"next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = page(client, "/")
    assert '<html lang="en">' in html
    assert "Dried shrimp" in html and "¥68.00 / 500 g" in html and "In stock:" in html
    assert "¥18.00 / piece" in html
    assert "Sold out for now" in html
    assert "Dabo" in html or "Congtan" in html
    client.get("/lang/zh_CN")
    assert "虾干" in page(client, "/")


def test_a_browser_asking_for_english_gets_english_and_others_get_chinese(shop_floor, client):
    assert "Dried shrimp" in page(client, "/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Dried shrimp" not in page(client, "/", headers={"Accept-Language": "fr-FR"})
    assert "虾干" in page(client, "/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "javascript:alert(1)"])
def test_the_language_switch_never_leaves_the_site(shop_floor, client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_an_unknown_language_is_404(shop_floor, client):
    assert client.get("/lang/xx").status_code == 404


def test_a_section_shows_only_its_products(shop_floor, client):
    html = page(client, "/", query_string={"category": "eggs"})
    assert "海鸭蛋" in html and "<h2>虾干</h2>" not in html
    assert "<h2>虾干</h2>" in page(client, "/", query_string={"category": "no-such-section"})


def test_a_withdrawn_or_missing_product_is_a_chinese_404_page(shop_floor, client):
    shrimp = product_id(shop_floor, "LG-XG")
    with shop_floor.app_context():
        db.session.get(Product, shrimp).active = False
        db.session.commit()
    for url in (
        f"/products/{shrimp}",
        "/products/999999",
        "/products/99999999999999999999",
        "/products/0",
        "/products/-1",
        "/no/such/page",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "您要找的页面或商品不存在" in response.get_data(as_text=True)
    assert "<h2>虾干</h2>" not in page(client, "/")


def test_the_empty_shop_still_renders(app, client):
    assert "这个分类暂时还没有商品" in page(client, "/")


def test_pages_load_only_assets_the_app_serves(shop_floor, client):
    html = page(client, "/") + page(client, f"/products/{product_id(shop_floor, 'LG-XG')}")
    assert "http://" not in html and "https://" not in html
    for asset in ("/static/css/app.css", "/static/img/logo.svg", "/static/img/products/dried-shrimp.svg"):
        assert client.get(asset).status_code == 200


def test_a_crumb_of_stock_reads_in_grams_rather_than_zero_jin(app):
    from shop.units import Unit
    from shop.web.templating import quantity_text

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert [quantity_text(q, Unit.GRAM) for q in (1, 2, 3, 750)] == ["1 克", "2 克", "0.01 斤", "1.5 斤"]
