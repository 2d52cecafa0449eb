"""Monthly statement PDFs per second: the project's path, as `flask statements` runs it, against reportlab alone.

Project: households_with_activity, then per household month_statement (the
ledger, the causes, the review), the verification link and
shop.oversight.statement_pdf.render. Baseline: the very same documents assembled in
memory beforehand, so only shop.pdf.statement.render_statement is timed.

Each side runs in a fresh worker process (bench.worker), which also reports
its peak resident memory; the baseline's worker is handed the documents
pickled. Both import the shop package, where the renderer lives.

The month's job: BENCH_STATEMENT_JOB statements (3,000, or every household active in
the busiest month if fewer) written by shop.oversight.statement_job.write_month, as
`flask statements` runs it, with one worker per core; wall seconds, the median of
BENCH_STATEMENT_JOB_ROUNDS (3). Its baseline is the bare pass scaled: the seconds reportlab
alone took for the prepared documents above, on one core, times count / documents.
"""

import os
import pickle
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .measure import profile
from .worker import in_worker, project_app, resident_mib

if TYPE_CHECKING:
    from .ledger import Ledger

BASE_URL = "https://bangfu.example.cn"


def project_pass(month: date, count: int) -> int:
    """Render the first `count` statements of the month as the CLI does; return the PDF bytes made."""
    from shop.extensions import db
    from shop.models import Household
    from shop.oversight import statement_pdf
    from shop.oversight.statements import households_with_activity, month_statement
    from shop.web.urls import statement_url

    made = 0
    for household_id in households_with_activity(month)[:count]:
        statement = month_statement(db.session.get(Household, household_id), month)
        made += len(statement_pdf.render(statement, statement_url(household_id, month, statement.digest)))
        db.session.expunge_all()  # one household at a time in memory, like the CLI
    return made


def documents(month: date, count: int) -> list:
    """The same statements as values the renderer takes, assembled once through the project."""
    from shop.extensions import db
    from shop.models import Household
    from shop.oversight import statement_pdf
    from shop.oversight.statements import households_with_activity, month_statement
    from shop.web.urls import statement_url

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
    from shop.oversight.monitoring import add_months

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


def project_job(url: str, month: str, count: int) -> dict:
    """In a fresh worker: `count` statements of the month through the project, after a warm-up of three."""
    app = project_app(url)
    first = date.fromisoformat(month)
    with app.app_context(), app.test_request_context(base_url=BASE_URL):
        project_pass(first, 3)  # the font loaded once, the first queries prepared
        ready = resident_mib()
        started = time.perf_counter()
        project_pass(first, count)
        return {"seconds": time.perf_counter() - started, "ready_mib": ready}


def baseline_job(documents_file: str) -> dict:
    """In a fresh worker: the prepared documents through reportlab alone, after the same warm-up."""
    docs = pickle.loads(Path(documents_file).read_bytes())
    baseline_pass(docs[:3])
    ready = resident_mib()
    started = time.perf_counter()
    baseline_pass(docs)
    return {"seconds": time.perf_counter() - started, "ready_mib": ready}


def job_job(url: str, month: str, count: int, rounds: int) -> dict:
    """In a fresh worker: the month's job over the first `count` households, `rounds` times; wall seconds of each."""
    from shop.oversight.statement_job import default_workers, write_month
    from shop.oversight.statements import households_with_activity
    from shop.web.urls import statement_links

    app = project_app(url)
    first = date.fromisoformat(month)
    seconds = []
    with app.app_context(), app.test_request_context(base_url=BASE_URL):
        ids = households_with_activity(first)[:count]
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="bench-statements-") as out:
                started = time.perf_counter()
                outcome = write_month(first, Path(out), BASE_URL, statement_links, household_ids=ids)
                seconds.append(time.perf_counter() - started)
                written = len(list(Path(out).glob("*.pdf")))
            if outcome.failed or outcome.written != len(ids) or written != len(ids):
                raise AssertionError(f"the job wrote {written} of {len(ids)} statements; failed: {outcome.failed[:3]}")
    return {"seconds": seconds, "count": len(ids), "workers": default_workers()}


def busiest_month(ledger: "Ledger", wanted: int, configured: int) -> int:
    """The configured month if it has `wanted` active households, else the month with the most."""
    if ledger.active.get(configured, 0) >= wanted:
        return configured
    return max(ledger.active, key=lambda m: ledger.active[m])


def measure(app, url: str, ledger: "Ledger") -> list[dict]:
    """Statements per second for BENCH_STATEMENTS households of one month, and the worker's peak memory."""
    from shop.extensions import db

    count = int(os.environ.get("BENCH_STATEMENTS", "200"))
    month = date(ledger.year, int(os.environ.get("BENCH_STATEMENT_MONTH", "6")), 1)
    with app.app_context(), app.test_request_context(base_url=BASE_URL):
        docs = documents(month, count)
        check_rows(db.engine, month, docs)
        if os.environ.get("BENCH_PROFILE"):
            print(f"\n-- profile: 20 statements through the project --\n{profile(lambda: project_pass(month, 20))}")
    with tempfile.NamedTemporaryFile(suffix=".pickle") as prepared:
        prepared.write(pickle.dumps(docs))
        prepared.flush()
        mine = in_worker("statement_pdfs:project_job", url=url, month=month.isoformat(), count=len(docs))
        bare = in_worker("statement_pdfs:baseline_job", documents_file=prepared.name)
    rows = sum(len(doc.rows) for doc in docs)
    setting = f"{len(docs)} of {ledger.active[month.month]:,} households, {rows / len(docs):.0f} entries each"
    wanted = int(os.environ.get("BENCH_STATEMENT_JOB", "3000"))
    job_month = date(ledger.year, busiest_month(ledger, wanted, month.month), 1)
    count = min(wanted, ledger.active[job_month.month])
    rounds = int(os.environ.get("BENCH_STATEMENT_JOB_ROUNDS", "3"))
    job = in_worker("statement_pdfs:job_job", url=url, month=job_month.isoformat(), count=count, rounds=rounds)
    job_setting = f"{job['count']:,} statements of {job_month:%Y-%m}"
    if job["count"] < wanted:
        job_setting += f" (only {job['count']:,} households active in the busiest month, not {wanted:,})"
    job_setting += f", {job['workers']} workers, median of {rounds}; baseline: reportlab alone, one core, scaled"
    return [
        {
            "figure": f"Statements job, wall s ({job_setting})",
            "project": statistics.median(job["seconds"]),
            "baseline": bare["seconds"] * job["count"] / len(docs),
            "better": "lower",
            "goal": "statements_s",
        },
        {
            "figure": f"Statement PDFs per second ({setting})",
            "project": len(docs) / mine["seconds"],
            "baseline": len(docs) / bare["seconds"],
            "better": "higher",
        },
        {
            "figure": "Statement PDFs, worker peak RSS (MiB)",
            "project": mine["peak_mib"],
            "baseline": bare["peak_mib"],
            "better": "lower",
            "goal": "worker_memory",
            "ready_mib": {"project": mine["ready_mib"], "baseline": bare["ready_mib"]},
        },
    ]
