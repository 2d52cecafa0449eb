"""POST /api/lots: receiving a household's goods onto a counter's shelf."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, Lot


def lot_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Lot.id)))


def in_days(days: int) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def shrimp_lot(goods):
    """A consignment lot of 3,000 g of shrimp from the 王 household, with no share named."""
    return {
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "quantity": 3000,
        "best_before": in_days(180),
        "mode": "consignment",
    }


def counter_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Counter.id).where(Counter.code == code))


def test_a_clerk_receives_shrimp_on_consignment_at_the_default_share(app, goods, as_role, shrimp_lot, api):
    response = as_role("clerk").post("/api/lots", json=shrimp_lot)
    assert response.status_code == 201
    with app.app_context():
        lot = db.session.get(Lot, response.get_json()["id"])
        assert (lot.qty_received, lot.qty_on_hand, lot.share_bp, lot.purchase_price_fen) == (3000, 3000, 9000, None)
        assert lot.counter.code == "LC-JN"
        assert lot.received_by.username == "clerk"
    shrimp = next(p for p in api.get("/api/products").get_json() if p["id"] == goods["shrimp"])
    assert shrimp["available"] == 3000


def test_a_named_share_is_kept(app, goods, as_role, shrimp_lot):
    lot_id = as_role("clerk").post("/api/lots", json={**shrimp_lot, "share_bp": 8750}).get_json()["id"]
    with app.app_context():
        assert db.session.get(Lot, lot_id).share_bp == 8750


def test_a_purchased_lot_keeps_its_agreed_price(app, goods, as_role, shrimp_lot):
    body = {**shrimp_lot, "mode": "purchase", "purchase_price_fen": 28000}
    lot_id = as_role("admin").post("/api/lots", json=body).get_json()["id"]
    with app.app_context():
        lot = db.session.get(Lot, lot_id)
        assert (lot.mode.value, lot.purchase_price_fen, lot.share_bp) == ("purchase", 28000, None)


def test_the_manager_receives_at_another_counter(app, goods, as_role, shrimp_lot):
    other = counter_id(app, "BL-01")
    lot_id = as_role("admin").post("/api/lots", json={**shrimp_lot, "counter_id": other}).get_json()["id"]
    with app.app_context():
        assert db.session.get(Lot, lot_id).counter_id == other


def test_a_clerk_receives_at_their_own_counter_by_default(app, goods, as_role, shrimp_lot):
    lot_id = as_role("clerk2").post("/api/lots", json=shrimp_lot).get_json()["id"]
    with app.app_context():
        assert db.session.get(Lot, lot_id).counter.code == "BL-01"


def test_a_clerk_cannot_receive_for_another_counter(app, goods, as_role, shrimp_lot):
    other = counter_id(app, "BL-01")
    response = as_role("clerk").post("/api/lots", json={**shrimp_lot, "counter_id": other})
    assert response.status_code == 403
    assert "counter_id" in response.get_json()["error"]["fields"]
    assert lot_count(app) == 0


@pytest.mark.parametrize("role", ["officer", "heshe", "county"])
def test_only_clerks_and_the_manager_receive_goods(app, goods, as_role, shrimp_lot, role):
    assert as_role(role).post("/api/lots", json=shrimp_lot).status_code == 403
    assert lot_count(app) == 0


def test_strangers_cannot_receive_goods(app, goods, api, shrimp_lot):
    assert api.post("/api/lots", json=shrimp_lot).status_code == 401
    assert lot_count(app) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -500}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "3000"}, "quantity"),
        ({"quantity": 10**12}, "quantity"),
        ({"best_before": in_days(-1)}, "best_before"),
        ({"best_before": in_days(365 * 20)}, "best_before"),
        ({"best_before": "2026-02-30"}, "best_before"),
        ({"best_before": "tomorrow"}, "best_before"),
        ({"mode": "gift"}, "mode"),
        ({"share_bp": 10001}, "share_bp"),
        ({"share_bp": -1}, "share_bp"),
        ({"purchase_price_fen": 100}, "purchase_price_fen"),
        ({"mode": "purchase"}, "purchase_price_fen"),
        ({"mode": "purchase", "purchase_price_fen": 100, "share_bp": 9000}, "share_bp"),
        ({"product_id": 999999}, "product_id"),
        ({"household_id": 999999}, "household_id"),
        ({"household_id": 0}, "household_id"),
        ({"counter_id": 999999}, "counter_id"),
        ({"product_id": None}, "product_id"),
    ],
)
def test_a_bad_lot_is_422_and_nothing_is_received(app, goods, as_role, shrimp_lot, change, field):
    response = as_role("admin").post("/api/lots", json={**shrimp_lot, **change})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert lot_count(app) == 0


def test_a_lot_of_a_withdrawn_product_is_refused(app, goods, as_role, shrimp_lot):
    from shop.models import Product

    with app.app_context():
        db.session.get(Product, goods["shrimp"]).active = False
        db.session.commit()
    response = as_role("clerk").post("/api/lots", json=shrimp_lot)
    assert response.status_code == 422
    assert "product_id" in response.get_json()["error"]["fields"]
