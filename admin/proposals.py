"""Risk elimination (风险消除) and early warnings: the officer proposes, the town agrees, the county approves.

The use cases and the evidence are in shop.worklog.proposals; the warnings in shop.worklog.warnings.
Pages are for phones first: one column, big buttons.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.models import Role
from shop.oversight.officer_view import visible_ids
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import MANY_LINES, show_domain_error
from shop.web.templating import month_text, person
from shop.worklog import access, proposals, warnings
from shop.worklog.rules import ProposalStep

bp = Blueprint("admin_proposals", __name__, url_prefix="/admin/proposals")


class ProposeForm(FlaskForm):
    """The officer's note to a proposal; the evidence is gathered by the server."""

    note = TextAreaField(
        _l("Note for the town and the county"), validators=[Optional(), Length(max=proposals.MAX_NOTE), MANY_LINES]
    )


class StepForm(FlaskForm):
    """A supervisor's step: agree (town), approve (county) or return with a reason."""

    step = RadioField(_l("Decision"), choices=[], validators=[InputRequired(_l("Choose a decision."))])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=proposals.MAX_STEP_REASON), MANY_LINES])


def step_form(user, form: StepForm | None = None) -> StepForm:
    """The step form with the choices the caller has: the town agrees, the county approves; either returns."""
    form = form or StepForm()
    forward = (
        (ProposalStep.TOWN_AGREED.value, _("Agree and send to the county"))
        if user.town_id is not None
        else (ProposalStep.APPROVED.value, _("Approve: the risk is eliminated"))
    )
    form.step.choices = [forward, (ProposalStep.RETURNED.value, _("Return to the officer, with a reason"))]
    return form


def when(utc_naive) -> str:
    """A stored instant as the counter's wall-clock time: 2026-11-05 14:05."""
    return f"{local_time(utc_naive):%Y-%m-%d %H:%M}"


def helpers() -> dict:
    return {
        "when": when,
        "month_text": month_text,
        "person": person,
        "state_of": proposals.state_of,
        "criterion_text": proposals.criterion_text,
    }


@bp.get("/")
@roles_required(*access.READERS)
def index():
    """The proposals waiting for the caller, and every proposal in view."""
    user = signed_in_user()
    return render_template(
        "admin/proposals/index.html",
        waiting=proposals.waiting_for(user),
        all_proposals=proposals.proposals_in_view(user),
        **helpers(),
    )


@bp.get("/warnings")
@roles_required(*access.READERS)
def warnings_page():
    """Early warnings for the monitored households in the caller's scope."""
    found = warnings.warnings_in(visible_ids(signed_in_user()), business_today())
    return render_template("admin/proposals/warnings.html", warnings=found, **helpers())


def new_page(household_id: int, form: ProposeForm, status: int = 200):
    household, checklist, current = proposals.checklist_for(signed_in_user(), household_id)
    body = render_template(
        "admin/proposals/new.html",
        household=household,
        checklist=checklist,
        evidence=checklist.evidence,
        current=current,
        criteria=(proposals.STANDING, proposals.INCOME, proposals.MEASURES, proposals.VISIT),
        form=form,
        **helpers(),
    )
    return body, status


@bp.get("/new/<id:household_id>")
@roles_required(*access.WRITERS)
def new(household_id: int):
    """The checklist of the evidence as it stands today, and the form to propose."""
    return new_page(household_id, ProposeForm())


@bp.post("/new/<id:household_id>")
@roles_required(*access.WRITERS)
def propose(household_id: int):
    """Propose the household's risk be eliminated; a refusal names each unmet criterion."""
    form = ProposeForm()
    if not form.validate():
        return new_page(household_id, form, 422)
    try:
        proposal = proposals.propose(household_id, note=form.note.data or "", by=signed_in_user())
    except DomainError as refusal:
        return new_page(household_id, form, show_domain_error(form, refusal, {"note": "note"}))
    flash(_("Proposal sent to the town's supervisor."), "info")
    return redirect(url_for(".proposal", proposal_id=proposal.id))


def proposal_page(proposal_id: int, form: StepForm | None = None, status: int = 200):
    user = signed_in_user()
    proposal = proposals.readable_proposal(user, proposal_id)
    state = proposals.state_of(proposal)
    acts = user.role is Role.SUPERVISOR and proposal in proposals.waiting_for(user)
    body = render_template(
        "admin/proposals/proposal.html",
        proposal=proposal,
        household=proposal.household,
        state=state,
        evidence=proposals.evidence_of(proposal),
        form=step_form(user, form) if acts or form is not None else None,
        **helpers(),
    )
    return body, status


@bp.get("/<id:proposal_id>")
@roles_required(*access.READERS)
def proposal(proposal_id: int):
    """A proposal: the frozen evidence, its steps, and the step form for whoever must act."""
    return proposal_page(proposal_id)


@bp.post("/<id:proposal_id>/steps")
@roles_required(Role.SUPERVISOR)
def step(proposal_id: int):
    """Agree (town), approve (county) or return a proposal."""
    user = signed_in_user()
    proposals.readable_proposal(user, proposal_id)  # another town's proposal is 404, whatever the form says
    form = step_form(user, StepForm())
    form.step.choices = [(s.value, s.value) for s in ProposalStep]  # the use case says which step is whose
    if not form.validate():
        return proposal_page(proposal_id, form, 422)
    try:
        proposals.take_step(proposal_id, form.step.data, reason=form.reason.data or "", by=user)
    except DomainError as refusal:
        return proposal_page(proposal_id, form, show_domain_error(form, refusal, {"step": "step", "reason": "reason"}))
    flash(_("Your decision is recorded."), "info")
    return redirect(url_for(".proposal", proposal_id=proposal_id))
