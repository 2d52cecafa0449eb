"""A household's work ledger (帮扶工作台账) on officers' phones: the plan, its tick-offs, visits, declared income.

Everyone who reads work ledgers (shop.worklog.access.READERS) reads it within their scope; the
household's officer and the manager also add and tick off measures and correct what was recorded.
Nothing is edited: a correction is a new record that names the old one and says why, and the page
shows both. Each form posts to its own route, calls one use case and comes back to the page.
"""

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from shop.clock import business_today
from shop.errors import DomainError
from shop.extensions import db
from shop.models import DeclaredIncome, Household, HouseholdCategory, Measure, MonitoringStatus, Visit
from shop.money import format_fen
from shop.oversight import officer_view
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import MANY_LINES, MoneyField, OneLineField, show_domain_error
from shop.web.templating import person
from shop.worklog import access, incomes, plans, proposals, visits
from shop.worklog.rules import DEDUCTED, IncomeSource, MeasureKind, VisitKind

bp = Blueprint("admin_worklog", __name__, url_prefix="/admin/worklog")

#: A form's key on the page (its field prefix, and its draft's name in the phone's storage).
FORM_KEY = re.compile(r"(add|done-\d{1,12}|fix-[mvi]\d{1,12})")


# ---------------------------------------------------------------- words


def kind_words() -> dict:
    """The words for the kinds of measure, of visit and the sources of income, Chinese first."""
    return {
        MeasureKind.INDUSTRY: _("Industry support"),
        MeasureKind.EMPLOYMENT: _("Employment support"),
        MeasureKind.SAFETY_NET: _("Basic safety net"),
        MeasureKind.EDUCATION: _("Education support"),
        MeasureKind.MEDICAL: _("Medical support"),
        MeasureKind.HOUSING: _("Housing security"),
        MeasureKind.OTHER: _("Other measure"),
        VisitKind.HOME: _("Home visit"),
        VisitKind.PHONE: _("Phone call"),
        IncomeSource.WAGES: _("Wages"),
        IncomeSource.BUSINESS: _("Business income (besides the counter)"),
        IncomeSource.TRANSFER: _("Transfer income"),
        IncomeSource.PROPERTY: _("Property income"),
        IncomeSource.MEDICAL_COST: _("Medical costs"),
        IncomeSource.EDUCATION_COST: _("Education costs"),
        IncomeSource.OTHER_COST: _("Other necessary costs"),
    }


# ---------------------------------------------------------------- forms

#: What a declared figure's form says of an amount that is not one.
AMOUNT_IN_YUAN = _l("Write the amount in yuan, such as 1500 or 1500.50 (at most two decimals).")


class MeasureForm(FlaskForm):
    """A measure of the plan as the officer types it."""

    kind = SelectField(_l("Kind of measure"), validators=[InputRequired(_l("Choose the kind of measure."))])
    title = OneLineField(
        _l("What will be done"), validators=[InputRequired(_l("Say what will be done."))], max_length=plans.MAX_TITLE
    )
    due_on = DateField(_l("Deadline"), validators=[InputRequired(_l("Give the deadline as a date."))])
    sells_through_counter = BooleanField(_l("Sells through the counter (industry measures)"))


class DoneForm(FlaskForm):
    """A measure ticked off: the day it was done and the evidence."""

    done_on = DateField(_l("Done on"), validators=[InputRequired(_l("Give the day it was done."))])
    evidence = TextAreaField(
        _l("Evidence"),
        validators=[InputRequired(_l("Say what shows it was done.")), Length(max=plans.MAX_EVIDENCE), MANY_LINES],
    )


REASON = TextAreaField(
    _l("Reason for the correction"),
    validators=[InputRequired(_l("Say why it is corrected.")), Length(max=plans.MAX_REASON), MANY_LINES],
)


class CorrectMeasureForm(MeasureForm):
    """A measure's replacement and why."""

    reason = REASON


class CorrectVisitForm(FlaskForm):
    """A visit's corrected record and why."""

    visited_on = DateField(_l("Visited on"), validators=[InputRequired(_l("Give the day of the visit."))])
    kind = SelectField(_l("How"), validators=[InputRequired(_l("Choose home visit or phone call."))])
    findings = TextAreaField(
        _l("Findings"),
        validators=[InputRequired(_l("Say what was found.")), Length(max=visits.MAX_FINDINGS), MANY_LINES],
    )
    risk_found = BooleanField(_l("A risk was found"))
    reason = REASON


class CorrectIncomeForm(FlaskForm):
    """A declared figure's corrected amount, period or source, and why."""

    source = SelectField(_l("Source"), validators=[InputRequired(_l("Choose the source."))])
    amount = MoneyField(
        _l("Amount (yuan)"), [InputRequired(_l("Give the amount.")), Length(max=20)], message=AMOUNT_IN_YUAN
    )
    period_start = DateField(_l("Period from"), validators=[InputRequired(_l("Give the first day."))])
    period_end = DateField(_l("Period to"), validators=[InputRequired(_l("Give the last day."))])
    how_checked = OneLineField(
        _l("How it was checked"),
        validators=[InputRequired(_l("Say how the figure was checked."))],
        max_length=incomes.MAX_HOW_CHECKED,
    )
    reason = REASON


#: Which form field a use case's error names.
MEASURE_FIELDS = {"kind": "kind", "title": "title", "due_on": "due_on", "reason": "reason"}
DONE_FIELDS = {"done_on": "done_on", "evidence": "evidence"}
VISIT_FIELDS = {"visited_on": "visited_on", "kind": "kind", "findings": "findings", "reason": "reason"}
INCOME_FIELDS = {
    "source": "source",
    "amount_fen": "amount",
    "period_start": "period_start",
    "period_end": "period_end",
    "how_checked": "how_checked",
    "reason": "reason",
}


def _choices(values, words: dict) -> list[SelectChoice]:
    return [SelectChoice(v.value, words[v]) for v in values]


def measure_form(form_class, key: str, formdata=None, **values):
    """A measure's form (new or correcting), offering the kinds of measure."""
    form = form_class(formdata=formdata, prefix=key, **values)
    form.kind.choices = _choices(MeasureKind, kind_words())
    return form


def done_form(key: str, formdata=None) -> DoneForm:
    """A tick-off form, dated today."""
    return DoneForm(formdata=formdata, prefix=key, done_on=business_today())


def visit_form(key: str, visit: Visit | None = None, formdata=None) -> CorrectVisitForm:
    """A visit's correction form, filled with what was recorded."""
    values = {}
    if visit is not None:
        values = {
            "visited_on": visit.visited_on,
            "kind": visit.kind.value,
            "findings": visit.findings,
            "risk_found": visit.risk_found,
        }
    form = CorrectVisitForm(formdata=formdata, prefix=key, **values)
    form.kind.choices = _choices(VisitKind, kind_words())
    return form


def income_form(key: str, row: DeclaredIncome | None = None, formdata=None) -> CorrectIncomeForm:
    """A declared figure's correction form, filled with what was recorded."""
    values = {}
    if row is not None:
        values = {
            "source": row.source.value,
            "amount": format_fen(row.amount_fen).lstrip("¥"),
            "period_start": row.period_start,
            "period_end": row.period_end,
            "how_checked": row.how_checked,
        }
    form = CorrectIncomeForm(formdata=formdata, prefix=key, **values)
    form.source.choices = _choices(IncomeSource, kind_words())
    return form


# ---------------------------------------------------------------- the page


def page_forms(measures, visit_rows, income_rows, refused) -> dict:
    """Every form of the page by its key, blank or filled with what is recorded; a refused one as it was typed."""
    forms = {"add": measure_form(MeasureForm, "add", due_on=None)}
    for view in measures:
        m = view.measure
        if view.status == "open":
            forms[f"done-{m.id}"] = done_form(f"done-{m.id}")
        if view.status != "corrected":
            forms[f"fix-m{m.id}"] = measure_form(
                CorrectMeasureForm,
                f"fix-m{m.id}",
                kind=m.kind.value,
                title=m.title,
                due_on=m.due_on,
                sells_through_counter=m.sells_through_counter,
            )
    for visit, corrected_by in visit_rows:
        if corrected_by is None:
            forms[f"fix-v{visit.id}"] = visit_form(f"fix-v{visit.id}", visit)
    for row, corrected_by in income_rows:
        if corrected_by is None:
            forms[f"fix-i{row.id}"] = income_form(f"fix-i{row.id}", row)
    if refused is not None:
        forms[refused[0]] = refused[1]
    return forms


def saved_key() -> str | None:
    """The key of the form the last answer saved (?saved=), so the phone forgets its draft."""
    key = request.args.get("saved", "")[:40]
    return key if FORM_KEY.fullmatch(key) else None


def worklog_page(household: Household, status: int = 200, refused: tuple[str, FlaskForm] | None = None):
    """The household's work ledger; a refused form comes back with its error and what was typed."""
    user = signed_in_user()
    today = business_today()
    measures = plans.measures_of(household.id, today)
    visit_rows = visits.visits_of(household.id)
    income_rows = incomes.declared_of(household.id)
    writer = user.role in access.WRITERS
    # The head's name in full for the household's own officer only, each view logged; a refusal shows the mask.
    in_full = officer_view.names_in_full(user, [household], "head_name") if status < 400 else frozenset()
    body = render_template(
        "admin/worklog/household.html",
        household=household,
        today=today,
        measures=measures,
        by_id={view.measure.id: view for view in measures},
        visit_rows=visit_rows,
        income_rows=income_rows,
        next_due=visits.next_due(household),
        household_proposals=proposals.proposals_of(household.id),
        state_of=proposals.state_of,
        can_propose=writer
        and household.category == HouseholdCategory.JIANCE
        and household.monitoring_status != MonitoringStatus.RISK_ELIMINATED,
        forms=page_forms(measures, visit_rows, income_rows, refused) if writer else {},
        open_form=refused[0] if refused else None,
        saved=saved_key(),
        in_full=in_full,
        kinds=kind_words(),
        deducted=DEDUCTED,
        person=person,
    )
    return body, status


def readable(household_id: int) -> Household:
    """The household if the signed-in user reads its work ledger; 404 out of sight, 403 for a role without one."""
    return access.readable(db.session, signed_in_user(), household_id)


def back(household: Household, key: str, anchor: str):
    """After a saved form: the page again (PRG), telling the phone which draft to forget."""
    return redirect(url_for(".household", household_id=household.id, saved=key) + f"#{anchor}")


@bp.get("/households/<id:household_id>")
@roles_required(*access.READERS)
def household(household_id: int):
    """A household's work ledger: the plan and its measures, the visits, the declared income, the next visit due."""
    return worklog_page(readable(household_id))


# ---------------------------------------------------------------- the plan


def refuse(household: Household, key: str, form: FlaskForm, error: DomainError | None = None, fields=None):
    """The page again with the refused form open, its error beside the field and what was typed kept."""
    db.session.rollback()
    status = show_domain_error(form, error, fields) if error is not None else 422
    return worklog_page(household, status, (key, form))


@bp.post("/households/<id:household_id>/measures")
@roles_required(*access.WRITERS)
def add_measure(household_id: int):
    """Add a measure to the household's plan."""
    household = readable(household_id)
    form = measure_form(MeasureForm, "add", request.form)
    if not form.validate():
        return refuse(household, "add", form)
    try:
        plans.add_measure(
            household.id,
            kind=form.kind.data,
            title=form.title.data,
            due_on=form.due_on.data,
            sells_through_counter=bool(form.sells_through_counter.data),
            by=signed_in_user(),
        )
    except DomainError as error:
        return refuse(household, "add", form, error, MEASURE_FIELDS)
    flash(_("The measure is added to the plan."), "info")
    return back(household, "add", "plan")


@bp.post("/measures/<id:measure_id>/done")
@roles_required(*access.WRITERS)
def tick_off(measure_id: int):
    """Tick a measure off with the day it was done and the evidence."""
    household = plans.household_of(signed_in_user(), Measure, measure_id)
    key = f"done-{measure_id}"
    form = done_form(key, request.form)
    if not form.validate():
        return refuse(household, key, form)
    try:
        plans.tick_off(measure_id, done_on=form.done_on.data, evidence=form.evidence.data, by=signed_in_user())
    except DomainError as error:
        return refuse(household, key, form, error, DONE_FIELDS)
    flash(_("The measure is ticked off."), "info")
    return back(household, key, f"measure-{measure_id}")


@bp.post("/measures/<id:measure_id>/correction")
@roles_required(*access.WRITERS)
def correct_measure(measure_id: int):
    """Replace a measure with a corrected one, saying why."""
    household = plans.household_of(signed_in_user(), Measure, measure_id)
    key = f"fix-m{measure_id}"
    form = measure_form(CorrectMeasureForm, key, request.form)
    if not form.validate():
        return refuse(household, key, form)
    try:
        new = plans.correct_measure(
            measure_id,
            kind=form.kind.data,
            title=form.title.data,
            due_on=form.due_on.data,
            reason=form.reason.data,
            sells_through_counter=bool(form.sells_through_counter.data),
            by=signed_in_user(),
        )
    except DomainError as error:
        return refuse(household, key, form, error, MEASURE_FIELDS)
    flash(_("The measure is corrected; the old one stays on the page, no longer counted."), "info")
    return back(household, key, f"measure-{new.id}")


# ---------------------------------------------------------------- visits and declared income


@bp.post("/visits/<id:visit_id>/correction")
@roles_required(*access.WRITERS)
def correct_visit(visit_id: int):
    """Replace a visit's record with a corrected one, saying why."""
    household = plans.household_of(signed_in_user(), Visit, visit_id)
    key = f"fix-v{visit_id}"
    form = visit_form(key, formdata=request.form)
    if not form.validate():
        return refuse(household, key, form)
    typed = visits.VisitRequest(
        visited_on=form.visited_on.data,
        kind=form.kind.data,
        findings=form.findings.data,
        risk_found=bool(form.risk_found.data),
    )
    try:
        new = visits.correct_visit(visit_id, typed, reason=form.reason.data, by=signed_in_user())
    except DomainError as error:
        return refuse(household, key, form, error, VISIT_FIELDS)
    flash(_("The visit is corrected; the old record stays on the page, no longer counted."), "info")
    return back(household, key, f"visit-{new.id}")


@bp.post("/incomes/<id:income_id>/correction")
@roles_required(*access.WRITERS)
def correct_income(income_id: int):
    """Replace a declared figure with a corrected one, saying why."""
    household = plans.household_of(signed_in_user(), DeclaredIncome, income_id)
    key = f"fix-i{income_id}"
    form = income_form(key, formdata=request.form)
    valid = form.validate()
    if not valid or form.amount.fen is None:
        return refuse(household, key, form)
    line = incomes.IncomeLine(
        source=form.source.data,
        amount_fen=form.amount.fen,
        period_start=form.period_start.data,
        period_end=form.period_end.data,
        how_checked=form.how_checked.data,
    )
    try:
        new = incomes.correct_income(income_id, line, reason=form.reason.data, by=signed_in_user())
    except DomainError as error:
        return refuse(household, key, form, error, INCOME_FIELDS)
    flash(_("The figure is corrected; the old one stays on the page, no longer counted."), "info")
    return back(household, key, f"income-{new.id}")
