"""The limits to compare with: Flask endpoints that do the least each job needs, on the same gunicorn and database.

No session, no CSRF, no validation, no translations, no app. Whatever the
real path costs above these is the price of doing the job properly.

- POST /sale parses the sale's JSON and inserts one row.
- GET /catalog reads a page of the shelf (products, what is on sale less what
  orders hold, the villages; in stock first, as many as the shop front shows)
  in one hand-written query and renders it with a bare Jinja template of the
  same markup.
- POST /take takes one unit with one conditional UPDATE, or answers 409.
"""

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from flask import Flask, render_template, request

metadata = sa.MetaData()
bare_sale = sa.Table(
    "bench_bare_sale",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("idempotency_key", sa.String(64), unique=True),
    sa.Column("body", sa.Text),
)
#: What the contention baseline sells from: one row per round, its units counted down.
bare_stock = sa.Table(
    "bench_bare_stock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("units", sa.Integer, sa.CheckConstraint("units >= 0")),
)

#: Hainan's clock, for "today" (a fixed offset: China keeps no summer time).
HAINAN = timezone(timedelta(hours=8))

#: Products on a page of the shelf, as the shop front shows them; bench.catalog checks the two agree.
PAGE_SIZE = 48

SHELF = sa.text("""
WITH stock AS (
    SELECT lot.product_id, SUM(lot.qty_on_hand - COALESCE(h.held, 0)) AS available
    FROM lot
    LEFT JOIN (
        SELECT r.lot_id, SUM(r.quantity) AS held
        FROM reservation r
        JOIN order_line ol ON ol.id = r.order_line_id
        JOIN shop_order o ON o.id = ol.order_id
        WHERE o.status = 'awaiting_payment' AND o.expires_at > :now
        GROUP BY r.lot_id
    ) h ON h.lot_id = lot.id
    WHERE lot.qty_on_hand > 0 AND lot.best_before >= :today
      AND lot.counter_id = (SELECT MIN(id) FROM counter WHERE active)
    GROUP BY lot.product_id
), shelf AS (
    SELECT p.id, p.name_zh, p.unit, p.price_fen, p.price_per, p.image,
           COALESCE(s.available, 0) AS available, COUNT(*) OVER () AS products
    FROM product p
    LEFT JOIN stock s ON s.product_id = p.id
    WHERE p.active
    ORDER BY COALESCE(s.available, 0) <= 0, p.id
    LIMIT :size OFFSET :skip
)
SELECT shelf.*, v.name_zh AS village
FROM shelf
LEFT JOIN (
    SELECT DISTINCT lot.product_id, village.id, village.name_zh
    FROM lot
    JOIN household ON household.id = lot.household_id
    JOIN village ON village.id = household.village_id
    WHERE lot.qty_on_hand > 0 AND lot.best_before >= :today AND lot.product_id IN (SELECT id FROM shelf)
) v ON v.product_id = shelf.id
ORDER BY shelf.available <= 0, shelf.id, v.name_zh
""").bindparams(sa.bindparam("now", type_=sa.DateTime), sa.bindparam("today", type_=sa.Date))


def price_text(fen: int, unit: str, per: int) -> str:
    """¥68.00 / 斤, ¥18.00 / 件."""
    price = f"¥{fen // 100:,}.{fen % 100:02d}"
    if unit == "g":
        return f"{price} / " + {500: "斤", 1000: "公斤"}.get(per, f"{per} 克")
    return f"{price} / 件" if per == 1 else f"{price} / {per} 件"


def quantity_text(qty: int, unit: str) -> str:
    """6.5 斤, or 12 件."""
    if unit != "g":
        return f"{qty} 件"
    hundredths = (qty * 200 + 500) // 1000
    jin = f"{hundredths // 100}.{hundredths % 100:02d}".rstrip("0").rstrip(".")
    return f"{qty} 克" if jin == "0" else f"{jin} 斤"


def shelf(conn, number: int) -> tuple[list[dict], int]:
    """Page `number` of the catalog's rows (each product once, with what is on sale and its villages, in stock
    first) and how many pages there are."""
    now = datetime.now(UTC)
    today = now.astimezone(HAINAN).date()
    products: dict[int, dict] = {}
    shelf_size = 0
    for pid, name, unit, fen, per, image, available, on_shelf, village in conn.execute(
        SHELF, {"now": now.replace(tzinfo=None), "today": today, "size": PAGE_SIZE, "skip": (number - 1) * PAGE_SIZE}
    ):
        shelf_size = on_shelf
        if pid not in products:
            available = max(int(available), 0)
            products[pid] = {
                "id": pid,
                "name": name,
                "image": image or "img/products/placeholder.svg",
                "price": price_text(fen, unit, per),
                "stock": quantity_text(available, unit) if available else "",
                "villages": [],
            }
        if village:
            products[pid]["villages"].append(village)
    return list(products.values()), max(1, -(-shelf_size // PAGE_SIZE))


def create_app() -> Flask:
    """A bare app writing to and reading from DATABASE_URL."""
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout = 15000")
            dbapi_connection.execute("PRAGMA synchronous = FULL")

    @app.post("/sale")
    def sale():
        body = json.loads(request.get_data())
        with engine.begin() as conn:
            conn.execute(bare_sale.insert().values(idempotency_key=body["idempotency_key"], body=json.dumps(body)))
        return {"ok": True}, 201

    @app.get("/catalog")
    def catalog():
        number = max(request.args.get("page", 1, type=int), 1)
        with engine.connect() as conn:
            rows, pages = shelf(conn, number)
        return render_template("bare_catalog.html", products=rows, page=number, pages=pages)

    @app.post("/take/<int:stock_id>")
    def take(stock_id: int):
        with engine.begin() as conn:
            taken = conn.execute(
                bare_stock.update()
                .where(bare_stock.c.id == stock_id, bare_stock.c.units >= 1)
                .values(units=bare_stock.c.units - 1)
            ).rowcount
        return ({"ok": True}, 201) if taken else ({"error": "out_of_stock"}, 409)

    return app
