"""Counter sales through gunicorn: flat out (median of rounds) and at a steady rate, against the bare insert."""

import os
import uuid
from datetime import timedelta

from .bare import bare_sale
from .server import gunicorn
from .tills import Client, fixed_rate, flat_out

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


def tills(port: int, clients: int, sign_in: bool) -> list[Client]:
    """`clients` keep-alive connections, each signed in as its own clerk when the path needs it."""
    made = [Client(port) for _ in range(clients)]
    if sign_in:
        for n, till in enumerate(made):
            till.sign_in(f"till{n}", PASSWORD)
    return made


def sender(path: str, ids: dict):
    """What one till sends: a new sale, answered 201."""

    def sell(till):
        status, _, elapsed = till.request("POST", path, sale_body(ids))
        return status, elapsed, status in (200, 201)

    return sell


def same_answer(project: Client, bare: Client, ids: dict) -> None:
    """Before timing: both take the same sale, and the project's answer (and its replay) is the right sale."""
    body = sale_body(ids)
    status, sold, _ = project.request("POST", "/api/counter/sales", body)
    again, replayed, _ = project.request("POST", "/api/counter/sales", body)
    bare_status, _, _ = bare.request("POST", "/sale", body)
    # 250 g of shrimp at ¥68.00 per 500 g, and one jar of paste at ¥18.00.
    if (status, bare_status, again) != (201, 201, 200) or sold["total_fen"] != 3400 + 1800 or replayed != sold:
        raise RuntimeError(f"the sale and the bare insert disagree: {status} {bare_status} {again} {sold}")


def median_round(rounds: list[dict]) -> dict:
    """The round with the median throughput (its latencies come with it)."""
    return sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]


def measure(app, database_url: str, workers: int, clients: int, seconds: float) -> list[dict]:
    """The sale path and the bare endpoint under the same loads, on the same server setup.

    Flat out: `clients` tills back to back, BENCH_SALE_ROUNDS rounds (3) alternating project and
    bare, the median round of each. Steady: BENCH_STEADY_RATE sales a second (50) for
    BENCH_STEADY_SECONDS (30), open loop, latency from each sale's due time.
    """
    ids = seed(app)
    rounds = int(os.environ.get("BENCH_SALE_ROUNDS", 3))
    rate = float(os.environ.get("BENCH_STEADY_RATE", 50))
    steady_seconds = float(os.environ.get("BENCH_STEADY_SECONDS", 30))
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "WEB_CONCURRENCY": str(workers),
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    with gunicorn("shop:create_app()", env, workers) as port, gunicorn("bench.bare:create_app()", env, workers) as bare:
        # Enough tills that a steady load never waits for a free one unless the server is behind.
        project_tills, bare_tills = tills(port, 16, sign_in=True), tills(bare, 16, sign_in=False)
        same_answer(project_tills[0], bare_tills[0], ids)
        flat = {"project": [], "bare": []}
        for _ in range(rounds):
            flat["project"].append(flat_out(project_tills[:clients], seconds, sender("/api/counter/sales", ids)))
            flat["bare"].append(flat_out(bare_tills[:clients], seconds, sender("/sale", ids)))
        steady = {
            "project": fixed_rate(project_tills, rate, steady_seconds, sender("/api/counter/sales", ids)),
            "bare": fixed_rate(bare_tills, rate, steady_seconds, sender("/sale", ids)),
        }
    project, bare_round = median_round(flat["project"]), median_round(flat["bare"])
    setting = f"{workers} workers, {clients} tills"
    failures = sum(r["failures"] for side in flat.values() for r in side)
    steady_failures = steady["project"]["failures"] + steady["bare"]["failures"]
    return [
        {
            "figure": f"Counter sales per second ({setting}, median of {rounds})",
            "project": project["per_s"],
            "baseline": bare_round["per_s"],
            "better": "higher",
            "goal": "sale_ratio",
            "failures": failures,
        },
        *(
            {
                "figure": f"Counter sale latency {p} (ms)",
                "project": project[f"{p}_ms"],
                "baseline": bare_round[f"{p}_ms"],
                "better": "lower",
            }
            for p in ("p50", "p95", "p99")
        ),
        *(
            {
                "figure": f"Counter sale latency {p} at a steady {rate:g}/s for {steady_seconds:g} s (ms)",
                "project": steady["project"][f"{p}_ms"],
                "baseline": steady["bare"][f"{p}_ms"],
                "better": "lower",
                **({"goal": "sale_steady_p95", "failures": steady_failures} if p == "p95" else {}),
            }
            for p in ("p50", "p95", "p99")
        ),
    ]


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY", "2"))
