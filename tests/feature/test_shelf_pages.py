"""The shop front in pages: a page of products at a time, in stock first across pages, whatever `page` says."""

import re

import pytest
import sqlalchemy as sa

from bench import page_weights
from shop.catalog import products, shelf_cache
from shop.extensions import db
from shop.models import Product
from tests.conftest import PASTE, SHRIMP
from tests.factories import receive

#: Products on a page in most tests here: small, so a few products make several pages.
SMALL_PAGE = 4
#: Which of the ten products (by the order they were added) have stock, and which are condiments.
STOCKED = {1, 4, 6, 9}
CONDIMENTS = {0, 1, 2, 5, 7, 8}
CARD = re.compile(r'<li class="card[^"]*"><a href="/products/(\d+)">')


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(products, "SHELF_PAGE_SIZE", SMALL_PAGE)


@pytest.fixture
def ten(goods, admin, as_role, small_pages) -> list[int]:
    """Ten products made by the manager, in the order added; four have stock (STOCKED), six are condiments."""
    clerk = as_role("clerk")
    made = []
    for n in range(10):
        body = {**(PASTE if n in CONDIMENTS else SHRIMP), "sku": f"PG-{n:02d}", "name": f"货品{n:02d}"}
        body["category"] = "condiment" if n in CONDIMENTS else "seafood"
        response = admin.post("/api/products", json=body)
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
        if n in STOCKED:
            receive(clerk, made[-1], goods["wang"], 1000)
    # The fixture's own shrimp and paste are off sale, so the shelf is just these ten.
    for product_id in (goods["shrimp"], goods["paste"]):
        off_sale(admin, product_id)
    return made


def off_sale(admin, product_id: int) -> None:
    """Take a product off sale through the API, as the manager."""
    headers = {"X-CSRFToken": admin.token or admin.refresh_token()}
    assert admin.client.patch(f"/api/products/{product_id}", json={"active": False}, headers=headers).status_code == 200


def in_shelf_order(ids: list[int], among: set[int] | None = None) -> list[int]:
    """The ten products as the shelf orders them: in stock first, then in the order added."""
    chosen = [n for n in range(len(ids)) if among is None or n in among]
    return [ids[n] for n in sorted(chosen, key=lambda n: n not in STOCKED)]


def get(client, path: str, lang: str = "zh-CN"):
    return client.get(path, headers={"Accept-Language": lang})


def page(client, path: str, lang: str = "zh-CN") -> str:
    response = get(client, path, lang)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def shelf(html: str) -> str:
    """The shelf on a page: sections, cards and page links (the language switch's link back differs by address)."""
    return html[html.index('<nav class="chips"') : html.index("</main>")]


def cards(html: str) -> list[int]:
    return [int(found) for found in CARD.findall(html)]


def pager(html: str) -> str:
    found = re.search(r'<nav class="pager" aria-label="[^"]+">.*?</nav>', html, re.S)
    return found.group(0) if found else ""


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a class="button quiet" rel="{rel}" href="([^"]+)"', pager(html))
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_first_page_shows_the_first_products_and_a_link_to_the_next(ten, client):
    html = page(client, "/")
    assert cards(html) == in_shelf_order(ten)[:SMALL_PAGE]
    assert link(html, "next") == "/?page=2" and link(html, "prev") is None
    assert "第 1 页，共 3 页" in pager(html) and "下一页" in pager(html)
    assert 'aria-label="分页"' in html
    assert shelf(page(client, "/?page=1")) == shelf(html)


def test_the_last_page_shows_the_rest_and_a_link_back(ten, client):
    html = page(client, "/?page=3")
    assert cards(html) == in_shelf_order(ten)[2 * SMALL_PAGE :]
    assert link(html, "prev") == "/?page=2" and link(html, "next") is None
    assert "第 3 页，共 3 页" in pager(html) and "上一页" in pager(html)


def test_following_next_walks_every_product_once_in_stock_first(ten, client):
    seen, path, pages = [], "/", 0
    while path:
        html = page(client, path)
        seen += cards(html)
        pages += 1
        path = link(html, "next")
    assert seen == in_shelf_order(ten) and pages == 3
    # Sold out never comes before in stock, on a page or across pages.
    stocked = {ten[n] for n in STOCKED}
    assert [p in stocked for p in seen] == sorted((p in stocked for p in seen), reverse=True)


def test_a_section_pages_too_and_its_links_keep_it(ten, client):
    first = page(client, "/?category=condiment")
    assert cards(first) == in_shelf_order(ten, CONDIMENTS)[:SMALL_PAGE]
    assert link(first, "next") == "/?category=condiment&page=2"
    second = page(client, link(first, "next"))
    assert cards(second) == in_shelf_order(ten, CONDIMENTS)[SMALL_PAGE:]
    assert link(second, "prev") == "/?category=condiment" and link(second, "next") is None
    assert "第 2 页，共 2 页" in pager(second) and 'class="chip active"' in second
    # A section that fits on one page has no page links at all.
    assert pager(page(client, "/?category=seafood")) == ""


def test_the_page_links_in_english(ten, client):
    html = page(client, "/?page=2", "en")
    assert "Page 2 of 3" in pager(html) and "Previous page" in pager(html) and "Next page" in pager(html)
    assert 'aria-label="Pages"' in html and "上一页" not in html


def test_a_page_past_the_end_is_sent_to_the_last_page(ten, client, admin):
    past = get(client, "/?page=4")
    assert past.status_code == 302 and past.headers["Location"] == "/?page=3"
    section = get(client, "/?category=condiment&page=7")
    assert section.status_code == 302 and section.headers["Location"] == "/?category=condiment&page=2"
    # The shelf shrinks: an old link to its last page now lands on the new last page.
    for product_id in ten[7:]:
        off_sale(admin, product_id)
    assert get(client, "/?page=3").headers["Location"] == "/?page=2"
    assert get(client, "/?category=seafood&page=2").headers["Location"] == "/?category=seafood"


HOSTILE_PAGES = [
    "0",
    "-1",
    "abc",
    "",
    "1.5",
    " 2",
    "2 ",
    "+2",
    "2_0",
    "0x2",
    "２",
    "²",
    "1e3",
    "%00",
    "page",
    "\u202e2",
]
HUGE_PAGES = ["4", "99", "1" + "0" * 30, "9" * 5000, "00000000000000000000000000000000004"]


def test_a_clumsy_or_made_up_page_shows_page_one_or_the_last_and_changes_nothing(ten, app, client):
    first = shelf(page(client, "/"))
    with app.app_context():
        before = db.session.execute(sa.select(Product.id, Product.active, Product.price_fen).order_by(Product.id)).all()
    for value in HOSTILE_PAGES:
        assert shelf(page(client, f"/?page={value}")) == first, value
    assert shelf(page(client, "/?page=1&page=3")) == first  # the first of a repeated parameter counts
    for value in HUGE_PAGES:
        response = get(client, f"/?page={value}")
        assert response.status_code == 302 and response.headers["Location"] == "/?page=3", value[:40]
    assert get(client, "/?category=nonsense&page=-5").status_code == 200
    with app.app_context():
        after = db.session.execute(sa.select(Product.id, Product.active, Product.price_fen).order_by(Product.id)).all()
        # Made-up page numbers leave nothing kept behind: only real pages are.
        kept = {key[2] for key in shelf_cache.cache().shelves}
    assert after == before
    assert kept <= {1, 2, 3}


def test_an_empty_shelf_is_one_page_with_no_page_links(app, client, small_pages):
    html = page(client, "/")
    assert cards(html) == [] and pager(html) == "" and "这个分类暂时还没有商品。" in html
    assert get(client, "/?page=2").headers["Location"] == "/"


class OverTestClient:
    """bench.page_weights' browser, over the app's test client rather than a socket."""

    def __init__(self, client):
        self.client = client

    def get(self, path: str, **headers) -> tuple[int, bytes, str]:
        response = self.client.get(path, headers={"Accept-Language": "zh-CN", **headers})
        return response.status_code, response.get_data(), path


def test_the_shop_front_with_500_products_weighs_at_most_150_kb(app, goods, as_role, client):
    """As the bench weighs it: the HTML and every asset it references, uncompressed; in stock first, with villages."""
    clerk = as_role("clerk")
    with app.app_context():
        made = [
            products.create_product(
                sku=f"W-{n:03d}",
                name_zh=f"临高虾干 {n}号",
                name_en=f"Dried shrimp no. {n}",
                unit="g",
                price_fen=6800 + n,
                price_per=500,
                category="seafood",
            ).id
            for n in range(500)
        ]
    for n, product_id in enumerate(made[:60]):
        receive(clerk, product_id, goods["wang" if n % 2 else "fu"], 5000)
    html = page(client, "/")
    assert len(cards(html)) == products.SHELF_PAGE_SIZE == 48
    assert "第 1 页，共 11 页" in pager(html)
    weight = page_weights.weigh(OverTestClient(client), "/")
    assert weight["kb"] <= page_weights.LIMIT_KB, weight
    last = page(client, "/?page=11")
    assert len(cards(last)) == 502 - 10 * 48 and link(last, "next") is None
