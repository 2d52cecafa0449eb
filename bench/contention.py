"""Contention: 200 buyers at once, half at the counter and half online, for the last 10 jars of one product.

A counter buyer is a signed-in till's POST /api/counter/sales of one jar:
201 sold, 409 out of stock. An online buyer takes a CSRF token (GET
/api/session) and places an order paid by Stripe (POST /api/orders): placing
it reserves the jar and creates its PaymentIntent at localstripe, or it is
refused 409. Whoever got a reservation then pays as Stripe.js would (a test
card, confirmed at localstripe), and Stripe's payment_intent.succeeded
webhook is delivered, signed, to POST /stripe/webhook, which re-reads the
intent and turns the order into a sale. Everyone is released at once; the
round has settled when the last buyer has their answer and every reservation
is paid. Then the database must show exactly 10 jars drawn, none on the shelf
and no order still holding one; any 5xx, other status or connection error
counts as an error and fails the run.

The baseline is the bare endpoint that takes one unit with one conditional
UPDATE (bench.bare POST /take): 200 buyers at once for 10 units.
"""

import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter as Tally
from datetime import timedelta

import sqlalchemy as sa

from .bare import bare_stock
from .server import gunicorn, localstripe
from .tills import Client

BUYERS = 200
UNITS = 10
PASSWORD = "bench password 2026"
CLERKS = 8
WEBHOOK_SECRET = "whsec_bench"
ORDER_CONTACT = {"name": "林女士", "phone": "13812345678"}


def seed(app) -> dict:
    """A counter, its clerks, one household to supply the jars, and the bare stock table."""
    from shop.extensions import db
    from shop.models import Counter, Role, Town
    from shop.staff import accounts
    from shop.villages import households

    with app.app_context():
        db.session.add_all([Counter(code="LC-JN", name="临城江南市场对面专柜"), Town(name_zh="临城镇", name_en="")])
        db.session.commit()
        admin = accounts.create_user("bench-admin", PASSWORD, Role.ADMIN)
        accounts.create_user("bench-officer", PASSWORD, Role.OFFICER)
        for n in range(CLERKS):
            accounts.create_user(f"till{n}", PASSWORD, Role.CLERK)
        household = households.create_household(
            code="J001",
            head_name="符海燕",
            town="临城镇",
            village="大波村",
            members=4,
            category="jiance",
            officer="bench-officer",
            recorded_by=admin,
        )
        bare_stock.metadata.create_all(db.engine)
        return {"admin": admin.id, "household": household.id}


def last_jars(app, ids: dict, n: int) -> int:
    """A new product with one lot of UNITS jars on the shelf; returns its id."""
    from shop.catalog import products
    from shop.clock import business_today
    from shop.extensions import db
    from shop.models import SettlementMode, User
    from shop.stock import lots

    with app.app_context():
        product = products.create_product(
            sku=f"J-{n}", name_zh=f"临高虾酱（250克/瓶）第{n}批", unit="piece", price_fen=1800, price_per=1
        )
        lots.receive_lot(
            product_id=product.id,
            household_id=ids["household"],
            quantity=UNITS,
            best_before=business_today() + timedelta(days=90),
            terms=lots.settlement_terms(SettlementMode.CONSIGNMENT, None, None, 9000),
            received_by=db.session.get(User, ids["admin"]),
            today=business_today(),
        )
        return product.id


def sign_in_tills(port: int) -> list[Client]:
    """The clerks' sessions; counter buyers share them, as tills at one counter would."""
    tills = []
    for n in range(CLERKS):
        till = Client(port)
        till.sign_in(f"till{n}", PASSWORD)
        tills.append(till)
    return tills


def counter_buyer(port: int, till: Client, product_id: int, wait) -> str:
    """One jar over the counter, rung up once `wait` returns: 'counter sold', 'counter refused' or what went wrong."""
    client = Client(port)
    client.cookies, client.csrf = dict(till.cookies), till.csrf
    wait()
    body = {
        "idempotency_key": uuid.uuid4().hex,
        "payment_method": "cash",
        "lines": [{"product_id": product_id, "quantity": 1}],
    }
    status, _, _ = client.request("POST", "/api/counter/sales", body)
    return {201: "counter sold", 409: "counter refused"}.get(status, f"counter {status}")


def online_buyer(port: int, stripe_base: str, product_id: int, wait) -> str:
    """One jar ordered once `wait` returns, and paid online: 'online sold', 'online refused' or what went wrong."""
    import stripe

    client = Client(port)
    _, session, _ = client.request("GET", "/api/session")  # the CSRF token the cart page already carries
    client.csrf = session["csrf_token"]
    wait()
    body = {
        "lines": [{"product_id": product_id, "quantity": 1}],
        "contact": ORDER_CONTACT,
        "fulfilment": "pickup",
        "payment": "stripe",
    }
    status, placed, _ = client.request("POST", "/api/orders", body)
    if status == 409:
        return "online refused"
    if status != 201 or not placed.get("stripe"):
        return f"order {status}"
    intent_id = placed["stripe"]["payment_intent_id"]
    api = stripe.StripeClient("sk_test_bench", base_addresses={"api": stripe_base}).v1
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    method = api.payment_methods.create(params={"type": "card", "card": card})
    api.payment_intents.update(intent_id, params={"payment_method": method.id})
    if api.payment_intents.confirm(intent_id).status != "succeeded":
        return "online card declined"
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
    signature = stripe.WebhookSignature.generate_signature_header(json.dumps(event), WEBHOOK_SECRET)
    status, answer, _ = client.request("POST", "/stripe/webhook", event, {"Stripe-Signature": signature})
    if status != 200 or answer.get("outcome") != "handled":
        return f"online webhook {status}"
    return "online sold"


def rush(buyers: list) -> tuple[float, Tally]:
    """Release every buyer at once, when all are ready; the seconds until the last has settled, and how each ended.

    Each buyer is called with the gate's wait: what it does before calling it (signing in, a page
    with its CSRF token) is not timed.
    """
    outcomes, lock = Tally(), threading.Lock()
    gate = threading.Barrier(len(buyers) + 1, timeout=120)  # a buyer failing before the gate breaks it, not hangs

    def run(buy):
        try:
            outcome = buy(gate.wait)
        except Exception as error:  # a dropped connection, a timeout: an error, never a crash
            outcome = type(error).__name__
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(buy,)) for buy in buyers]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, outcomes


def sold_in_database(app, product_id: int) -> dict:
    """What the database says of the round: jars drawn, jars left, orders still holding some."""
    from shop.extensions import db
    from shop.models import Draw, Lot, Order, OrderLine, OrderStatus, SaleLine

    with app.app_context():
        drawn = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Draw.quantity), 0))
            .join(SaleLine, Draw.sale_line_id == SaleLine.id)
            .where(SaleLine.product_id == product_id)
        )
        left = db.session.scalar(sa.select(sa.func.sum(Lot.qty_on_hand)).where(Lot.product_id == product_id))
        holding = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.product_id == product_id, Order.status == OrderStatus.AWAITING_PAYMENT)
        )
        db.session.remove()
    return {"drawn": int(drawn), "left": int(left), "holding": int(holding)}


def project_round(app, ids: dict, n: int, port: int, tills: list[Client], stripe_base: str) -> dict:
    """One rush at the app: half the buyers at the counter, half online, interleaved."""
    product_id = last_jars(app, ids, n)
    buyers = [
        (lambda wait, t=tills[k % CLERKS]: counter_buyer(port, t, product_id, wait))
        if k % 2 == 0
        else (lambda wait: online_buyer(port, stripe_base, product_id, wait))
        for k in range(BUYERS)
    ]
    seconds, outcomes = rush(buyers)
    return {"seconds": seconds, "outcomes": outcomes, **sold_in_database(app, product_id)}


def bare_round(app, n: int, port: int) -> dict:
    """One rush at the bare conditional UPDATE."""
    from shop.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(bare_stock.insert().values(id=n, units=UNITS))

    def take(wait):
        client = Client(port)
        wait()
        status, _, _ = client.request("POST", f"/take/{n}")
        return {201: "bare sold", 409: "bare refused"}.get(status, f"bare {status}")

    seconds, outcomes = rush([take] * BUYERS)
    with app.app_context(), db.engine.connect() as conn:
        left = conn.execute(sa.select(bare_stock.c.units).where(bare_stock.c.id == n)).scalar_one()
    return {"seconds": seconds, "outcomes": outcomes, "drawn": UNITS - left, "left": left, "holding": 0}


def sold(outcomes: Tally) -> int:
    """Buyers who got their jar, at the counter or online."""
    return sum(n for outcome, n in outcomes.items() if outcome.endswith(" sold"))


def errors(rounds: list[dict]) -> int:
    """Buyers who got neither their jar nor a clean refusal, plus rounds that did not sell exactly UNITS."""
    clean = (" sold", " refused")
    bad = sum(n for r in rounds for outcome, n in r["outcomes"].items() if not outcome.endswith(clean))
    settled = (UNITS, 0, 0, UNITS)
    wrong = sum(1 for r in rounds if (r["drawn"], r["left"], r["holding"], sold(r["outcomes"])) != settled)
    return bad + wrong


def worst_sold(rounds: list[dict]) -> int:
    """The round's units drawn furthest from UNITS: an oversold or undersold round shows here."""
    return max((r["drawn"] for r in rounds), key=lambda drawn: abs(drawn - UNITS))


def measure(app, database_url: str, workers: int, rounds: int) -> list[dict]:
    """`rounds` rushes at the app and at the bare endpoint; settle time (median), jars sold, errors."""
    ids = seed(app)
    with localstripe() as stripe_base:
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench",
            "WEB_CONCURRENCY": str(workers),
            "LOGIN_RATE_LIMIT": "1000 per minute",
            # Every online buyer comes from this machine with one phone: one client's bounds would refuse them.
            "ORDER_RATE_LIMIT": "100000 per minute",
            "UNPAID_ORDERS_PER_CLIENT": "100000",
            "UNPAID_FEN_PER_CLIENT": "100000000000",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_base,
            "STRIPE_PAYMENT_METHOD_TYPES": "card",
        }
        with gunicorn("shop:create_app()", env, workers) as port:
            tills = sign_in_tills(port)
            project = [project_round(app, ids, n, port, tills, stripe_base) for n in range(rounds)]
    with gunicorn("bench.bare:create_app()", env, workers) as port:
        bare = [bare_round(app, n + 1, port) for n in range(rounds)]
    for name, done in (("project", project), ("bare", bare)):
        for n, r in enumerate(done):
            tally = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
            drawn = f"drawn {r['drawn']}, left {r['left']}"
            print(f"contention {name} round {n + 1}: {r['seconds']:.2f} s, {tally}; {drawn}")
    setting = f"{BUYERS} buyers, half online, for {UNITS} units, {workers} workers, median of {rounds}"
    return [
        {
            "figure": f"Contention: seconds to settle ({setting})",
            "project": statistics.median(r["seconds"] for r in project),
            "baseline": statistics.median(r["seconds"] for r in bare),
            "better": "lower",
        },
        {
            "figure": f"Contention: units sold per round, the worst (must be {UNITS})",
            "project": worst_sold(project),
            "baseline": worst_sold(bare),
            "better": "exact",
        },
        {
            "figure": "Contention: errors (5xx, connection, oversold)",
            "project": errors(project),
            "baseline": errors(bare),
            "better": "zero",
            "failures": errors(project) + errors(bare),
        },
    ]


def default_rounds() -> int:
    return int(os.environ.get("BENCH_CONTENTION_ROUNDS", "3"))
