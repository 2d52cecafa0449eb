"""A counter sale's cost in statements, and the answers the batched sale path gives."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.ledger import entries
from tests.factories import receive, sale
from tests.probes import counts, movements_explain_stock, on_hand

#: Statements one sale request may send, sign-in check and replay lookup included (about thirty before batching).
MOST_STATEMENTS = 17


@pytest.fixture
def shelf(app, goods, clerk):
    """Two shrimp lots (the sooner best-before from 符) and paste from 王."""
    return {
        "late": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=200),
        "soon": receive(clerk, goods["shrimp"], goods["fu"], 300, days=30, share_bp=8000),
        "paste": receive(clerk, goods["paste"], goods["wang"], 50),
    }


def statements_of(app, send) -> list[str]:
    """The SQL statements sent while `send()` runs."""
    sent = []

    def note(_conn, _cursor, statement, *_args):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        send()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return sent


def test_a_sale_sends_a_bounded_number_of_statements_whatever_its_size(app, goods, shelf, clerk):
    small = statements_of(app, lambda: clerk.post("/api/counter/sales", json=sale(goods, key="k-small")))
    lines = [{"product_id": goods["shrimp"], "quantity": 100}] * 4 + [{"product_id": goods["paste"], "quantity": 1}] * 4
    big = statements_of(app, lambda: clerk.post("/api/counter/sales", json=sale(goods, key="k-big", lines=lines)))
    assert len(small) <= MOST_STATEMENTS, small
    # Eight lines over three lots cost what two lines cost: lines, draws, movements and credits go in one INSERT each.
    assert len(big) == len(small), big


def test_lines_of_one_product_draw_in_turn_within_a_sale(app, goods, shelf, clerk):
    lines = [{"product_id": goods["shrimp"], "quantity": 200}, {"product_id": goods["shrimp"], "quantity": 200}]
    response = clerk.post("/api/counter/sales", json=sale(goods, lines=lines))
    assert response.status_code == 201, response.get_json()
    first, second = response.get_json()["lines"]
    # The second line sees what the first took from the sooner lot.
    assert [(d["lot_id"], d["quantity"]) for d in first["draws"]] == [(shelf["soon"], 200)]
    assert [(d["lot_id"], d["quantity"]) for d in second["draws"]] == [(shelf["soon"], 100), (shelf["late"], 100)]
    assert (on_hand(app, shelf["soon"]), on_hand(app, shelf["late"])) == (0, 900)
    assert movements_explain_stock(app)
    with app.app_context():
        assert entries.verify()[1] is None


def test_too_much_of_one_product_over_two_lines_is_refused_and_records_nothing(app, goods, shelf, clerk):
    before = counts(app)
    lines = [{"product_id": goods["shrimp"], "quantity": 1000}, {"product_id": goods["shrimp"], "quantity": 301}]
    response = clerk.post("/api/counter/sales", json=sale(goods, lines=lines))
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "out_of_stock" and "lines.1.quantity" in error["fields"]
    assert counts(app) == before
    assert (on_hand(app, shelf["soon"]), on_hand(app, shelf["late"])) == (300, 1000)


def test_the_answer_of_a_new_sale_is_the_sale_as_stored(app, goods, shelf, clerk):
    sold = clerk.post("/api/counter/sales", json=sale(goods)).get_json()
    stored = clerk.get(f"/api/counter/sales/{sold['id']}").get_json()
    assert {k: v for k, v in stored.items() if k not in ("refunds", "refunded_fen")} == sold
