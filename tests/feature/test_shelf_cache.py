"""The shop front's kept shelf: shown again only while it is true, per language, and never anything personal."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.catalog import products
from shop.clock import now_utc
from shop.models import Lot
from tests.conftest import SHRIMP, Api, base_config
from tests.factories import receive


@pytest.fixture
def shelf(app, goods, as_role):
    """Shrimp (2 jin) and shrimp paste (3 jars) on sale at the counter; a clerk to sell them."""
    clerk = as_role("clerk")
    return {
        "clerk": clerk,
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000),
        "paste": receive(clerk, goods["paste"], goods["fu"], 3),
    }


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """Counts the shelf's renderings (each reads a page of the catalog once)."""
    counted = []
    read = products.catalog_page

    def counting(*args, **kwargs):
        counted.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(products, "catalog_page", counting)
    return counted


def rendered(renders: list[int], times: int, database_url: str) -> bool:
    """The shelf was rendered `times` times; on PostgreSQL at least that many, since its version is the
    cluster's snapshot and the suite's other workers write to other databases on the same cluster."""
    return len(renders) == times if database_url.startswith("sqlite") else len(renders) >= times


def card(html: str, product_id: int) -> str | None:
    """A product's card on the shelf, or None when it is not there."""
    found = re.search(rf'<li class="card[^"]*">\s*<a href="/products/{product_id}">.*?</li>', html, re.S)
    return found.group(0) if found else None


def home(client, lang: str = "zh-CN", path: str = "/") -> str:
    response = client.get(path, headers={"Accept-Language": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def edit(admin: Api, product_id: int, **changes) -> bool:
    """Change a product through the API, as the manager."""
    headers = {"X-CSRFToken": admin.token or admin.refresh_token()}
    return admin.client.patch(f"/api/products/{product_id}", json=changes, headers=headers).status_code == 200


def sell(clerk: Api, product_id: int, quantity: int, key: str):
    body = {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": product_id, "quantity": quantity}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()


def test_the_shelf_is_rendered_once_and_shown_again_while_nothing_changes(shelf, goods, client, renders, database_url):
    first = home(client)
    assert "有货：3 件" in card(first, goods["paste"])
    assert home(client) == first
    assert home(client) == first
    assert rendered(renders, 1, database_url)


def test_a_product_sold_out_at_the_counter_shows_sold_out_on_the_next_load(shelf, goods, client, renders, database_url):
    assert "有货：3 件" in card(home(client), goods["paste"])
    sell(shelf["clerk"], goods["paste"], 3, "till-1-all-paste")
    paste = card(home(client), goods["paste"])
    assert "暂时缺货" in paste and "有货" not in paste and "sold-out" in paste
    assert rendered(renders, 2, database_url)


def test_a_sale_that_leaves_some_shows_what_is_left(shelf, goods, client):
    assert "有货：2 斤" in card(home(client), goods["shrimp"])
    sell(shelf["clerk"], goods["shrimp"], 250, "till-1-some-shrimp")
    assert "有货：1.5 斤" in card(home(client), goods["shrimp"])


def test_a_price_change_shows_on_the_next_load(shelf, goods, admin, client):
    assert "¥68.00 / 斤" in card(home(client), goods["shrimp"])
    assert edit(admin, goods["shrimp"], price_fen=7250)
    shrimp = card(home(client), goods["shrimp"])
    assert "¥72.50 / 斤" in shrimp and "¥68.00" not in shrimp


def test_a_new_product_shows_on_the_next_load(shelf, admin, client):
    before = home(client)
    made = admin.post("/api/products", json={**SHRIMP, "sku": "LG-YY", "name": "鱿鱼干", "name_en": "Dried squid"})
    assert made.status_code == 201
    squid = card(home(client), made.get_json()["id"])
    assert squid is not None and "鱿鱼干" in squid and "暂时缺货" in squid
    assert "<h2>鱿鱼干</h2>" not in before


def test_a_product_taken_off_sale_leaves_the_shelf_on_the_next_load(shelf, goods, admin, client):
    assert card(home(client), goods["shrimp"]) is not None
    assert edit(admin, goods["shrimp"], active=False)
    html = home(client)
    assert card(html, goods["shrimp"]) is None and card(html, goods["paste"]) is not None
    assert edit(admin, goods["shrimp"], active=True)
    assert card(home(client), goods["shrimp"]) is not None


def test_chinese_and_english_are_kept_apart_and_both_follow_a_change(
    shelf, goods, admin, client, renders, database_url
):
    chinese, english = home(client, "zh-CN"), home(client, "en")
    assert "<h2>虾干</h2>" in chinese and "In stock" not in chinese
    assert "<h2>Dried shrimp</h2>" in english and "有货" not in english
    assert (home(client, "zh-CN"), home(client, "en")) == (chinese, english)
    assert rendered(renders, 2, database_url)
    assert edit(admin, goods["shrimp"], price_fen=7000)
    assert "¥70.00 / 500 g" in card(home(client, "en"), goods["shrimp"])
    assert "¥70.00 / 斤" in card(home(client, "zh-CN"), goods["shrimp"])


def test_each_section_is_kept_apart(shelf, goods, client):
    everything = home(client)
    goods_section = re.search(r'href="/\?category=(\w+)"', everything).group(1)
    section = home(client, path=f"/?category={goods_section}")
    assert section != everything and 'class="chip active"' in section
    assert home(client) == everything


def test_a_later_page_is_kept_apart_and_follows_a_change_like_the_first(
    shelf, goods, client, renders, monkeypatch, database_url
):
    monkeypatch.setattr(products, "SHELF_PAGE_SIZE", 1)  # shrimp on page 1, paste on page 2
    first, second = home(client), home(client, path="/?page=2")
    assert card(first, goods["shrimp"]) and card(first, goods["paste"]) is None
    assert "有货：3 件" in card(second, goods["paste"]) and card(second, goods["shrimp"]) is None
    assert (home(client), home(client, path="/?page=2")) == (first, second)
    assert rendered(renders, 2, database_url)
    sell(shelf["clerk"], goods["paste"], 1, "till-1-one-paste")
    assert "有货：2 件" in card(home(client, path="/?page=2"), goods["paste"])
    assert rendered(renders, 3, database_url)
    assert home(client, path="/?page=2") != second and home(client) == first


def test_a_change_committed_by_another_process_is_seen_on_the_next_load(app, shelf, goods, client, database_url):
    """Another gunicorn worker is another connection: here, an engine of its own, outside the app."""
    assert "有货：3 件" in card(home(client), goods["paste"])
    other = sa.create_engine(database_url)
    try:
        with other.begin() as conn:
            conn.execute(sa.update(Lot).where(Lot.id == shelf["paste"]).values(qty_on_hand=0))
        paste = card(home(client), goods["paste"])
        assert "暂时缺货" in paste
        with other.begin() as conn:
            conn.exec_driver_sql(f"UPDATE product SET price_fen = 1900 WHERE id = {goods['paste']}")
        assert "¥19.00" in card(home(client), goods["paste"])
    finally:
        other.dispose()


def test_stock_an_order_held_comes_back_when_the_hold_lapses_without_any_write(shelf, goods, api, client, monkeypatch):
    order = {
        "lines": [{"product_id": goods["paste"], "quantity": 2}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    assert api.post("/api/orders", json=order).status_code == 201
    assert "有货：1 件" in card(home(client), goods["paste"])
    later = now_utc() + timedelta(days=1)
    from shop.stock import lots
    from shop.web import storefront

    monkeypatch.setattr(storefront, "now_utc", lambda: later)
    monkeypatch.setattr(lots, "now_utc", lambda: later)
    assert "有货：3 件" in card(home(client), goods["paste"])


def test_nothing_personal_is_kept_for_the_next_buyer(shelf, goods, admin, client):
    staff_page = home(admin.client)
    assert "csrf_token" in staff_page and "/logout" in staff_page
    stranger = home(client)
    assert "csrf_token" not in stranger and "/logout" not in stranger
    buyer = client.application.test_client()
    token = Api(buyer).refresh_token()
    added = buyer.post(f"/cart/add/{goods['paste']}", data={"csrf_token": token, "quantity": "1", "unit": "piece"})
    assert added.status_code == 302
    assert 'class="cart-count"' in home(buyer)
    assert 'class="cart-count"' not in home(client)
    # The language switch goes back to the section the buyer is in.
    switch = re.search(r'<a class="lang" href="([^"]+)"', home(client, path="/?category=other")).group(1)
    assert "category" in switch and "other" in switch


def test_the_first_render_after_a_change_is_what_a_fresh_worker_renders(shelf, goods, admin, client, database_url):
    home(client)
    assert edit(admin, goods["shrimp"], price_fen=7100)
    cold = home(client)
    fresh = create_app(base_config(database_url)).test_client()
    assert home(fresh) == cold and home(client) == cold


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_shelfs_stock_line_says_what_the_product_page_says(app, language):
    """The shelf translates its stock words once per render; they must stay quantity_text's words."""
    from flask_babel import gettext

    from shop.units import Unit
    from shop.web.storefront import stock_wording
    from shop.wording import quantity_text

    with app.test_request_context(headers={"Accept-Language": language}):
        said = stock_wording()
        for unit in Unit:
            for qty in (1, 2, 3, 4, 5, 249, 250, 500, 501, 1000, 1234, 99_999, 10_000_000):
                assert said(qty, unit) == gettext("In stock: %(qty)s", qty=quantity_text(qty, unit)), (qty, unit)
