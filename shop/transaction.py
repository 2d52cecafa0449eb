"""The one commit point, and how each database is asked to behave.

Every use case that writes runs inside `atomic()`: it commits there or rolls
back there, and nowhere else. On SQLite the write transaction begins
IMMEDIATE, so two writers queue for the lock up front instead of failing half
way; on PostgreSQL row locks (taken by the stock module) do that job.
"""

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shop.extensions import db

_IMMEDIATE = "sqlite_begin_immediate"

#: How often (seconds) a worker asks SQLite, after a commit, to copy the WAL back into the database.
WAL_CHECKPOINT_EVERY_S = 30
#: A WAL larger than this means checkpoints are not keeping up (a long read holds them back): say so.
WAL_WARN_BYTES = 64 * 1024 * 1024

log = logging.getLogger(__name__)
_next_checkpoint = [0.0]
_checkpoint_lock = threading.Lock()


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
    with _writers_take_turns(session.get_bind()):
        session.connection(execution_options={_IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    checkpoint_now_and_then(session.get_bind())


@contextmanager
def _writers_take_turns(engine: Engine) -> Iterator[None]:
    """On SQLite, queue this machine's writers on a lock file beside the database, held until commit.

    SQLite's own busy handler polls, sleeping 1, 2, 5, 10 ms and more between tries, so under
    load its write lock often sits free while the next till sleeps. flock() wakes the next writer
    the moment the lock is let go. SQLite's lock stays the rule (busy_timeout still bounds a wait
    for a writer that does not queue here, such as a migration); this only orders the queue. A
    worker that dies lets go with its files, and gunicorn's timeout bounds a worker that hangs.
    """
    path = _writers_file(engine)
    if path is None or getattr(_turn, "held", False):
        yield  # PostgreSQL's row locks queue writers already; a nested use case is already in turn
        return
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _turn.held = True
        try:
            yield
        finally:
            _turn.held = False
    finally:
        os.close(handle)  # closing lets go of the lock


#: Whether this thread holds its turn to write.
_turn = threading.local()


def _writers_file(engine: Engine) -> str | None:
    """The lock file writers queue on: beside an SQLite database file; none for PostgreSQL or memory."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


def release_before_calling_out() -> None:
    """End the session's read transaction before a call to Stripe, so no database lock is held while it answers.

    A call over the network can take seconds. A read left open meanwhile holds
    its connection and its locks: SQLite cannot checkpoint its WAL past it, and
    on PostgreSQL a migration waits for it. What Stripe answers is applied
    afterwards by a use case in its own transaction. Objects loaded before are
    expired, and reading one begins a new transaction: read what the call needs first.
    """
    db.session.rollback()


def checkpoint_now_and_then(engine: Engine) -> None:
    """On SQLite, at most every WAL_CHECKPOINT_EVERY_S: a passive checkpoint, and a warning if the WAL grows."""
    if engine.dialect.name != "sqlite":
        return
    now = time.monotonic()
    with _checkpoint_lock:
        if now < _next_checkpoint[0]:
            return
        _next_checkpoint[0] = now + WAL_CHECKPOINT_EVERY_S
    try:
        wal_checkpoint(engine)
    except sa.exc.DBAPIError as error:
        # The commit is done; a checkpoint that fails must not turn it into an error.
        log.warning("SQLite WAL checkpoint failed: %s", str(error.orig).splitlines()[0])


def wal_checkpoint(engine: Engine) -> tuple[int, int, int, int]:
    """PRAGMA wal_checkpoint(PASSIVE): (busy, WAL pages, pages copied back, WAL bytes); warns when it lags.

    PASSIVE never waits for readers: it copies what no open read still needs. A WAL that grows past
    WAL_WARN_BYTES means readers (a long report, a stuck connection) keep it from being reused.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        busy, pages, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        files = cursor.execute("PRAGMA database_list").fetchall()
        cursor.close()
    finally:
        raw.close()
    main = next((file for _seq, name, file in files if name == "main"), "")
    size = os.path.getsize(main + "-wal") if main and os.path.exists(main + "-wal") else 0
    if busy or size >= WAL_WARN_BYTES:
        log.warning(
            "SQLite WAL not checkpointed: %d MiB, %d of %d pages copied back%s; a long read may be holding it",
            size // (1024 * 1024),
            max(copied, 0),
            max(pages, 0),
            " (busy)" if busy else "",
        )
    return busy, pages, copied, size
