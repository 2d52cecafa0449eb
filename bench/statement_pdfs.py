"""Monthly statement PDFs per second: the project's path, as `flask statements` runs it, against reportlab alone.

Project: households_with_activity, then per household month_statement (the
ledger, the causes, the review), the verification link and
shop.statement_pdf.render. Baseline: the very same documents assembled in
memory beforehand, so only shop.pdf.statement.render_statement is timed.
"""

import os
import time
from datetime import date

import sqlalchemy as sa

from .ledger import Ledger
from .measure import PeakMemory, profile

BASE_URL = "https://bangfu.example.cn"


def project_pass(month: date, count: int) -> int:
    """Render the first `count` statements of the month as the CLI does; return the PDF bytes made."""
    from shop import statement_pdf
    from shop.extensions import db
    from shop.models import Household
    from shop.statements import households_with_activity, month_statement
    from shop.verify import statement_url

    made = 0
    for household_id in households_with_activity(month)[:count]:
        statement = month_statement(db.session.get(Household, household_id), month)
        made += len(statement_pdf.render(statement, statement_url(household_id, month, statement.digest)))
        db.session.expunge_all()  # one household at a time in memory, like the CLI
    return made


def documents(month: date, count: int) -> list:
    """The same statements as values the renderer takes, assembled once through the project."""
    from shop import statement_pdf
    from shop.extensions import db
    from shop.models import Household
    from shop.statements import households_with_activity, month_statement
    from shop.verify import statement_url

    made = []
    for household_id in households_with_activity(month)[:count]:
        statement = month_statement(db.session.get(Household, household_id), month)
        url = statement_url(household_id, month, statement.digest)
        made.append(statement_pdf.household_statement(statement, url))
    db.session.remove()
    return made


def baseline_pass(docs: list) -> int:
    """Render prepared documents with reportlab and nothing else."""
    from shop.pdf.statement import render_statement

    return sum(len(render_statement(doc)) for doc in docs)


def check_rows(engine: sa.Engine, month: date, docs: list) -> None:
    """The documents hold exactly the month's entries of their households: what is timed is the real thing."""
    from shop.monitoring import add_months

    codes = [doc.household_code for doc in docs]
    sql = sa.text(
        "SELECT COUNT(*) FROM household_ledger JOIN household ON household.id = household_ledger.household_id"
        " WHERE household.code IN :codes AND entry_date >= :start AND entry_date < :end"
    ).bindparams(
        sa.bindparam("codes", expanding=True), sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
    )
    with engine.connect() as conn:
        entries = conn.execute(sql, {"codes": codes, "start": month, "end": add_months(month, 1)}).scalar_one()
    rows = sum(len(doc.rows) for doc in docs)
    if rows != entries:
        raise AssertionError(f"{len(docs)} statements hold {rows} rows, but their households have {entries} entries")


def measure(app, ledger: Ledger) -> list[dict]:
    """Statements per second for BENCH_STATEMENTS households of one month, and peak memory, project vs reportlab."""
    from shop.extensions import db

    count = int(os.environ.get("BENCH_STATEMENTS", "200"))
    month = date(ledger.year, int(os.environ.get("BENCH_STATEMENT_MONTH", "6")), 1)
    with app.app_context(), app.test_request_context(base_url=BASE_URL):
        docs = documents(month, count)
        check_rows(db.engine, month, docs)
        # Warm up both: the font is loaded once, the first queries prepared.
        project_pass(month, 3)
        baseline_pass(docs[:3])
        project_memory, baseline_memory = PeakMemory(), PeakMemory()
        with project_memory.watch():
            started = time.perf_counter()
            project_pass(month, count)
            project_s = time.perf_counter() - started
        with baseline_memory.watch():
            started = time.perf_counter()
            baseline_pass(docs)
            baseline_s = time.perf_counter() - started
        if os.environ.get("BENCH_PROFILE"):
            print(f"\n-- profile: 20 statements through the project --\n{profile(lambda: project_pass(month, 20))}")
    rows = sum(len(doc.rows) for doc in docs)
    setting = f"{len(docs)} of {ledger.active[month.month]:,} households, {rows / len(docs):.0f} entries each"
    return [
        {
            "figure": f"Statement PDFs per second ({setting})",
            "project": len(docs) / project_s,
            "baseline": len(docs) / baseline_s,
            "better": "higher",
        },
        {
            "figure": "Statement PDFs, peak RSS growth (MiB)",
            "project": project_memory.mib,
            "baseline": baseline_memory.mib,
            "better": "lower",
        },
    ]
