"""Write-offs, returns to households and stocktakes through the API: every movement explained."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import StockMovement
from tests.factories import receive
from tests.probes import movements_explain_stock, on_hand


@pytest.fixture
def lots(app, goods, as_role):
    clerk = as_role("clerk")
    return {
        "clerk": clerk,
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 2000),
        "bought": receive(clerk, goods["paste"], goods["fu"], 12, mode="purchase", purchase_price_fen=15000),
    }


def movement_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(StockMovement.id)))


def test_spoiled_shrimp_is_written_off_with_its_reason(app, lots):
    response = lots["clerk"].post(
        f"/api/lots/{lots['shrimp']}/write-offs", json={"quantity": 150, "reason": "spoiled", "note": "受潮"}
    )
    assert response.status_code == 201
    assert response.get_json()["qty_delta"] == -150 and response.get_json()["reason"] == "spoiled"
    assert on_hand(app, lots["shrimp"]) == 1850
    assert movements_explain_stock(app)


def test_writing_off_more_than_is_on_hand_is_refused(app, lots):
    before = movement_count(app)
    response = lots["clerk"].post(
        f"/api/lots/{lots['shrimp']}/write-offs", json={"quantity": 2001, "reason": "damaged"}
    )
    assert response.status_code == 409
    assert (on_hand(app, lots["shrimp"]), movement_count(app)) == (2000, before)


def test_unsold_consignment_goods_go_back_to_the_household(app, lots):
    response = lots["clerk"].post(f"/api/lots/{lots['shrimp']}/returns", json={"quantity": 500})
    assert response.status_code == 201 and response.get_json()["kind"] == "return"
    assert on_hand(app, lots["shrimp"]) == 1500


def test_purchased_goods_belong_to_the_counter_and_are_not_returned(app, lots):
    before = movement_count(app)
    assert lots["clerk"].post(f"/api/lots/{lots['bought']}/returns", json={"quantity": 1}).status_code == 422
    assert (on_hand(app, lots["bought"]), movement_count(app)) == (12, before)


def test_a_stocktake_books_differences_and_records_matching_counts_too(app, lots):
    counts = [{"lot_id": lots["shrimp"], "counted": 1980}, {"lot_id": lots["bought"], "counted": 12}]
    response = lots["clerk"].post("/api/stocktakes", json={"counts": counts, "note": "月底盘点"})
    assert response.status_code == 201
    deltas = sorted((m["lot_id"], m["qty_delta"], m["counted_qty"]) for m in response.get_json()["movements"])
    assert deltas == sorted([(lots["shrimp"], -20, 1980), (lots["bought"], 0, 12)])
    assert on_hand(app, lots["shrimp"]) == 1980
    assert movements_explain_stock(app)


def test_a_count_above_what_the_lot_ever_held_is_refused_whole(app, lots):
    before = movement_count(app)
    counts = [{"lot_id": lots["shrimp"], "counted": 1900}, {"lot_id": lots["bought"], "counted": 13}]
    assert lots["clerk"].post("/api/stocktakes", json={"counts": counts}).status_code == 422
    assert (on_hand(app, lots["shrimp"]), movement_count(app)) == (2000, before)


def test_a_lot_counted_twice_in_one_stocktake_is_refused(app, lots):
    counts = [{"lot_id": lots["shrimp"], "counted": 1900}, {"lot_id": lots["shrimp"], "counted": 1800}]
    assert lots["clerk"].post("/api/stocktakes", json={"counts": counts}).status_code == 422
    assert on_hand(app, lots["shrimp"]) == 2000


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/lots/{shrimp}/write-offs", {"quantity": 0, "reason": "spoiled"}),
        ("/api/lots/{shrimp}/write-offs", {"quantity": 10, "reason": "stolen"}),
        ("/api/lots/{shrimp}/write-offs", {"quantity": "10", "reason": "spoiled"}),
        ("/api/lots/{shrimp}/write-offs", {"quantity": 10}),
        ("/api/lots/{shrimp}/write-offs", {"quantity": 10, "reason": "spoiled", "note": "x" * 201}),
        ("/api/lots/999999/write-offs", {"quantity": 10, "reason": "spoiled"}),
        ("/api/lots/{shrimp}/returns", {"quantity": -1}),
        ("/api/stocktakes", {"counts": []}),
        ("/api/stocktakes", {"counts": [{"lot_id": "{shrimp}", "counted": 5}]}),
        ("/api/stocktakes", {"counts": [{"lot_id": 999999, "counted": 5}]}),
        ("/api/stocktakes", {"counts": [{"lot_id": 1, "counted": -5}]}),
    ],
)
def test_bad_stock_requests_get_a_4xx_and_change_nothing(app, lots, url, body):
    before = movement_count(app)
    response = lots["clerk"].post(url.format(shrimp=lots["shrimp"]), json=body)
    assert 400 <= response.status_code < 500
    assert (on_hand(app, lots["shrimp"]), movement_count(app)) == (2000, before)


def test_a_clerk_cannot_touch_another_counters_lot(app, lots, as_role):
    other = as_role("clerk2")
    assert (
        other.post(f"/api/lots/{lots['shrimp']}/write-offs", json={"quantity": 1, "reason": "sample"}).status_code
        == 403
    )
    assert on_hand(app, lots["shrimp"]) == 2000


def test_officers_cannot_move_stock(app, lots, as_role):
    response = as_role("officer").post(f"/api/lots/{lots['shrimp']}/returns", json={"quantity": 1})
    assert response.status_code == 403


def test_a_count_made_before_a_sale_is_refused_rather_than_booked_over_it(app, goods, lots):
    sale = {
        "idempotency_key": "sold-while-counting",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    assert lots["clerk"].post("/api/counter/sales", json=sale).status_code == 201
    before = movement_count(app)
    counts = [{"lot_id": lots["shrimp"], "counted": 2000, "expected": 2000}]
    response = lots["clerk"].post("/api/stocktakes", json={"counts": counts})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "stale_count"
    assert (on_hand(app, lots["shrimp"]), movement_count(app)) == (1500, before)
