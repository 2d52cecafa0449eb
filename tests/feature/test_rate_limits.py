"""Rate limits count once per machine, not once per worker: the counters live in a file all workers share."""

import threading

import pytest
from limits.storage import storage_from_string

from shop import create_app
from shop.extensions import db
from shop.web.rate_limits import SharedFileStorage, instance_uri
from tests.conftest import Api, base_config

WRONG = {"username": "clerk", "password": "nope nope"}


def worker(app, storage_uri: str):
    """One more app on the same database, as a second gunicorn worker builds it."""
    settings = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": storage_uri}
    return create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"]), **settings})


def attempts_across_two_workers(app, storage_uri: str) -> list[int]:
    """Two failed sign-ins on one worker, then two on another; the answers' statuses."""
    first = worker(app, storage_uri)
    statuses = [Api(first.test_client()).post("/api/session", json=WRONG).status_code for _ in range(2)]
    second = worker(app, storage_uri)
    statuses += [Api(second.test_client()).post("/api/session", json=WRONG).status_code for _ in range(2)]
    for each in (first, second):
        with each.app_context():
            db.engine.dispose()
    return statuses


def test_two_workers_share_one_sign_in_budget(app, staff, tmp_path):
    shared = f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}"
    assert attempts_across_two_workers(app, shared) == [401, 401, 401, 429]


def test_counting_in_each_workers_memory_would_double_the_budget(app, staff):
    """The defect the shared file mends: each worker's memory starts its own count."""
    assert attempts_across_two_workers(app, "memory://") == [401, 401, 401, 401]


def test_the_default_is_the_file_in_the_instance_folder(database_url):
    made = create_app({**base_config(database_url), "RATELIMIT_STORAGE_URI": ""})
    with made.app_context():
        db.engine.dispose()
    assert made.config["RATELIMIT_STORAGE_URI"] == instance_uri(made.instance_path)
    assert made.config["RATELIMIT_STORAGE_URI"].startswith("bangfu+sqlite:///")


def test_two_storages_on_one_file_add_to_one_count(tmp_path):
    uri = f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}"
    one, other = storage_from_string(uri), storage_from_string(uri)
    assert isinstance(one, SharedFileStorage) and one.check()
    assert [one.incr("k", 60), other.incr("k", 60), one.incr("k", 60, amount=2)] == [1, 2, 4]
    assert other.get("k") == 4 and other.get("unknown") == 0
    assert one.get_expiry("k") == pytest.approx(other.get_expiry("k"))
    other.clear("k")
    assert one.get("k") == 0


def test_an_ended_window_starts_again_from_the_amount(tmp_path):
    storage = SharedFileStorage(f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}")
    assert storage.incr("k", 0) == 1  # a window of no length has ended at once
    assert storage.get("k") == 0
    assert storage.incr("k", 0) == 1
    assert storage.incr("k", 60) == 1 and storage.incr("k", 60) == 2
    assert storage.reset() == 1 and storage.get("k") == 0


def test_threads_count_every_hit(tmp_path):
    storage = SharedFileStorage(f"bangfu+sqlite:///{tmp_path / 'limits.sqlite3'}")

    def hit():
        for _ in range(50):
            storage.incr("k", 60)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get("k") == 200


def test_a_storage_needs_a_file():
    with pytest.raises(ValueError):
        SharedFileStorage("bangfu+sqlite://")
