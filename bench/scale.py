"""Figures for docs/scaling.md that have no baseline to stand beside: measured in-process, printed after the table.

- How long each sale holds the ledger's chain lock. The chain has one head for
  the whole installation, so this bounds the sales per second of every counter
  together, however many app servers there are. On PostgreSQL it is held from
  the advisory lock (shop.ledger.entries.lock_chain) to COMMIT; on SQLite the write
  lock is the chain lock, held from BEGIN IMMEDIATE to COMMIT.
- What the sign-out check (shop.staff.accounts.session_ended, once per staff request)
  costs as the user's own history of sessions grows.
- The ledger's size on disk per entry, with its indexes.
"""

import json
import secrets
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

#: A clerk's audit history for the sign-out check: two sessions a day for about three years.
AUDIT_HISTORY = 4000


def chain_lock(app, clerk: str, skus: tuple[str, str], sales: int = 200) -> dict:
    """Milliseconds each in-process sale holds the chain (and spends in all), median over `sales` sales."""
    from shop.clock import business_today
    from shop.extensions import db
    from shop.ledger import entries as credits
    from shop.models import PaymentMethod, Product, User
    from shop.selling.sales import LineRequest, record_sale

    held, taken, started = [], [], {}
    real_lock = credits.lock_chain

    def lock_and_note(session):
        real_lock(session)
        started.setdefault("chain", time.perf_counter())

    def note_begin(session, _transaction, _connection):
        started["begin"] = time.perf_counter()  # the last BEGIN before COMMIT is the sale's write transaction

    def note_commit(session):
        if "chain" in started or "begin" in started:
            since = started["chain"] if db.engine.dialect.name == "postgresql" else started["begin"]
            held.append(time.perf_counter() - since)
        started.clear()

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == clerk))
        weighed, packed = (db.session.scalar(sa.select(Product.id).where(Product.sku == sku)) for sku in skus)
        lines = [LineRequest(weighed, 250), LineRequest(packed, 1)]  # the basket bench.sales rings up
        credits.lock_chain = lock_and_note
        sa.event.listen(db.session, "after_begin", note_begin)
        sa.event.listen(db.session, "after_commit", note_commit)
        try:
            for _ in range(sales):
                began = time.perf_counter()
                record_sale(
                    idempotency_key=uuid.uuid4().hex,
                    payment_method=PaymentMethod.CASH,
                    lines=lines,
                    clerk=user,
                    today=business_today(),
                )
                taken.append(time.perf_counter() - began)
                db.session.expire_all()
        finally:
            credits.lock_chain = real_lock
            sa.event.remove(db.session, "after_begin", note_begin)
            sa.event.remove(db.session, "after_commit", note_commit)
            db.session.remove()
    return {"chain_lock_ms": statistics.median(held) * 1000, "sale_ms": statistics.median(taken) * 1000}


def sign_out_check(app, clerk: str, calls: int = 300) -> dict:
    """Milliseconds per sign-out check with no history, and with AUDIT_HISTORY of the user's own events."""
    from shop.clock import now_utc
    from shop.extensions import db
    from shop.models import AuditEvent, EndedSession, User
    from shop.staff import accounts

    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == clerk))
        live = secrets.token_hex(16)

        def per_check() -> float:
            started = time.perf_counter()
            for _ in range(calls):
                accounts.session_ended(user_id, live)
                db.session.rollback()
            return (time.perf_counter() - started) / calls * 1000

        fresh = per_check()
        day = now_utc() - timedelta(days=AUDIT_HISTORY // 4)
        rows = [
            {
                "at": day + timedelta(hours=n * 6),
                "actor_id": user_id,
                "action": ("sign_in", "sign_out")[n % 2],
                "entity": User.__tablename__,
                "entity_id": str(user_id),
                "before": "",
                "after": json.dumps({"session": secrets.token_hex(16)}),
            }
            for n in range(AUDIT_HISTORY)
        ]
        db.session.execute(sa.insert(AuditEvent.__table__), rows)
        # Each sign-out also ends its session in ended_session, as accounts.signed_out does.
        ended = [
            {"nonce": json.loads(r["after"])["session"], "user_id": user_id, "ended_at": r["at"]}
            for r in rows
            if r["action"] == "sign_out"
        ]
        db.session.execute(sa.insert(EndedSession.__table__), ended)
        db.session.commit()
        grown = per_check()
        db.session.remove()
    return {"sign_out_check_ms": fresh, f"sign_out_check_ms_after_{AUDIT_HISTORY}_events": grown}


def ledger_bytes(app, entries: int) -> dict:
    """The ledger table and its indexes on disk, in bytes per entry (PostgreSQL; SQLite through dbstat)."""
    from shop.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            table = conn.exec_driver_sql("SELECT pg_table_size('household_ledger')").scalar_one()
            indexes = conn.exec_driver_sql("SELECT pg_indexes_size('household_ledger')").scalar_one()
        else:
            try:
                sizes = dict(
                    conn.exec_driver_sql(
                        "SELECT d.name = 'household_ledger', SUM(d.pgsize) FROM dbstat d"
                        " JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'household_ledger' GROUP BY 1"
                    ).all()
                )
            except sa.exc.OperationalError:
                return {}  # an SQLite built without dbstat
            table, indexes = sizes.get(1, 0), sizes.get(0, 0)
    return {"ledger_table_bytes_per_entry": table / entries, "ledger_index_bytes_per_entry": indexes / entries}


#: How many households the receiving form's search is measured over.
SEARCH_HOUSEHOLDS = 50_000


def household_search(app, households: int = SEARCH_HOUSEHOLDS, runs: int = 5) -> dict:
    """Milliseconds of the receiving form's household search among `households`.

    The search is shop.villages.households.search_visible.

    The households are spread over 250 villages, as a county's roster is; the search is a
    clerk's (all households visible), by code, by a name, by a village, and for text that matches
    nothing (the worst case: every row is looked at).
    """
    from shop.extensions import db
    from shop.models import Household, Role, Town, User, Village
    from shop.staff import accounts
    from shop.villages import households as roster

    from .measure import best_of

    with app.app_context():
        town = Town(name_zh="搜索镇", name_en="Sousuo")
        db.session.add(town)
        db.session.flush()
        villages = [{"town_id": town.id, "name_zh": f"搜索{n:03d}村", "name_en": f"Sousuo {n}"} for n in range(250)]
        db.session.execute(sa.insert(Village.__table__), villages)
        village_ids = db.session.scalars(sa.select(Village.id).where(Village.town_id == town.id)).all()
        surnames, given = "王陈李符吴林黄刘张邢", "亦明海成光德文华志国秀兰玉芳春"
        rows = [
            {
                "code": f"SS{n:06d}",
                "head_name": surnames[n % 10] + given[n % 15] + given[(n // 15) % 15],
                "members": 1 + n % 6,
                "village_id": village_ids[n % len(village_ids)],
                "category": "yiban",
            }
            for n in range(households)
        ]
        for start in range(0, households, 5000):
            db.session.execute(sa.insert(Household.__table__), rows[start : start + 5000])
        db.session.commit()
        if db.session.scalar(sa.select(User.id).where(User.username == "search_clerk")) is None:
            accounts.create_user("search_clerk", "a bench passphrase 42", Role.CLERK)
        clerk = db.session.scalar(sa.select(User).where(User.username == "search_clerk"))
        figures = {}
        for what, text in (("code", "SS0421"), ("name", "王亦"), ("village", "搜索117村"), ("nothing", "无此户")):
            found = len(roster.search_visible(clerk, text))
            seconds = best_of(runs, lambda text=text: (roster.search_visible(clerk, text), db.session.rollback()))
            figures[f"household_search_ms_by_{what}_{households}_households_{found}_found"] = seconds * 1000
        db.session.remove()
    return figures
