"""`make bench`: run every figure, print one table of project vs baseline, and write bench/results.json."""

import json
import os
import platform
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from . import sales

RESULTS = Path(__file__).with_name("results.json")


def database() -> tuple[str, callable]:
    """A fresh database: PostgreSQL when DATABASE_URL or PG* name a server, else SQLite in a temp dir."""
    url = os.environ.get("DATABASE_URL") or (
        "postgresql+psycopg:///" + os.environ.get("PGDATABASE", "postgres") if os.environ.get("PGHOST") else ""
    )
    if not url:
        path = Path(tempfile.mkdtemp(prefix="bangfu-bench-")) / "bench.sqlite3"
        return f"sqlite:///{path}", lambda: None
    server = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"bangfu_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server.set(database=name).render_as_string(hide_password=False), drop


def print_table(rows: list[dict]) -> None:
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'project':>10}  {'baseline':>10}  {'ratio':>7}")
    for r in rows:
        print(f"{r['figure']:<{width}}  {r['project']:>10.1f}  {r['baseline']:>10.1f}  {r['ratio']:>7.2f}")


def main() -> int:
    from shop import create_app

    url, drop = database()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            flask_migrate.upgrade()
        rows = sales.measure(
            app, url, sales.default_workers(), clients=4, seconds=float(os.environ.get("BENCH_SECONDS", 8))
        )
        with app.app_context():
            from shop.extensions import db

            db.engine.dispose()
    finally:
        drop()
    for row in rows:
        row["ratio"] = row["project"] / row["baseline"] if row["baseline"] else float("nan")
    print_table(rows)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": sa.make_url(url).get_backend_name(),
        "figures": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    failures = sum(r.get("failures", 0) for r in rows)
    if failures:
        print(f"{failures} requests failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
