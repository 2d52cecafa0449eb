"""Two PostgreSQL roles: the owner migrates, the app's role can only add to and read the append-only tables.

Each PostgreSQL test here stands in a database of its own, owned by an owner role made for the
module, with an app role made beside it (both dropped afterwards). The schema is built by
`flask db upgrade` with MIGRATION_DATABASE_URL and APP_DATABASE_ROLE set, as a county would
configure it, and the app under test connects as the app's role. SQLite has no roles: there only
the check that every table the triggers guard is declared append-only runs.
"""

import os
import re
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import psycopg
import pytest
import sqlalchemy as sa

from shop import create_app
from shop.extensions import db
from shop.ledger import entries, guard
from shop.models import AuditEvent, LedgerEntry, MonthReview
from shop.ops import database_roles
from tests.conftest import PERSONAL_DATA_KEY, base_config, empty_database, postgres_server_url
from tests.factories import receive
from tests.feature.test_review_pages import month_url, page, review, send

#: The tables the issue names: the ledger, the month reviews and the audit trail.
NAMED = ("household_ledger", "month_review", "audit_event")
NO_POSTGRESQL = "PostgreSQL only: SQLite has no roles (set PG* or TEST_DATABASE_URL to run it)"


@dataclass(frozen=True)
class Split:
    """A database owned by `owner`, used by the app as `app_role`, and how each connects."""

    owner: str
    app_role: str
    owner_url: str
    app_url: str
    server: sa.URL

    def settings(self) -> dict:
        """The app's settings as a county sets them: the app's URL, the owner's for migrations, the role to grant."""
        return {
            **base_config(self.app_url),
            "MIGRATION_DATABASE_URL": self.owner_url,
            "APP_DATABASE_ROLE": self.app_role,
        }


def superuser_engine() -> sa.Engine:
    """The test server's own account, which makes roles and databases (skips where there is none)."""
    if (url := postgres_server_url()) is None:
        pytest.skip(NO_POSTGRESQL)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.exec_driver_sql(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).scalar():
            pytest.skip("the test server's account may not create roles")
    return engine


def new_split(admin: sa.Engine, suffix: str, app_owns_it: bool = False) -> Split:
    """Two login roles and an empty database the owner owns (or, as before the split, the app's role)."""
    owner, app_role = f"bangfu_owner_{suffix}", f"bangfu_app_{suffix}"
    owner_password, app_password = secrets.token_hex(16), secrets.token_hex(16)
    name = f"bangfu_test_roles_{suffix}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {owner} LOGIN PASSWORD '{owner_password}'")
        conn.exec_driver_sql(f"CREATE ROLE {app_role} LOGIN PASSWORD '{app_password}'")
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER {app_role if app_owns_it else owner}')
    server = sa.make_url(postgres_server_url())
    if not server.host:
        # The new roles log in with a password, over TCP like the app's (the server's own account may use a socket).
        server = server.set(host="localhost")
    return Split(
        owner=owner,
        app_role=app_role,
        owner_url=server.set(username=owner, password=owner_password, database=name).render_as_string(False),
        app_url=server.set(username=app_role, password=app_password, database=name).render_as_string(False),
        server=server,
    )


def drop_split(admin: sa.Engine, split: Split) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(split.owner_url).database}" WITH (FORCE)')
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {split.app_role}")
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {split.owner}")


def flask_command(split: Split, *args: str) -> subprocess.CompletedProcess:
    """`flask --app shop …` in a process of its own, configured through the environment as a county's server is."""
    env = {
        **os.environ,
        "DATABASE_URL": split.app_url,
        "MIGRATION_DATABASE_URL": split.owner_url,
        "APP_DATABASE_ROLE": split.app_role,
        "SECRET_KEY": "test secret key",
        "PERSONAL_DATA_KEYS": PERSONAL_DATA_KEY,
    }
    flask = Path(sys.executable).parent / "flask"
    return subprocess.run([flask, "--app", "shop", *args], capture_output=True, text=True, env=env, timeout=120)


def upgraded(settings: dict) -> None:
    """`flask db upgrade` with these settings."""
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="module")
def split():
    """The module's owner, app role and database, migrated by the owner with the grants applied."""
    admin = superuser_engine()
    made = new_split(admin, uuid.uuid4().hex[:10])
    try:
        upgraded(made.settings())
        yield made
    finally:
        drop_split(admin, made)
        admin.dispose()


@pytest.fixture
def app(split, tmp_path):
    """The app connected as its own role; the rows it wrote are removed by the owner afterwards."""
    folders = {
        "PRODUCT_IMAGES_FOLDER": str(tmp_path / "product-images"),
        "ROSTER_UPLOADS_FOLDER": str(tmp_path / "roster-uploads"),
    }
    app = create_app({**split.settings(), **folders})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    owner = sa.create_engine(split.owner_url)
    with owner.begin() as conn:
        empty_database(conn)
    owner.dispose()


def as_app_role(split: Split, statement: str) -> None:
    """Run one statement connected as the app's role, in a transaction rolled back whatever happens."""
    engine = sa.create_engine(split.app_url)
    try:
        with engine.connect() as conn:
            try:
                conn.exec_driver_sql(statement)
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def refused(split: Split, statement: str) -> psycopg.Error:
    """The error the app's role gets for a statement; the test fails if it is anything but a lack of privilege."""
    with pytest.raises(sa.exc.DBAPIError) as caught:
        as_app_role(split, statement)
    error = caught.value.orig
    assert isinstance(error, psycopg.errors.InsufficientPrivilege), f"{statement}: {error}"
    return error


#: Every privilege a table has.
EVERY_PRIVILEGE = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]


def privileges(split: Split) -> dict[str, set[str]]:
    """What the app's role holds, table by table, as PostgreSQL answers: column privileges as 'UPDATE (col)'."""
    engine = sa.create_engine(split.owner_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    """SELECT c.relname, p.privilege FROM pg_class c
                    CROSS JOIN unnest(CAST(:every AS text[])) AS p(privilege)
                    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                    AND has_table_privilege(:role, c.oid, p.privilege)
                    UNION ALL
                    SELECT c.relname, 'UPDATE (' || a.attname || ')'
                    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0
                    AND NOT a.attisdropped AND has_column_privilege(:role, c.oid, a.attnum, 'UPDATE')
                    AND NOT has_table_privilege(:role, c.oid, 'UPDATE')"""
                ),
                {"role": split.app_role, "every": EVERY_PRIVILEGE},
            ).all()
            tables = conn.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
            ).scalars()
            held = {table: set() for table in tables}
    finally:
        engine.dispose()
    for table, privilege in rows:
        held[table].add(privilege)
    return held


def acls(split: Split) -> list[tuple]:
    """Every table's, column's and sequence's access list, as stored."""
    engine = sa.create_engine(split.owner_url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                """SELECT c.relname, a.attname, c.relacl::text, a.attacl::text FROM pg_class c
                LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1, 2"""
            ).all()
    finally:
        engine.dispose()


def expected(table: str) -> set[str]:
    """What the app's role should hold on a table."""
    if table == "alembic_version":
        return {"SELECT"}
    if table in database_roles.APPEND_ONLY:
        later = {f"UPDATE ({column})" for column in database_roles.ANSWERED_LATER.get(table, ())}
        return {"SELECT", "INSERT"} | later
    return {"SELECT", "INSERT", "UPDATE", "DELETE"}


# Both databases: the declared set is complete.


def tables_with_triggers(connection) -> set[str]:
    """The tables a trigger of the schema is on (internal ones, such as foreign keys', aside)."""
    if connection.dialect.name == "sqlite":
        return set(connection.exec_driver_sql("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'").scalars())
    query = """SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"""
    return set(connection.exec_driver_sql(query).scalars())


def test_every_table_a_trigger_guards_is_one_the_app_may_only_add_to(database_url):
    """A new append-only table cannot be forgotten: its triggers put it here, or this fails naming it."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            guarded = tables_with_triggers(conn)
            existing = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert set(guard.GUARDED) <= guarded
    assert guarded - set(database_roles.APPEND_ONLY) == set()
    # A renamed table is renamed here too, or its grants would silently widen.
    assert set(database_roles.APPEND_ONLY) - existing == set()
    assert set(database_roles.ANSWERED_LATER) <= set(database_roles.APPEND_ONLY)


# PostgreSQL: the split itself.


def test_the_app_role_holds_exactly_its_privileges_on_every_table(split):
    held = privileges(split)
    assert {"household_ledger", "month_review", "audit_event", "sale", "alembic_version"} <= set(held)
    assert {table: held[table] for table in held if held[table] != expected(table)} == {}
    assert held["household_ledger"] == {"SELECT", "INSERT"}
    assert held["month_review"] == {
        "SELECT",
        "INSERT",
        "UPDATE (resolution)",
        "UPDATE (resolved_by_id)",
        "UPDATE (resolved_at)",
    }


def test_the_app_works_as_its_own_role_sells_and_writes_credits_reviews_and_audit(app, goods, clerk, officer, as_role):
    receive(clerk, goods["shrimp"], goods["wang"], 1000)
    body = {
        "idempotency_key": "roles-sale-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()
    # A dispute, and the manager's answer: the only columns of a review the app ever fills in later.
    assert review(officer, goods["wang"], "disputed", note="王 says 2 斤").status_code == 302
    admin = as_role("admin")
    review_id = int(re.search(r'data-dispute="(\d+)"', page(admin, "/admin/review/disputes")).group(1))
    assert send(admin, f"/admin/review/disputes/{review_id}/resolve", resolution="Slip checked").status_code == 302
    assert "Slip checked" in page(officer, month_url(goods["wang"]))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.current_user())) == app.config["APP_DATABASE_ROLE"]
        credits = db.session.scalars(sa.select(LedgerEntry)).all()
        assert [entry.amount_fen for entry in credits if entry.amount_fen > 0] == [6120]
        assert db.session.get(MonthReview, review_id).resolution == "Slip checked"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > 0
        assert entries.verify() == (len(credits), None)
    verified = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output
    assert app.test_client().get("/healthz").status_code == 200  # the heartbeat row is updated in place


STATEMENTS = {
    "update": "UPDATE {table} SET {column} = {column}",
    "delete": "DELETE FROM {table}",
    "truncate": "TRUNCATE {table}",
    "disable its triggers": "ALTER TABLE {table} DISABLE TRIGGER USER",
    "add a column": "ALTER TABLE {table} ADD COLUMN note2 text",
    "drop it": "DROP TABLE {table}",
    "add a trigger": "CREATE TRIGGER sneaky BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {refuse}()",
}
#: A column the app never writes after the row is added.
FROZEN = {"household_ledger": "amount_fen", "month_review": "digest", "audit_event": "action"}


@pytest.mark.parametrize("table", NAMED)
@pytest.mark.parametrize("what", sorted(STATEMENTS))
def test_the_app_role_cannot_change_or_unguard_an_append_only_table(split, table, what):
    statement = STATEMENTS[what].format(table=table, column=FROZEN[table], refuse="household_ledger_refuse")
    refused(split, statement)


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TRIGGER household_ledger_append_only ON household_ledger",
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "ALTER TABLE household_ledger DISABLE TRIGGER household_ledger_append_only",
        "DROP FUNCTION household_ledger_refuse() CASCADE",
        "CREATE OR REPLACE FUNCTION household_ledger_refuse() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "ALTER TABLE household_ledger OWNER TO CURRENT_USER",
        "CREATE TABLE household_ledger_copy (id int)",
        "UPDATE alembic_version SET version_num = version_num",
    ],
)
def test_the_app_role_cannot_drop_or_replace_the_guards(split, statement):
    refused(split, statement)


def test_the_app_role_cannot_become_the_owner(split):
    refused(split, f"SET ROLE {split.owner}")


def test_granting_again_changes_nothing_and_the_command_says_what_it_did(split):
    before = acls(split)
    app = create_app(split.settings())
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["db", "grant-app"])
        again = app.test_cli_runner().invoke(args=["db", "grant-app", split.app_role])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert again.exit_code == 0 and f"Granted {split.app_role}" in again.output
    assert acls(split) == before


def test_a_table_a_later_migration_adds_gets_its_grants_append_only_or_not(split, monkeypatch):
    owner = sa.create_engine(split.owner_url)
    try:
        with owner.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE later_note (id serial PRIMARY KEY, body text)")
            conn.exec_driver_sql("CREATE TABLE later_log (id serial PRIMARY KEY, body text)")
        refused(split, "INSERT INTO later_note (body) VALUES ('x')")
        monkeypatch.setattr(database_roles, "APPEND_ONLY", (*database_roles.APPEND_ONLY, "later_log"))
        app = create_app(split.settings())
        with app.app_context(), owner.begin() as conn:
            assert database_roles.grant_configured(conn) == split.app_role
        as_app_role(split, "INSERT INTO later_note (body) VALUES ('x'); UPDATE later_note SET body = 'y'")
        as_app_role(split, "INSERT INTO later_log (body) VALUES ('x'); SELECT * FROM later_log")
        refused(split, "UPDATE later_log SET body = 'y'")
        # A table that becomes append-only loses the UPDATE and DELETE it had.
        monkeypatch.setattr(database_roles, "APPEND_ONLY", (*database_roles.APPEND_ONLY, "later_note"))
        with app.app_context(), owner.begin() as conn:
            database_roles.grant_configured(conn)
        refused(split, "DELETE FROM later_note")
    finally:
        with owner.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS later_note, later_log")
        owner.dispose()


def test_the_app_role_cannot_migrate_and_the_owner_can_down_and_up_with_grants_reapplied(split):
    alone = create_app(base_config(split.app_url))
    with alone.app_context():
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner|permission denied"):
            flask_migrate.downgrade(revision="-1")
        db.engine.dispose()
    before = privileges(split)
    app = create_app(split.settings())
    with app.app_context():
        flask_migrate.downgrade(revision="-1")
        flask_migrate.upgrade()
        db.engine.dispose()
    # The newest migration's tables were dropped and made again by the owner; the app's role has them back.
    assert privileges(split) == before
    owner = sa.create_engine(split.owner_url)
    try:
        with owner.connect() as conn:
            owners = set(
                conn.exec_driver_sql(
                    "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                    "WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'S')"
                ).scalars()
            )
    finally:
        owner.dispose()
    assert owners == {split.owner}


def test_a_grant_to_a_role_that_could_act_as_owner_or_by_someone_else_is_refused(split):
    app = create_app(split.settings())
    with app.app_context():
        runner = app.test_cli_runner()
        assert "owns" in runner.invoke(args=["db", "grant-app", split.owner]).output
        assert "no PostgreSQL role" in runner.invoke(args=["db", "grant-app", "nobody_at_all"]).output
        db.engine.dispose()
    alone = create_app(base_config(split.app_url))
    with alone.app_context():
        result = alone.test_cli_runner().invoke(args=["db", "grant-app", split.app_role])
        db.engine.dispose()
    assert result.exit_code == 1 and "owner" in result.output
    # A trigger function the app's role owns is a way round the triggers: refused too.
    inside = sa.create_engine(split.server.set(database=sa.make_url(split.owner_url).database))
    handover = "ALTER FUNCTION household_ledger_refuse() OWNER TO {}"
    try:
        with inside.begin() as conn:
            conn.exec_driver_sql(handover.format(split.app_role))
        with app.app_context():
            owns = app.test_cli_runner().invoke(args=["db", "grant-app"])
            db.engine.dispose()
        assert owns.exit_code == 1 and "owns household_ledger_refuse()" in owns.output
    finally:
        with inside.begin() as conn:
            conn.exec_driver_sql(handover.format(split.owner))
        inside.dispose()


def test_a_backup_by_the_app_role_restores_through_the_owner_and_the_app_role_sells_again(
    app, split, goods, clerk, tmp_path
):
    import shutil

    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    receive(clerk, goods["paste"], goods["wang"], 10)
    body = {"idempotency_key": "roles-sale-0002", "payment_method": "cash"}
    body["lines"] = [{"product_id": goods["paste"], "quantity": 1}]
    assert clerk.post("/api/counter/sales", json=body).status_code == 201
    backup = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "roles.backup")])
    assert backup.exit_code == 0, backup.output

    admin = superuser_engine()
    other = new_split(admin, uuid.uuid4().hex[:10])
    try:
        restored_app = create_app(other.settings())
        with restored_app.app_context():
            restored = restored_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "roles.backup")])
            db.engine.dispose()
        assert restored.exit_code == 0, restored.output
        assert "Ledger intact" in restored.output
        assert privileges(other) == {table: expected(table) for table in privileges(other)}
        refused(other, "DELETE FROM household_ledger")
        with restored_app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) > 0
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_split(admin, other)
        admin.dispose()


def test_an_installation_the_app_role_owns_moves_to_the_split_as_the_readme_says():
    admin = superuser_engine()
    before = new_split(admin, uuid.uuid4().hex[:10], app_owns_it=True)
    try:
        upgraded(base_config(before.app_url))  # one role, as installations were set up until now
        as_app_role(before, "ALTER TABLE household_ledger DISABLE TRIGGER USER")  # which is the hole
        in_it = sa.create_engine(before.server.set(database=sa.make_url(before.app_url).database))
        with in_it.connect() as conn:
            conn.exec_driver_sql(f"REASSIGN OWNED BY {before.app_role} TO {before.owner}")
            conn.commit()
        in_it.dispose()
        # The real command: the app's role can read nothing yet, and the app must still load to grant.
        granted = flask_command(before, "db", "grant-app")
        assert granted.returncode == 0, granted.stderr
        assert f"Granted {before.app_role}" in granted.stdout
        held = privileges(before)
        assert held == {table: expected(table) for table in held}
        refused(before, "ALTER TABLE household_ledger DISABLE TRIGGER USER")
        refused(before, "DROP TRIGGER household_ledger_append_only ON household_ledger")
        upgraded(before.settings())  # and the owner migrates from now on
    finally:
        drop_split(admin, before)
        admin.dispose()
