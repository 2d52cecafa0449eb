"""The database triggers that make a table append-only, on SQLite and PostgreSQL.

The household ledger (migration 0004), the audit trail (migration 0007), the ended sessions (0010), a
household's history (its changes and statuses, 0011), the products' prices (0015), the settled
refused sales (0016), the officers' work ledger (0019) and the ledger's signed checkpoints, their
tree and keys (0020), and the closed months with their household sums (0022) are guarded. Tests that tamper with them
behind the app's back (and the test fixtures that empty the database) drop the triggers first, as an
attacker with database access would.
Change a guard only by adding a migration: the SQL here is what those migrations ran.
"""

import sqlalchemy as sa

#: The household income ledger, the first table guarded.
TABLE = "household_ledger"
#: Every append-only table, in the order their migrations guarded them.
GUARDED = (
    TABLE,
    "audit_event",
    "ended_session",
    "household_change",
    "household_status",
    "product_price",
    "refused_sale",
    "measure",
    "measure_done",
    "visit",
    "declared_income",
    "risk_proposal",
    "risk_step",
    "ledger_checkpoint",
    "ledger_tree_node",
    "ledger_key",
    "ledger_closing",
    "closed_household_month",
)


def _sqlite(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
    ]


def _postgresql(table: str) -> list[str]:
    return [
        f"""CREATE FUNCTION {table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} is append-only'; END $$""",
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse()""",
        # TRUNCATE skips row triggers, so it gets its own.
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse()""",
    ]


def install(connection, table: str = TABLE) -> None:
    """Create the triggers that refuse UPDATE and DELETE on the table."""
    for statement in _postgresql(table) if connection.dialect.name == "postgresql" else _sqlite(table):
        connection.execute(sa.text(statement))


def remove(connection, table: str = TABLE) -> None:
    """Drop the triggers (tests only: it is what tampering needs)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"DROP FUNCTION IF EXISTS {table}_refuse() CASCADE"))
    else:
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
