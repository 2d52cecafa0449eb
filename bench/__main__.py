"""`make bench`: run every figure, print one table of project vs baseline, and write bench/results.json.

BENCH_ONLY=sales or BENCH_ONLY=ledger runs one group. The ledger figures' scale:
BENCH_HOUSEHOLDS (10000), BENCH_LEDGER_ENTRIES (1000000), BENCH_YEAR (last year),
BENCH_REPORT_RUNS (3), BENCH_STATEMENTS (200), BENCH_STATEMENT_MONTH (6);
BENCH_PROFILE=1 prints a cProfile summary of each project path.
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

from . import ledger, sales, statement_pdfs, year_report

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


def sales_figures(phases: Phases) -> list[dict]:
    """Counter sales through gunicorn, against the bare endpoint."""
    url, drop = database()
    try:
        app = migrated_app(url)
        seconds = float(os.environ.get("BENCH_SECONDS", 8))
        rows = phases.run("counter sales", sales.measure, app, url, sales.default_workers(), 4, seconds)
        dispose(app)
    finally:
        drop()
    return rows


def ledger_figures(phases: Phases, scale: dict) -> list[dict]:
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
        scale.update(households=made.households, entries=made.entries, year=made.year, rows=made.rows)
        rows = phases.run("yearly report", year_report.measure, app, made)
        rows += phases.run("statement PDFs", statement_pdfs.measure, app, made)
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
    groups = os.environ.get("BENCH_ONLY", "sales,ledger").split(",")
    phases, scale, rows = Phases(), {}, []
    if "sales" in groups:
        rows += sales_figures(phases)
    if "ledger" in groups:
        rows += ledger_figures(phases, scale)
    for row in rows:
        # No ratio to a baseline of nothing (a peak memory the baseline never raised, say).
        row["ratio"] = row["project"] / row["baseline"] if row["baseline"] > 0.05 else None
    print_table(rows)
    print("\nphases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()))
    url = os.environ.get("DATABASE_URL") or ("postgresql" if os.environ.get("PGHOST") else "sqlite")
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": sa.make_url(url).get_backend_name() if "://" in url else url,
        "figures": rows,
        "phases_s": phases,
        "ledger_scale": scale,
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    failures = sum(r.get("failures", 0) for r in rows)
    if failures:
        print(f"{failures} requests failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
