"""The household income ledger: written with each sale, refund and purchase; append-only; tamper-evident."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shop.extensions import db
from shop.ledger import guard
from shop.models import LedgerEntry
from tests.concurrency import run_together
from tests.factories import receive


@pytest.fixture
def sold(app, goods, as_role):
    """王's shrimp on consignment at 90 %, 符's paste bought for ¥120.00; 500 g and 2 jars sold, 1 jar refunded."""
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 1000)
    receive(clerk, goods["paste"], goods["fu"], 10, mode="purchase", purchase_price_fen=12000)
    sale = {
        "idempotency_key": "ledger-sale-1",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}],
    }
    body = clerk.post("/api/counter/sales", json=sale).get_json()
    refund = {
        "idempotency_key": "ledger-refund-1",
        "lines": [{"line_id": body["lines"][0]["id"], "quantity": 100}],
        "restock": True,
    }
    assert clerk.post(f"/api/counter/sales/{body['id']}/refunds", json=refund).status_code == 201
    return clerk


def entries(app):
    with app.app_context():
        return [
            (e.household_id, e.kind.value, e.amount_fen)
            for e in db.session.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.seq))
        ]


def verify(app):
    return app.test_cli_runner().invoke(args=["ledger", "verify"])


def test_intake_sales_and_refunds_each_write_their_entries(app, goods, sold):
    assert entries(app) == [
        (goods["fu"], "credit", 12000),  # the purchased paste, at intake
        (goods["wang"], "credit", 6120),  # 90 % of ¥68.00; the paste's draw credits nothing more
        (goods["wang"], "reversal", 1224),  # 100 g of it refunded
    ]
    result = verify(app)
    assert result.exit_code == 0 and "3 entries" in result.output


def test_an_officer_reads_their_households_ledger_and_balance(app, goods, sold, as_role):
    body = as_role("officer").get(f"/api/households/{goods['wang']}/ledger").get_json()
    assert (body["credited_fen"], body["reversed_fen"], body["paid_out_fen"], body["balance_fen"]) == (
        6120,
        1224,
        0,
        4896,
    )
    assert [e["kind"] for e in body["entries"]] == ["credit", "reversal"]
    assert body["entries"][0]["category"] == "jiance" and body["entries"][0]["monitoring_status"] == "identified"


def test_a_period_before_any_sale_is_empty_with_no_balance(app, goods, sold, as_role):
    body = as_role("admin").get(f"/api/households/{goods['wang']}/ledger?from=2000-01-01&to=2000-12-31").get_json()
    assert body["entries"] == [] and body["balance_fen"] == 0


@pytest.mark.parametrize(
    "who, status", [("officer2", 404), ("heshe", 404), ("county", 200), ("clerk", 403), (None, 401)]
)
def test_only_those_responsible_see_a_households_ledger(app, goods, sold, as_role, api, who, status):
    client = as_role(who) if who else api
    assert client.get(f"/api/households/{goods['wang']}/ledger").status_code == status


@pytest.mark.parametrize("query", ["from=yesterday", "to=2026-13-01", "from=2026-02-01&to=2026-01-01"])
def test_a_bad_period_is_422(app, goods, sold, as_role, query):
    assert as_role("admin").get(f"/api/households/{goods['wang']}/ledger?{query}").status_code == 422


@pytest.mark.parametrize("statement", ["UPDATE household_ledger SET amount_fen = 1", "DELETE FROM household_ledger"])
def test_the_database_refuses_to_change_or_delete_an_entry(app, sold, statement):
    with app.app_context(), pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    assert len(entries(app)) == 3


def tamper(app, *statements):
    """Change the ledger behind the app's back, as someone with the database password could."""
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        for statement in statements:
            conn.execute(sa.text(statement))
        guard.install(conn)


@pytest.mark.parametrize(
    "statements, seq",
    [
        (["UPDATE household_ledger SET amount_fen = amount_fen + 100 WHERE seq = 2"], 2),
        (["DELETE FROM household_ledger WHERE seq = 1"], 1),
        (["DELETE FROM household_ledger WHERE seq = 3"], None),
        (["UPDATE household_ledger SET household_id = (SELECT MAX(id) FROM household) WHERE seq = 3"], 3),
    ],
)
def test_verify_names_the_first_entry_changed_or_removed_behind_the_apps_back(app, sold, statements, seq):
    tamper(app, *statements)
    result = verify(app)
    assert result.exit_code == 1
    assert (f"entry {seq}" if seq else "has no entry") in result.output


def test_an_entry_recomputed_to_look_right_still_fails_against_its_sale(app, sold):
    from shop.ledger.chain import entry_hash

    with app.app_context():
        first = db.session.execute(sa.select(LedgerEntry.__table__).where(LedgerEntry.seq == 2)).mappings().one()
        forged = {**first, "amount_fen": 99999}
        digest = entry_hash(first["prev_hash"], forged)
    # Even a forger who rehashes the whole rest of the chain cannot make the sale agree.
    tamper(app, f"UPDATE household_ledger SET amount_fen = 99999, hash = '{digest}' WHERE seq = 2")
    result = verify(app)
    assert result.exit_code == 1 and "entry" in result.output


def test_many_tills_at_once_extend_one_chain_without_forking_it(app, goods, as_role):
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 5000)
    tills = [as_role("clerk") for _ in range(8)]
    for till in tills:
        till.refresh_token()

    def sell(till, n):
        body = {
            "idempotency_key": f"ledger-race-{n}",
            "payment_method": "cash",
            "lines": [{"product_id": goods["shrimp"], "quantity": 100}],
        }
        return lambda: till.post("/api/counter/sales", json=body)

    assert all(r.status_code == 201 for r in run_together([sell(t, n) for n, t in enumerate(tills)]))
    result = verify(app)
    assert result.exit_code == 0 and "8 entries" in result.output


def test_the_migration_fills_in_the_ledger_of_an_installation_that_already_had_sales(tmp_path):
    """Drop the ledger back to 0003 under a seeded demo, upgrade again: the backfilled chain verifies."""
    import flask_migrate

    from shop import create_app
    from tests.conftest import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    runner = app.test_cli_runner()
    with app.app_context():
        flask_migrate.upgrade()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = entries(app)
    with app.app_context():
        flask_migrate.downgrade(revision="0003_orders")
        flask_migrate.upgrade()
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert sorted(entries(app)) == sorted(before) and len(before) > 5
