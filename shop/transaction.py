"""The one commit point, and how each database is asked to behave.

Every use case that writes runs inside `atomic()`: it commits there or rolls
back there, and nowhere else. On SQLite the write transaction begins
IMMEDIATE, so two writers queue for the lock up front instead of failing half
way; on PostgreSQL row locks (taken by the stock module) do that job.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

_IMMEDIATE = "sqlite_begin_immediate"


def configure_engine(engine: Engine, busy_timeout_s: int) -> None:
    """Give SQLite durable WAL writes, foreign keys and explicit BEGIN statements."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a sale confirmed to the clerk survives a power cut.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def atomic() -> Iterator[Session]:
    """Run a block as one write transaction: commit if it finishes, roll back if it raises."""
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a use case's transaction")
        # A read (loading the signed-in user, say) began a deferred transaction;
        # end it so the write transaction starts with the write lock.
        session.rollback()
    session.connection(execution_options={_IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
