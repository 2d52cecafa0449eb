"""Payouts and approved corrections in the ledger: balances, the chain, and tampering with them."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.errors import Forbidden, Invalid
from shop.extensions import db
from shop.ledger import entries
from shop.ledger.chain import entry_hash
from shop.models import Household, LedgerEntry, PayoutMethod, ReviewOutcome, User
from shop.oversight import adjustments, payouts, reviews, statements
from shop.oversight.monitoring import month_start
from tests.concurrency import run_together

from . import test_ledger
from .test_ledger import tamper, verify

#: The same fixture as the ledger tests': 王 credited and partly refunded, 符 paid for a purchase.
sold = test_ledger.sold


def user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def pay(household_id, amount_fen, by="admin", method=PayoutMethod.CASH, reference=""):
    return payouts.pay_household(payouts.PayoutRequest(household_id, amount_fen, method, reference), user(by))


def test_a_payout_takes_from_the_balance_and_verifies(app, goods, sold, as_role):
    with app.test_request_context():
        payout = pay(goods["wang"], 4000)
        assert payout.balance_before_fen == 4896
        assert entries.balance_of(db.session, goods["wang"]) == 896
    body = as_role("officer").get(f"/api/households/{goods['wang']}/ledger").get_json()
    assert body["paid_out_fen"] == 4000 and body["balance_fen"] == 896
    assert body["entries"][-1]["kind"] == "payout" and body["entries"][-1]["payout_id"] == payout.id
    result = verify(app)
    assert result.exit_code == 0 and "4 entries" in result.output


@pytest.mark.parametrize("amount", [4897, 10**9])
def test_a_payout_of_more_than_the_balance_is_refused_and_records_nothing(app, goods, sold, amount):
    with app.test_request_context():
        before = db.session.scalar(sa.select(sa.func.count(LedgerEntry.id)))
        with pytest.raises((payouts.PayoutExceedsBalance, Invalid)):
            pay(goods["wang"], amount)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) == before


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100"])
def test_a_payout_amount_that_is_not_positive_whole_fen_is_invalid(app, goods, sold, amount):
    with app.test_request_context(), pytest.raises(Invalid):
        pay(goods["wang"], amount)


def test_a_bank_transfer_needs_its_reference(app, goods, sold):
    with app.test_request_context():
        with pytest.raises(Invalid):
            pay(goods["wang"], 100, method=PayoutMethod.BANK_TRANSFER, reference="  ")
        assert pay(goods["wang"], 100, method=PayoutMethod.BANK_TRANSFER, reference="ICBC 2026112700123").reference


def test_an_officer_cannot_pay_out_and_no_one_pays_a_household_they_cannot_see(app, goods, sold):
    from shop.errors import NotFound

    with app.test_request_context():
        with pytest.raises(NotFound):
            pay(goods["wang"], 100, by="officer2")


def test_two_payouts_of_the_whole_balance_at_once_pay_it_once(app, goods, sold):
    def attempt():
        with app.test_request_context():
            try:
                pay(goods["wang"], 4896)
                return "paid"
            except payouts.PayoutExceedsBalance:
                return "refused"
            finally:
                db.session.remove()

    assert sorted(run_together([attempt, attempt])) == ["paid", "refused"]
    with app.app_context():
        assert entries.balance_of(db.session, goods["wang"]) == 0
    assert verify(app).exit_code == 0


def test_a_correction_reaches_the_ledger_only_when_a_second_person_approves_it(app, goods, sold):
    with app.test_request_context():
        proposed = adjustments.propose(
            household_id=goods["wang"],
            amount_fen=-300,
            entry_date=business_today(),
            reason="称重多算",
            by=user("officer"),
        )
        assert entries.balance_of(db.session, goods["wang"]) == 4896
        with pytest.raises(Forbidden):
            adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=user("officer"))
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="核实", by=user("admin"))
        assert entries.balance_of(db.session, goods["wang"]) == 4596
        with pytest.raises(adjustments.AlreadyDecided):
            adjustments.decide(adjustment_id=proposed.id, approve=False, note="", by=user("admin"))
    assert verify(app).exit_code == 0


def test_a_rejected_correction_writes_nothing(app, goods, sold):
    with app.test_request_context():
        proposed = adjustments.propose(
            household_id=goods["wang"], amount_fen=500, entry_date=business_today(), reason="漏记", by=user("officer")
        )
        adjustments.decide(adjustment_id=proposed.id, approve=False, note="无依据", by=user("admin"))
        assert entries.balance_of(db.session, goods["wang"]) == 4896


@pytest.mark.parametrize(
    "amount, days_ago, reason",
    [(0, 0, "x"), (100, -1, "x"), (100, 401, "x"), (100, 0, "   "), (100, 0, "x" * 501), (True, 0, "x")],
)
def test_a_correction_that_makes_no_sense_is_refused(app, goods, sold, amount, days_ago, reason):
    with app.test_request_context(), pytest.raises(Invalid):
        adjustments.propose(
            household_id=goods["wang"],
            amount_fen=amount,
            entry_date=business_today() - timedelta(days=days_ago),
            reason=reason,
            by=user("officer"),
        )


def test_a_supervisor_or_clerk_cannot_propose_a_correction(app, goods, sold):
    with app.test_request_context():
        for name in ("county", "clerk"):
            with pytest.raises(Forbidden):
                adjustments.propose(
                    household_id=goods["wang"], amount_fen=1, entry_date=business_today(), reason="x", by=user(name)
                )


def test_an_entry_written_into_a_confirmed_month_is_an_amendment(app, goods, sold):
    month = month_start(business_today())
    with app.test_request_context():
        household = db.session.get(Household, goods["wang"])
        seen = statements.month_statement(household, month)
        assert not seen.amendments
        reviews.review_month(
            household_id=household.id,
            month=month,
            outcome=ReviewOutcome.CONFIRMED,
            note="",
            seen_digest=seen.digest,
            by=user("officer"),
        )
        pay(household.id, 1000)
        now = statements.month_statement(household, month)
        assert [line.entry.kind.value for line in now.amendments] == ["payout"]
        assert now.digest != seen.digest
        with pytest.raises(reviews.StatementChanged):
            reviews.review_month(
                household_id=household.id,
                month=month,
                outcome=ReviewOutcome.CONFIRMED,
                note="",
                seen_digest=seen.digest,
                by=user("officer"),
            )


def payout_entry_tampering():
    return [
        "UPDATE household_ledger SET amount_fen = amount_fen - 1 WHERE kind = 'payout'",
        "UPDATE payout SET amount_fen = amount_fen - 1",
        "DELETE FROM household_ledger WHERE kind = 'payout'",
        "UPDATE household_ledger SET payout_id = NULL, kind = 'credit', lot_id = (SELECT MIN(id) FROM lot)"
        " WHERE kind = 'payout'",
    ]


@pytest.mark.parametrize("statement", payout_entry_tampering())
def test_a_payout_changed_behind_the_apps_back_is_found(app, goods, sold, statement):
    with app.test_request_context():
        pay(goods["wang"], 1000)
    tamper(app, statement)
    assert verify(app).exit_code == 1


def test_a_purchase_credited_twice_by_a_forged_rehashed_entry_is_found(app, goods, sold):
    with app.app_context():
        head = (
            db.session.execute(sa.select(LedgerEntry.__table__).order_by(LedgerEntry.seq.desc()).limit(1))
            .mappings()
            .one()
        )
        first = db.session.execute(sa.select(LedgerEntry.__table__).where(LedgerEntry.seq == 1)).mappings().one()
        # The forger copies the purchase credit (seq 1) to the end of the chain and hashes it to fit.
        forged = {**first, "seq": head["seq"] + 1}
        digest = entry_hash(head["hash"], forged)
    tamper(
        app,
        "INSERT INTO household_ledger (seq, household_id, kind, amount_fen, entry_date, lot_id, category,"
        " created_by_id, created_at, prev_hash, hash) SELECT"
        f" {head['seq'] + 1}, household_id, kind, amount_fen, entry_date, lot_id, category, created_by_id,"
        f" created_at, '{head['hash']}', '{digest}' FROM household_ledger WHERE seq = 1",
    )
    result = verify(app)
    assert result.exit_code == 1 and f"entry {head['seq'] + 1}" in result.output and "twice" in result.output


def test_a_payout_made_against_a_balance_that_has_since_moved_is_refused(app, goods, sold):
    with app.test_request_context():
        seen = entries.balance_of(db.session, goods["wang"])
        request = payouts.PayoutRequest(goods["wang"], 1000, PayoutMethod.CASH, expected_balance_fen=seen)
        payouts.pay_household(request, user("admin"))
        with pytest.raises(payouts.BalanceChanged):
            payouts.pay_household(request, user("admin"))  # the same form sent again
        assert entries.balance_of(db.session, goods["wang"]) == seen - 1000
