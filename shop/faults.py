"""Running unattended: the heartbeat `/healthz` writes, and one log line when the database cannot be written.

A monitor polls `/healthz` every few seconds. It answers 200 only when the database answers and takes
a write: a one-row heartbeat table updated in place, so the check fails on a full disk, a read-only
file or a locked or unreachable database, and leaves nothing behind (no ledger, no audit trail).

When the disk fills or the database goes away, every request fails the same way. The log then says
so once per request, naming the cause (disk full, read-only, database locked, connection refused),
instead of a bare traceback per request; the traceback is logged once per cause and worker.
"""

import errno
import logging
import threading

import sqlalchemy as sa
from flask import current_app

from shop.clock import now_utc
from shop.models import Heartbeat
from shop.transaction import atomic

#: The cause an operator reads, and the words the databases (SQLite, PostgreSQL, the OS) say it with.
CAUSES = (
    (
        "disk full",
        ("database or disk is full", "no space left on device", "disk full", "could not extend file", "diskfull"),
    ),
    ("read-only", ("readonly database", "read-only", "read only")),
    ("database locked", ("database is locked", "database table is locked", "lock timeout", "could not obtain lock")),
    (
        "connection refused",
        (
            "connection refused",
            "could not connect",
            "connection failed",
            "unable to open database file",
            "server closed the connection",
            "terminating connection",
        ),
    ),
)
#: An operational database error that names none of the causes above.
UNKNOWN_CAUSE = "database unavailable"
#: What the OS says when the disk is full or mounted read-only, as errno.
OS_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EROFS: "read-only"}

_traced: set[str] = set()
_traced_lock = threading.Lock()


def database_fault(error: BaseException) -> str | None:
    """The cause of an error the database (or the disk under it) raised, or None if it is another error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in OS_CAUSES:
            return OS_CAUSES[error.errno]
        if isinstance(error, sa.exc.OperationalError | sa.exc.DisconnectionError) or _driver_operational(error):
            text = str(error).lower()
            return next((cause for cause, words in CAUSES if any(w in text for w in words)), UNKNOWN_CAUSE)
        error = error.__cause__ or error.__context__
    return None


def _driver_operational(error: BaseException) -> bool:
    """An OperationalError of the driver itself (sqlite3, psycopg), before SQLAlchemy wraps it."""
    return type(error).__name__ == "OperationalError"


def log_database_fault(error: BaseException, during: str) -> str | None:
    """Log one ERROR line naming the cause if the database failed; the cause, or None for another error."""
    cause = database_fault(error)
    if cause is None:
        return None
    logger = current_app.logger
    detail = str(getattr(error, "orig", None) or error).splitlines()[0][:200]
    logger.error("database unwritable: %s, during %s (%s)", cause, during, detail)
    with _traced_lock:
        first = cause not in _traced
        _traced.add(cause)
    # The traceback helps once; a thousand copies of it hide the line above.
    logger.log(logging.WARNING if first else logging.DEBUG, "traceback of %s", cause, exc_info=error)
    return cause


def beat() -> None:
    """Write the heartbeat row in place: the cheapest write that proves the database takes writes."""
    with atomic() as session:
        written = session.execute(sa.update(Heartbeat).where(Heartbeat.id == 1).values(beat_at=now_utc()))
        if written.rowcount == 0:
            session.add(Heartbeat(id=1, beat_at=now_utc()))
