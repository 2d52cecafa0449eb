"""`flask backup` and `restore`: verified copies taken while the counter sells, and restores that need their key."""

import os
import shutil
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from shop import create_app, sealing
from shop.extensions import db
from shop.ledger import entries, guard
from shop.models import Household, Sale
from tests.conftest import PASSWORD, PERSONAL_DATA_KEY, WANG, Api, base_config
from tests.factories import receive

PHONE = "13812345678"


@pytest.fixture
def tools(app):
    """pg_dump and pg_restore when the database is PostgreSQL: skipped without them, except under CI."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not shutil.which("pg_dump"):
        if os.environ.get("CI"):
            pytest.fail("pg_dump is needed under CI=true")
        pytest.skip("pg_dump is not installed")


@pytest.fixture
def empty_url(database_url, tmp_path):
    """A fresh, empty database on the same backend (no schema): a new installation to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    server = sa.make_url(database_url)
    name = f"bangfu_restore_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def installations(empty_url):
    """A factory of apps on the fresh database, disposed of after the test."""
    made = []

    def installation(**settings):
        made.append(create_app({**base_config(empty_url), **settings}))
        return made[-1]

    yield installation
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def run(app, *args):
    """Run a `flask --app shop` command in the app, as click's runner does."""
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def a_day_of_trade(app, goods, clerk, admin) -> int:
    """A lot received, two sales and a household with a sealed phone; the household's id."""
    receive(clerk, goods["paste"], goods["wang"], 50)
    for n in range(2):
        body = {
            "idempotency_key": f"till-day-{n:04d}",
            "payment_method": "cash",
            "lines": [{"product_id": goods["paste"], "quantity": 1}],
        }
        assert clerk.post("/api/counter/sales", json=body).status_code == 201
    created = admin.post("/api/households", json={**WANG, "code": "DB009", "phone": PHONE})
    assert created.status_code == 201
    return created.get_json()["id"]


def test_a_backup_is_a_verified_copy_readable_by_its_owner_only(app, goods, clerk, admin, tools, tmp_path):
    a_day_of_trade(app, goods, clerk, admin)
    path = tmp_path / "nightly" / "bangfu.backup"
    path.parent.mkdir()
    result = run(app, "backup", path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "ledger verified, 2 entries" in result.output and str(path) in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["bangfu.backup"]  # no temporary file left


def test_a_backup_whose_ledger_does_not_verify_is_not_kept(app, goods, clerk, admin, tools, tmp_path):
    a_day_of_trade(app, goods, clerk, admin)
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        conn.execute(sa.text("UPDATE household_ledger SET amount_fen = amount_fen + 100 WHERE seq = 2"))
        guard.install(conn)
    result = run(app, "backup", tmp_path / "bad.backup")
    assert result.exit_code == 1
    assert "does not verify" in result.stderr and "entry 2" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_backup_into_a_missing_folder_says_so(app, tools, tmp_path):
    result = run(app, "backup", tmp_path / "nowhere" / "x.backup")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_a_backup_taken_while_the_counter_sells_holds_every_sale_acknowledged_before_it(
    app, goods, as_role, tools, installations, tmp_path
):
    clerk = as_role("clerk")
    receive(clerk, goods["paste"], goods["wang"], 100_000)
    till = as_role("clerk")
    till.refresh_token()
    acknowledged, sent_after, failures, stop = [], [], [], threading.Event()
    backed_up = threading.Event()

    def sell():
        n = 0
        while not stop.is_set():
            body = {
                "idempotency_key": f"till-load-{n:04d}",
                "payment_method": "cash",
                "lines": [{"product_id": goods["paste"], "quantity": 1}],
            }
            after = backed_up.is_set()
            response = till.post("/api/counter/sales", json=body)
            if response.status_code != 201:
                failures.append(response.status_code)
                return
            acknowledged.append(response.get_json()["id"])
            if after:
                sent_after.append(acknowledged[-1])
            n += 1

    seller = threading.Thread(target=sell)
    seller.start()
    try:
        while len(acknowledged) < 5 and seller.is_alive():
            threading.Event().wait(0.01)
        before = list(acknowledged)
        result = run(app, "backup", tmp_path / "busy.backup")
        backed_up.set()
        while len(sent_after) < 3 and seller.is_alive():
            threading.Event().wait(0.01)  # the counter keeps selling after the backup, too
    finally:
        stop.set()
        seller.join()
    assert not failures
    assert result.exit_code == 0, result.output + result.stderr

    restored = installations()
    done = run(restored, "restore", tmp_path / "busy.backup")
    assert done.exit_code == 0, done.output + done.stderr
    with restored.app_context():
        in_backup = set(db.session.scalars(sa.select(Sale.id)))
    assert set(before) <= in_backup
    # The copy is one moment: every sale in it is whole (its ledger verified), and none sent after it is in it.
    assert sent_after and not in_backup & set(sent_after)
    assert "Ledger intact" in done.output


def test_restore_refuses_an_installation_that_holds_data_and_changes_nothing(app, goods, clerk, admin, tools, tmp_path):
    a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "b.backup").exit_code == 0
    receive(clerk, goods["shrimp"], goods["fu"], 500)  # after the backup
    with app.app_context():
        households = db.session.scalar(sa.select(sa.func.count(Household.id)))
    result = run(app, "restore", tmp_path / "b.backup")
    assert result.exit_code == 1
    assert "already holds data" in result.stderr and "nothing was changed" in result.stderr
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == households
        assert db.session.scalar(sa.text("SELECT count(*) FROM lot")) == 2


def test_restore_refuses_a_file_that_is_not_a_backup(installations, tools, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    result = run(installations(), "restore", junk)
    assert result.exit_code == 1 and "is not a" in result.stderr


def test_the_restore_drill_backup_then_an_empty_installation_then_restore_then_pages(
    app, goods, clerk, admin, tools, installations, tmp_path
):
    household_id = a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "drill.backup").exit_code == 0

    fresh = installations()  # a new machine: nothing migrated, the old installation's key put back
    result = run(fresh, "restore", tmp_path / "drill.backup")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Ledger intact: 2 entries" in result.output
    verified = run(fresh, "ledger", "verify")
    assert verified.exit_code == 0 and "2 entries" in verified.output

    served = installations()  # the app as it starts after the restore
    manager = Api(served.test_client())
    assert manager.login("admin", PASSWORD).status_code == 200
    page = manager.get(f"/admin/households/{household_id}")
    assert page.status_code == 200 and "138****5678" in page.get_data(as_text=True)
    assert PHONE in manager.get(f"/admin/households/{household_id}/phone").get_data(as_text=True)
    assert manager.get("/admin/households/").status_code == 200


def test_a_restore_into_a_migrated_empty_installation_takes_the_backups_schema(
    app, goods, clerk, admin, tools, installations, tmp_path
):
    a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "b.backup").exit_code == 0
    fresh = installations()
    assert run(fresh, "db", "upgrade").exit_code == 0
    result = run(fresh, "restore", tmp_path / "b.backup")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Ledger intact: 2 entries" in result.output


def test_restored_without_its_key_the_restore_says_so_and_the_app_refuses_to_start(
    app, goods, clerk, admin, tools, installations, empty_url, tmp_path
):
    a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "b.backup").exit_code == 0
    other_key = Fernet.generate_key().decode()
    result = run(installations(PERSONAL_DATA_KEYS=(other_key,)), "restore", tmp_path / "b.backup")
    assert result.exit_code == 1
    assert "Ledger intact" in result.output
    assert "sealed under a key this installation does not have" in result.stderr

    with pytest.raises(sealing.KeysDoNotOpen, match="PERSONAL_DATA_KEYS or .*personal_data_key"):
        create_app({**base_config(empty_url), "PERSONAL_DATA_KEYS": (other_key,)})
    # The old key after a new one opens them: the app starts.
    installations(PERSONAL_DATA_KEYS=(other_key, PERSONAL_DATA_KEY))


def test_with_no_key_at_all_none_is_generated_over_sealed_data(
    app, goods, clerk, admin, tools, installations, empty_url, tmp_path, monkeypatch
):
    a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "b.backup").exit_code == 0
    assert run(installations(), "restore", tmp_path / "b.backup").exit_code == 0

    def generate(_instance_path):
        raise AssertionError("a key was generated over sealed data")

    monkeypatch.setattr(sealing, "instance_key", generate)
    with pytest.raises(sealing.KeysDoNotOpen, match="no personal-data key is configured"):
        create_app({**base_config(empty_url), "PERSONAL_DATA_KEYS": ()})


def test_a_new_installation_without_a_key_gets_one(installations, monkeypatch):
    new_key = Fernet.generate_key().decode()
    monkeypatch.setattr(sealing, "instance_key", lambda _instance_path: new_key)
    assert installations(PERSONAL_DATA_KEYS=())  # no table yet, nothing sealed: a key is made
    assert installations(PERSONAL_DATA_KEYS=()).config["PERSONAL_DATA_KEYS"] == (new_key,)


def test_the_real_commands_with_a_wrong_key_migrate_back_up_and_restore_but_serve_nothing(
    app, goods, clerk, admin, tools, installations, empty_url, tmp_path
):
    a_day_of_trade(app, goods, clerk, admin)
    assert run(app, "backup", tmp_path / "b.backup").exit_code == 0
    assert run(installations(), "restore", tmp_path / "b.backup").exit_code == 0

    def flask(*args):
        env = {
            **os.environ,
            "DATABASE_URL": empty_url,
            "SECRET_KEY": "test",
            "PERSONAL_DATA_KEYS": Fernet.generate_key().decode(),
        }
        return subprocess.run(
            [str(Path(sys.executable).with_name("flask")), "--app", "shop", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            timeout=120,
        )

    assert flask("db", "upgrade").returncode == 0
    backed_up = flask("backup", tmp_path / "again.backup")
    assert backed_up.returncode == 0, backed_up.stderr
    refused = flask("ledger", "verify")
    assert refused.returncode == 1
    assert "sealed under a key this installation does not have" in refused.stderr
    assert "PERSONAL_DATA_KEYS" in refused.stderr


def test_an_older_backup_is_restored_and_its_schema_upgraded(installations, tools, tmp_path, monkeypatch):
    old = installations()  # an installation still on an older schema
    with old.app_context():
        flask_migrate.upgrade(revision="0009_household_amounts_index")
    with monkeypatch.context() as older_release:
        # That release's own `backup` checked its ledger with its own code; today's reads columns added since.
        older_release.setattr(entries, "verify", lambda session=None: (0, None))
        assert run(old, "backup", tmp_path / "old.backup").exit_code == 0
    with old.app_context(), db.engine.begin() as conn:
        for table in ("household_ledger", "audit_event"):
            guard.remove(conn, table)
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
        conn.execute(sa.text("DROP TABLE alembic_version"))
    restored = installations()
    result = run(restored, "restore", tmp_path / "old.backup")
    assert result.exit_code == 0, result.output
    with restored.app_context(), db.engine.connect() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert head != "0009_household_amounts_index"
    assert f"Upgraded the schema from 0009_household_amounts_index to {head}" in result.output


def test_restore_refuses_a_backup_from_a_newer_version_and_changes_nothing(app, staff, tools, installations, tmp_path):
    with app.app_context(), db.engine.begin() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    try:
        assert run(app, "backup", tmp_path / "new.backup").exit_code == 0
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    fresh = installations()
    result = run(fresh, "restore", tmp_path / "new.backup")
    assert result.exit_code == 1 and "newer version of the app" in result.output
    with fresh.app_context(), db.engine.connect() as conn:
        assert "household" not in sa.inspect(conn).get_table_names()
