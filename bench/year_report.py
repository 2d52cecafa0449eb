"""The yearly household report (shop.oversight.report_queries.household_year) against one hand-written SQL aggregate.

Both must give every household's twelve monthly net incomes (credits, less
reversals, plus signed adjustments; payouts move money, not income), and both
must agree with what the generator itself summed, before either is timed.

The hand-written query reads the table straight through: a county's year is
most of the ledger. On SQLite that takes NOT INDEXED, or the planner walks the
(household_id, entry_date) index and fetches every row from the table by rowid,
three to four times slower on a million entries; PostgreSQL scans by itself.

The generated year has January to November closed (bench.ledger.close_months), as a
county's cron closes each month once it is over: the project reads those months from their
household-month rows and December from the ledger; the baseline reads the whole year's entries.
Both must still agree with the generator's sums.

Each side is timed in a fresh worker process (bench.worker), which also
reports its peak resident memory: the project's worker holds the app, the
baseline's only SQLAlchemy and the driver.
"""

import os
import statistics
import time
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .measure import profile
from .worker import in_worker, project_app, resident_mib

if TYPE_CHECKING:
    from .ledger import Ledger

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


def median_of(runs: int, fn) -> float:
    """The median of `runs` calls, in seconds."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        took.append(time.perf_counter() - started)
    return statistics.median(took)


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
    from shop.oversight.report_queries import household_year

    try:
        figures = household_year(year, admin)
        return {h.household_id: list(h.months) for h in figures.households}
    finally:
        db.session.remove()  # a fresh session per run, as per request


def check_same(project: dict, baseline: dict, expected: dict) -> None:
    """Refuse to time wrong answers: all three accounts of the year must match, household by household."""
    for name, got in (("shop.oversight.report_queries.household_year", project), ("the raw SQL aggregate", baseline)):
        if got != expected:
            wrong = sorted(set(got) ^ set(expected)) or [h for h in expected if got[h] != expected[h]]
            h = wrong[0]
            raise AssertionError(
                f"{name} disagrees with the generated ledger for {len(wrong)} households, "
                f"e.g. household {h}: {got.get(h)} != {expected.get(h)}"
            )


def project_job(url: str, year: int, admin_id: int, runs: int) -> dict:
    """In a fresh worker: the project's report, the median of `runs`."""
    from shop.extensions import db
    from shop.models import User

    app = project_app(url)
    with app.app_context():
        ready = resident_mib()
        seconds = median_of(runs, lambda: project_year(year, db.session.get(User, admin_id)))
    return {"seconds": seconds, "ready_mib": ready}


def baseline_job(url: str, year: int, runs: int) -> dict:
    """In a fresh worker: the hand-written aggregate, the median of `runs`."""
    engine = sa.create_engine(url)
    ready = resident_mib()
    return {"seconds": median_of(runs, lambda: raw_year(engine, year)), "ready_mib": ready}


def measure(app, url: str, ledger: "Ledger") -> list[dict]:
    """Seconds per yearly report (median of BENCH_REPORT_RUNS) and the worker's peak memory, project vs raw SQL."""
    from shop.extensions import db
    from shop.models import User

    runs = int(os.environ.get("BENCH_REPORT_RUNS", "3"))
    with app.app_context():
        admin_id = ledger.admin_id

        def project():
            return project_year(ledger.year, db.session.get(User, admin_id))

        check_same(project(), raw_year(db.engine, ledger.year), ledger.income)
        if os.environ.get("BENCH_PROFILE"):
            print(f"\n-- profile: household_year({ledger.year}) --\n{profile(project)}")
    mine = in_worker("year_report:project_job", url=url, year=ledger.year, admin_id=admin_id, runs=runs)
    bare = in_worker("year_report:baseline_job", url=url, year=ledger.year, runs=runs)
    scale = f"{ledger.households:,} households, {ledger.entries:,} entries"
    closed = "January to November closed"
    return [
        {
            "figure": f"Yearly household report, s ({scale}, {closed}, median of {runs})",
            "project": mine["seconds"],
            "baseline": bare["seconds"],
            "better": "lower",
            "goal": "year_report_ratio",
        },
        {
            "figure": "Yearly household report, worker peak RSS (MiB)",
            "project": mine["peak_mib"],
            "baseline": bare["peak_mib"],
            "better": "lower",
            "goal": "worker_memory",
            "ready_mib": {"project": mine["ready_mib"], "baseline": bare["ready_mib"]},
        },
    ]
