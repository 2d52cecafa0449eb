"""Counter sale throughput and latency through gunicorn, against the bare one-row endpoint."""

import os
import uuid
from datetime import timedelta

from .bare import bare_sale
from .server import gunicorn
from .tills import Client, flat_out

PASSWORD = "bench password 2026"


def seed(app) -> dict:
    """A counter with two products on deep shelves, a clerk per till, and the bare table."""
    from shop.catalog import products
    from shop.clock import business_today
    from shop.extensions import db
    from shop.models import Counter, Role, SettlementMode, Town
    from shop.staff import accounts
    from shop.stock import lots
    from shop.villages import households

    with app.app_context():
        db.session.add_all(
            [Counter(code="LC-JN", name="临城江南市场对面专柜"), Town(name_zh="临城镇", name_en="Lincheng")]
        )
        db.session.commit()
        admin = accounts.create_user("bench-admin", PASSWORD, Role.ADMIN)
        accounts.create_user("bench-officer", PASSWORD, Role.OFFICER)
        for n in range(16):
            accounts.create_user(f"till{n}", PASSWORD, Role.CLERK)
        shrimp = products.create_product(sku="B-XG", name_zh="虾干", unit="g", price_fen=6800, price_per=500)
        paste = products.create_product(sku="B-XJ", name_zh="虾酱", unit="piece", price_fen=1800, price_per=1)
        ids = {"shrimp": shrimp.id, "paste": paste.id}
        today = business_today()
        for n in range(20):
            household = households.create_household(
                code=f"B{n:03d}",
                head_name=f"王{n}",
                town="临城镇",
                village="大波村",
                members=3,
                category="tuopin",
                officer="bench-officer",
                recorded_by=admin,
            )
            for product, qty in ((shrimp, 5_000_000), (paste, 100_000)):
                terms = lots.settlement_terms(SettlementMode.CONSIGNMENT, None, None, 9000)
                lots.receive_lot(
                    product_id=product.id,
                    household_id=household.id,
                    quantity=qty,
                    best_before=today + timedelta(days=60 + n),
                    terms=terms,
                    received_by=admin,
                    today=today,
                )
        bare_sale.metadata.create_all(db.engine)
        return ids


def sale_body(ids: dict) -> dict:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "payment_method": "cash",
        "lines": [{"product_id": ids["shrimp"], "quantity": 250}, {"product_id": ids["paste"], "quantity": 1}],
    }


def load(port: int, path: str, ids: dict, clients: int, seconds: float, sign_in: bool) -> dict:
    """Run `clients` tills flat out for `seconds`; return throughput, latency percentiles and failures."""
    tills = [Client(port) for _ in range(clients)]
    if sign_in:
        for n, till in enumerate(tills):
            till.sign_in(f"till{n}", PASSWORD)

    def sell(till):
        status, _, elapsed = till.request("POST", path, sale_body(ids))
        return status, elapsed, status in (200, 201)

    return flat_out(tills, seconds, sell)


def measure(app, database_url: str, workers: int, clients: int, seconds: float) -> list[dict]:
    """The sale path and the bare endpoint under the same load, on the same server setup."""
    ids = seed(app)
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "WEB_CONCURRENCY": str(workers),
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    with gunicorn("shop:create_app()", env, workers) as port:
        project = load(port, "/api/counter/sales", ids, clients, seconds, sign_in=True)
    with gunicorn("bench.bare:create_app()", env, workers) as port:
        bare = load(port, "/sale", ids, clients, seconds, sign_in=False)
    setting = f"{workers} workers, {clients} tills"
    return [
        {
            "figure": f"Counter sales per second ({setting})",
            "project": project["per_s"],
            "baseline": bare["per_s"],
            "better": "higher",
            "goal": "sale_ratio",
            "failures": project["failures"] + bare["failures"],
        },
        *(
            {
                "figure": f"Counter sale latency {p} (ms)",
                "project": project[f"{p}_ms"],
                "baseline": bare[f"{p}_ms"],
                "better": "lower",
            }
            for p in ("p50", "p95", "p99")
        ),
    ]


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY", "2"))
