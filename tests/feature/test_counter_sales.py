"""POST /api/counter/sales: selling at the counter, by weight and by the piece."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Draw, Lot, Sale, SaleLine, StockMovement


def in_days(days: int) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


def receive(clerk, product_id, household_id, quantity, days=180, **terms):
    """Receive a lot through the API and return its id."""
    body = {"product_id": product_id, "household_id": household_id, "quantity": quantity,
            "best_before": in_days(days), "mode": "consignment", **terms}
    response = clerk.post("/api/lots", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def on_hand(app, lot_id) -> int:
    with app.app_context():
        return db.session.get(Lot, lot_id).qty_on_hand


def counts(app) -> tuple:
    """How many sales, lines, draws and movements are recorded."""
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Sale, SaleLine, Draw, StockMovement))


@pytest.fixture
def clerk(as_role):
    return as_role("clerk")


@pytest.fixture
def shelf(app, goods, clerk):
    """Two shrimp lots (the sooner best-before from 符, at 80 %) and paste from 王."""
    return {
        "late": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=200),
        "soon": receive(clerk, goods["shrimp"], goods["fu"], 300, days=30, share_bp=8000),
        "paste": receive(clerk, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=12000),
    }


def sale(goods, key="till-1-0001", **overrides):
    body = {"idempotency_key": key, "payment_method": "cash",
            "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}]}
    return {**body, **overrides}


def test_a_sale_draws_the_soonest_lot_first_and_splits_the_amount_exactly(app, goods, shelf, clerk):
    response = clerk.post("/api/counter/sales", json=sale(goods))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    shrimp, paste = body["lines"]
    assert shrimp["amount_fen"] == 6800 and paste["amount_fen"] == 3600
    assert body["total_fen"] == 10400
    assert [(d["lot_id"], d["quantity"]) for d in shrimp["draws"]] == [(shelf["soon"], 300), (shelf["late"], 200)]
    assert [d["amount_fen"] for d in shrimp["draws"]] == [4080, 2720]
    assert [d["credit_fen"] for d in shrimp["draws"]] == [3264, 2448]
    # The paste was bought outright: its household was paid at intake, so the sale credits nothing.
    assert [(d["quantity"], d["credit_fen"]) for d in paste["draws"]] == [(2, 0)]
    assert (on_hand(app, shelf["soon"]), on_hand(app, shelf["late"]), on_hand(app, shelf["paste"])) == (0, 800, 8)
