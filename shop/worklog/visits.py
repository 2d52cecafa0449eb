"""Visits to households (走访, 回访): recorded once each, marked late when typed in long after, and scheduled."""

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import DeclaredIncome, Household, HouseholdStatus, Role, User, Village, Visit
from shop.transaction import atomic
from shop.villages.households import search_visible, visible_to
from shop.worklog import access, incomes
from shop.worklog.incomes import IncomeLine
from shop.worklog.plans import MAX_REASON, check_text, date_refusal
from shop.worklog.rules import Cadence, DateRefused, VisitKind, check_happened_on, is_late, next_visit_due, visit_every

MAX_FINDINGS = 2000
#: The income lines one visit may declare: every source once, with room for a second period.
MAX_INCOME_LINES = 20
#: A phone's record key: what its queue makes (a UUID), or anything of the same shape.
RECORD_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")


#: The visit form lists every household of the writer's when there are at most this many; beyond, it searches.
FORM_LIST_LIMIT = 300


@dataclass(frozen=True)
class FormChoice:
    """The households the visit form offers, and whether the writer must search for the one they want."""

    households: list[Household]
    searching: bool
    chosen_id: int | None


def households_for_form(user: User, typed: str, chosen_id: int | None) -> FormChoice:
    """An officer's own households (all of them); for the manager, all when few, else those a search finds."""
    query = visible_to(user).options(joinedload(Household.village).joinedload(Village.town)).order_by(Household.code)
    total = db.session.scalar(visible_to(user).with_only_columns(sa.func.count(Household.id)).order_by(None))
    searching = user.role is not Role.OFFICER and total > FORM_LIST_LIMIT
    if not searching:
        found = list(db.session.scalars(query).unique())
    else:
        found = search_visible(user, typed)
        if chosen_id is not None and all(h.id != chosen_id for h in found):
            found += list(db.session.scalars(query.where(Household.id == chosen_id)).unique())
    shown = chosen_id if any(h.id == chosen_id for h in found) else None
    return FormChoice(found, searching, shown)


class VisitKeyReused(Conflict):
    """A record key the phone already used for a different visit."""


class VisitAlreadyCorrected(Conflict):
    """The visit was corrected already: correct its replacement instead."""


@dataclass(frozen=True)
class VisitRequest:
    """A visit as the officer typed it."""

    visited_on: date
    kind: str
    findings: str
    risk_found: bool
    #: The key the phone's queue gave it, so a record sent twice is kept once.
    client_key: str | None = None
    #: The phone's clock when it was typed.
    device_recorded_at: datetime | None = None
    #: The household's income by source as declared at this visit: written with it, all or nothing.
    income: tuple[IncomeLine, ...] = ()


def _checked(request: VisitRequest) -> VisitRequest:
    try:
        check_happened_on(request.visited_on, business_today())
    except DateRefused as refused:
        raise date_refusal(refused, "visited_on") from None
    try:
        kind = VisitKind(request.kind)
    except ValueError:
        raise Invalid(_("A visit is at home or by phone."), "kind") from None
    key = (request.client_key or "").strip() or None
    if key is not None and not RECORD_KEY.fullmatch(key):
        raise Invalid(_("A record key is 8 to 64 letters, digits and . _ : -"), "client_key")
    if not isinstance(request.risk_found, bool):
        raise Invalid(_("Say whether a risk was found."), "risk_found")
    findings = check_text(request.findings, "findings", MAX_FINDINGS, lines=True)
    if len(request.income) > MAX_INCOME_LINES:
        raise Invalid(_("At most %(n)d income lines at one visit.", n=MAX_INCOME_LINES), "income")
    income = tuple(incomes.check_lines(list(request.income), business_today(), "income"))
    return VisitRequest(request.visited_on, kind, findings, request.risk_found, key, request.device_recorded_at, income)


def _income_key(line: IncomeLine) -> tuple:
    return (str(line.source), line.amount_fen, line.period_start, line.period_end, line.how_checked)


def _same_income(visit: Visit, request: VisitRequest) -> bool:
    """Whether the visit's declared lines are the request's, in any order."""
    written = db.session.scalars(sa.select(DeclaredIncome).where(DeclaredIncome.visit_id == visit.id)).all()
    return sorted(map(_income_key, written)) == sorted(map(_income_key, request.income))


def _same(visit: Visit, request: VisitRequest, household_id: int) -> bool:
    return (visit.household_id, visit.visited_on, visit.kind, visit.findings, visit.risk_found) == (
        household_id,
        request.visited_on,
        request.kind,
        request.findings,
        request.risk_found,
    ) and _same_income(visit, request)


def _replay(household_id: int, request: VisitRequest) -> Visit | None:
    """The visit already recorded under the request's key, if any; a different one under it is refused."""
    if request.client_key is None:
        return None
    visit = db.session.scalars(sa.select(Visit).where(Visit.client_key == request.client_key)).first()
    if visit is not None and not _same(visit, request, household_id):
        raise VisitKeyReused(_("This record key was already used for a different visit."), "client_key")
    return visit


def _new_visit(session, household: Household, request: VisitRequest, by: User) -> Visit:
    visit = Visit(
        household_id=household.id,
        visited_on=request.visited_on,
        kind=request.kind,
        findings=request.findings,
        risk_found=request.risk_found,
        late=is_late(request.visited_on, business_today()),
        client_key=request.client_key,
        device_recorded_at=request.device_recorded_at,
        recorded_by_id=by.id,
        recorded_at=now_utc(),
    )
    session.add(visit)
    return visit


def record_visit(household_id: int, request: VisitRequest, *, by: User) -> tuple[Visit, bool]:
    """Use case: record a visit; (visit, created). The same record sent again answers the first one."""
    request = _checked(request)
    try:
        with atomic() as session:
            household = access.writable(session, by, household_id)
            if (existing := _replay(household.id, request)) is not None:
                return existing, False
            visit = _new_visit(session, household, request, by)
            session.flush()
            session.add_all(incomes.rows_for(household.id, list(request.income), by=by, visit_id=visit.id))
            session.flush()
    except IntegrityError:
        # The same key won a race on another connection: that visit is the answer.
        db.session.rollback()
        if (existing := _replay(household_id, request)) is None:
            raise
        return existing, False
    return visit, True


def correct_visit(visit_id: int, request: VisitRequest, *, reason: str, by: User) -> Visit:
    """Use case: replace a visit's record with a corrected one that names it and says why."""
    request = _checked(request)
    with atomic() as session:
        old = session.get(Visit, visit_id)
        if old is None:
            raise NotFound(_("No visit has id %(id)s.", id=visit_id))
        try:
            household = access.writable(session, by, old.household_id)
        except NotFound:
            raise NotFound(_("No visit has id %(id)s.", id=visit_id)) from None
        if session.scalar(sa.select(Visit.id).where(Visit.corrects_id == old.id)) is not None:
            raise VisitAlreadyCorrected(_("This visit was corrected already: correct the newer one."), "reason")
        visit = _new_visit(session, household, request, by)
        visit.corrects_id = old.id
        visit.correction_reason = check_text(reason, "reason", MAX_REASON, lines=True)
        session.flush()
    return visit


def visits_of(household_id: int) -> list[tuple[Visit, int | None]]:
    """A household's visits, the latest visited first, each with the id of the visit that corrected it."""
    visits = db.session.scalars(
        sa.select(Visit)
        .where(Visit.household_id == household_id)
        .options(selectinload(Visit.recorded_by))
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
    ).all()
    replaced = {v.corrects_id: v.id for v in visits if v.corrects_id is not None}
    return [(v, replaced.get(v.id)) for v in visits]


def cadence() -> Cadence:
    """The visit schedule's intervals, from the settings."""
    config = current_app.config
    return Cadence(
        monitored=int(config["VISIT_EVERY_DAYS_MONITORED"]),
        risk_eliminated=int(config["VISIT_EVERY_DAYS_RISK_ELIMINATED"]),
        tuopin=int(config["VISIT_EVERY_DAYS_TUOPIN"]),
    )


def standing_since(household: Household) -> date:
    """The day the household took its present standing: its last status change, or its listing."""
    last = db.session.scalar(
        sa.select(sa.func.max(HouseholdStatus.effective_on)).where(HouseholdStatus.household_id == household.id)
    )
    return last or household.created_at.date()


def last_visit_on(household_id: int) -> date | None:
    """The day of the household's latest visit that still counts (not replaced by a correction)."""
    corrected = sa.select(Visit.corrects_id).where(Visit.corrects_id.is_not(None))
    return db.session.scalar(
        sa.select(sa.func.max(Visit.visited_on)).where(Visit.household_id == household_id, Visit.id.not_in(corrected))
    )


def next_due(household: Household) -> date | None:
    """When the household's next visit is due under the schedule, or None when none is scheduled."""
    every = visit_every(cadence(), household.category, household.monitoring_status)
    if not every:
        return None
    return next_visit_due(every, last_visit_on(household.id), standing_since(household))
