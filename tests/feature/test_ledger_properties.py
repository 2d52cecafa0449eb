"""Properties of the ledger over a random day at the counter: sales, partial refunds and payouts.

Each example runs a random sequence through the use cases, then checks what must
always hold: every credit is its draw's amount times the share, to the fen; each
balance equals what the sales, refunds and payouts say it should; the chain verifies.
Examples share one database, so the checks are over everything recorded so far.
"""

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shop.clock import business_today
from shop.errors import Conflict
from shop.extensions import db
from shop.ledger import entries
from shop.ledger.chain import EntryKind, signed_amount
from shop.models import Draw, DrawReversal, LedgerEntry, Lot, PaymentMethod, Payout, SettlementMode, User
from shop.money import share_of
from shop.oversight import payouts
from shop.selling import sales
from tests.factories import receive

keys = itertools.count()

sell = st.tuples(st.just("sell"), st.sampled_from(["shrimp", "paste"]), st.integers(1, 700))
refund = st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 400))
pay = st.tuples(st.just("pay"), st.sampled_from(["wang", "fu"]), st.integers(1, 20_000))
steps = st.lists(st.one_of(sell, refund, pay), min_size=1, max_size=15)


def user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def run(step, goods, sold_lines) -> None:
    """One step of the day; a refusal (out of stock, too much refunded or paid) must change nothing."""
    kind, a, b = step
    try:
        if kind == "sell":
            sale, _ = sales.record_sale(
                idempotency_key=f"prop-{next(keys)}",
                payment_method=PaymentMethod.CARD,
                lines=[sales.LineRequest(goods[a], b if a == "shrimp" else 1 + b % 3)],
                clerk=user("clerk"),
                today=business_today(),
            )
            sold_lines.extend((sale.id, line.id) for line in sale.lines)
        elif kind == "refund" and sold_lines:
            sale_id, line_id = sold_lines[a % len(sold_lines)]
            sales.refund_sale(
                sale_id=sale_id, lines=[sales.RefundRequest(line_id, b)], restock=True, note="", by=user("clerk")
            )
        elif kind == "pay":
            payouts.pay_household(payouts.PayoutRequest(goods[a], b, "cash"), user("admin"))
    except Conflict:
        db.session.rollback()


def expected_balances() -> dict[int, int]:
    """Each household's balance from the sales, refunds, purchases and payouts themselves, not the ledger."""
    balance: dict[int, int] = {}
    for household, fen in db.session.execute(sa.select(Draw.household_id, Draw.credit_fen)):
        balance[household] = balance.get(household, 0) + fen
    for household, fen in db.session.execute(sa.select(DrawReversal.household_id, DrawReversal.credit_fen)):
        balance[household] = balance.get(household, 0) - fen
    purchases = sa.select(Lot.household_id, Lot.purchase_price_fen).where(Lot.mode == SettlementMode.PURCHASE)
    for household, fen in db.session.execute(purchases):
        balance[household] = balance.get(household, 0) + fen
    for household, fen in db.session.execute(sa.select(Payout.household_id, Payout.amount_fen)):
        balance[household] = balance.get(household, 0) - fen
    return balance


def assert_no_payout_exceeded_its_balance() -> None:
    """Each payout was at most the balance it froze, and that balance was the ledger's just before it."""
    for payout_id, household, amount, before, seq in db.session.execute(
        sa.select(Payout.id, Payout.household_id, Payout.amount_fen, Payout.balance_before_fen, LedgerEntry.seq).join(
            LedgerEntry, LedgerEntry.payout_id == Payout.id
        )
    ):
        earlier = db.session.execute(
            sa.select(LedgerEntry.kind, LedgerEntry.amount_fen).where(
                LedgerEntry.household_id == household, LedgerEntry.seq < seq
            )
        )
        assert amount <= before == sum(signed_amount(kind, fen) for kind, fen in earlier), payout_id


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@example(steps=[("sell", "shrimp", 500), ("pay", "wang", 6000), ("refund", 0, 400)])  # owed back after a payout
@given(steps=steps)
def test_credits_balances_and_the_chain_hold_over_any_day_at_the_counter(app, goods, as_role, stocked, steps):
    sold_lines: list[tuple[int, int]] = []
    with app.test_request_context():
        for step in steps:
            run(step, goods, sold_lines)
        for d in db.session.scalars(sa.select(Draw)):
            assert d.credit_fen == (0 if d.share_bp is None else share_of(d.amount_fen, d.share_bp))
        credited = dict(
            db.session.execute(
                sa.select(LedgerEntry.draw_id, LedgerEntry.amount_fen).where(
                    LedgerEntry.kind == EntryKind.CREDIT, LedgerEntry.draw_id.is_not(None)
                )
            ).all()
        )
        assert credited == {d.id: d.credit_fen for d in db.session.scalars(sa.select(Draw)) if d.credit_fen}
        expected = expected_balances()
        for household in (goods["wang"], goods["fu"]):
            balance = entries.balance_of(db.session, household)
            # No `balance >= 0`: a refund after a payout leaves the household owing the counter.
            assert balance == expected.get(household, 0)
        assert_no_payout_exceeded_its_balance()
        count, fault = entries.verify()
        assert fault is None and count == db.session.scalar(sa.select(sa.func.count(LedgerEntry.id)))
        db.session.rollback()


import pytest  # noqa: E402


@pytest.fixture
def stocked(goods, as_role):
    """Shrimp from two households on different terms (the sooner lot sells first), and 符's paste bought outright."""
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 200_000, days=30, share_bp=9000)
    receive(clerk, goods["shrimp"], goods["fu"], 200_000, days=60, share_bp=7333)
    receive(clerk, goods["paste"], goods["fu"], 500, mode="purchase", purchase_price_fen=30_000)
