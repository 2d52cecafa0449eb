"""The schema: migrations match the models, and the database itself refuses impossible rows."""

import fcntl
import os
import sqlite3
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shop.catalog import products
from shop.clock import business_today
from shop.extensions import db
from shop.models import Lot, Product
from shop.transaction import atomic


def test_the_migrations_build_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert differences == []


def _raw(app, sql: str, **params):
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


@pytest.fixture
def lot_id(goods, as_role, app):
    body = {
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "quantity": 3000,
        "best_before": (business_today() + timedelta(days=100)).isoformat(),
        "mode": "consignment",
    }
    return as_role("admin").post("/api/lots", json=body).get_json()["id"]


@pytest.mark.parametrize(
    "change",
    [
        "qty_on_hand = -1",
        "qty_on_hand = qty_received + 1",
        "qty_received = 0",
        "share_bp = 10001",
        "share_bp = NULL",
        "purchase_price_fen = 100",
        "mode = 'gift'",
    ],
)
def test_the_database_refuses_an_impossible_lot(app, lot_id, change):
    with pytest.raises(sa.exc.IntegrityError):
        _raw(app, f"UPDATE lot SET {change} WHERE id = :id", id=lot_id)
    with app.app_context():
        lot = db.session.get(Lot, lot_id)
        assert (lot.qty_on_hand, lot.share_bp) == (3000, 9000)


@pytest.mark.parametrize("change", ["price_fen = -1", "price_per = 0", "unit = 'kg'"])
def test_the_database_refuses_an_impossible_price(app, goods, change):
    with pytest.raises(sa.exc.IntegrityError):
        _raw(app, f"UPDATE product SET {change} WHERE id = :id", id=goods["shrimp"])


@pytest.mark.parametrize(
    "change",
    ["members = 0", "category = 'tuopin'", "monitoring_status = NULL", "category = 'other'", "village_id = 99999"],
)
def test_the_database_refuses_an_impossible_household(app, goods, change):
    with pytest.raises(sa.exc.IntegrityError):
        _raw(app, f"UPDATE household SET {change} WHERE id = :id", id=goods["wang"])


def test_only_a_supervisor_has_a_town(app, staff):
    with pytest.raises(sa.exc.IntegrityError):
        _raw(app, "UPDATE app_user SET town_id = (SELECT id FROM town LIMIT 1) WHERE username = 'clerk'")


def test_a_use_case_that_fails_half_way_records_nothing(app, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(products, "ProductCategory", explode)
    with app.app_context(), pytest.raises(RuntimeError):
        products.create_product(sku="X1", name_zh="虾干", unit="g", price_fen=1, price_per=500)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 0


def test_atomic_commits_what_finishes_and_rolls_back_what_raises(app):
    with app.app_context():
        with atomic() as session:
            session.add(Product(sku="KEEP", name_zh="留下", unit="g", price_fen=1, price_per=1))
        with pytest.raises(LookupError), atomic() as session:
            session.add(Product(sku="DROP", name_zh="丢掉", unit="g", price_fen=1, price_per=1))
            session.flush()
            raise LookupError("the scale went offline")
        db.session.remove()
        assert set(db.session.scalars(sa.select(Product.sku))) == {"KEEP"}


def test_sqlite_is_durable_and_checks_foreign_keys(app):
    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_dates_survive_the_round_trip(app, goods):
    with app.app_context():
        db.session.get(Product, goods["shrimp"]).cert_expires_on = date(2027, 12, 31)
        db.session.commit()
        db.session.remove()
        assert db.session.get(Product, goods["shrimp"]).cert_expires_on == date(2027, 12, 31)


def test_a_sqlite_use_case_holds_the_write_lock_from_its_first_statement(app, database_url):
    """Two writers queue at BEGIN instead of one failing half way through its work."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL orders writers with row locks instead")
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    with app.app_context():
        db.session.scalar(sa.select(sa.func.count(Product.id)))  # a read first, as a view does
        with atomic():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def test_the_latest_migrations_go_down_and_up_over_a_working_counters_data(tmp_path):
    """Draw reversals and order lines refer to the rows the latest migrations alter: SQLite must not rebuild them."""
    import flask_migrate

    from shop import create_app
    from shop.models import Refund, Sale
    from tests.conftest import Api, base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'working.sqlite3'}"))
    with app.app_context():
        flask_migrate.upgrade()
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        sale = db.session.scalars(sa.select(Sale).where(Sale.channel == "counter").order_by(Sale.id)).first()
        line = sale.lines[0]
        body = {"idempotency_key": "schema-refund-01", "lines": [{"line_id": line.id, "quantity": 1}], "restock": True}
        db.session.remove()
    clerk = Api(app.test_client())
    assert clerk.login("clerk", "bangfu-demo").status_code == 200
    assert clerk.post(f"/api/counter/sales/{sale.id}/refunds", json=body).status_code == 201
    with app.app_context():
        flask_migrate.downgrade(revision="0012_stock_transfer")
        flask_migrate.upgrade()
        assert db.session.scalar(sa.select(sa.func.count(Refund.id)).where(Refund.idempotency_key.is_not(None))) == 0
        db.session.remove()
        db.engine.dispose()


def _turn_is_free(database_url: str) -> bool:
    """Whether another writer on this machine could take its turn now (a flock on the writers' file)."""
    handle = os.open(database_url.removeprefix("sqlite:///") + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(handle)


def test_sqlite_writers_on_one_machine_queue_for_their_turn_until_commit(app, database_url):
    """The next writer is woken when the lock is let go, by commit or by rollback, never left polling."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL orders writers with row locks instead")
    with app.app_context():
        assert _turn_is_free(database_url)
        with atomic() as session:
            session.add(Product(sku="KEEP", name_zh="留下", unit="g", price_fen=1, price_per=1))
            assert not _turn_is_free(database_url)
        assert _turn_is_free(database_url)
        with pytest.raises(LookupError), atomic():
            assert not _turn_is_free(database_url)
            raise LookupError("the scale went offline")
        assert _turn_is_free(database_url)


def test_a_writer_waits_for_the_turn_another_holds(app, database_url):
    """A use case started while another writer holds the turn begins only once it is let go."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL orders writers with row locks instead")
    handle = os.open(database_url.removeprefix("sqlite:///") + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)
    began = threading.Event()

    def sell_meanwhile():
        with app.app_context(), atomic() as session:
            began.set()
            session.add(Product(sku="LATE", name_zh="后来", unit="g", price_fen=1, price_per=1))

    writer = threading.Thread(target=sell_meanwhile)
    writer.start()
    try:
        assert not began.wait(0.5)  # still queued while the turn is held
    finally:
        os.close(handle)
    writer.join(10)
    assert began.is_set()
    with app.app_context():
        assert db.session.scalar(sa.select(Product.sku)) == "LATE"
