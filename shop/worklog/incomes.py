"""A household's income besides the counter, declared by source at a visit, with how each figure was checked."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import DeclaredIncome, User, Visit
from shop.transaction import atomic
from shop.worklog import access
from shop.worklog.plans import MAX_REASON, check_text
from shop.worklog.rules import EARLIEST, IncomeSource

#: A household's amount for one source and period: ¥10,000,000 is a typing mistake, not a village's income.
MAX_AMOUNT_FEN = 1_000_000_000
#: A declared period covers at most a year (a year and a day, for leap years).
MAX_PERIOD_DAYS = 366
MAX_HOW_CHECKED = 200


class IncomeAlreadyCorrected(Conflict):
    """The declared figure was corrected already: correct its replacement instead."""


@dataclass(frozen=True)
class IncomeLine:
    """One source's amount for a period, as the officer typed it."""

    source: str
    amount_fen: int
    period_start: date
    period_end: date
    how_checked: str


def check_line(line: IncomeLine, today: date) -> IncomeLine:
    """One income line as the rules accept it: a known source, an amount in range, a past period, how it was checked."""
    try:
        source = IncomeSource(line.source)
    except ValueError:
        raise Invalid(_("Choose one of the sources of income offered."), "source") from None
    amount = line.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT_FEN:
        raise Invalid(_("An amount is from ¥0 to ¥10,000,000."), "amount_fen")
    if line.period_start < EARLIEST or line.period_end < line.period_start:
        raise Invalid(_("The period ends on or after the day it starts."), "period_end")
    if line.period_end > today:
        raise Invalid(_("Declare income for a period that has ended, up to today."), "period_end")
    if line.period_end - line.period_start >= timedelta(days=MAX_PERIOD_DAYS):
        raise Invalid(_("A period is at most a year."), "period_start")
    how = check_text(line.how_checked, "how_checked", MAX_HOW_CHECKED, lines=False)
    return IncomeLine(source, amount, line.period_start, line.period_end, how)


def check_lines(lines: list[IncomeLine], today: date, where: str = "") -> list[IncomeLine]:
    """Every line checked; a refused line's field is named with its place (income.1.amount_fen)."""
    checked = []
    for n, line in enumerate(lines):
        try:
            checked.append(check_line(line, today))
        except Invalid as refused:
            if not where:
                raise
            raise Invalid(refused.message, f"{where}.{n}.{refused.field}") from None
    return checked


def rows_for(household_id: int, lines: list[IncomeLine], *, by: User, visit_id: int | None) -> list[DeclaredIncome]:
    """The declared-income rows for checked lines, not yet added to a session."""
    return [_row(household_id, line, by, visit_id) for line in lines]


def _row(household_id: int, line: IncomeLine, by: User, visit_id: int | None) -> DeclaredIncome:
    return DeclaredIncome(
        household_id=household_id,
        visit_id=visit_id,
        source=line.source,
        amount_fen=line.amount_fen,
        period_start=line.period_start,
        period_end=line.period_end,
        how_checked=line.how_checked,
        recorded_by_id=by.id,
        recorded_at=now_utc(),
    )


def declare_income(
    household_id: int, lines: list[IncomeLine], *, by: User, visit_id: int | None = None
) -> list[DeclaredIncome]:
    """Use case: record a household's income by source (and deductible expenses), all or nothing."""
    if not lines:
        raise Invalid(_("Give at least one source of income."), "lines")
    today = business_today()
    checked = check_lines(lines, today)
    with atomic() as session:
        household = access.writable(session, by, household_id)
        if visit_id is not None:
            visit = session.get(Visit, visit_id)
            if visit is None or visit.household_id != household.id:
                raise NotFound(_("No visit has id %(id)s.", id=visit_id), "visit_id")
        rows = [_row(household.id, line, by, visit_id) for line in checked]
        session.add_all(rows)
        session.flush()
    return rows


def correct_income(income_id: int, line: IncomeLine, *, reason: str, by: User) -> DeclaredIncome:
    """Use case: replace a declared figure with a corrected one that names it and says why."""
    checked = check_line(line, business_today())
    with atomic() as session:
        old = session.get(DeclaredIncome, income_id)
        if old is None:
            raise NotFound(_("No declared income has id %(id)s.", id=income_id))
        try:
            household = access.writable(session, by, old.household_id)
        except NotFound:
            raise NotFound(_("No declared income has id %(id)s.", id=income_id)) from None
        if session.scalar(sa.select(DeclaredIncome.id).where(DeclaredIncome.corrects_id == old.id)) is not None:
            raise IncomeAlreadyCorrected(_("This figure was corrected already: correct the newer one."), "reason")
        row = _row(household.id, checked, by, old.visit_id)
        row.corrects_id = old.id
        row.correction_reason = check_text(reason, "reason", MAX_REASON, lines=True)
        session.add(row)
        session.flush()
    return row


def declared_of(household_id: int) -> list[tuple[DeclaredIncome, int | None]]:
    """A household's declared figures, the latest period first, each with the id of the figure that corrected it."""
    rows = db.session.scalars(
        sa.select(DeclaredIncome)
        .where(DeclaredIncome.household_id == household_id)
        .options(selectinload(DeclaredIncome.recorded_by))
        .order_by(DeclaredIncome.period_end.desc(), DeclaredIncome.id.desc())
    ).all()
    replaced = {r.corrects_id: r.id for r in rows if r.corrects_id is not None}
    return [(r, replaced.get(r.id)) for r in rows]


def standing_figures(household_id: int) -> list[DeclaredIncome]:
    """The declared figures that still count: those no correction replaced."""
    return [row for row, corrected_by in declared_of(household_id) if corrected_by is None]
