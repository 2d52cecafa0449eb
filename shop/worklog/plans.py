"""A household's plan (一户一策): measures added, ticked off (销号) and corrected, never edited or deleted."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import Measure, MeasureDone, User
from shop.oversight.income import income_entries
from shop.plain_text import is_one_line, is_plain_lines
from shop.transaction import atomic
from shop.worklog import access
from shop.worklog.rules import DateRefused, MeasureKind, check_due_on, check_happened_on, is_late

MAX_TITLE = 200
MAX_EVIDENCE = 1000
MAX_REASON = 500


class MeasureAlreadyDone(Conflict):
    """The measure was ticked off already: a second tick-off would count it twice."""


class MeasureAlreadyCorrected(Conflict):
    """The measure was corrected already: correct its replacement instead."""


def date_refusal(refused: DateRefused, field: str) -> Invalid:
    """The message for a typed date the work ledger refuses, naming the field."""
    messages = {
        DateRefused.FUTURE: _("This date is in the future: record what has happened."),
        DateRefused.PAST: _("A deadline cannot be in the past."),
        DateRefused.TOO_FAR: _("A deadline is at most five years ahead."),
        DateRefused.TOO_OLD: _("This date is too long ago to be meant."),
    }
    return Invalid(messages[refused.reason], field)


def check_text(text: str, field: str, limit: int, *, lines: bool) -> str:
    """Required text of at most `limit` characters, one line or several, without control characters."""
    text = (text or "").strip()
    plain = is_plain_lines(text) if lines else is_one_line(text)
    if not text or len(text) > limit or not plain:
        raise Invalid(_("Write 1 to %(n)d characters, without control characters.", n=limit), field)
    return text


def _kind(kind) -> MeasureKind:
    try:
        return MeasureKind(kind)
    except ValueError:
        raise Invalid(_("Choose one of the kinds of measure offered."), "kind") from None


def _new_measure(session, household, by: User, kind, title: str, due_on: date, sells_through_counter: bool) -> Measure:
    today = business_today()
    try:
        due_on = check_due_on(due_on, today)
    except DateRefused as refused:
        raise date_refusal(refused, "due_on") from None
    kind = _kind(kind)
    measure = Measure(
        household_id=household.id,
        kind=kind,
        title=check_text(title, "title", MAX_TITLE, lines=False),
        starts_on=today,
        due_on=due_on,
        sells_through_counter=bool(sells_through_counter) and kind is MeasureKind.INDUSTRY,
        recorded_by_id=by.id,
        recorded_at=now_utc(),
    )
    session.add(measure)
    return measure


def add_measure(
    household_id: int, *, kind, title: str, due_on: date, by: User, sells_through_counter: bool = False
) -> Measure:
    """Use case: the household's officer (or the manager) adds a measure to its plan."""
    with atomic() as session:
        household = access.writable(session, by, household_id)
        measure = _new_measure(session, household, by, kind, title, due_on, sells_through_counter)
        session.flush()
    return measure


def _measure_for(session, measure_id: int, user: User, check) -> Measure:
    measure = session.get(Measure, measure_id)
    if measure is None:
        raise NotFound(_("No measure has id %(id)s.", id=measure_id))
    try:
        check(session, user, measure.household_id)
    except NotFound:
        raise NotFound(_("No measure has id %(id)s.", id=measure_id)) from None
    return measure


def _measure_for_writing(session, measure_id: int, by: User) -> Measure:
    return _measure_for(session, measure_id, by, access.writable)


def readable_measure(user: User, measure_id: int) -> Measure:
    """A measure of a household whose work ledger the user may read; another's is "not found"."""
    return _measure_for(db.session, measure_id, user, access.readable)


def _superseded(session, measure_id: int) -> bool:
    return session.scalar(sa.select(Measure.id).where(Measure.corrects_id == measure_id)) is not None


def tick_off(measure_id: int, *, done_on: date, evidence: str, by: User) -> MeasureDone:
    """Use case: tick a measure off (销号) with the day it was done and the evidence; once only."""
    with atomic() as session:
        measure = _measure_for_writing(session, measure_id, by)
        if measure.done is not None:
            raise MeasureAlreadyDone(_("This measure was ticked off on %(day)s.", day=measure.done.done_on), "done_on")
        if _superseded(session, measure.id):
            raise MeasureAlreadyCorrected(_("This measure was corrected: tick off the corrected one."), "done_on")
        today = business_today()
        try:
            done_on = check_happened_on(done_on, today)
        except DateRefused as refused:
            raise date_refusal(refused, "done_on") from None
        done = MeasureDone(
            measure=measure,
            done_on=done_on,
            evidence=check_text(evidence, "evidence", MAX_EVIDENCE, lines=True),
            late=is_late(done_on, today),
            recorded_by_id=by.id,
            recorded_at=now_utc(),
        )
        session.add(done)
        session.flush()
    return done


def correct_measure(
    measure_id: int, *, kind, title: str, due_on: date, reason: str, by: User, sells_through_counter: bool = False
) -> Measure:
    """Use case: replace a measure with a corrected one that names it and says why; the old one stops counting.

    A measure ticked off by mistake is corrected too: its replacement is open again.
    """
    with atomic() as session:
        old = _measure_for_writing(session, measure_id, by)
        if _superseded(session, old.id):
            raise MeasureAlreadyCorrected(_("This measure was corrected already: correct the newer one."), "reason")
        reason = check_text(reason, "reason", MAX_REASON, lines=True)
        measure = _new_measure(session, old.household, by, kind, title, due_on, sells_through_counter)
        measure.corrects_id = old.id
        measure.correction_reason = reason
        session.flush()
    return measure


@dataclass(frozen=True)
class MeasureView:
    """A measure as pages and the API show it, with what it stands for now."""

    measure: Measure
    #: The newer measure that replaced it, when it was corrected.
    corrected_by: int | None
    #: For a measure about selling through the counter: the household's net credits over its period.
    counter_fen: int | None

    @property
    def status(self) -> str:
        """ "done", "open", or "corrected" (replaced, no longer counted)."""
        if self.corrected_by is not None:
            return "corrected"
        return "done" if self.measure.done is not None else "open"

    def overdue(self, today: date) -> bool:
        """Open and past its deadline."""
        return self.status == "open" and self.measure.due_on < today


def counter_credits(household_id: int, start: date, end: date) -> int:
    """The household's net income from the counter between two days, read from the ledger."""
    return sum(fen for _day, fen in income_entries(household_id, start, end))


def measures_of(household_id: int, today: date) -> list[MeasureView]:
    """A household's measures, the newest first, each with its status and counter evidence."""
    measures = db.session.scalars(
        sa.select(Measure)
        .where(Measure.household_id == household_id)
        .options(selectinload(Measure.done), selectinload(Measure.recorded_by))
        .order_by(Measure.id.desc())
    ).all()
    replaced = {m.corrects_id: m.id for m in measures if m.corrects_id is not None}
    views = []
    for m in measures:
        fen = None
        if m.sells_through_counter:
            fen = counter_credits(household_id, m.starts_on, m.done.done_on if m.done else today)
        views.append(MeasureView(m, replaced.get(m.id), fen))
    return views


def household_of(user: User, model, record_id: int):
    """The household a measure, visit or declared figure belongs to, if the user may read its work ledger.

    Another's record is "not found", as its household is, so ids reveal nothing.
    """
    record = db.session.get(model, record_id)
    if record is None:
        raise NotFound(_("No record has id %(id)s.", id=record_id))
    try:
        return access.readable(db.session, user, record.household_id)
    except NotFound:
        raise NotFound(_("No record has id %(id)s.", id=record_id)) from None
