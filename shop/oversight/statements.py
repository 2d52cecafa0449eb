"""A household's month as its statement shows it: every entry with its cause, the totals and the balances.

The officer's page, the PDF statement and the public verification page all
read this one account of the month, so they cannot disagree.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from shop.extensions import db
from shop.ledger.agreement import DIGEST_LENGTH as DIGEST_LENGTH  # printed statements name it here
from shop.ledger.agreement import month_digest, review_disagreement
from shop.ledger.chain import INCOME_KINDS, EntryKind, signed_amount
from shop.models import (
    Adjustment,
    Draw,
    DrawReversal,
    Household,
    LedgerEntry,
    Lot,
    MonthReview,
    Payout,
    RefundLine,
    ReviewOutcome,
    SaleLine,
)
from shop.oversight.monitoring import add_months, month_end, per_capita


@dataclass(frozen=True)
class Cause:
    """What an entry came from, for the trail: a sale's draw, a refund, a purchased lot, a payout or a correction."""

    sale_id: int | None = None
    refund_id: int | None = None
    lot: Lot | None = None
    product_name: str = ""
    quantity: int | None = None
    unit: object = None
    payout: Payout | None = None
    adjustment: Adjustment | None = None


@dataclass(frozen=True)
class Line:
    """One entry of the month with its signed effect, the balance after it and its cause."""

    entry: LedgerEntry
    signed_fen: int
    balance_fen: int
    cause: Cause
    #: Written after the officer confirmed the month: shown as an amendment, never folded in silently.
    amendment: bool


@dataclass(frozen=True)
class MonthStatement:
    """A household's month: opening balance, lines, totals, closing balance, income per person."""

    household: Household
    month: date
    opening_balance_fen: int
    lines: list[Line]
    credited_fen: int
    reversed_fen: int
    adjusted_fen: int
    paid_out_fen: int
    closing_balance_fen: int
    income_fen: int
    per_capita_fen: int
    digest: str
    review: MonthReview | None

    @property
    def amendments(self) -> list[Line]:
        """Lines written into the month after it was confirmed."""
        return [line for line in self.lines if line.amendment]

    def changed(self, review: MonthReview | None) -> bool:
        """Whether the entries a confirmation saw were rewritten since: they no longer give its digest."""
        if review is None or review.outcome is not ReviewOutcome.CONFIRMED:
            return False
        entries = sorted((line.entry for line in self.lines), key=lambda e: e.seq)
        seen = {"household_id": review.household_id, "month": review.month}
        seen |= {"through_seq": review.through_seq, "digest": review.digest}
        return review_disagreement(seen, ((e.seq, e.hash) for e in entries)) is not None

    @property
    def changed_since_confirmed(self) -> bool:
        """Whether the confirmation that stands saw entries that have been rewritten since."""
        return self.changed(self.review)

    @property
    def confirmed_as_shown(self) -> bool:
        """Whether the review that stands confirms this very statement (no entry came or went since)."""
        review = self.review
        return review is not None and review.outcome is ReviewOutcome.CONFIRMED and review.digest == self.digest


def month_statement(household: Household, month: date) -> MonthStatement:
    """Assemble a household's statement for the month starting on `month`."""
    return month_statements([household], month)[0]


def month_statements(households: Sequence[Household], month: date) -> list[MonthStatement]:
    """The month's statements of several households, read in one query per kind of row, not one per household."""
    ids = [household.id for household in households]
    entries = entries_by_household(ids, month)
    reviews = latest_reviews(ids, month)
    openings = balances_before(ids, month)
    causes = causes_of([entry for household_entries in entries.values() for entry in household_entries])
    return [
        _statement(household, month, entries.get(household.id, []), reviews.get(household.id), openings, causes)
        for household in households
    ]


def _statement(
    household: Household,
    month: date,
    entries: list[LedgerEntry],
    review: MonthReview | None,
    openings: dict[int, int],
    causes: dict[int, Cause],
) -> MonthStatement:
    """One household's statement from the rows read for its batch."""
    reviewed_through = review.through_seq if review and review.outcome is ReviewOutcome.CONFIRMED else None
    opening = openings.get(household.id, 0)
    lines, balance = [], opening
    for entry in sorted(entries, key=lambda e: (e.entry_date, e.seq)):
        signed = signed_amount(entry.kind, entry.amount_fen)
        balance += signed
        amended = reviewed_through is not None and entry.seq > reviewed_through
        lines.append(Line(entry, signed, balance, causes.get(entry.id, Cause()), amended))

    def total(kind):
        return sum(e.amount_fen for e in entries if e.kind is kind)

    income = sum(signed_amount(e.kind, e.amount_fen) for e in entries if e.kind in INCOME_KINDS)
    return MonthStatement(
        household=household,
        month=month,
        opening_balance_fen=opening,
        lines=lines,
        credited_fen=total(EntryKind.CREDIT),
        reversed_fen=total(EntryKind.REVERSAL),
        adjusted_fen=total(EntryKind.ADJUSTMENT),
        paid_out_fen=total(EntryKind.PAYOUT),
        closing_balance_fen=balance,
        income_fen=income,
        per_capita_fen=per_capita(income, household.members),
        digest=digest_of(household.id, month, [e.hash for e in sorted(entries, key=lambda e: e.seq)]),
        review=review,
    )


def entries_by_household(household_ids: Sequence[int], month: date) -> dict[int, list[LedgerEntry]]:
    """The households' entries dated in the month, each household's in chain order, in one query."""
    query = (
        sa.select(LedgerEntry)
        .where(
            LedgerEntry.household_id.in_(household_ids),
            LedgerEntry.entry_date >= month,
            LedgerEntry.entry_date <= month_end(month),
        )
        .order_by(LedgerEntry.seq)
    )
    found: dict[int, list[LedgerEntry]] = {}
    for entry in db.session.scalars(query):
        found.setdefault(entry.household_id, []).append(entry)
    return found


def balances_before(household_ids: Sequence[int], day: date) -> dict[int, int]:
    """Each household's balance at the start of a day, in one grouped query (absent: no entry before it)."""
    rows = db.session.execute(
        sa.select(LedgerEntry.household_id, LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.household_id.in_(household_ids), LedgerEntry.entry_date < day)
        .group_by(LedgerEntry.household_id, LedgerEntry.kind)
    )
    balances: dict[int, int] = {}
    for household_id, kind, amount in rows:
        if amount:
            balances[household_id] = balances.get(household_id, 0) + signed_amount(kind, int(amount))
    return balances


def latest_reviews(household_ids: Sequence[int], month: date) -> dict[int, MonthReview]:
    """The review of the month that stands for each household that has one: its latest."""
    query = (
        sa.select(MonthReview)
        .where(MonthReview.household_id.in_(household_ids), MonthReview.month == month)
        .order_by(MonthReview.id)
    )
    return {review.household_id: review for review in db.session.scalars(query)}


def digest_of(household_id: int, month: date, hashes: list[str]) -> str:
    """A short fingerprint of the month's entries, printed on the statement and checked by its QR link."""
    return month_digest(household_id, month, hashes)


def causes_of(entries: list[LedgerEntry]) -> dict[int, Cause]:
    """Each entry's cause, loaded in one query per kind of cause rather than one per entry."""
    causes = {}
    by_draw = {e.draw_id: e.id for e in entries if e.draw_id}
    if by_draw:
        draws = db.session.scalars(
            sa.select(Draw)
            .where(Draw.id.in_(by_draw))
            .options(joinedload(Draw.line), joinedload(Draw.lot).joinedload(Lot.product))
        )
        for d in draws:
            line = d.line
            causes[by_draw[d.id]] = Cause(
                sale_id=line.sale_id, lot=d.lot, product_name=line.product_name, quantity=d.quantity, unit=line.unit
            )
    by_reversal = {e.draw_reversal_id: e.id for e in entries if e.draw_reversal_id}
    if by_reversal:
        reversals = db.session.scalars(
            sa.select(DrawReversal)
            .where(DrawReversal.id.in_(by_reversal))
            .options(
                joinedload(DrawReversal.refund_line).joinedload(RefundLine.refund),
                joinedload(DrawReversal.draw).joinedload(Draw.line),
                joinedload(DrawReversal.draw).joinedload(Draw.lot),
            )
        )
        for r in reversals:
            line: SaleLine = r.draw.line
            causes[by_reversal[r.id]] = Cause(
                sale_id=line.sale_id,
                refund_id=r.refund_line.refund_id,
                lot=r.draw.lot,
                product_name=line.product_name,
                quantity=r.quantity,
                unit=line.unit,
            )
    by_lot = {e.lot_id: e.id for e in entries if e.lot_id}
    if by_lot:
        for lot in db.session.scalars(sa.select(Lot).where(Lot.id.in_(by_lot)).options(joinedload(Lot.product))):
            causes[by_lot[lot.id]] = Cause(
                lot=lot, product_name=lot.product.name_zh, quantity=lot.qty_received, unit=lot.product.unit
            )
    by_payout = {e.payout_id: e.id for e in entries if e.payout_id}
    if by_payout:
        for payout in db.session.scalars(sa.select(Payout).where(Payout.id.in_(by_payout))):
            causes[by_payout[payout.id]] = Cause(payout=payout)
    by_adjustment = {e.adjustment_id: e.id for e in entries if e.adjustment_id}
    if by_adjustment:
        for adjustment in db.session.scalars(sa.select(Adjustment).where(Adjustment.id.in_(by_adjustment))):
            causes[by_adjustment[adjustment.id]] = Cause(adjustment=adjustment)
    return causes


def households_with_activity(month: date) -> list[int]:
    """Ids of the households with at least one entry dated in the month."""
    query = (
        sa.select(LedgerEntry.household_id)
        .where(LedgerEntry.entry_date >= month, LedgerEntry.entry_date < add_months(month, 1))
        .distinct()
        .order_by(LedgerEntry.household_id)
    )
    return list(db.session.scalars(query))
