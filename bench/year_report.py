"""The yearly household report (shop.reports.household_year) against one hand-written SQL aggregate.

Both must give every household's twelve monthly net incomes (credits, less
reversals, plus signed adjustments; payouts move money, not income), and both
must agree with what the generator itself summed, before either is timed.

The hand-written query reads the table straight through: a county's year is
most of the ledger. On SQLite that takes NOT INDEXED, or the planner walks the
(household_id, entry_date) index and fetches every row from the table by rowid,
three to four times slower on a million entries; PostgreSQL scans by itself.
"""

import os
from datetime import date

import sqlalchemy as sa

from .ledger import Ledger
from .measure import PeakMemory, best_of, profile

#: The month of an entry_date, as each database writes it.
MONTH_OF = {
    "sqlite": "CAST(strftime('%m', entry_date) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(MONTH FROM entry_date) AS INTEGER)",
}
#: The ledger, read as a whole.
LEDGER = {"sqlite": "household_ledger NOT INDEXED", "postgresql": "household_ledger"}

AGGREGATE = """
SELECT household_id, {month} AS month,
       SUM(CASE kind WHEN 'reversal' THEN -amount_fen ELSE amount_fen END) AS net_fen
FROM {ledger}
WHERE kind IN ('credit', 'reversal', 'adjustment') AND entry_date >= :start AND entry_date < :end
GROUP BY household_id, {month}
"""


def raw_year(engine: sa.Engine, year: int) -> dict[int, list[int]]:
    """Every household's twelve net incomes of the year from one GROUP BY, straight off the driver."""
    dialect = engine.dialect.name
    sql = sa.text(AGGREGATE.format(month=MONTH_OF[dialect], ledger=LEDGER[dialect]))
    sql = sql.bindparams(sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date))
    months: dict[int, list[int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(sql, {"start": date(year, 1, 1), "end": date(year + 1, 1, 1)})
        for household_id, month, net in rows:
            months.setdefault(household_id, [0] * 12)[month - 1] = int(net)
    return months


def project_year(year: int, admin) -> dict[int, list[int]]:
    """The same figures through the project's report, as the manager's page asks for them."""
    from shop.extensions import db
    from shop.reports import household_year

    try:
        figures = household_year(year, admin)
        return {h.household_id: list(h.months) for h in figures.households}
    finally:
        db.session.remove()  # a fresh session per run, as per request


def check_same(project: dict, baseline: dict, expected: dict) -> None:
    """Refuse to time wrong answers: all three accounts of the year must match, household by household."""
    for name, got in (("shop.reports.household_year", project), ("the raw SQL aggregate", baseline)):
        if got != expected:
            wrong = sorted(set(got) ^ set(expected)) or [h for h in expected if got[h] != expected[h]]
            h = wrong[0]
            raise AssertionError(
                f"{name} disagrees with the generated ledger for {len(wrong)} households, "
                f"e.g. household {h}: {got.get(h)} != {expected.get(h)}"
            )


def measure(app, ledger: Ledger) -> list[dict]:
    """Seconds per yearly report (best of BENCH_REPORT_RUNS) and peak memory, project vs raw SQL."""
    from shop.extensions import db
    from shop.models import User

    runs = int(os.environ.get("BENCH_REPORT_RUNS", "3"))
    with app.app_context():
        engine = db.engine
        admin = db.session.get(User, ledger.admin_id)
        admin_id = admin.id

        def project():
            return project_year(ledger.year, db.session.get(User, admin_id))

        def baseline():
            return raw_year(engine, ledger.year)

        check_same(project(), baseline(), ledger.income)
        project_memory, baseline_memory = PeakMemory(), PeakMemory()
        with project_memory.watch():
            project_s = best_of(runs, project)
        with baseline_memory.watch():
            baseline_s = best_of(runs, baseline)
        if os.environ.get("BENCH_PROFILE"):
            print(f"\n-- profile: household_year({ledger.year}) --\n{profile(project)}")
    scale = f"{ledger.households:,} households, {ledger.entries:,} entries"
    return [
        {
            "figure": f"Yearly household report, s ({scale}, best of {runs})",
            "project": project_s,
            "baseline": baseline_s,
            "better": "lower",
        },
        {
            "figure": "Yearly household report, peak RSS growth (MiB)",
            "project": project_memory.mib,
            "baseline": baseline_memory.mib,
            "better": "lower",
        },
    ]
