"""POST /api/counter/sales/<id>/refunds: money back, goods restocked or written off, credits reversed."""

import uuid

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import DrawReversal, Refund, StockMovement
from tests.factories import receive, sale
from tests.probes import counts, movements_explain_stock, on_hand


@pytest.fixture
def sold(app, goods, as_role):
    """A sale of 500 g of shrimp (300 g from 符's lot at 80 %, 200 g from 王's at 90 %) and 2 jars of paste."""
    clerk = as_role("clerk")
    lots = {
        "late": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=200),
        "soon": receive(clerk, goods["shrimp"], goods["fu"], 300, days=30, share_bp=8000),
        "paste": receive(clerk, goods["paste"], goods["wang"], 10),
    }
    body = clerk.post("/api/counter/sales", json=sale(goods)).get_json()
    return {"clerk": clerk, "lots": lots, "sale": body, "shrimp": body["lines"][0], "paste": body["lines"][1]}


def refund(sold, lines, restock=True, who=None, key=None):
    client = who or sold["clerk"]
    body = {"idempotency_key": key or uuid.uuid4().hex, "lines": lines, "restock": restock}
    return client.post(f"/api/counter/sales/{sold['sale']['id']}/refunds", json=body)


def refund_rows(app) -> tuple:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Refund, DrawReversal))


def test_a_partial_refund_restocks_the_lot_sold_last_and_reverses_its_credit(app, sold):
    response = refund(sold, [{"line_id": sold["shrimp"]["id"], "quantity": 100}])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["amount_fen"] == 1360
    (line,) = body["lines"]
    assert [(r["lot_id"], r["quantity"], r["amount_fen"], r["credit_fen"]) for r in line["reversals"]] == [
        (sold["lots"]["late"], 100, 1360, 1224)
    ]
    assert on_hand(app, sold["lots"]["late"]) == 900
    assert movements_explain_stock(app)


def test_refunding_a_line_in_parts_gives_back_exactly_what_was_paid_and_credited(app, sold):
    line_id = sold["shrimp"]["id"]
    parts = [refund(sold, [{"line_id": line_id, "quantity": q}]).get_json() for q in (133, 167, 200)]
    assert sum(p["amount_fen"] for p in parts) == sold["shrimp"]["amount_fen"]
    credited = sum(d["credit_fen"] for d in sold["shrimp"]["draws"])
    reversed_credit = sum(r["credit_fen"] for p in parts for line in p["lines"] for r in line["reversals"])
    assert reversed_credit == credited
    assert (on_hand(app, sold["lots"]["late"]), on_hand(app, sold["lots"]["soon"])) == (1000, 300)


def test_a_refund_without_restock_leaves_the_shelf_as_it_was(app, sold):
    before = on_hand(app, sold["lots"]["paste"])
    assert refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 1}], restock=False).status_code == 201
    assert on_hand(app, sold["lots"]["paste"]) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(StockMovement.kind == "restock")) == 0


def test_refunding_more_than_is_left_is_refused_and_records_nothing(app, sold):
    refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 1}])
    before = (refund_rows(app), counts(app), on_hand(app, sold["lots"]["paste"]))
    response = refund(
        sold, [{"line_id": sold["shrimp"]["id"], "quantity": 10}, {"line_id": sold["paste"]["id"], "quantity": 2}]
    )
    assert response.status_code == 409
    assert "lines.1.quantity" in response.get_json()["error"]["fields"]
    assert (refund_rows(app), counts(app), on_hand(app, sold["lots"]["paste"])) == before


def test_the_sale_shows_its_refunds(app, sold):
    refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 2}])
    body = sold["clerk"].get(f"/api/counter/sales/{sold['sale']['id']}").get_json()
    assert body["refunded_fen"] == 3600 and len(body["refunds"]) == 1


@pytest.mark.parametrize(
    "lines",
    [
        [{"line_id": 999_999, "quantity": 1}],
        [{"line_id": 1, "quantity": 0}],
        [{"line_id": 1, "quantity": -5}],
        [{"line_id": 1, "quantity": 1.5}],
        [],
        "all of it",
    ],
)
def test_bad_refunds_get_a_4xx_and_change_nothing(app, sold, lines):
    before = refund_rows(app)
    if isinstance(lines, list):
        lines = [{**line, "line_id": sold["paste"]["id"]} if line.get("line_id") == 1 else line for line in lines]
    response = refund(sold, lines)
    assert 400 <= response.status_code < 500
    assert refund_rows(app) == before


def test_a_line_named_twice_in_one_refund_is_refused(app, sold):
    line = {"line_id": sold["paste"]["id"], "quantity": 1}
    assert refund(sold, [line, line]).status_code == 422
    assert refund_rows(app) == (0, 0)


def test_a_refund_needs_to_say_whether_to_restock(app, sold):
    url = f"/api/counter/sales/{sold['sale']['id']}/refunds"
    response = sold["clerk"].post(url, json={"lines": [{"line_id": sold["paste"]["id"], "quantity": 1}]})
    assert response.status_code == 422 and "restock" in response.get_json()["error"]["fields"]


def test_a_clerk_of_another_counter_cannot_refund_or_see_the_sale(app, sold, as_role):
    other = as_role("clerk2")
    assert refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 1}], who=other).status_code == 403
    assert other.get(f"/api/counter/sales/{sold['sale']['id']}").status_code == 403
    assert refund_rows(app) == (0, 0)


def test_an_unknown_sale_is_404(app, sold):
    response = sold["clerk"].post("/api/counter/sales/424242/refunds", json={"lines": [], "restock": True})
    assert response.status_code in (404, 422)
    response = sold["clerk"].post(
        "/api/counter/sales/424242/refunds",
        json={"idempotency_key": "unknown-sale-1", "lines": [{"line_id": 1, "quantity": 1}], "restock": True},
    )
    assert response.status_code == 404


def test_officers_cannot_refund(app, sold, as_role):
    assert refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 1}], who=as_role("officer")).status_code == 403


def test_a_refund_sent_again_with_its_key_is_replayed_not_recorded_twice(app, sold):
    lines = [{"line_id": sold["shrimp"]["id"], "quantity": 100}]
    first = refund(sold, lines, key="till-refund-0001")
    assert first.status_code == 201, first.get_json()
    stock_before = on_hand(app, sold["lots"]["soon"]), on_hand(app, sold["lots"]["late"])
    again = refund(sold, lines, key="till-refund-0001")  # the till resends after a timeout
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert refund_rows(app) == (1, 1)
    assert (on_hand(app, sold["lots"]["soon"]), on_hand(app, sold["lots"]["late"])) == stock_before
    assert sold["clerk"].get(f"/api/counter/sales/{sold['sale']['id']}").get_json()["refunded_fen"] == 1360


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [{"line_id": "shrimp", "quantity": 200}]},
        {"lines": [{"line_id": "paste", "quantity": 1}]},
        {"restock": False},
        {"note": "another"},
    ],
)
def test_a_key_sent_again_with_another_body_is_409_and_records_nothing(app, sold, change):
    body = {"idempotency_key": "till-refund-0002", "lines": [{"line_id": sold["shrimp"]["id"], "quantity": 100}]}
    body |= {"restock": True, "note": ""}
    url = f"/api/counter/sales/{sold['sale']['id']}/refunds"
    assert sold["clerk"].post(url, json=body).status_code == 201
    changed = body | change
    changed["lines"] = [
        {**line, "line_id": sold[line["line_id"]]["id"]} if isinstance(line["line_id"], str) else line
        for line in changed["lines"]
    ]
    response = sold["clerk"].post(url, json=changed)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert refund_rows(app) == (1, 1)


def test_a_key_used_for_one_sales_refund_is_refused_for_another_sale(app, sold, goods):
    assert refund(sold, [{"line_id": sold["paste"]["id"], "quantity": 1}], key="till-refund-0003").status_code == 201
    other = sold["clerk"].post("/api/counter/sales", json=sale(goods) | {"idempotency_key": "second-sale-1"})
    assert other.status_code == 201, other.get_json()
    other = other.get_json()
    response = sold["clerk"].post(
        f"/api/counter/sales/{other['id']}/refunds",
        json={
            "idempotency_key": "till-refund-0003",
            "lines": [{"line_id": other["lines"][1]["id"], "quantity": 1}],
            "restock": True,
        },
    )
    assert response.status_code == 409
    assert refund_rows(app)[0] == 1


def test_a_refund_needs_a_well_formed_key(app, sold):
    url = f"/api/counter/sales/{sold['sale']['id']}/refunds"
    lines = [{"line_id": sold["paste"]["id"], "quantity": 1}]
    for key in (None, "", "short", "x" * 65, "has space 123", "<script>alert(1)</script>"):
        body = {"lines": lines, "restock": True} | ({} if key is None else {"idempotency_key": key})
        response = sold["clerk"].post(url, json=body)
        assert response.status_code == 422, key
    assert refund_rows(app) == (0, 0)
