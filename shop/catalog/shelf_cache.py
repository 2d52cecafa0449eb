"""The shop front's shelf, rendered once per language and section and kept until the database changes.

The shelf (the section chips and every product card) is the same for every buyer, so each worker
keeps the last rendering of it per (language, section). A kept rendering is shown only while:

- nothing has been committed to the database since it was made, by any process: on PostgreSQL the
  snapshot (`pg_current_snapshot()`) changes whenever a transaction that wrote anything ends; on
  SQLite `PRAGMA data_version`, read on a connection of its own that never writes, changes whenever
  any other connection commits. Either is read once per page load and costs no table access, so a
  price, a product or a sale committed by another worker is seen on the very next page load;
- the business day is the one it was made on (a lot past its best-before leaves the shelf at midnight);
- no online order's hold on stock has lapsed since (holds end by time alone, without a write).

What differs between buyers (the cart's count, the signed-in name, the CSRF token, the language
switch's link back) is outside the shelf and rendered on every page load.
"""

import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from shop.extensions import db

EXTENSION = "shelf_cache"


@dataclass(frozen=True)
class Shelf:
    """A rendered shelf and what it is valid for."""

    version: object
    day: date
    #: The first instant a hold on stock lapses after it was rendered (None: no hold was live).
    until: datetime | None
    html: Markup


class ShelfCache:
    """One worker's renderings of the shelf, per (language, section)."""

    def __init__(self, url: sa.URL):
        self.url = url
        self.shelves: dict[tuple, Shelf] = {}
        self._watcher: sqlite3.Connection | None = None
        self._watcher_pid = 0
        self._lock = threading.Lock()

    def database_version(self):
        """What changes whenever anything is committed to the database; None when it cannot be told."""
        if self.url.get_backend_name() == "postgresql":
            return db.session.execute(sa.text("SELECT pg_current_snapshot()::text")).scalar_one()
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            with self._lock:
                if self._watcher is None or self._watcher_pid != os.getpid():
                    # Its own connection, never writing: its data_version counts every other connection's commits.
                    self._watcher = sqlite3.connect(self.url.database, check_same_thread=False, isolation_level=None)
                    self._watcher_pid = os.getpid()  # a connection inherited through fork is not used
                return self._watcher.execute("PRAGMA data_version").fetchone()[0]
        return None

    def shelf(self, key: tuple, day: date, now: datetime, render: Callable[[], tuple[str, datetime | None]]) -> Markup:
        """The shelf for `key`: the kept one while it is still true, else `render()`'s (html, next hold lapse), kept."""
        version = self.database_version()  # read before rendering: a commit after it invalidates what follows
        kept = self.shelves.get(key)
        if (
            version is not None
            and kept is not None
            and kept.version == version
            and kept.day == day
            and (kept.until is None or now < kept.until)
        ):
            return kept.html
        html, until = render()
        fresh = Shelf(version, day, until, Markup(html))
        if version is not None:
            self.shelves[key] = fresh
        return fresh.html

    def clear(self) -> None:
        """Forget every kept shelf."""
        self.shelves.clear()


def cache() -> ShelfCache:
    """The current app's shelf cache, made on first use in each worker process."""
    kept = current_app.extensions.get(EXTENSION)
    if kept is None:
        kept = current_app.extensions[EXTENSION] = ShelfCache(db.engine.url)
    return kept
