"""`make bench`: run every figure, print one table of project vs baseline, and write bench/results.json.

Groups, each on a fresh database of its own (BENCH_ONLY=sales,catalog picks some):
sales (counter sales through gunicorn), catalog (the shop front with 500
products), contention (200 buyers for the last 10 units; needs localstripe,
from the test extra) and ledger (a generated year: the yearly report, the
dashboard pages and the statement PDFs, each in a fresh worker that also
reports its peak memory; then `flask ledger verify` over it beside a plain
streamed read of the same rows, time and worker peak memory; then signed checkpoints: the first
and a day's checkpoint, proofs, and what a ledger entry sends to the tree's tables) and roster (a
generated 50,000-row household roster
imported through the use case, and a 10,000-row one, each beside a bare csv
parse and executemany insert, with the workers' peak memory). Knobs: BENCH_SECONDS (8), BENCH_CONTENTION_ROUNDS
(3), BENCH_HOUSEHOLDS (10000), BENCH_LEDGER_ENTRIES (1000000), BENCH_YEAR
(last year), BENCH_REPORT_RUNS (3), BENCH_PAGE_RUNS (5), BENCH_STATEMENTS
(200), BENCH_STATEMENT_MONTH (6), BENCH_ROSTER_ROWS (50000),
BENCH_ROSTER_OFFICERS (2000), BENCH_WORK_HOUSEHOLDS (10000), BENCH_WORK_MEASURES (30000)
(the worklog group: the county's work dashboard beside a bare grouped COUNT); BENCH_PROFILE=1 prints a cProfile summary
of the report and statement paths.
"""

import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from . import (
    catalog,
    checkpoints,
    contention,
    dashboard,
    goals,
    ledger,
    roster,
    sales,
    scale,
    statement_pdfs,
    verify,
    worklog,
    year_report,
)

RESULTS = Path(__file__).with_name("results.json")


def database() -> tuple[str, callable]:
    """A fresh database: PostgreSQL when DATABASE_URL or PG* name a server, else SQLite in a temp dir."""
    url = os.environ.get("DATABASE_URL") or (
        "postgresql+psycopg:///" + os.environ.get("PGDATABASE", "postgres") if os.environ.get("PGHOST") else ""
    )
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="bangfu-bench-"))
        return f"sqlite:///{folder / 'bench.sqlite3'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    server = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"bangfu_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()  # no idle connection for a forked process to inherit

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server.set(database=name).render_as_string(hide_password=False), drop


def migrated_app(url: str):
    """The project's app on a fresh database, schema upgraded."""
    from shop import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        flask_migrate.upgrade()
    return app


def dispose(app) -> None:
    """Close the app's pooled connections, so the database can be dropped (or a process forked)."""
    with app.app_context():
        from shop.extensions import db

        db.engine.dispose()


class Phases(dict):
    """Wall-clock seconds of each phase of the run."""

    def run(self, name: str, fn, *args):
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self[name] = time.perf_counter() - started


def sales_figures(phases: Phases, limits: dict) -> list[dict]:
    """Counter sales through gunicorn, against the bare endpoint; then in-process figures without a baseline."""
    url, drop = database()
    try:
        app = migrated_app(url)
        seconds = float(os.environ.get("BENCH_SECONDS", 8))
        rows = phases.run("counter sales", sales.measure, app, url, sales.default_workers(), 4, seconds)
        limits.update(phases.run("chain lock", scale.chain_lock, app, "till0", ("B-XG", "B-XJ")))
        limits.update(phases.run("sign-out check", scale.sign_out_check, app, "till1"))
        limits.update(phases.run("household search", scale.household_search, app))
        dispose(app)
    finally:
        drop()
    return rows


def catalog_figures(phases: Phases) -> list[dict]:
    """The public catalog with 500 products through gunicorn, against the bare render."""
    url, drop = database()
    try:
        app = migrated_app(url)
        seconds = float(os.environ.get("BENCH_SECONDS", 8))
        rows = phases.run("catalog", catalog.measure, app, url, sales.default_workers(), 4, seconds)
        dispose(app)
    finally:
        drop()
    return rows


def contention_figures(phases: Phases) -> list[dict]:
    """200 buyers, counter and online, for the last 10 units, against the bare conditional UPDATE."""
    url, drop = database()
    try:
        app = migrated_app(url)
        rounds = contention.default_rounds()
        rows = phases.run("contention", contention.measure, app, url, sales.default_workers(), rounds)
        dispose(app)
    finally:
        drop()
    return rows


def ledger_figures(phases: Phases, generated: dict, limits: dict) -> list[dict]:
    """A generated year of the ledger, then the yearly report and the statement PDFs over it."""
    from shop.clock import business_today

    households = int(os.environ.get("BENCH_HOUSEHOLDS", "10000"))
    entries = int(os.environ.get("BENCH_LEDGER_ENTRIES", "1000000"))
    year = int(os.environ.get("BENCH_YEAR", business_today().year - 1))
    url, drop = database()
    try:
        app = migrated_app(url)
        dispose(app)  # the generator forks: no pooled connection may be shared with it
        # Generated in a child process, so its buffers do not inflate the memory figures measured here.
        with multiprocessing.get_context("fork").Pool(1) as pool:
            made = phases.run("generate ledger", pool.apply, ledger.generate, (url, year, households, entries))
        generated.update(households=made.households, entries=made.entries, year=made.year, rows=made.rows)
        limits.update(scale.ledger_bytes(app, made.entries))
        rows = phases.run("yearly report", year_report.measure, app, url, made)
        runs = int(os.environ.get("BENCH_PAGE_RUNS", "5"))
        rows += phases.run("dashboard pages", dashboard.measure, app, url, made.year, runs)
        rows += phases.run("statement PDFs", statement_pdfs.measure, app, url, made)
        rows += phases.run("ledger verify", verify.measure, url, made)
        rows += phases.run("checkpoints", checkpoints.measure, app)
        dispose(app)
    finally:
        drop()
    return rows


def roster_figures(phases: Phases) -> list[dict]:
    """A generated county roster through the import use case, against a bare parse and insert."""
    url, drop = database()
    try:
        app = migrated_app(url)
        dispose(app)  # the workers open their own connections
        rows = phases.run("roster import", roster.measure, app, url)
        dispose(app)
    finally:
        drop()
    return rows


def worklog_figures(phases: Phases) -> list[dict]:
    """The county's work dashboard over a generated work ledger, against the bare grouped COUNT."""
    url, drop = database()
    try:
        app = migrated_app(url)
        rows = phases.run("work dashboard", worklog.measure, app)
        dispose(app)
    finally:
        drop()
    return rows


def number(value: float) -> str:
    """A figure with as many decimals as its size deserves."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def print_table(rows: list[dict]) -> None:
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'project':>10}  {'baseline':>10}  {'ratio':>7}")
    for r in rows:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['figure']:<{width}}  {number(r['project']):>10}  {number(r['baseline']):>10}  {ratio:>7}")


def main() -> int:
    groups = os.environ.get("BENCH_ONLY", "sales,catalog,contention,ledger,roster,worklog").split(",")
    phases, generated, limits, rows = Phases(), {}, {}, []
    if "sales" in groups:
        rows += sales_figures(phases, limits)
    if "catalog" in groups:
        rows += catalog_figures(phases)
    if "contention" in groups:
        rows += contention_figures(phases)
    if "ledger" in groups:
        rows += ledger_figures(phases, generated, limits)
    if "roster" in groups:
        rows += roster_figures(phases)
    if "worklog" in groups:
        rows += worklog_figures(phases)
    for row in rows:
        # No ratio to a baseline of nothing (a peak memory the baseline never raised, say).
        row["ratio"] = row["project"] / row["baseline"] if row["baseline"] > 0.05 else None
    print_table(rows)
    if limits:
        print("\nfor docs/scaling.md: " + ", ".join(f"{name} {value:.2f}" for name, value in limits.items()))
    print("\nphases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
    url = os.environ.get("DATABASE_URL") or ("postgresql" if os.environ.get("PGHOST") else "sqlite")
    backend = sa.make_url(url).get_backend_name() if "://" in url else url
    verdicts = goals.verdicts(rows, backend)
    goals.print_verdicts(verdicts)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": backend,
        "figures": rows,
        "phases_s": phases,
        "ledger_scale": generated,
        "limits": limits,
        "goals": verdicts,
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    failures = sum(r.get("failures", 0) for r in rows)
    if failures:
        print(f"{failures} requests failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
