"""Two PostgreSQL roles: the owner runs the migrations, the app's role only writes what the app writes.

The owner (MIGRATION_DATABASE_URL) owns every table, trigger and function. The app's role
(DATABASE_URL, named by APP_DATABASE_ROLE) gets, on every table of the schema as it stands:
SELECT and INSERT only on the append-only tables (APPEND_ONLY), SELECT on the schema's version,
and SELECT, INSERT, UPDATE, DELETE on the rest; USAGE and SELECT on the sequences. Never
TRUNCATE, REFERENCES or TRIGGER, and it owns nothing, so it can neither alter, drop nor empty a
table, nor drop or disable a trigger. `grant` first revokes whatever the role held, so running it
again after every migration gives a new table its privileges and is otherwise a no-op.
SQLite has no roles: nothing here applies to it.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from shop.errors import Conflict
from shop.extensions import db
from shop.ledger import guard
from shop.transaction import configure_engine

log = logging.getLogger(__name__)

#: Tables the app only adds rows to and reads: every table the triggers guard, and the officers'
#: month reviews (a review's digest is what `ledger verify` compares the month with). A new
#: append-only table goes in guard.GUARDED with its triggers, or here if it has none.
APPEND_ONLY = (*guard.GUARDED, "month_review")
#: The columns of an append-only table the app still fills in once, later: the answer to a disputed month.
ANSWERED_LATER = {"month_review": ("resolution", "resolved_by_id", "resolved_at")}
#: Tables the app reads and never writes: the schema's version is the owner's to change.
READ_ONLY = ("alembic_version",)
#: What the app's role may do to any other table.
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"


class RolesRefused(Conflict):
    """The grant cannot be made as asked (no such role, a role that owns the tables, not run as the owner)."""


def privileges_of(table: str) -> str:
    """The table privileges the app's role gets on `table`."""
    if table in READ_ONLY:
        return "SELECT"
    return "SELECT, INSERT" if table in APPEND_ONLY else READ_WRITE


def grant(connection, role: str) -> list[str]:
    """Give `role` exactly the app's privileges on every table and sequence of the current schema; the tables granted.

    Run it as the tables' owner, inside the migration's transaction or any other.
    """
    if connection.dialect.name != "postgresql":
        raise RolesRefused("SQLite has no roles: the app's file is its whole permission.")
    _check(connection, role)
    quote = connection.dialect.identifier_preparer.quote
    who = quote(role)
    schema = quote(connection.exec_driver_sql("SELECT current_schema()").scalar())
    tables = _tables(connection)
    # Start from nothing: a table that became append-only loses the UPDATE and DELETE it had.
    connection.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}")
    connection.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {who}")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {who}")
    for table in tables:
        connection.exec_driver_sql(f"GRANT {privileges_of(table)} ON TABLE {quote(table)} TO {who}")
        if columns := ANSWERED_LATER.get(table):
            named = ", ".join(quote(c) for c in columns)
            connection.exec_driver_sql(f"GRANT UPDATE ({named}) ON TABLE {quote(table)} TO {who}")
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}")
    return tables


def _tables(connection) -> list[str]:
    """The tables of the current schema, by name."""
    query = """SELECT relname FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p') ORDER BY relname"""
    return list(connection.exec_driver_sql(query).scalars())


def _check(connection, role: str) -> None:
    """Refuse a role that is missing or could act as an owner, and a caller who does not own the tables."""
    found = connection.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if found is None:
        raise RolesRefused(f'There is no PostgreSQL role "{role}": create it first (README, "Two database roles").')
    if found.rolsuper:
        raise RolesRefused(f'"{role}" is a superuser, which no privilege binds: the app needs a role of its own.')
    # The trigger functions too: whoever owns one can replace it with one that lets everything through.
    objects = """SELECT relname FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p', 'S')
        AND pg_has_role(CAST(:who AS name), relowner, 'MEMBER')
        UNION ALL SELECT proname || '()' FROM pg_proc
        WHERE pronamespace = current_schema()::regnamespace AND pg_has_role(CAST(:who AS name), proowner, 'MEMBER')
        ORDER BY 1 LIMIT 1"""
    if owned := connection.execute(sa.text(objects), {"who": role}).scalar():
        raise RolesRefused(
            f'"{role}" owns {owned} (or is a member of its owner): the app\'s role must own nothing, '
            "or it could drop the triggers."
        )
    if not_owned := _not_owned(connection):
        raise RolesRefused(
            f"Grants are made by the tables' owner; {not_owned} belongs to someone else "
            "(run this with MIGRATION_DATABASE_URL set to the owner)."
        )


def _not_owned(connection) -> str | None:
    """A table or sequence of the schema the connected user cannot act for, if any (a grant by it would do nothing)."""
    query = """SELECT relname FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p', 'S')
        AND NOT pg_has_role(current_user, relowner, 'USAGE') ORDER BY relname LIMIT 1"""
    return connection.exec_driver_sql(query).scalar()


def owner_url() -> str:
    """Where the migrations connect: MIGRATION_DATABASE_URL, else the app's own DATABASE_URL."""
    return current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["SQLALCHEMY_DATABASE_URI"]


@contextmanager
def owner_engine() -> Iterator[sa.Engine]:
    """An engine connected as the owner: the app's own when no owner is configured apart."""
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    if not url:
        yield db.engine
        return
    engine = sa.create_engine(url)
    configure_engine(engine, current_app.config["SQLITE_BUSY_TIMEOUT_S"])
    try:
        yield engine
    finally:
        engine.dispose()


def grant_configured(connection) -> str | None:
    """Grant the app's privileges to APP_DATABASE_ROLE, if one is set and the database is PostgreSQL; the role."""
    role = current_app.config.get("APP_DATABASE_ROLE")
    if not role:
        return None
    if connection.dialect.name != "postgresql":
        log.info("APP_DATABASE_ROLE is ignored on SQLite, which has no roles")
        return None
    grant(connection, role)
    return role
