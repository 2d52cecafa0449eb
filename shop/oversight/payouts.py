"""Paying households what the counter owes them, against a receipt they sign."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from shop.clock import business_today
from shop.errors import Conflict, Invalid
from shop.extensions import db
from shop.ledger import entries
from shop.models import Payout, PayoutMethod, User
from shop.money import MAX_FEN, format_fen
from shop.transaction import atomic
from shop.villages.households import visible_household

#: A bank reference is free text from the bank's slip, but not an essay.
MAX_REFERENCE = 64


class PayoutExceedsBalance(Conflict):
    """The household is owed less than the payout."""

    code = "exceeds_balance"


class BalanceChanged(Conflict):
    """The balance moved since the payer looked at it: a double tap, or someone else paid."""

    code = "balance_changed"


@dataclass(frozen=True)
class PayoutRequest:
    """What the manager typed: the amount, how it was paid and the bank's reference."""

    household_id: int
    amount_fen: int
    method: PayoutMethod
    reference: str = ""
    note: str = ""
    #: The balance the payer saw; when given, a payout against any other balance is refused.
    expected_balance_fen: int | None = None


def check_request(request: PayoutRequest) -> None:
    """Refuse a payout that could never be right, whatever the balance."""
    if not isinstance(request.amount_fen, int) or isinstance(request.amount_fen, bool):
        raise Invalid(_("The amount must be a whole number of fen."), "amount_fen")
    if not 0 < request.amount_fen <= MAX_FEN:
        raise Invalid(_("The amount must be more than nothing."), "amount_fen")
    if request.method is PayoutMethod.BANK_TRANSFER and not request.reference.strip():
        raise Invalid(_("A bank transfer needs the bank's reference."), "reference")
    if len(request.reference) > MAX_REFERENCE:
        raise Invalid(_("The reference is too long."), "reference")
    if len(request.note) > 200:
        raise Invalid(_("The note is too long."), "note")


def pay_household(request: PayoutRequest, by: User) -> Payout:
    """Record a payout of at most the household's balance, and its ledger entry, in one transaction."""
    check_request(request)
    household = visible_household(by, request.household_id)
    with atomic() as session:
        # Under the chain's lock two payouts at once cannot both spend the same balance.
        entries.lock_chain(session)
        balance = entries.balance_of(session, household.id)
        if request.expected_balance_fen is not None and request.expected_balance_fen != balance:
            raise BalanceChanged(
                _(
                    "The balance changed since this form was opened: it is now %(balance)s. "
                    "Check the payouts before paying again.",
                    balance=format_fen(balance),
                )
            )
        if request.amount_fen > balance:
            raise PayoutExceedsBalance(
                _("The household is owed %(balance)s; a payout cannot be more.", balance=format_fen(balance)),
                "amount_fen",
            )
        payout = Payout(
            household_id=household.id,
            amount_fen=request.amount_fen,
            method=request.method,
            reference=request.reference.strip(),
            note=request.note.strip(),
            paid_on=business_today(),
            balance_before_fen=balance,
            paid_by_id=by.id,
        )
        session.add(payout)
        entries.record_payout(session, payout, by)
    return payout


def payouts_of(household_id: int) -> list[Payout]:
    """A household's payouts, newest first."""
    query = sa.select(Payout).where(Payout.household_id == household_id).order_by(Payout.id.desc())
    return list(db.session.scalars(query))


def payout_for(user: User, payout_id: int) -> Payout | None:
    """A payout of a household this user may see, or None."""
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        return None
    visible_household(user, payout.household_id)
    return payout
