"""Running unattended: /healthz for a monitor, one clear log line when the database cannot be written."""

import logging
import re
import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import create_app, transaction
from shop.clock import business_today
from shop.extensions import db
from shop.faults import database_fault
from shop.models import AuditEvent, Heartbeat, LedgerEntry
from tests.conftest import base_config


def failing_writes(app, message: str):
    """Make every write on the app's engine fail as the database would, with `message`."""
    with app.app_context():
        engine = db.engine

    def refuse(_conn, _cursor, statement, params, _context, _many):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            raise sa.exc.OperationalError(statement, params, sqlite3.OperationalError(message))

    sa.event.listen(engine, "before_cursor_execute", refuse)
    return lambda: sa.event.remove(engine, "before_cursor_execute", refuse)


def lot(goods) -> dict:
    """A consignment lot of 1 kg of shrimp from 王's household."""
    later = (business_today() + timedelta(days=90)).isoformat()
    return {"product_id": goods["shrimp"], "household_id": goods["wang"], "quantity": 1000, "mode": "consignment"} | {
        "best_before": later
    }


def database_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "database" in r.getMessage()]


def test_healthz_answers_ok_when_the_database_takes_writes_and_leaves_one_row(app, client):
    for _ in range(3):
        answer = client.get("/healthz")
        assert answer.status_code == 200
        assert answer.get_json() == {"status": "ok"}
        assert "no-store" in answer.headers["Cache-Control"]
        assert "Set-Cookie" not in answer.headers
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Heartbeat)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_healthz_needs_no_session_and_ignores_a_stale_one(app, client, staff, as_role):
    clerk = as_role("clerk")
    answer = clerk.client.get("/healthz")
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


class TestRateLimited:
    @pytest.fixture
    def config_overrides(self, tmp_path):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}"}

    def test_a_monitor_polling_every_few_seconds_is_never_limited(self, client):
        assert all(client.get("/healthz").status_code == 200 for _ in range(120))


@pytest.mark.parametrize(
    "message, cause",
    [
        ("database or disk is full", "disk full"),
        ("attempt to write a readonly database", "read-only"),
        ("database is locked", "database locked"),
        ("connection failed: Connection refused", "connection refused"),
    ],
)
def test_healthz_answers_503_naming_the_cause_and_logs_one_clear_line(app, client, caplog, message, cause):
    restore = failing_writes(app, message)
    try:
        with caplog.at_level(logging.INFO):
            answer = client.get("/healthz")
    finally:
        restore()
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "error", "reason": f"database unwritable: {cause}"}
    assert "no-store" in answer.headers["Cache-Control"]
    assert database_errors(caplog) == [f"database unwritable: {cause}, during GET /healthz ({message})"]


class TestFailingRequests:
    @pytest.fixture
    def config_overrides(self):
        return {"HANDLE_UNEXPECTED_ERRORS": True}

    def test_a_full_disk_is_one_error_line_per_request_and_one_traceback(self, app, goods, as_role, caplog):
        clerk = as_role("clerk")
        body = lot(goods)
        restore = failing_writes(app, "database or disk is full")
        try:
            with caplog.at_level(logging.INFO):
                answers = [clerk.post("/api/lots", json=body) for _ in range(3)]
        finally:
            restore()
        assert [a.status_code for a in answers] == [500, 500, 500]
        lines = database_errors(caplog)
        assert len(lines) == 3
        assert all(line.startswith("database unwritable: disk full, during POST /api/lots") for line in lines)
        tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
        assert len(tracebacks) <= 1

    def test_a_crash_on_a_route_without_a_key_says_to_check_before_retrying(self, app, goods, as_role):
        clerk = as_role("clerk")
        body = lot(goods)
        restore = failing_writes(app, "database or disk is full")
        try:
            error = clerk.post("/api/lots", json=body).get_json()["error"]
        finally:
            restore()
        assert error["code"] == "internal_error"
        assert "idempotency key" not in error["message"] and "幂等" not in error["message"]
        assert "核实" in error["message"]
        assert "Nothing was recorded" not in error["message"] and "未做任何记录" not in error["message"]

    def test_a_crash_on_a_sale_says_to_resend_with_the_same_key(self, app, goods, as_role):
        clerk = as_role("clerk")
        assert clerk.post("/api/lots", json=lot(goods)).status_code == 201
        sale = {"idempotency_key": "till-1-000042", "payment_method": "cash"}
        sale["lines"] = [{"product_id": goods["shrimp"], "quantity": 500}]
        restore = failing_writes(app, "database or disk is full")
        try:
            error = clerk.post("/api/counter/sales", json=sale).get_json()["error"]
        finally:
            restore()
        assert error["code"] == "internal_error"
        assert "同一个幂等键" in error["message"]
        assert "未做任何记录" not in error["message"]
        # The resend, once the disk has room again, records the sale once.
        assert clerk.post("/api/counter/sales", json=sale).status_code == 201
        assert clerk.post("/api/counter/sales", json=sale).status_code == 200


def sqlite_only(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("a SQLite file")
    return url.removeprefix("sqlite:///")


def test_a_read_only_sqlite_file_makes_healthz_answer_503(app, caplog):
    path = sqlite_only(app)
    read_only = create_app({**base_config(f"sqlite:///file:{path}?mode=ro&uri=true")})
    with caplog.at_level(logging.INFO):
        answer = read_only.test_client().get("/healthz")
    with read_only.app_context():
        db.engine.dispose()
    assert answer.status_code == 503
    assert answer.get_json()["reason"] == "database unwritable: read-only"
    assert database_errors(caplog)[0].startswith("database unwritable: read-only, during GET /healthz")


def test_a_locked_sqlite_file_makes_healthz_answer_503(app):
    path = sqlite_only(app)
    impatient = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"]), "SQLITE_BUSY_TIMEOUT_S": 0})
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        answer = impatient.test_client().get("/healthz")
    finally:
        holder.close()
        with impatient.app_context():
            db.engine.dispose()
    assert answer.status_code == 503
    assert answer.get_json()["reason"] == "database unwritable: database locked"


@pytest.mark.parametrize(
    "error, cause",
    [
        (OSError(28, "No space left on device"), "disk full"),
        (OSError(30, "Read-only file system"), "read-only"),
        (sa.exc.OperationalError("SELECT 1", {}, Exception("could not extend file: No space left")), "disk full"),
        (
            sa.exc.OperationalError("UPDATE", {}, Exception("cannot execute UPDATE in a read-only transaction")),
            "read-only",
        ),
        (sa.exc.OperationalError("SELECT 1", {}, Exception("something new")), "database unavailable"),
        (sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), None),
        (RuntimeError("the scale's cable came loose"), None),
    ],
)
def test_the_cause_is_read_from_what_the_database_said(error, cause):
    assert database_fault(error) == cause


class TestWalCheckpoints:
    @pytest.fixture
    def every_commit(self, app, monkeypatch):
        """Checkpoint after every commit, on SQLite only."""
        sqlite_only(app)
        monkeypatch.setattr(transaction, "WAL_CHECKPOINT_EVERY_S", 0)
        monkeypatch.setattr(transaction, "_next_checkpoint", [0.0])
        return app

    def test_a_commit_checkpoints_the_wal_quietly_while_it_stays_small(self, every_commit, client, caplog):
        checkpoints = []
        real = transaction.wal_checkpoint
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(transaction, "wal_checkpoint", lambda engine: checkpoints.append(real(engine)))
            with caplog.at_level(logging.INFO):
                assert client.get("/healthz").status_code == 200
        (busy, pages, copied, size), *_ = checkpoints
        assert busy == 0 and copied == pages and 0 < size < transaction.WAL_WARN_BYTES
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def test_a_wal_past_the_threshold_is_a_warning(self, every_commit, client, monkeypatch, caplog):
        monkeypatch.setattr(transaction, "WAL_WARN_BYTES", 1)
        with caplog.at_level(logging.INFO):
            assert client.get("/healthz").status_code == 200
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and warnings[0].startswith("SQLite WAL not checkpointed: 0 MiB")

    def test_a_reader_holding_the_wal_shows_in_the_warning(self, every_commit, client, monkeypatch, caplog):
        reader = sqlite3.connect(sqlite_only(every_commit), isolation_level=None)
        try:
            assert client.get("/healthz").status_code == 200
            monkeypatch.setattr(transaction, "WAL_WARN_BYTES", 1)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM heartbeat").fetchone()  # a snapshot the WAL must keep
            with caplog.at_level(logging.INFO):
                assert client.get("/healthz").status_code == 200
        finally:
            reader.close()
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        copied, pages = re.search(r"(\d+) of (\d+) pages copied back", warning).groups()
        assert int(copied) < int(pages)

    def test_checkpoints_wait_their_interval(self, app, monkeypatch, client):
        sqlite_only(app)
        monkeypatch.setattr(transaction, "_next_checkpoint", [0.0])
        calls = []
        monkeypatch.setattr(transaction, "wal_checkpoint", calls.append)
        for _ in range(5):
            assert client.get("/healthz").status_code == 200
        assert len(calls) == 1
