"""Months closed once a month: each household's month summed from the ledger, so a year reads twelve rows.

`flask ledger close-month [YYYY-MM]` (from cron, once a month is over) closes every month up to
the one named, for the whole county: it sums each household's entries dated in those months,
up to the chain's head, into ClosedHouseholdMonth rows under one LedgerClosing. Entries can
still arrive for a closed month afterwards (a till's offline sale synced late, a correction
dated back), so a closed month is its rows plus the entries dated in it with a seq above the
latest closing's `through_seq`; the next closing sums those into new rows of the month. Rows
are only added (triggers refuse UPDATE and DELETE), and `verify_closed` recomputes every closed
household-month from the ledger, naming any that disagree.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from shop.clock import business_today
from shop.errors import Invalid
from shop.extensions import db
from shop.ledger import entries
from shop.ledger.agreement import last_day
from shop.ledger.chain import INCOME_KINDS, EntryKind
from shop.models import ClosedHouseholdMonth, Household, LedgerClosing, LedgerEntry, User
from shop.transaction import atomic


class MonthNotOver(Invalid):
    """A month is closed once it is over: its last business day has passed."""

    code = "month_not_over"


@dataclass(frozen=True)
class Closed:
    """Where the closed months stand: every month up to `month` is summed through entry `through_seq`.

    Readers take the rows of closings up to `id` only: a closing committed while they read would
    otherwise be counted twice, in its rows and in the entries read past the closing they started from.
    """

    id: int
    month: date
    through_seq: int


def latest() -> Closed | None:
    """The latest closing, or None when no month was ever closed."""
    row = db.session.execute(
        sa.select(LedgerClosing.id, LedgerClosing.month, LedgerClosing.through_seq)
        .order_by(LedgerClosing.id.desc())
        .limit(1)
    ).first()
    return Closed(row.id, row.month, row.through_seq) if row else None


def month_of(column, dialect: str):
    """The first day of a date column's month, as each database writes it (a date on both)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("month", column), sa.Date)
    return sa.type_coerce(sa.func.strftime("%Y-%m-01", column), sa.Date)


def _sums(where: list, dialect: str) -> sa.Select:
    """Per household and month, over the entries `where` picks: the sums a closed household-month keeps."""
    kind, fen = LedgerEntry.kind, LedgerEntry.amount_fen

    def total(k: EntryKind):
        return sa.func.coalesce(sa.func.sum(sa.case((kind == k, fen), else_=0)), 0)

    month = month_of(LedgerEntry.entry_date, dialect)
    return (
        sa.select(
            LedgerEntry.household_id.label("household_id"),
            month.label("month"),
            total(EntryKind.CREDIT).label("credited_fen"),
            total(EntryKind.REVERSAL).label("reversed_fen"),
            total(EntryKind.ADJUSTMENT).label("adjusted_fen"),
            total(EntryKind.PAYOUT).label("paid_out_fen"),
            sa.func.count().label("entries"),
            sa.func.coalesce(sa.func.sum(sa.case((kind.in_(INCOME_KINDS), 1), else_=0)), 0).label("income_entries"),
            sa.func.max(LedgerEntry.seq).label("last_seq"),
        )
        .where(*where)
        .group_by(LedgerEntry.household_id, month)
    )


def _row(r, closing_id: int) -> dict:
    """A closed household-month to insert, from a labelled row of `_sums`."""
    credited, reversed_, adjusted = int(r.credited_fen), int(r.reversed_fen), int(r.adjusted_fen)
    return {
        "closing_id": closing_id,
        "household_id": r.household_id,
        "month": r.month,
        "credited_fen": credited,
        "reversed_fen": reversed_,
        "adjusted_fen": adjusted,
        "paid_out_fen": int(r.paid_out_fen),
        "income_fen": credited - reversed_ + adjusted,
        "entries": int(r.entries),
        "income_entries": int(r.income_entries),
        "last_seq": int(r.last_seq),
    }


def close_months(month: date, by: User | None = None) -> LedgerClosing | None:
    """Close every month up to `month` for the whole county; None when there is nothing new to sum.

    Run again, it adds only what entries were written into closed months since, so it is safe from
    cron and safe twice: with nothing new it writes nothing.
    """
    month = month.replace(day=1)
    if last_day(month) >= business_today():
        raise MonthNotOver(_("A month is closed once it is over."), "month")
    with atomic() as session:
        # Hold the chain's head: no entry may land between reading the head and summing up to it.
        entries.lock_chain(session)
        before = latest()
        head = session.scalar(sa.select(sa.func.max(LedgerEntry.seq))) or 0
        through = max(month, before.month) if before else month
        if before and head == before.through_seq and through == before.month:
            return None
        # New months: every entry up to the head; months closed before: only the entries written since.
        where = [LedgerEntry.entry_date <= last_day(through), LedgerEntry.seq <= head]
        if before:
            where.append(sa.or_(LedgerEntry.entry_date > last_day(before.month), LedgerEntry.seq > before.through_seq))
        rows = session.execute(_sums(where, session.get_bind().dialect.name)).all()
        if before and not rows and through == before.month:
            return None
        closing = LedgerClosing(month=through, through_seq=head, closed_by_id=by.id if by else None)
        session.add(closing)
        session.flush()
        if rows:
            session.execute(sa.insert(ClosedHouseholdMonth), [_row(r, closing.id) for r in rows])
    return closing


# ---------------------------------------------------------------- reading them


def unindexed(column):
    """A column SQLite will not look rows up by (COALESCE of it: the same value), so it takes the seq index.

    The entries written since the latest closing are few and lie at the end of the seq index;
    told of a date range or a list of households too, SQLite's planner ranges over those instead.
    PostgreSQL's statistics choose well by themselves: it gets the column as it is.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.type_coerce(sa.func.coalesce(column, column), column.type)
    return column


def closed_income(closed: Closed, start: date, end: date, scope=None) -> Iterator[tuple[int, date, int]]:
    """(household, month, net income) of the closed household-months from start to before end with income entries.

    As summed by the closings up to `closed`; `scope` is a subquery of household ids to keep, or None for all.
    """
    row = ClosedHouseholdMonth
    query = (
        sa.select(row.household_id, row.month, sa.func.sum(row.income_fen))
        .where(row.month >= start, row.month < end, row.closing_id <= closed.id)
        .group_by(row.household_id, row.month)
        .having(sa.func.sum(row.income_entries) > 0)
    )
    if scope is not None:
        query = query.where(row.household_id.in_(scope))
    # Plain rows through the connection: a county's year is some 30,000 of them.
    yield from db.session.connection().execute(query).all()


def closed_activity(closed: Closed, ids, month: date) -> dict[int, tuple[int, int]]:
    """(entries, last seq) of each of these households' closed month, as the closings up to `closed` summed them."""
    row = ClosedHouseholdMonth
    query = (
        sa.select(row.household_id, sa.func.sum(row.entries), sa.func.max(row.last_seq))
        .where(row.month == month, row.household_id.in_(ids), row.closing_id <= closed.id)
        .group_by(row.household_id)
    )
    return {household: (int(count), int(last)) for household, count, last in db.session.execute(query)}


# ---------------------------------------------------------------- checking them


@dataclass(frozen=True)
class ClosedFault:
    """A closed household-month that no longer agrees with the ledger (or a closing that cannot be)."""

    household_id: int | None
    month: date | None
    reason: str

    def __str__(self) -> str:
        if self.household_id is None:
            return self.reason
        return f"household {self.household_id}'s closed month {self.month:%Y-%m}: {self.reason}"


#: The figures a month's rows must add up to, in the order `_sums` labels them.
FIGURES = ("credited_fen", "reversed_fen", "adjusted_fen", "paid_out_fen", "entries", "income_entries", "last_seq")


def verify_closed(session=None) -> ClosedFault | None:
    """Recompute every closed household-month from the ledger, month by month; the first that disagrees.

    A month's rows, added up over its closings (last_seq: the highest), must equal its entries up
    to the latest closing's through_seq, figure by figure; each row's income must be its credits
    less reversals plus adjustments; the closings must only move forward.
    """
    session = session or db.session
    closings = session.execute(
        sa.select(LedgerClosing.id, LedgerClosing.month, LedgerClosing.through_seq).order_by(LedgerClosing.id)
    ).all()
    if not closings:
        return None
    for earlier, later in zip(closings, closings[1:], strict=False):
        if later.month < earlier.month or later.through_seq < earlier.through_seq:
            return ClosedFault(None, None, f"closing {later.id} goes back behind closing {earlier.id}")
    head = session.scalar(sa.select(sa.func.max(LedgerEntry.seq))) or 0
    last = closings[-1]
    if last.through_seq > head:
        return ClosedFault(None, None, f"closing {last.id} sums entries up to {last.through_seq}, beyond the ledger")
    row = ClosedHouseholdMonth
    known = {c.id for c in closings}
    stray = session.scalar(
        sa.select(row.id).where(sa.or_(row.month > last.month, row.closing_id.not_in(known))).limit(1)
    )
    if stray is not None:
        return ClosedFault(None, None, f"closed household-month row {stray} is for a month no closing closed")
    inconsistent = session.execute(
        sa.select(row.household_id, row.month)
        .where(row.income_fen != row.credited_fen - row.reversed_fen + row.adjusted_fen)
        .limit(1)
    ).first()
    if inconsistent is not None:
        return ClosedFault(*inconsistent, "its net income is not its credits less reversals plus corrections")
    dialect = session.get_bind().dialect.name
    months = session.scalars(sa.select(row.month).distinct().order_by(row.month)).all()
    first = session.scalar(sa.select(sa.func.min(LedgerEntry.entry_date)).where(LedgerEntry.seq <= last.through_seq))
    if first is not None:
        # A month with entries but no rows (rows removed before the triggers were in place) is caught too.
        months = sorted(set(months) | set(_months_between(first.replace(day=1), last.month)))
    for month in months:
        if fault := _month_fault(session, month, last.through_seq, dialect):
            return fault
    return None


def _months_between(first: date, last: date) -> Iterator[date]:
    """Every month from first to last, both included."""
    month = first
    while month <= last:
        yield month
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_fault(session, month: date, through_seq: int, dialect: str) -> ClosedFault | None:
    """One closed month: its rows per household against its entries up to through_seq."""
    where = [LedgerEntry.entry_date >= month, LedgerEntry.entry_date <= last_day(month), LedgerEntry.seq <= through_seq]
    found = session.execute(_sums(where, dialect))
    ledger = {r.household_id: tuple(int(getattr(r, f)) for f in FIGURES) for r in found}
    row = ClosedHouseholdMonth
    kept = defaultdict(lambda: [0] * len(FIGURES))
    summed = sa.select(row.household_id, *(getattr(row, f) for f in FIGURES)).where(row.month == month)
    for household_id, *figures in session.execute(summed):
        total = kept[household_id]
        for i, value in enumerate(figures):
            total[i] = max(total[i], int(value)) if FIGURES[i] == "last_seq" else total[i] + int(value)
    for household_id in sorted(set(ledger) | set(kept)):
        if tuple(kept.get(household_id, ())) != ledger.get(household_id, ()):
            code = session.scalar(sa.select(Household.code).where(Household.id == household_id))
            return ClosedFault(
                household_id,
                month,
                f"({code}) its closed figures {tuple(kept.get(household_id, ()))} are not its entries' "
                f"{ledger.get(household_id, ())}",
            )
    return None
