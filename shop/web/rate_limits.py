"""Rate-limit counters that every worker of one machine shares: a small SQLite file in the instance folder.

Flask-Limiter's `memory://` storage counts in each worker's memory, so with two gunicorn workers every
budget (sign-in attempts, orders) doubles. This storage keeps the counters in their own SQLite file,
not in the app's database: counting a sign-in attempt must not queue behind a sale for the database's
write lock, and the file works the same when the app's data lives in PostgreSQL. It is registered with
`limits` under the scheme `bangfu+sqlite:///<absolute path>`; several machines share Redis instead
(`RATELIMIT_STORAGE_URI=redis://…`).
"""

import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from limits.storage import Storage

SCHEME = "bangfu+sqlite"
#: The file's name in the instance folder.
FILE_NAME = "rate-limits.sqlite3"
#: Expired counters are swept at most this often (seconds).
SWEEP_EVERY_S = 60


def instance_uri(instance_path: str) -> str:
    """The storage URI of the counters file in the instance folder."""
    return f"{SCHEME}:///{Path(instance_path).resolve() / FILE_NAME}"


#: Threads of one worker open their connections one after another.
_SETTING_UP = threading.Lock()
#: Another worker may be setting up the same file: how often, and how long apart, to try again.
SETUP_TRIES, SETUP_PAUSE_S = 100, 0.05


def _set_up(connection: sqlite3.Connection) -> None:
    """WAL, relaxed syncing and the counter table, retried while another worker holds the file's lock."""
    for attempt in range(SETUP_TRIES):
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            # Counters need not survive a power cut; a lost second of them costs nothing.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counter "
                "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, ends_at REAL NOT NULL)"
            )
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == SETUP_TRIES - 1:
                raise
            time.sleep(SETUP_PAUSE_S)


class SharedFileStorage(Storage):
    """Fixed-window counters in a SQLite file: one row per key, its count and when its window ends."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = urlparse(uri).path
        if not self.path:
            raise ValueError(f"{SCHEME} needs a file: {SCHEME}:///absolute/path")
        self._local = threading.local()
        self._next_sweep = 0.0

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """This thread's connection; a worker forked after the app was built opens its own."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            # One thread at a time: switching a new file to WAL while another connection opens it
            # answers "database is locked" at once, without waiting out the busy timeout.
            with _SETTING_UP:
                _set_up(connection)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to the key's count in one statement, starting a new window when the last one has ended."""
        now = time.time()
        self._sweep(now)
        (count,) = (
            self._db()
            .execute(
                "INSERT INTO counter (key, count, ends_at) VALUES (:key, :amount, :ends) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN ends_at <= :now THEN :amount ELSE count + :amount END, "
                "ends_at = CASE WHEN ends_at <= :now THEN :ends ELSE ends_at END "
                "RETURNING count",
                {"key": key, "amount": amount, "ends": now + expiry, "now": now},
            )
            .fetchone()
        )
        return count

    def get(self, key: str) -> int:
        row = (
            self._db().execute("SELECT count FROM counter WHERE key = ? AND ends_at > ?", (key, time.time())).fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._db().execute("SELECT ends_at FROM counter WHERE key = ? AND ends_at > ?", (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        return self._db().execute("SELECT 1").fetchone() == (1,)

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counter WHERE key = ?", (key,))

    def _sweep(self, now: float) -> None:
        """Forget ended windows now and then, so the file stays as small as the live counters."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_S
        self._db().execute("DELETE FROM counter WHERE ends_at <= ?", (now,))
