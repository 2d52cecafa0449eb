"""Backups taken while the app serves, and restores into an empty installation.

A backup is the database as of one moment, checked before it is kept. SQLite: the online backup
API copies the live file in one read transaction (WAL lets the tills go on writing meanwhile),
and the copy's ledger is verified. PostgreSQL: a REPEATABLE READ transaction exports its snapshot,
the ledger is verified inside it, and `pg_dump --snapshot` dumps exactly that state. The file is
written under a temporary name readable by its owner only and renamed into place once verified,
so a file under the given name is always a whole, verified backup.

A backup needs only the app's role (it reads every table); a restore recreates the schema, so it
connects as the tables' owner (MIGRATION_DATABASE_URL, if set) and then grants the app's role its
privileges again (shop/ops/database_roles.py).

A restore goes only into an empty installation (no row in any of the app's tables), so it can
never overwrite a county's data. The keys are not in a backup: phone numbers stay sealed under
the key of the installation the backup came from, which must be put back beside it.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.orm import Session

from shop import sealing
from shop.errors import Conflict, DomainError, Invalid
from shop.extensions import db
from shop.ledger import entries as credits
from shop.ledger import guard
from shop.ops import database_roles

#: How each kind of backup file begins.
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
#: How long the copy waits for a writer holding SQLite's lock (it needs only a read lock).
SQLITE_TIMEOUT_S = 60


class BackupFailed(DomainError):
    """The copy could not be made or did not verify; no file was left under the name asked for."""


class NotABackup(Invalid):
    """The file is not a backup this installation's database can take."""


class DatabaseNotEmpty(Conflict):
    """The installation already holds data, which a restore would overwrite."""


class BackupFromNewerVersion(Conflict):
    """The backup's schema is newer than this version of the app knows."""


@dataclass(frozen=True)
class Written:
    """A backup kept: where, how many ledger entries were verified in it, its size in bytes."""

    path: Path
    entries: int
    size: int


@dataclass(frozen=True)
class Restored:
    """What a restore brought back and what checking it found."""

    revision: str | None
    upgraded_to: str | None
    entries: int
    ledger_fault: str | None
    keys_fault: str | None


def backup(path: Path) -> Written:
    """Write a consistent, verified copy of the database to `path`, atomically and readable by its owner only."""
    path = Path(path).absolute()
    if not path.parent.is_dir():
        raise BackupFailed(f"The folder {path.parent} does not exist.")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    partial = Path(name)
    try:
        os.chmod(partial, 0o600)
        if db.engine.dialect.name == "sqlite":
            entries = _backup_sqlite(partial)
        else:
            entries = _backup_postgresql(partial)
        _sync(partial)
        os.replace(partial, path)
        _sync(path.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Written(path, entries, path.stat().st_size)


def _backup_sqlite(partial: Path) -> int:
    source = _sqlite_path()
    with closing(_open_sqlite(source)) as live, closing(sqlite3.connect(partial)) as copy:
        # All pages in one step: one read transaction, so the copy is one moment of the database.
        live.backup(copy)
        # A single self-contained file, whatever journal the live database uses.
        copy.execute("PRAGMA journal_mode = DELETE")
    return _verify_sqlite_file(partial, BackupFailed)


def _backup_postgresql(partial: Path) -> int:
    pg_dump = _tool("pg_dump")
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        with Session(bind=connection) as session:
            entries = _verified(session, BackupFailed)
        # The snapshot lives as long as this transaction: pg_dump must finish inside it.
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={partial}", _libpq_url()])
        connection.rollback()
    _run([_tool("pg_restore"), "--list", str(partial)])  # the file reads back whole
    return entries


def restore(path: Path) -> Restored:
    """Put a backup into this empty installation, bring its schema up to date and check it."""
    path = Path(path)
    dialect = db.engine.dialect.name
    kind = _kind_of(path)
    if kind != dialect:
        raise NotABackup(f"{path} is not a {_NAMES[dialect]} backup (it is {_NAMES.get(kind, 'not a backup')}).")
    if filled := _tables_with_rows():
        named = ", ".join(filled[:3]) + (", …" if len(filled) > 3 else "")
        raise DatabaseNotEmpty(
            f"The database already holds data (in {named}). A backup is restored only into an "
            "empty installation; nothing was changed."
        )
    revision = _sqlite_revision(path) if dialect == "sqlite" else _dump_revision(path)
    script = _migrations()
    if revision is not None and revision not in {r.revision for r in script.walk_revisions()}:
        raise BackupFromNewerVersion(
            f"The backup's schema ({revision}) comes from a newer version of the app: install that version "
            "to restore it. Nothing was changed."
        )
    head = script.get_current_head()
    if dialect == "sqlite":
        # This code reads only its own schema: an older backup's ledger is checked once it is upgraded.
        _verify_sqlite_file(path, NotABackup, ledger=revision == head)
        _restore_sqlite(path)
    else:
        _restore_postgresql(path)
    upgraded_to = None
    if revision != head:
        flask_migrate.upgrade()
        upgraded_to = head
    db.session.remove()
    entries, fault = credits.verify()
    with db.engine.connect() as connection:
        keys_fault = sealing.keys_fault(
            connection, tuple(current_app.config["PERSONAL_DATA_KEYS"]), current_app.instance_path
        )
    db.session.remove()
    return Restored(revision, upgraded_to, entries, _describe(fault), keys_fault)


def _restore_sqlite(path: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    with closing(_open_sqlite(path, read_only=True)) as source:
        with closing(sqlite3.connect(_sqlite_path(), timeout=SQLITE_TIMEOUT_S)) as target:
            source.backup(target)
    db.engine.dispose()


def _restore_postgresql(path: Path) -> None:
    pg_restore = _tool("pg_restore")
    db.session.remove()
    # The schema is recreated, so the owner does it (MIGRATION_DATABASE_URL when the app has a role of
    # its own); the app's role then gets its privileges back, which --no-privileges left out.
    with database_roles.owner_engine() as owner:
        # The target's schema, if it was migrated, is empty (checked): the backup's replaces it.
        with owner.begin() as connection:
            db.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            for table in guard.GUARDED:
                guard.remove(connection, table)
        db.engine.dispose()
        _run(
            [
                pg_restore,
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq_url(owner.url)}",
                str(path),
            ],
            url=owner.url,
        )
        with owner.begin() as connection:
            database_roles.grant_configured(connection)
    db.engine.dispose()


def _verified(session, failure: type[DomainError]) -> int:
    """The number of ledger entries the session's database holds, all verified; else `failure`."""
    entries, fault = credits.verify(session)
    if fault is not None:
        outcome = "nothing was kept" if failure is BackupFailed else "nothing was changed"
        raise failure(f"The backup's ledger does not verify ({_describe(fault)}); {outcome}.")
    return entries


def _verify_sqlite_file(path: Path, failure: type[DomainError], *, ledger: bool = True) -> int:
    """Check that a SQLite file holds this app's database and, unless told not to, verify its ledger; read-only."""
    engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with Session(engine) as session:
            if not sa.inspect(session.connection()).has_table("household_ledger"):
                raise failure(f"{path} holds no Bangfu Counter database.")
            return _verified(session, failure) if ledger else 0
    except sa.exc.DatabaseError as error:
        raise failure(f"{path} cannot be read as a database: {error.orig}.") from None
    finally:
        engine.dispose()


def _describe(fault) -> str | None:
    if fault is None:
        return None
    where = f"entry {fault.seq}" if fault.seq else "the ledger"
    return f"broken at {where}: {fault.reason}"


def _tables_with_rows() -> list[str]:
    """The app's tables that hold at least one row."""
    with db.engine.connect() as connection:
        existing = set(sa.inspect(connection).get_table_names())
        tables = [table for table in db.metadata.sorted_tables if table.name in existing]
        return [t.name for t in tables if connection.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]


def _migrations() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def _sqlite_revision(path: Path) -> str | None:
    with closing(_open_sqlite(path, read_only=True)) as connection:
        try:
            return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        except (sqlite3.DatabaseError, TypeError):
            raise NotABackup(f"{path} holds no Bangfu Counter database.") from None


def _dump_revision(path: Path) -> str | None:
    """The schema revision recorded in a pg_dump file, read from its alembic_version data."""
    listing = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)], NotABackup)
    lines = listing.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            return lines[number + 1].strip()
    raise NotABackup(f"{path} holds no Bangfu Counter database.")


_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL (pg_dump)"}


def _kind_of(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    return None


def _sqlite_path() -> str:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupFailed("An in-memory database has nothing to back up or restore into.")
    return database


def _open_sqlite(path, read_only: bool = False) -> sqlite3.Connection:
    if not Path(path).exists():
        raise BackupFailed(f"The database file {path} does not exist.")
    if read_only:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_TIMEOUT_S)
    return sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S)


def _libpq_url(url: sa.URL | None = None) -> str:
    """Where pg_dump and pg_restore connect (the app's database unless told); the password goes in their environment."""
    url = url or db.engine.url
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _tool(name: str) -> str:
    if found := shutil.which(name):
        return found
    raise BackupFailed(f"{name} is not installed (on Debian: apt install postgresql-client).")


def _run(command: list[str], failure: type[DomainError] = BackupFailed, url: sa.URL | None = None) -> str:
    env = dict(os.environ)
    if password := (url or db.engine.url).password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise failure(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _sync(path: Path) -> None:
    """Make a file's content (or a folder's entries) durable before it is relied on."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
