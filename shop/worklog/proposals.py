"""Risk elimination (风险消除): an officer proposes it with the evidence frozen, the town agrees, the county approves.

The evidence is gathered by the server when the proposal is made and kept as JSON on the proposal,
so what the town and the county weigh is what the officer was shown. A proposal that does not meet
every criterion is refused, naming each one unmet: the page shows the checklist before proposing.
Approval records the household's new status (risk_eliminated) in the same transaction.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.models import (
    Household,
    HouseholdCategory,
    MonitoringStatus,
    RiskProposal,
    RiskStep,
    Role,
    User,
)
from shop.plain_text import is_plain_lines
from shop.transaction import atomic
from shop.villages.households import change_standing, visible_to
from shop.worklog import access
from shop.worklog.household_income import whole_income
from shop.worklog.plans import measures_of
from shop.worklog.rules import ProposalStep, proposal_state
from shop.worklog.visits import last_visit_on

#: The last visit must be this recent for a proposal.
RECENT_VISIT_DAYS = 30
MAX_NOTE = 1000
MAX_STEP_REASON = 500

#: The criteria a proposal must meet, in the checklist's order.
INCOME, MEASURES, VISIT, STANDING = "income", "measures", "visit", "standing"

#: The states in which a proposal is still in progress.
IN_PROGRESS = ("proposed", "town_agreed")


class ProposalRefused(Invalid):
    """The household does not (yet) meet the criteria for a risk-elimination proposal."""


class ProposalInProgress(Conflict):
    """The household has a proposal in progress already."""


class StepOutOfOrder(Conflict):
    """The step does not follow from where the proposal stands (county before town, a second approval...)."""


class NotYourStep(Forbidden):
    """Only the town's supervisor and the county bureau take steps, each their own."""


# ---------------------------------------------------------------- the evidence


@dataclass(frozen=True)
class Checklist:
    """The evidence gathered for a proposal, and which criteria it meets."""

    evidence: dict
    unmet: tuple[str, ...]

    @property
    def met(self) -> bool:
        return not self.unmet


def _month_json(row) -> dict:
    return {
        "month": row.month.strftime("%Y-%m"),
        "verified_fen": row.verified_fen,
        "declared_fen": row.declared_fen,
        "whole_fen": row.whole_fen,
        "per_capita_fen": row.per_capita_fen,
        "line_fen": row.line_fen,
        "above": row.above,
    }


def gather(household: Household, today: date) -> Checklist:
    """The evidence for a proposal as it stands today, and the criteria it does not meet."""
    income = whole_income(household, today)
    views = [v for v in measures_of(household.id, today) if v.status != "corrected"]
    open_ones = [v.measure for v in views if v.status == "open"]
    last = last_visit_on(household.id)
    monitored = household.category == HouseholdCategory.JIANCE and household.monitoring_status in (
        MonitoringStatus.IDENTIFIED,
        MonitoringStatus.RELAPSED,
    )
    evidence = {
        "as_of": today.isoformat(),
        "members": household.members,
        "annual_line_fen": income.steady.annual_line_fen,
        "months": [_month_json(row) for row in income.months],
        "months_above": income.steady.months_above,
        "required": income.steady.required,
        "undeclared": [m.strftime("%Y-%m") for m in income.undeclared],
        "measures_done": sum(1 for v in views if v.status == "done"),
        "measures_open": [{"id": m.id, "title": m.title, "due_on": m.due_on.isoformat()} for m in open_ones],
        "last_visit_on": last.isoformat() if last else None,
    }
    checks = (
        (STANDING, monitored),
        (INCOME, income.all_above),
        (MEASURES, bool(views) and not open_ones),
        (VISIT, last is not None and (today - last) <= timedelta(days=RECENT_VISIT_DAYS)),
    )
    unmet = tuple(name for name, ok in checks if not ok)
    evidence["unmet"] = list(unmet)
    return Checklist(evidence, unmet)


def criterion_text(name: str) -> str:
    """The words for one criterion, as the checklist and a refusal show it."""
    return {
        STANDING: _("The household is monitored (监测户), identified or relapsed."),
        INCOME: _("Whole income per person was at or above the monitoring line in each of the last six months."),
        MEASURES: _("The plan has measures and every one is done."),
        VISIT: _("The household was visited within the last 30 days."),
    }[name]


def checklist_for(user: User, household_id: int) -> tuple[Household, Checklist, RiskProposal | None]:
    """What the proposal form shows: the household, its evidence today, and a proposal in progress if any."""
    household = access.readable(db.session, user, household_id)
    return household, gather(household, business_today()), in_progress(db.session, household.id)


def in_progress(session, household_id: int) -> RiskProposal | None:
    """The household's proposal still in progress, if any."""
    proposals = session.scalars(
        sa.select(RiskProposal)
        .where(RiskProposal.household_id == household_id)
        .options(selectinload(RiskProposal.steps))
        .order_by(RiskProposal.id.desc())
    ).all()
    return next((p for p in proposals if state_of(p) in IN_PROGRESS), None)


def state_of(proposal: RiskProposal) -> str:
    """Where the proposal stands: proposed, town_agreed, approved or returned."""
    return proposal_state([str(step.step) for step in proposal.steps])


def proposals_of(household_id: int) -> list[RiskProposal]:
    """A household's risk-elimination proposals, the newest first, with their steps."""
    return list(
        db.session.scalars(
            sa.select(RiskProposal)
            .where(RiskProposal.household_id == household_id)
            .options(selectinload(RiskProposal.steps))
            .order_by(RiskProposal.id.desc())
        )
    )


def evidence_of(proposal: RiskProposal) -> dict:
    """The frozen evidence."""
    return json.loads(proposal.evidence)


def _text(text: str, field: str, limit: int, *, required: bool) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if required and not text:
        raise Invalid(_("Say why."), field)
    if len(text) > limit or not is_plain_lines(text):
        raise Invalid(_("At most %(n)s characters, without control characters.", n=limit), field)
    return text


# ---------------------------------------------------------------- the use cases


def propose(household_id: int, *, note: str, by: User) -> RiskProposal:
    """Use case: the household's officer (or the manager) proposes its risk be eliminated, evidence frozen."""
    note = _text(note, "note", MAX_NOTE, required=False)
    with atomic() as session:
        household = access.writable(session, by, household_id)
        if in_progress(session, household.id) is not None:
            raise ProposalInProgress(_("This household has a proposal in progress already."))
        checklist = gather(household, business_today())
        if not checklist.met:
            unmet = "; ".join(criterion_text(name) for name in checklist.unmet)
            raise ProposalRefused(_("Not yet: %(unmet)s", unmet=unmet), "household")
        proposal = RiskProposal(
            household_id=household.id,
            note=note,
            evidence=json.dumps(checklist.evidence, ensure_ascii=False, sort_keys=True),
            proposed_by_id=by.id,
            proposed_at=now_utc(),
        )
        session.add(proposal)
        session.flush()
    return proposal


def _steppable(session, user: User, proposal_id: int) -> RiskProposal:
    """The proposal if the user may see it: another town's is "not found"; a non-supervisor is refused."""
    proposal = session.get(RiskProposal, proposal_id)
    visible = proposal is not None and session.scalar(
        visible_to(user).where(Household.id == proposal.household_id).with_only_columns(Household.id)
    )
    if not visible or user.role not in access.READERS:
        raise NotFound(_("No proposal has id %(id)s.", id=proposal_id))
    if user.role is not Role.SUPERVISOR:
        raise NotYourStep(_("Only the town's supervisor and the county bureau take steps on a proposal."))
    return proposal


def take_step(proposal_id: int, step: str, *, reason: str, by: User) -> RiskStep:
    """Use case: the town agrees or returns a proposal; then the county approves (the status changes) or returns it."""
    try:
        step = ProposalStep(step)
    except ValueError:
        raise Invalid(_("Choose one of the steps offered."), "step") from None
    reason = _text(reason, "reason", MAX_STEP_REASON, required=step is ProposalStep.RETURNED)
    with atomic() as session:
        proposal = _steppable(session, by, proposal_id)
        household = session.scalars(
            sa.select(Household).where(Household.id == proposal.household_id).with_for_update()
        ).one()
        session.refresh(proposal, ["steps"])
        state = state_of(proposal)
        county = by.town_id is None
        if state not in IN_PROGRESS:
            raise StepOutOfOrder(_("This proposal was decided already."), "step")
        if step is ProposalStep.APPROVED and not county:
            raise NotYourStep(_("Only the county bureau approves a proposal."), "step")
        if step is ProposalStep.TOWN_AGREED and county:
            raise NotYourStep(_("The town's supervisor agrees to a proposal; the county approves it."), "step")
        if county != (state == "town_agreed"):
            raise StepOutOfOrder(_("This step is not the next one for this proposal."), "step")
        status_id = None
        if step is ProposalStep.APPROVED:
            status = change_standing(
                session,
                household,
                category=HouseholdCategory.JIANCE,
                monitoring_status=MonitoringStatus.RISK_ELIMINATED,
                effective_on=business_today(),
                reason=_("Risk elimination approved (proposal %(id)s).", id=proposal.id),
                by=by,
            )
            status_id = status.id
        row = RiskStep(
            proposal_id=proposal.id, step=step, reason=reason, status_id=status_id, by_id=by.id, at=now_utc()
        )
        session.add(row)
        session.flush()
    return row


# ---------------------------------------------------------------- lists


def readable_proposal(user: User, proposal_id: int) -> RiskProposal:
    """A proposal of a household the user may read; another's is "not found"."""
    proposal = db.session.get(RiskProposal, proposal_id)
    if proposal is None:
        raise NotFound(_("No proposal has id %(id)s.", id=proposal_id))
    try:
        access.readable(db.session, user, proposal.household_id)
    except NotFound:
        raise NotFound(_("No proposal has id %(id)s.", id=proposal_id)) from None
    return proposal


def _visible_proposals(user: User) -> list[RiskProposal]:
    ids = visible_to(user).with_only_columns(Household.id)
    return list(
        db.session.scalars(
            sa.select(RiskProposal)
            .where(RiskProposal.household_id.in_(ids))
            .options(selectinload(RiskProposal.steps), selectinload(RiskProposal.household))
            .order_by(RiskProposal.proposed_at, RiskProposal.id)
        )
    )


def waiting_for(user: User) -> list[RiskProposal]:
    """The proposals the caller must act on: the town's to agree, the county's to approve, an officer's returned."""
    if user.role not in access.READERS or user.role is Role.INSPECTOR:
        return []
    proposals = _visible_proposals(user)
    if user.role is Role.SUPERVISOR:
        wanted = "proposed" if user.town_id is not None else "town_agreed"
        return [p for p in proposals if state_of(p) == wanted]
    if user.role is Role.OFFICER:
        # A returned proposal waits for its officer until the household has a newer one.
        latest = {p.household_id: p.id for p in proposals}
        return [p for p in proposals if state_of(p) == "returned" and latest[p.household_id] == p.id]
    return []


def proposals_in_view(user: User) -> list[RiskProposal]:
    """Every proposal the caller may read, newest first."""
    if user.role not in access.READERS:
        return []
    return list(reversed(_visible_proposals(user)))
