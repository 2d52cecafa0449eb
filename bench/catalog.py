"""The public catalog page (GET /) with 500 products through gunicorn, against a bare Jinja render of the same rows.

The shelf is made through the app's own use cases: 500 products cycling the
demo's specialities, one to three lots of most of them from 200 households in
the county's ten towns, some sold out, and a few online orders holding stock.
The shop front shows a page of the shelf at a time, and the page timed is the
first. The baseline (bench.bare's GET /catalog) reads the same page's rows in one
hand-written query and renders the same cards with a bare Jinja template; every
page's cards of the two are checked equal (so all 500 products, in the same
order) before either is timed, and again after.
The rate is the median of three rounds, each app in turn. The app keeps its
rendered shelf until the database changes, so the cold render (the first load
after a price change, the change checked shown) is measured on its own,
beside one bare load. Then every public page is weighed (bench.page_weights).
"""

import random
import re
import statistics
import time
from datetime import timedelta

from . import bare, page_weights
from .server import gunicorn
from .tills import Client, flat_out

PRODUCTS = 500
HOUSEHOLDS = 200
VILLAGES_PER_TOWN = 4
#: Lots per product and how often: a product with none shows as sold out.
LOTS_PER_PRODUCT = ((0, 1), (1, 4), (2, 3), (3, 2))
#: Online orders awaiting payment (at pickup), so the shelf's holds are subtracted for real.
HELD_ORDERS = 20
#: Rounds of the page rate, alternating the app and the bare render; the median is the figure.
ROUNDS = 3
#: Loads of the shelf each right after a price change, for the cold render.
COLD_RENDERS = 5
CARD = re.compile(
    r'<a href="/products/(\d+)">.*?<h2>(.*?)</h2>\s*<p class="price">(.*?)</p>\s*'
    r'<p class="stock (?:in|out)">(.*?)</p>(?:\s*<p class="villages">(.*?)</p>)?',
    re.S,
)
#: The page links' "page 1 of N".
PAGES = re.compile(r"第 1 页，共 (\d+) 页")


def seed(app) -> int:
    """The shelf, made through the use cases; returns how many products are in stock."""
    from shop.catalog import products
    from shop.clock import business_today
    from shop.extensions import db
    from shop.models import Counter, Fulfilment, OrderPayment, Role, SettlementMode, Town
    from shop.ops.demo import PRODUCTS as SPECIALITIES
    from shop.ops.demo import TOWNS
    from shop.selling import orders
    from shop.selling.sales import LineRequest
    from shop.staff import accounts
    from shop.stock import lots as stock
    from shop.units import Unit
    from shop.villages import households

    rng = random.Random(500)
    today = business_today()
    with app.app_context():
        db.session.add(Counter(code="LC-JN", name="临城江南市场对面专柜"))
        db.session.add_all(Town(name_zh=zh, name_en=en) for zh, en in TOWNS)
        db.session.commit()
        admin = accounts.create_user("bench-admin", "bench password 2026", Role.ADMIN)
        accounts.create_user("bench-officer", "bench password 2026", Role.OFFICER)
        suppliers = [
            households.create_household(
                code=f"C{n:04d}",
                head_name=f"王{n}",
                town=TOWNS[n % len(TOWNS)][0],
                village=f"{TOWNS[n % len(TOWNS)][0][:2]}{'东南西北'[n // len(TOWNS) % VILLAGES_PER_TOWN]}村",
                members=rng.randint(1, 6),
                category="tuopin",
                officer="bench-officer",
                recorded_by=admin,
            ).id
            for n in range(HOUSEHOLDS)
        ]
        counts, weights = zip(*LOTS_PER_PRODUCT, strict=True)
        in_stock = []
        for n in range(PRODUCTS):
            spec = SPECIALITIES[n % len(SPECIALITIES)]
            product = products.create_product(
                sku=f"C-{n:04d}",
                name_zh=f"{spec.name_zh} {n // len(SPECIALITIES) + 1}号",
                name_en=f"{spec.name_en} no. {n // len(SPECIALITIES) + 1}",
                category=spec.category,
                unit=spec.unit,
                price_fen=spec.price_fen,
                price_per=spec.price_per,
            )
            lots = rng.choices(counts, weights)[0]
            for household in rng.sample(suppliers, lots):
                stock.receive_lot(
                    product_id=product.id,
                    household_id=household,
                    quantity=rng.randint(5, 50) * (1000 if spec.unit is Unit.GRAM else 4),
                    best_before=today + timedelta(days=rng.randint(30, 120)),
                    terms=stock.settlement_terms(SettlementMode.CONSIGNMENT, None, None, 9000),
                    received_by=admin,
                    today=today,
                )
            if lots:
                in_stock.append(product)
        for n in range(HELD_ORDERS):
            product = rng.choice(in_stock)
            orders.place_order(
                lines=[LineRequest(product.id, 500 if product.unit is Unit.GRAM else 1)],
                name="林女士",
                phone=f"138{n:08d}",
                fulfilment=Fulfilment.PICKUP,
                address="",
                payment=OrderPayment.PAY_AT_PICKUP,
                today=today,
            )
        if db.engine.dialect.name == "postgresql":
            # As autovacuum would have by the time anyone browses: on tables it has not analysed yet the
            # planner guesses one row of stock and loops over it 500 times, which made the bare page 3-5x slower.
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        return len(in_stock)


def cards(html: str) -> list[tuple]:
    """(product id, name, price, stock, villages) of each card on a catalog page."""
    return [tuple(field.strip() for field in card) for card in CARD.findall(html)]


def page(port: int, path: str) -> str:
    """One page's HTML."""
    client = Client(port)
    client.connection.request("GET", path, headers={"Accept-Language": "zh-CN"})
    response = client.connection.getresponse()
    body = response.read().decode()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return body


def every_card(port: int, path: str) -> tuple[list[list[tuple]], int]:
    """Each page's cards, page 1 at `path` and the rest at `path?page=N`, and how many pages the page links say."""
    first = page(port, path)
    pages = int(PAGES.search(first).group(1)) if PAGES.search(first) else 1
    return [cards(first)] + [cards(page(port, f"{path}?page={n}")) for n in range(2, pages + 1)], pages


def check_same(port: int, bare_port: int, in_stock: int) -> None:
    """Refuse to time different pages: every page's products, prices, stock and villages, in the same order."""
    from shop.catalog.products import SHELF_PAGE_SIZE

    project, pages = every_card(port, "/")
    baseline, bare_pages = every_card(bare_port, "/catalog")
    if SHELF_PAGE_SIZE != bare.PAGE_SIZE or len(project[0]) != SHELF_PAGE_SIZE:
        raise AssertionError(f"pages of {len(project[0])} products, {bare.PAGE_SIZE} on the bare one")
    if pages != bare_pages or project != baseline:
        wrong = next((n, p, b) for n, (p, b) in enumerate(zip(project, baseline, strict=False), 1) if p != b)
        raise AssertionError(f"the catalog pages differ ({pages} vs {bare_pages} pages), e.g. page {wrong}")
    shelf = [card for cards_on_page in project for card in cards_on_page]
    if len(shelf) != PRODUCTS or len({card[0] for card in shelf}) != PRODUCTS:
        raise AssertionError(f"{len(shelf)} cards on {pages} pages, for {PRODUCTS} products")
    shown = [not card[3].startswith("暂时缺货") for card in shelf]
    if sum(shown) != in_stock or shown != sorted(shown, reverse=True):
        raise AssertionError(f"{sum(shown)} products show stock, but {in_stock} have lots (or not all come first)")


def browse(port: int, path: str, clients: int, seconds: float) -> dict:
    """`clients` shoppers loading the page back to back."""

    def load(client):
        status, _, elapsed = client.request("GET", path)
        return status, elapsed, status == 200

    return flat_out([Client(port) for _ in range(clients)], seconds, load)


def load_ms(port: int, path: str) -> tuple[float, str]:
    """One page load on a fresh connection, in ms, and the page."""
    started = time.perf_counter()
    body = page(port, path)
    return (time.perf_counter() - started) * 1000, body


def cold_renders(app, port: int, times: int) -> list[float]:
    """The first load of / after a price change each time: the shelf rendered afresh, never the kept one."""
    from shop.catalog import products
    from shop.extensions import db
    from shop.models import Product

    pid = int(cards(page(port, "/"))[0][0])  # on page 1, the page loaded
    with app.app_context():
        price = db.session.get(Product, pid).price_fen
    took = []
    for n in range(1, times + 1):
        with app.app_context():
            products.update_product(pid, price_fen=price + n)
            db.session.remove()
        ms, body = load_ms(port, "/")
        if format_price(price + n) not in next(card for card in cards(body) if card[0] == str(pid))[2]:
            raise AssertionError(f"the first load after a price change of product {pid} still shows the old price")
        took.append(ms)
    with app.app_context():
        products.update_product(pid, price_fen=price)
        db.session.remove()
    return took


def format_price(fen: int) -> str:
    """¥68.01, as the card shows it."""
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(app, database_url: str, workers: int, clients: int, seconds: float) -> list[dict]:
    """Catalog pages per second (median of rounds), the cold render and the page weights, against the bare render."""
    in_stock = seed(app)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "bench", "WEB_CONCURRENCY": str(workers)}
    with (
        gunicorn("shop:create_app()", env, workers) as port,
        gunicorn("bench.bare:create_app()", env, workers) as bare_port,
    ):
        check_same(port, bare_port, in_stock)
        project, baseline = [], []
        for _ in range(ROUNDS):
            project.append(browse(port, "/", clients, seconds))
            baseline.append(browse(bare_port, "/catalog", clients, seconds))
        cold = cold_renders(app, port, COLD_RENDERS)
        bare_loads = [load_ms(bare_port, "/catalog")[0] for _ in range(COLD_RENDERS)]
        check_same(port, bare_port, in_stock)
        weights = page_weights.measure(app, port)
    setting = f"{PRODUCTS} products, {in_stock} in stock, page 1, {clients} shoppers, median of {ROUNDS} rounds"
    return [
        {
            "figure": f"Catalog pages per second ({setting})",
            "project": median([r["per_s"] for r in project]),
            "baseline": median([r["per_s"] for r in baseline]),
            "better": "higher",
            "goal": "catalog_ratio",
            "failures": sum(r["failures"] for r in project + baseline),
        },
        {
            "figure": "Catalog page latency p50 (ms)",
            "project": median([r["p50_ms"] for r in project]),
            "baseline": median([r["p50_ms"] for r in baseline]),
            "better": "lower",
        },
        {
            "figure": f"Catalog cold render, first load after a price change (ms, median of {COLD_RENDERS})",
            "project": median(cold),
            "baseline": median(bare_loads),
            "better": "lower",
        },
        *weights,
    ]
