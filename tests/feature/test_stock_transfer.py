"""Moving part of a lot to another counter (调拨): a new lot there, never a second credit."""

import flask_migrate
import pytest
import sqlalchemy as sa

from shop import create_app
from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, LedgerEntry, Lot, MovementKind, StockMovement
from tests.concurrency import run_together
from tests.conftest import base_config
from tests.factories import receive
from tests.probes import counts, on_hand

from .test_ledger import verify
from .test_online_orders import body as order_body


@pytest.fixture
def counters(app, staff):
    """The ids of the first counter, the second (clerk2's) and a closed third."""
    with app.app_context():
        db.session.add(Counter(code="OLD", name="旧专柜", active=False))
        db.session.commit()
        ids = dict(db.session.execute(sa.select(Counter.code, Counter.id)).all())
    return {"first": ids["LC-JN"], "second": ids["BL-01"], "closed": ids["OLD"]}


def transfer(user, lot_id, to, quantity, **extra):
    return user.post(f"/api/lots/{lot_id}/transfers", json={"to_counter_id": to, "quantity": quantity, **extra})


def lot_row(app, lot_id) -> Lot:
    with app.app_context():
        lot = db.session.get(Lot, lot_id)
        db.session.expunge(lot)
        return lot


def kinds(app, lot_id) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == lot_id).order_by(StockMovement.id)
        )
        return [(m.kind.value, m.qty_delta) for m in rows]


def ledger(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            sa.select(LedgerEntry.household_id, LedgerEntry.kind, LedgerEntry.amount_fen, LedgerEntry.lot_id)
        ).all()


def test_part_of_a_lot_moves_as_a_new_lot_with_its_household_terms_and_dates(app, goods, counters, admin):
    source = receive(admin, goods["shrimp"], goods["wang"], 3000, days=90, share_bp=8500)
    response = transfer(admin, source, counters["second"], 1000, note="周末集市")
    assert response.status_code == 201, response.get_json()
    moved_id = response.get_json()["id"]
    assert response.get_json() == {"id": moved_id, "counter_id": counters["second"], "quantity": 1000}
    src, moved = lot_row(app, source), lot_row(app, moved_id)
    assert (src.qty_on_hand, src.qty_received) == (2000, 3000)
    assert (moved.counter_id, moved.household_id, moved.product_id) == (
        counters["second"],
        goods["wang"],
        goods["shrimp"],
    )
    assert (moved.qty_received, moved.qty_on_hand, moved.source_lot_id) == (1000, 1000, source)
    assert (moved.mode, moved.share_bp, moved.best_before, moved.received_at) == (
        src.mode,
        8500,
        src.best_before,
        src.received_at,
    )
    assert moved.trace_token != src.trace_token
    assert kinds(app, source) == [("receipt", 3000), ("transfer_out", -1000)]
    assert kinds(app, moved_id) == [("transfer_in", 1000)]
    # The trace page of the moved goods still leads to the household's village.
    trace = app.test_client().get(f"/trace/{moved.trace_token}")
    assert trace.status_code == 200 and "大波村" in trace.get_data(as_text=True)


def test_a_purchased_lot_is_credited_once_however_often_it_moves(app, goods, counters, admin, as_role):
    source = receive(admin, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=12000)
    before = ledger(app)
    assert [(e[2], e[3]) for e in before] == [(12000, source)]
    moved = transfer(admin, source, counters["second"], 4).get_json()["id"]
    back = transfer(admin, moved, counters["first"], 1).get_json()["id"]
    assert lot_row(app, back).source_lot_id == moved
    assert lot_row(app, moved).purchase_price_fen == 12000  # the terms travel; the credit does not
    assert ledger(app) == before
    # Selling the moved jars credits nothing more either: the household was paid at intake.
    clerk2 = as_role("clerk2")
    sale = {
        "idempotency_key": "moved-paste-1",
        "payment_method": "cash",
        "lines": [{"product_id": goods["paste"], "quantity": 2}],
    }
    response = clerk2.post("/api/counter/sales", json=sale)
    assert response.status_code == 201, response.get_json()
    assert [d["lot_id"] for d in response.get_json()["lines"][0]["draws"]] == [moved]
    assert ledger(app) == before
    result = verify(app)
    assert result.exit_code == 0, result.output


def test_a_consignment_lot_moved_earns_its_share_where_it_is_sold_and_the_ledger_verifies(
    app, goods, counters, admin, as_role
):
    source = receive(admin, goods["shrimp"], goods["fu"], 2000, share_bp=9000)
    moved = transfer(admin, source, counters["second"], 500).get_json()["id"]
    clerk2 = as_role("clerk2")
    sale = {
        "idempotency_key": "moved-shrimp-1",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    response = clerk2.post("/api/counter/sales", json=sale)
    assert response.status_code == 201
    (draw,) = response.get_json()["lines"][0]["draws"]
    assert (draw["lot_id"], draw["amount_fen"], draw["credit_fen"]) == (moved, 6800, 6120)
    assert [(e[0], e[2]) for e in ledger(app)] == [(goods["fu"], 6120)]
    assert verify(app).exit_code == 0


def test_a_credit_entered_for_a_moved_lot_is_caught_by_verify(app, goods, counters, admin):
    """A transfer that credited the household again would be income counted twice: verify says so."""
    from shop.ledger import entries
    from shop.transaction import atomic

    source = receive(admin, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=5000)
    moved = transfer(admin, source, counters["second"], 5).get_json()["id"]
    with app.app_context():
        with atomic() as session:
            entries.credit_purchase(session, session.get(Lot, moved), business_today(), None)
    assert verify(app).exit_code != 0


def test_the_moved_lot_keeps_its_place_in_the_selling_order(app, goods, counters, admin, as_role):
    """At the target, goods received earlier (by best-before, then original receipt) still sell first."""
    older = receive(admin, goods["paste"], goods["wang"], 5, days=60)
    newer = receive(admin, goods["paste"], goods["fu"], 5, days=60, counter_id=counters["second"])
    moved = transfer(admin, older, counters["second"], 3).get_json()["id"]
    sooner = receive(admin, goods["paste"], goods["fu"], 1, days=30, counter_id=counters["second"])
    sale = {
        "idempotency_key": "order-kept",
        "payment_method": "cash",
        "lines": [{"product_id": goods["paste"], "quantity": 5}],
    }
    response = as_role("clerk2").post("/api/counter/sales", json=sale)
    draws = [(d["lot_id"], d["quantity"]) for d in response.get_json()["lines"][0]["draws"]]
    assert draws == [(sooner, 1), (moved, 3), (newer, 1)]


def test_a_clerk_moves_stock_from_their_own_counter_only(app, goods, counters, clerk, as_role):
    own = receive(clerk, goods["shrimp"], goods["wang"], 1000)
    assert transfer(clerk, own, counters["second"], 200).status_code == 201
    clerk2 = as_role("clerk2")
    before = counts(app)
    response = transfer(clerk2, own, counters["second"], 100)
    assert response.status_code == 403
    assert counts(app) == before and on_hand(app, own) == 800


@pytest.mark.parametrize(
    "case, status",
    [
        ({"quantity": 1001}, 409),
        ({"quantity": 0}, 422),
        ({"quantity": -5}, 422),
        ({"quantity": "5"}, 422),
        ({"quantity": 10**12}, 422),
        ({"to": "same"}, 422),
        ({"to": "closed"}, 422),
        ({"to": 99999}, 422),
        ({"to": 2**63}, 422),
        ({"to": 0}, 422),
        ({"extra": "x"}, 422),
    ],
)
def test_a_bad_transfer_is_refused_and_changes_nothing(app, goods, counters, admin, case, status):
    lot_id = receive(admin, goods["shrimp"], goods["wang"], 1000)
    to = case.get("to", "second")
    to = counters["first"] if to == "same" else counters.get(to, to) if isinstance(to, str) else to
    body = {"to_counter_id": to, "quantity": case.get("quantity", 100)}
    if "extra" in case:
        body["counter_id"] = 1
    before = counts(app)
    response = admin.post(f"/api/lots/{lot_id}/transfers", json=body)
    assert response.status_code == status, response.get_json()
    assert counts(app) == before and on_hand(app, lot_id) == 1000
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 1


def test_an_unknown_lot_cannot_be_moved(app, goods, counters, admin):
    assert transfer(admin, 99999, counters["second"], 1).status_code == 422
    assert admin.post("/api/lots/99999999999/transfers", json={"to_counter_id": 1, "quantity": 1}).status_code == 404


def test_stock_held_for_an_online_order_cannot_be_moved(app, api, goods, counters, admin):
    lot_id = receive(admin, goods["paste"], goods["wang"], 3)
    assert (
        api.post(
            "/api/orders", json=order_body(goods, lines=[{"product_id": goods["paste"], "quantity": 2}])
        ).status_code
        == 201
    )
    response = transfer(admin, lot_id, counters["second"], 2)
    assert response.status_code == 409 and response.get_json()["error"]["fields"] == {
        "quantity": response.get_json()["error"]["message"]
    }
    assert on_hand(app, lot_id) == 3
    assert transfer(admin, lot_id, counters["second"], 1).status_code == 201


def test_a_transfer_racing_the_tills_never_oversells(app, goods, counters, as_role):
    admin = as_role("admin")
    lot_id = receive(admin, goods["paste"], goods["wang"], 10)
    tills = [as_role("clerk") for _ in range(6)]
    movers = [as_role("admin") for _ in range(2)]
    for user in tills + movers:
        user.refresh_token()

    def sell(till, n):
        sale = {
            "idempotency_key": f"race-move-{n}",
            "payment_method": "cash",
            "lines": [{"product_id": goods["paste"], "quantity": 2}],
        }
        return lambda: till.post("/api/counter/sales", json=sale)

    def move(user):
        return lambda: transfer(user, lot_id, counters["second"], 3)

    responses = run_together([sell(t, n) for n, t in enumerate(tills)] + [move(m) for m in movers])
    sold = 2 * sum(r.status_code == 201 for r in responses[:6])
    moved = 3 * sum(r.status_code == 201 for r in responses[6:])
    assert {r.status_code for r in responses} <= {201, 409}
    assert sold + moved <= 10 and sold + moved >= 8  # stock left is never enough for one more of either
    assert on_hand(app, lot_id) == 10 - sold - moved
    with app.app_context():
        moved_lots = db.session.scalars(sa.select(Lot).where(Lot.source_lot_id == lot_id)).all()
        assert sum(lot.qty_on_hand for lot in moved_lots) == moved
        for lot in [db.session.get(Lot, lot_id), *moved_lots]:
            total = db.session.scalar(
                sa.select(sa.func.sum(StockMovement.qty_delta)).where(StockMovement.lot_id == lot.id)
            )
            assert total == lot.qty_on_hand


# ---------------------------------------------------------------- the lot page's form


def form_post(client, url, **fields):
    from tests.conftest import Api

    token = Api(client).refresh_token()
    return client.post(url, data={"csrf_token": token, **fields})


def test_the_manager_moves_stock_from_the_lot_page_and_lands_on_the_new_lot(app, goods, counters, admin):
    lot_id = receive(admin, goods["shrimp"], goods["wang"], 3000)
    page = admin.get(f"/admin/stock/lots/{lot_id}").get_data(as_text=True)
    assert 'id="transfer"' in page and "波莲镇专柜" in page and "旧专柜" not in page
    response = form_post(
        admin.client,
        f"/admin/stock/lots/{lot_id}/transfer",
        **{"transfer-to_counter": counters["second"], "transfer-quantity": "2", "transfer-unit": "jin"},
    )
    assert response.status_code == 302
    moved = response.headers["Location"].rsplit("/", 1)[1]
    assert on_hand(app, lot_id) == 2000 and on_hand(app, int(moved)) == 1000
    new_page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"P{lot_id:06d}" in new_page  # the new lot names its source
    assert f"P{int(moved):06d}" in admin.get(f"/admin/stock/lots/{lot_id}").get_data(as_text=True)


def test_a_clerk_moves_stock_from_the_page_and_stays_on_their_lot(app, goods, counters, clerk):
    lot_id = receive(clerk, goods["paste"], goods["wang"], 10)
    response = form_post(
        clerk.client,
        f"/admin/stock/lots/{lot_id}/transfer",
        **{"transfer-to_counter": counters["second"], "transfer-quantity": "4", "transfer-unit": "piece"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/stock/lots/{lot_id}")
    assert on_hand(app, lot_id) == 6


@pytest.mark.parametrize(
    "fields",
    [
        {"transfer-to_counter": "closed", "transfer-quantity": "1"},
        {"transfer-to_counter": "first", "transfer-quantity": "1"},
        {"transfer-to_counter": "99999999999999", "transfer-quantity": "1"},
        {"transfer-to_counter": "", "transfer-quantity": "1"},
        {"transfer-to_counter": "second", "transfer-quantity": "11"},
        {"transfer-to_counter": "second", "transfer-quantity": "0"},
        {"transfer-to_counter": "second", "transfer-quantity": "1.5"},
    ],
)
def test_a_bad_transfer_form_is_shown_again_and_changes_nothing(app, goods, counters, admin, fields):
    lot_id = receive(admin, goods["paste"], goods["wang"], 10)
    to = fields["transfer-to_counter"]
    fields = {**fields, "transfer-to_counter": counters.get(to, to), "transfer-unit": "piece"}
    before = counts(app)
    response = form_post(admin.client, f"/admin/stock/lots/{lot_id}/transfer", **fields)
    assert response.status_code in (409, 422), response.status_code
    assert 'id="transfer"' in response.get_data(as_text=True)
    assert counts(app) == before and on_hand(app, lot_id) == 10


def test_a_single_counter_installation_offers_no_transfer(app, goods, counters, admin):
    with app.app_context():
        db.session.get(Counter, counters["second"]).active = False
        db.session.commit()
    lot_id = receive(admin, goods["paste"], goods["wang"], 10)
    assert 'id="transfer"' not in admin.get(f"/admin/stock/lots/{lot_id}").get_data(as_text=True)


# ---------------------------------------------------------------- the migration


def test_the_migration_adds_the_transfer_kinds_and_goes_back_down(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(base_config(url))
    with app.app_context():
        flask_migrate.upgrade()
    # Lots with movements, draws and ledger entries referring to them: the lot table must not be copied.
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        flask_migrate.downgrade(revision="0011_household_history")
        flask_migrate.upgrade()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("lot")}
        assert "source_lot_id" in columns
        checks = " ".join(c["sqltext"] for c in sa.inspect(db.engine).get_check_constraints("stock_movement"))
        assert "transfer_out" in checks and "transfer_in" in checks
        flask_migrate.downgrade(revision="0011_household_history")
        assert "source_lot_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("lot")}
        checks = " ".join(c["sqltext"] for c in sa.inspect(db.engine).get_check_constraints("stock_movement"))
        assert "transfer_out" not in checks
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()


def test_movement_kinds_outside_the_check_are_refused_by_the_database(app, goods, counters, admin):
    lot_id = receive(admin, goods["paste"], goods["wang"], 10)
    with app.app_context(), pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        # A transfer in must add stock: a negative one breaks the delta_matches_kind check.
        conn.execute(
            sa.text(
                "INSERT INTO stock_movement (lot_id, kind, qty_delta, note, by_id, at)"
                " VALUES (:lot, 'transfer_in', -1, '', (SELECT id FROM app_user LIMIT 1), CURRENT_TIMESTAMP)"
            ),
            {"lot": lot_id},
        )
    assert MovementKind.TRANSFER_IN.value == "transfer_in"
