"""Writing and reading the household income ledger.

Entries are written inside the transaction of the sale, intake or refund that
causes them (the caller's `atomic()` block), so a credit exists exactly when
its draw does. The chain has one head: writers take it in turn (PostgreSQL:
a transaction-scoped advisory lock; SQLite: the IMMEDIATE write lock every
transaction already holds), so two sales never fork it.
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa

from shop.extensions import db
from shop.ledger.agreement import draw_disagreement, last_day, line_disagreement, review_disagreement
from shop.ledger.chain import GENESIS, ChainFault, EntryKind, entry_hash, signed_amount, verify_chain
from shop.models import (
    Adjustment,
    AdjustmentStatus,
    Draw,
    DrawReversal,
    Household,
    LedgerEntry,
    Lot,
    MonthReview,
    Payout,
    SaleLine,
    SettlementMode,
    User,
)

#: The advisory lock key that guards the chain's head on PostgreSQL ("bangfu" in ASCII, near enough).
CHAIN_LOCK = 0x62616E67


@dataclass(frozen=True)
class NewEntry:
    """An entry to append: its household, kind, positive amount, day and cause."""

    household: Household
    kind: EntryKind
    amount_fen: int
    entry_date: date
    draw_id: int | None = None
    lot_id: int | None = None
    draw_reversal_id: int | None = None
    payout_id: int | None = None
    adjustment_id: int | None = None


def lock_chain(session) -> None:
    """Take the chain's head for this transaction, so balances read now stay true until commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def balance_of(session, household_id: int) -> int:
    """A household's balance now: all it was credited and adjusted, less reversals and payouts."""
    rows = session.execute(
        sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.household_id == household_id)
        .group_by(LedgerEntry.kind)
    )
    return sum(signed_amount(kind, int(amount)) for kind, amount in rows if amount)


def append(session, entries: list[NewEntry], by: User | None) -> None:
    """Add entries to the end of the chain, within the caller's transaction."""
    by_id = by.id if by else None
    _write(
        session,
        [
            {
                "household_id": new.household.id,
                "kind": new.kind,
                "amount_fen": new.amount_fen,
                "entry_date": new.entry_date,
                "draw_id": new.draw_id,
                "lot_id": new.lot_id,
                "draw_reversal_id": new.draw_reversal_id,
                "payout_id": new.payout_id,
                "adjustment_id": new.adjustment_id,
                "category": new.household.category,
                "monitoring_status": new.household.monitoring_status,
                "created_by_id": by_id,
            }
            for new in entries
        ],
    )


@dataclass(frozen=True)
class DrawCredit:
    """A sale's draw to credit: its id, the amount, and the household's id, category and monitoring status."""

    draw_id: int
    credit_fen: int
    household_id: int
    category: str
    monitoring_status: str | None


def credit_sale(session, credits: Sequence[DrawCredit], on: date, by_id: int | None) -> None:
    """Credit the households their shares of a counter sale's draws, from values the sale already read."""
    _write(
        session,
        [
            {
                "household_id": c.household_id,
                "kind": EntryKind.CREDIT,
                "amount_fen": c.credit_fen,
                "entry_date": on,
                "draw_id": c.draw_id,
                "lot_id": None,
                "draw_reversal_id": None,
                "payout_id": None,
                "adjustment_id": None,
                "category": c.category,
                "monitoring_status": c.monitoring_status,
                "created_by_id": by_id,
            }
            for c in credits
            if c.credit_fen > 0
        ],
    )


#: The chain's head: read once per transaction that appends, with the chain locked.
_HEAD = (
    sa.select(LedgerEntry.__table__.c.seq, LedgerEntry.__table__.c.hash)
    .order_by(LedgerEntry.__table__.c.seq.desc())
    .limit(1)
)


def _write(session, rows: list[dict]) -> None:
    """Chain the rows (fields without seq and hashes) onto the head, read once, and insert them in one statement."""
    if not rows:
        return
    lock_chain(session)  # re-entrant within a transaction
    table, connection = LedgerEntry.__table__, session.connection()
    head = connection.execute(_HEAD).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS)
    for fields in rows:
        seq += 1
        fields["seq"] = seq
        digest = entry_hash(prev_hash, fields)
        fields["prev_hash"], fields["hash"] = prev_hash, digest
        prev_hash = digest
    # A Core insert of every row at once: entries are never read back or changed in the session.
    connection.execute(table.insert(), rows)


def credit_draws(session, draws: list[Draw], on: date, by: User | None) -> None:
    """Credit each household its share of a sale's draws (a purchased lot's draw earns nothing more)."""
    session.flush()  # the draws need their ids to be named as the cause
    entries = [
        NewEntry(
            d.household or session.get(Household, d.household_id), EntryKind.CREDIT, d.credit_fen, on, draw_id=d.id
        )
        for d in draws
        if d.credit_fen > 0
    ]
    append(session, entries, by)


def credit_purchase(session, lot: Lot, on: date, by: User) -> None:
    """Credit a household the agreed price of a lot the counter bought outright."""
    if lot.mode is SettlementMode.PURCHASE and lot.purchase_price_fen:
        session.flush()
        household = session.get(Household, lot.household_id)
        append(session, [NewEntry(household, EntryKind.CREDIT, lot.purchase_price_fen, on, lot_id=lot.id)], by)


def reverse(session, reversals: list[DrawReversal], on: date, by: User | None) -> None:
    """Take back what a refund's reversals undo of each household's credit."""
    session.flush()
    entries = [
        NewEntry(session.get(Household, r.household_id), EntryKind.REVERSAL, r.credit_fen, on, draw_reversal_id=r.id)
        for r in reversals
        if r.credit_fen > 0
    ]
    append(session, entries, by)


@dataclass(frozen=True)
class Statement:
    """A household's ledger entries in a period, with the period's totals and the balance at its end."""

    entries: list[LedgerEntry]
    credited_fen: int
    reversed_fen: int
    paid_out_fen: int
    balance_fen: int
    adjusted_fen: int = 0


def record_payout(session, payout: Payout, by: User) -> None:
    """Enter a payout against its household's balance."""
    session.flush()
    household = session.get(Household, payout.household_id)
    append(session, [NewEntry(household, EntryKind.PAYOUT, payout.amount_fen, payout.paid_on, payout_id=payout.id)], by)


def record_adjustment(session, adjustment: Adjustment, by: User) -> None:
    """Enter an approved adjustment, signed, on the day it belongs to."""
    session.flush()
    household = session.get(Household, adjustment.household_id)
    entry = NewEntry(
        household, EntryKind.ADJUSTMENT, adjustment.amount_fen, adjustment.entry_date, adjustment_id=adjustment.id
    )
    append(session, [entry], by)


def household_ledger(household_id: int, start: date | None, end: date | None) -> Statement:
    """The entries of a household between two days (inclusive), and its balance at the end of the period."""
    where = [LedgerEntry.household_id == household_id]
    if start:
        where.append(LedgerEntry.entry_date >= start)
    if end:
        where.append(LedgerEntry.entry_date <= end)
    entries = list(db.session.scalars(sa.select(LedgerEntry).where(*where).order_by(LedgerEntry.seq)))

    def total(kind):
        return sum(e.amount_fen for e in entries if e.kind is kind)

    upto = [LedgerEntry.household_id == household_id] + ([LedgerEntry.entry_date <= end] if end else [])
    rows = db.session.execute(
        sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen)).where(*upto).group_by(LedgerEntry.kind)
    )
    balance = sum(signed_amount(kind, int(amount)) for kind, amount in rows)
    return Statement(
        entries,
        total(EntryKind.CREDIT),
        total(EntryKind.REVERSAL),
        total(EntryKind.PAYOUT),
        balance,
        total(EntryKind.ADJUSTMENT),
    )


#: Entries read at a time by `verify`: its memory is bounded by this, not by the ledger's length.
VERIFY_CHUNK = 2000


@dataclass(frozen=True)
class _Cause:
    """What an entry may name as its cause: the column, the rows it names and the figures they must agree on."""

    column: str
    name: str
    model: type
    amount: str
    only: tuple = ()

    def figures(self, ids) -> sa.Select:
        """(id, household, amount) of the causes named, among those that may have an entry."""
        query = sa.select(self.model.id, self.model.household_id, getattr(self.model, self.amount))
        return query.where(self.model.id.in_(ids), *self.only)


def _causes() -> tuple[_Cause, ...]:
    """The causes an entry may name, in the order their faults are reported."""
    return (
        _Cause("draw_id", "draw", Draw, "credit_fen"),
        _Cause("draw_reversal_id", "refund reversal", DrawReversal, "credit_fen"),
        # A lot moved from another counter was credited there, as its source: it has no entry of its own.
        _Cause("lot_id", "purchased lot", Lot, "purchase_price_fen", (Lot.source_lot_id.is_(None),)),
        _Cause("payout_id", "payout", Payout, "amount_fen"),
        _Cause(
            "adjustment_id",
            "approved adjustment",
            Adjustment,
            "amount_fen",
            (Adjustment.status == AdjustmentStatus.APPROVED,),
        ),
    )


def verify(session=None) -> tuple[int, ChainFault | None]:
    """Walk the whole chain and cross-check each entry with its cause; return the count and the first fault.

    The chain is read VERIFY_CHUNK entries at a time, and each chunk's causes are fetched by id, so
    memory stays flat however long the ledger grows. A broken chain is reported before any fault
    the cross-check finds, as when the whole chain was checked first. `session` reads another
    database (a backup being checked); the app's by default.
    """
    session = session or db.session
    walk = _Walk(session)
    fault = verify_chain(walk.entries())
    if fault is None:
        fault = walk.cross_fault or _missing_entry(session) or _sale_fault(session) or _review_fault(session)
        return walk.count, fault or _closed_fault(session)
    return session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)), fault


class _Walk:
    """One pass over the chain: its entries for the chain check, each chunk cross-checked on the way."""

    def __init__(self, session):
        self.session, self.count, self.cross_fault = session, 0, None

    def entries(self) -> Iterator[Mapping]:
        causes = _causes()
        repeats = {cause.column: _first_repeat(self.session, cause.column) for cause in causes}
        for chunk in _chunks(self.session):
            if self.cross_fault is None:
                self.cross_fault = _cross_check(self.session, causes, chunk, repeats)
            self.count += len(chunk)
            yield from chunk


def _chunks(session) -> Iterator[list[Mapping]]:
    """The chain in seq order, a chunk at a time (keyset pagination, the same on every database)."""
    table, after = LedgerEntry.__table__, 0
    while chunk := (
        session.execute(sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(VERIFY_CHUNK))
        .mappings()
        .all()
    ):
        yield chunk
        after = chunk[-1]["seq"]


def _first_repeat(session, column: str) -> int | None:
    """The first entry (by seq) naming a cause an earlier entry already named: income counted twice."""
    named = getattr(LedgerEntry, column)
    numbered = (
        sa.select(LedgerEntry.seq, sa.func.row_number().over(partition_by=named, order_by=LedgerEntry.seq).label("n"))
        .where(named.is_not(None))
        .subquery()
    )
    return session.scalar(sa.select(sa.func.min(numbered.c.seq)).where(numbered.c.n > 1))


def _cross_check(session, causes, chunk, repeats) -> ChainFault | None:
    """Each entry of a chunk names exactly one cause, once in the whole ledger, and agrees with it."""
    known = {}
    for cause in causes:
        ids = {row[cause.column] for row in chunk if row[cause.column] is not None}
        known[cause.column] = {r[0]: (r[1], r[2]) for r in session.execute(cause.figures(ids))} if ids else {}
    for row in chunk:
        named = [cause.column for cause in causes if row[cause.column] is not None]
        if len(named) != 1:
            return ChainFault(row["seq"], "it must name exactly one sale, refund, lot, payout or adjustment")
        column = named[0]
        if repeats[column] == row["seq"]:
            return ChainFault(row["seq"], "its cause was already entered: income counted twice")
        if known[column].get(row[column]) != (row["household_id"], row["amount_fen"]):
            return ChainFault(row["seq"], "it does not match the sale, refund, lot, payout or adjustment behind it")
    return None


def _missing_entry(session) -> ChainFault | None:
    """A removed last entry leaves a valid but shorter chain: every cause must still have its entry."""
    entries = LedgerEntry.__table__
    for cause in _causes():
        model, amount = cause.model, getattr(cause.model, cause.amount)
        entered = entries.c[cause.column] == model.id
        missing = session.scalar(
            sa.select(sa.func.min(model.id))
            .select_from(model.__table__.outerjoin(entries, entered))
            .where(amount != 0, entries.c.id.is_(None), *cause.only)
        )
        if missing is not None:
            return ChainFault(0, f"{cause.name} {missing} has no entry in the ledger")
    return None


def _sale_fault(session) -> ChainFault | None:
    """Each sale line against its draws, and each draw against its lot, VERIFY_CHUNK lines at a time.

    An entry agrees with its draw's credit; this makes the draw agree with what was sold: the
    lot's household and terms, its share of its amount, and the line's amount split over its draws.
    """
    lines, after = SaleLine.__table__, 0
    drawn = sa.select(
        Draw.id,
        Draw.sale_line_id,
        Draw.lot_id,
        Draw.household_id,
        Draw.mode,
        Draw.share_bp,
        Draw.quantity,
        Draw.amount_fen,
        Draw.credit_fen,
        Lot.household_id.label("lot_household_id"),
        Lot.mode.label("lot_mode"),
        Lot.share_bp.label("lot_share_bp"),
    ).join(Lot, Lot.id == Draw.lot_id)
    while chunk := (
        session.execute(sa.select(lines).where(lines.c.id > after).order_by(lines.c.id).limit(VERIFY_CHUNK))
        .mappings()
        .all()
    ):
        first, after = chunk[0]["id"], chunk[-1]["id"]
        draws = defaultdict(list)
        span = Draw.sale_line_id.between(first, after)
        for row in session.execute(drawn.where(span).order_by(Draw.sale_line_id, Draw.id)).mappings():
            lot = {"household_id": row["lot_household_id"], "mode": row["lot_mode"], "share_bp": row["lot_share_bp"]}
            if wrong := draw_disagreement(row, lot):
                return ChainFault(
                    0, f"draw {row['id']} (lot {row['lot_id']}, sale line {row['sale_line_id']}): {wrong}"
                )
            draws[row["sale_line_id"]].append(row)
        for line in chunk:
            if wrong := line_disagreement(line, draws.get(line["id"], [])):
                return ChainFault(0, f"sale line {line['id']} (sale {line['sale_id']}): {wrong}")
    return None


def changed_reviews(session, reviews: Sequence) -> set[int]:
    """The ids of those reviews whose month's entries, as they stand, no longer give the digest recorded.

    One query per month and VERIFY_CHUNK households, reading only (household, seq, hash) of the
    entries each review saw, so a page of many households or the whole verify stays bounded.
    """
    changed = set()
    by_month = defaultdict(list)
    for review in reviews:
        by_month[review.month].append(review)
    for month, those in by_month.items():
        for start in range(0, len(those), VERIFY_CHUNK):
            part = those[start : start + VERIFY_CHUNK]
            changed |= _changed_in_month(session, month, part)
    return changed


def _changed_in_month(session, month: date, reviews: Sequence) -> set[int]:
    """changed_reviews for the reviews of one month."""
    households = {r.household_id for r in reviews}
    query = (
        sa.select(LedgerEntry.household_id, LedgerEntry.seq, LedgerEntry.hash)
        .where(
            LedgerEntry.household_id.in_(households),
            LedgerEntry.entry_date >= month,
            LedgerEntry.entry_date <= last_day(month),
            LedgerEntry.seq <= max(r.through_seq for r in reviews),
        )
        .order_by(LedgerEntry.household_id, LedgerEntry.seq)
    )
    # Plain rows through the connection: this runs for every confirmation an overview counts.
    rows = session.connection().execute(query)
    hashes = {h: [(seq, digest) for _h, seq, digest in group] for h, group in groupby(rows, key=itemgetter(0))}
    changed = set()
    for r in reviews:
        seen = {"household_id": r.household_id, "month": r.month, "through_seq": r.through_seq, "digest": r.digest}
        if review_disagreement(seen, hashes.get(r.household_id, [])):
            changed.add(r.id)
    return changed


def _review_fault(session) -> ChainFault | None:
    """Every officer's review against its month as it stands, month by month, VERIFY_CHUNK reviews at a time."""
    months = session.scalars(sa.select(MonthReview.month).distinct().order_by(MonthReview.month)).all()
    columns = (MonthReview.id, MonthReview.household_id, MonthReview.month, MonthReview.through_seq, MonthReview.digest)
    for month in months:
        after = 0
        while chunk := session.execute(
            sa.select(*columns)
            .where(MonthReview.month == month, MonthReview.id > after)
            .order_by(MonthReview.id)
            .limit(VERIFY_CHUNK)
        ).all():
            after = chunk[-1].id
            if changed := changed_reviews(session, chunk):
                review = min(changed)
                household = next(r.household_id for r in chunk if r.id == review)
                code = session.scalar(sa.select(Household.code).where(Household.id == household))
                return ChainFault(
                    0,
                    f"review {review} of household {code} (id {household}) for {month:%Y-%m}: the month's entries "
                    "no longer give the digest recorded when it was reviewed (changed since)",
                )
    return None


def _closed_fault(session) -> ChainFault | None:
    """Every closed household-month recomputed from the ledger (shop.ledger.closed_months)."""
    # Imported here: closed_months takes the chain's lock from this module when it closes.
    from shop.ledger.closed_months import verify_closed

    fault = verify_closed(session)
    return ChainFault(0, str(fault)) if fault else None
