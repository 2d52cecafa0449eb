"""The database triggers that make the household ledger append-only, on SQLite and PostgreSQL.

Migration 0004 installs them. Tests that tamper with the ledger behind the
app's back (and the test fixtures that empty the database) drop them first,
as an attacker with database access would. Change the guard only by adding a
migration: the SQL here is what 0004 ran.
"""

import sqlalchemy as sa

TABLE = "household_ledger"

_SQLITE = [
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END""",
]
_POSTGRESQL = [
    f"""CREATE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{TABLE} is append-only'; END $$""",
    f"""CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()""",
    # TRUNCATE skips row triggers, so it gets its own.
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()""",
]


def install(connection) -> None:
    """Create the triggers that refuse UPDATE and DELETE on the ledger."""
    for statement in _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE:
        connection.execute(sa.text(statement))


def remove(connection) -> None:
    """Drop the triggers (tests only: it is what tampering needs)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {TABLE}_refuse() CASCADE"))
    else:
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {TABLE}_no_update"))
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"))
