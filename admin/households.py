"""Households for officers, supervisors and the manager: income, the monitoring evidence, payouts and corrections.

Who sees which household is decided in the queries (shop.villages.households.visible_to), so another
officer's household is "not found" rather than forbidden. Officers and supervisors read; the
household's officer and the manager propose corrections; only the manager pays out and
approves corrections, and never a correction they proposed themselves.

The queries are in shop.oversight.officer_view; the figures come from the ledger through
shop.ledger.entries, shop.oversight.income and shop.oversight.statements, so this page, the
statement PDF and the review pages cannot disagree.
Only the counter's income is here: the monitoring evidence is shown as evidence for the officer, never as a verdict.
"""

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from shop import audit
from shop.clock import business_today
from shop.errors import DomainError
from shop.extensions import db
from shop.ledger import entries
from shop.models import (
    Household,
    HouseholdCategory,
    HouseholdLink,
    MonitoringStatus,
    MonitorSubtype,
    Payout,
    PayoutMethod,
    Role,
)
from shop.money import format_fen
from shop.oversight import adjustments, household_pages, officer_view, payouts
from shop.oversight.monitoring import month_start
from shop.stock.counters import counter_for
from shop.villages import households
from shop.web.access import roles_required, signed_in_user
from shop.web.charts import chart
from shop.web.forms import MANY_LINES, MoneyField, OneLineField, show_domain_error, show_error
from shop.web.responses import pdf_response, status_of
from shop.web.templating import is_chinese, label, month_text, person, signed_text, words
from shop.web.urls import household_page_url, own_page_url, public_url
from shop.worklog.household_income import whole_income

if TYPE_CHECKING:  # reportlab is loaded by the first document printed, not by every worker
    from shop.pdf.payout import PayoutReceipt

bp = Blueprint("admin_households", __name__, url_prefix="/admin/households")

#: Who reads households: the manager, the officers (their own), the supervisors and the inspectors (their town,
#: or all). Only GET routes take this tuple: inspectors write nothing.
HOUSEHOLD_READERS = (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR, Role.INSPECTOR)
#: Who may propose a correction: the manager and the household's own officer.
PROPOSERS = (Role.ADMIN, Role.OFFICER)

#: Longest search text: a code is 32 characters, a name far fewer.
MAX_SEARCH = 40

#: What a payout or a correction says of an amount that is not one.
AMOUNT_IN_YUAN = _l("Write the amount in yuan, such as 150 or 150.50 (at most two decimals).")

#: The phone's chart in SVG units and its label size: drawn about 300 px wide on a 360 px phone,
#: its labels come out at 13 px.
PHONE_CHART = (360, 300)
PHONE_CHART_FONT = 16

#: Payout receipts are printed in Chinese whatever the page language: the household keeps one.
METHOD_ZH = {PayoutMethod.CASH: "现金", PayoutMethod.BANK_TRANSFER: "银行转账"}


# ---------------------------------------------------------------- words


def month_page_url(household_id: int, month: date) -> str:
    """The review page of a household's month (the review area builds it; the pattern is agreed)."""
    return f"/admin/review/households/{household_id}/{month:%Y-%m}"


def page_helpers() -> dict:
    """What the household templates call besides the app-wide helpers."""
    return {
        "words": words,
        "month_text": month_text,
        "signed_text": signed_text,
        "person": person,
        "month_page_url": month_page_url,
    }


# ---------------------------------------------------------------- names in full


def shown_in_full(found: list[Household], status: int = 200) -> frozenset[int]:
    """The households among `found` the signed-in user sees in full (an officer's own), each view logged.

    Everyone else sees the masks (王**, 138****5678); the manager asks for a phone number one at a time.
    A refusal (4xx) shows the masks and records nothing.
    """
    return officer_view.names_in_full(signed_in_user(), found) if status < 400 else frozenset()


# ---------------------------------------------------------------- the list


def search_text() -> str:
    """The ?q= search, trimmed and without control characters (NUL would break PostgreSQL)."""
    raw = request.args.get("q", "")[: MAX_SEARCH * 2]
    return "".join(c for c in raw if c.isprintable()).strip()[:MAX_SEARCH]


def kind_words() -> dict:
    """The words for every household category and monitoring status, looked up once for the whole list.

    label() translates its whole table of words on every call: once per row, that was half the
    time of a list of 200 households.
    """
    return {value: label(value) for value in (*HouseholdCategory, *MonitoringStatus)}


@bp.route("/")
@roles_required(*HOUSEHOLD_READERS)
def index():
    """The households the user may see, with balance and this month's income; ?q= searches code and name."""
    text = search_text()
    month = month_start(business_today())
    found = officer_view.household_list(signed_in_user(), text, month)
    return render_template(
        "admin/households/index.html",
        households=found.households,
        more=found.more,
        limit=officer_view.ROWS_SHOWN,
        money=found.money,
        in_full=shown_in_full(found.households),
        q=text,
        month=month,
        pending_count=found.pending_corrections,
        dispute_count=found.open_disputes,
        kinds=kind_words(),
        **page_helpers(),
    )


# ---------------------------------------------------------------- one household


@dataclass(frozen=True)
class Period:
    """The days a household page totals, both inclusive, as typed (to show again) and as dates."""

    typed_from: str
    typed_to: str
    start: date | None
    end: date | None
    errors: dict[str, str]


def read_period(today: date) -> Period:
    """The ?from= and ?to= days (YYYY-MM-DD), this month so far when not given; errors by field."""
    typed = {name: request.args.get(name, "").strip()[:20] for name in ("from", "to")}
    defaults = {"from": month_start(today), "to": today}
    days, errors = {}, {}
    for name, text in typed.items():
        if not text:
            days[name] = defaults[name]
            continue
        try:
            days[name] = date.fromisoformat(text)
        except ValueError:
            errors[name] = _("Write the date as YYYY-MM-DD, such as %(day)s.", day=today.isoformat())
    if not errors and days["from"] > days["to"]:
        errors["to"] = _("The period ends before it starts.")
    if errors:
        return Period(typed["from"], typed["to"], None, None, errors)
    return Period(days["from"].isoformat(), days["to"].isoformat(), days["from"], days["to"], {})


def household_page(
    household: Household,
    *,
    adjust_form: "AdjustmentForm | None" = None,
    status: int = 200,
    full_phone: str | None = None,
):
    """A household's page; a refused correction comes back with its form as it was typed."""
    user = signed_in_user()
    today = business_today()
    period = read_period(today)
    found = officer_view.household_file(household, period.start, period.end, today)
    picture = found.picture
    can_propose = user.role in PROPOSERS
    # A bad period is a 422 too: the figures wait for a good one, and so do the name and phone.
    in_full = shown_in_full([household], 422 if period.errors and status == 200 else status)
    if in_full:
        full_phone = household.phone
    body = render_template(
        "admin/households/household.html",
        household=household,
        today=today,
        period=period,
        figures=found.figures,
        balance_fen=found.balance_fen,
        picture=picture,
        # The whole income (counter plus declared) against the line, beside the counter-only evidence.
        whole=whole_income(household, today),
        can_propose_elimination=user.role in PROPOSERS and household.category == HouseholdCategory.JIANCE,
        wide_chart=chart(picture.per_capita, picture.line.monthly_fen),
        # A phone gets the same bars drawn narrow and tall.
        phone_chart=chart(
            picture.per_capita,
            picture.line.monthly_fen,
            width=PHONE_CHART[0],
            height=PHONE_CHART[1],
            font=PHONE_CHART_FONT,
        ),
        line_label=_(
            "Monitoring line %(year)s: %(amount)s a person a year",
            year=picture.line.year,
            amount=format_fen(picture.line.annual_fen),
        ),
        months=found.months,
        payouts=found.payouts,
        adjustments=found.adjustments,
        adjust_form=(adjust_form or adjustment_form()) if can_propose else None,
        just_paid=just_paid(household),
        manager=user.role is Role.ADMIN,
        full_phone=full_phone,
        in_full=in_full,
        own_page=own_page_of(household, user),
        **page_helpers(),
    )
    status = 422 if period.errors and status == 200 else status
    return body, status


def just_paid(household: Household) -> Payout | None:
    """The payout named by ?paid= after paying out, when it is this household's."""
    return officer_view.payout_of(household, request.args.get("paid", type=int))


def visible(household_id: int) -> Household:
    """The household if the signed-in user may see it; 404 otherwise, so ids reveal nothing."""
    return households.visible_household(signed_in_user(), household_id)


@bp.get("/<id:household_id>")
@roles_required(*HOUSEHOLD_READERS)
def household(household_id: int):
    """A household: who they are, a period's income, the evidence against the monitoring line, the trail."""
    return household_page(visible(household_id))


@bp.get("/<id:household_id>/phone")
@roles_required(Role.ADMIN)
def household_phone(household_id: int):
    """The household's page with the full phone number, for the manager; each view goes to the audit trail."""
    household = visible(household_id)
    if not household.phone:
        raise HTTPNotFound()
    # PIPL: record who saw the number (never the number itself) before showing it.
    audit.personal_data_shown(Household.__tablename__, household.id, "phone")
    return household_page(household, full_phone=household.phone)


# ---------------------------------------------------------------- payouts


class PayoutForm(FlaskForm):
    """A payout as the manager types it: yuan, how, the bank's reference and a note."""

    amount = MoneyField(
        _l("Amount (yuan)"), [InputRequired(_l("Give the amount.")), Length(max=20)], message=AMOUNT_IN_YUAN
    )
    method = RadioField(
        _l("Paid by"),
        choices=[
            SelectChoice(PayoutMethod.CASH.value, _l("Cash")),
            SelectChoice(PayoutMethod.BANK_TRANSFER.value, _l("Bank transfer")),
        ],
        default=PayoutMethod.CASH.value,
        validators=[InputRequired(_l("Choose how it was paid."))],
    )
    reference = OneLineField(_l("Bank reference"), validators=[Optional()], max_length=payouts.MAX_REFERENCE)
    note = OneLineField(_l("Note"), validators=[Optional()], max_length=200)
    #: The balance the manager saw on the form: a second tap of the same form finds it changed.
    seen_balance = StringField(validators=[Optional(), Length(max=20)])


#: Which form field a payout error names.
PAYOUT_FIELDS = {"amount_fen": "amount", "reference": "reference", "note": "note"}


def payout_page(household: Household, form: PayoutForm, status: int = 200):
    """The payout form beside the household's current balance."""
    balance = entries.balance_of(db.session, household.id)
    if not form.is_submitted():
        form.seen_balance.data = str(balance)
    body = render_template(
        "admin/households/payout.html", household=household, form=form, balance_fen=balance, **page_helpers()
    )
    return body, status


def balance_seen(form: PayoutForm) -> int | None:
    """The balance the form was opened with, so a second tap of the same form pays nothing."""
    seen = (form.seen_balance.data or "").strip()
    return int(seen) if seen.lstrip("-").isdigit() else None


@bp.route("/<id:household_id>/payouts/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_payout(household_id: int):
    """The payout form; paying records the payout and its ledger entry, then shows the receipt's link."""
    user = signed_in_user()
    household = visible(household_id)
    form = PayoutForm()
    if not form.is_submitted():
        return payout_page(household, form)
    valid = form.validate()
    amount = form.amount.fen
    if not valid or amount is None:
        return payout_page(household, form, 422)
    request_ = payouts.PayoutRequest(
        household_id=household.id,
        amount_fen=amount,
        method=PayoutMethod(form.method.data),
        reference=(form.reference.data or "").strip(),
        note=(form.note.data or "").strip(),
        expected_balance_fen=balance_seen(form),
    )
    try:
        payout = payouts.pay_household(request_, user)
    except DomainError as error:
        status = show_domain_error(form, error, PAYOUT_FIELDS)
        form.seen_balance.data = str(entries.balance_of(db.session, household.id))
        return payout_page(household, form, status)
    flash(
        _(
            "Paid %(amount)s to household %(code)s (payout %(number)s).",
            amount=format_fen(payout.amount_fen),
            code=household.code,
            number=payout.number,
        ),
        "info",
    )
    return redirect(url_for(".household", household_id=household.id, paid=payout.id))


def household_url(household: Household) -> str:
    """The household's page, on the public address when one is configured (printed in the QR code)."""
    return public_url(".household", household_id=household.id)


def receipt_for(payout: Payout) -> "PayoutReceipt":
    """The printed receipt of a payout; the head's full name is on it, since they sign under it."""
    from shop.pdf.payout import PayoutReceipt  # reportlab: loaded by the first receipt printed

    household = payout.household
    village = household.village
    return PayoutReceipt(
        counter_name=counter_for(payout.paid_by).name,
        number=payout.number,
        paid_on=payout.paid_on,
        household_code=household.code,
        head_name=household.head_name,
        village=f"{village.town.name_zh}{village.name_zh}",
        amount_fen=payout.amount_fen,
        method=METHOD_ZH[payout.method],
        reference=payout.reference,
        balance_before_fen=payout.balance_before_fen,
        balance_after_fen=payout.balance_before_fen - payout.amount_fen,
        recorded_by=person(payout.paid_by),
        verify_url=household_url(household),
        own_page_url=own_page_url(household.id),
    )


@bp.get("/payouts/<id:payout_id>/receipt.pdf")
@roles_required(Role.ADMIN)
def payout_receipt(payout_id: int):
    """The payout receipt (收益支付凭证) the head of the household signs, as an A4 PDF."""
    user = signed_in_user()
    payout = payouts.payout_for(user, payout_id)
    if payout is None:
        raise HTTPNotFound()
    # The head's full name is printed: log who printed it (ids only, never the name).
    audit.personal_data_shown("payout", payout.id, "head_name")
    from shop.pdf.payout import render_payout_receipt

    return pdf_response(render_payout_receipt(receipt_for(payout)), f"{payout.number}-receipt.pdf")


# ---------------------------------------------------------------- corrections


class AdjustmentForm(FlaskForm):
    """A correction as people think of it: add income the ledger missed, or take back income it should not have."""

    direction = RadioField(
        _l("Correction"),
        choices=[SelectChoice("add", _l("Add income")), SelectChoice("take_back", _l("Take income back"))],
        default="add",
        validators=[InputRequired(_l("Choose whether to add or take back."))],
    )
    amount = MoneyField(
        _l("Amount (yuan)"), [InputRequired(_l("Give the amount.")), Length(max=20)], message=AMOUNT_IN_YUAN
    )
    entry_date = DateField(
        _l("Belongs to the day"), validators=[InputRequired(_l("Give the day the income belongs to."))]
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(_l("Say why the income needs correcting.")), Length(max=500), MANY_LINES],
    )


#: Which form field a correction error names.
ADJUSTMENT_FIELDS = {"amount_fen": "amount", "entry_date": "entry_date", "reason": "reason"}


def adjustment_form() -> AdjustmentForm:
    """An empty correction form, dated today."""
    return AdjustmentForm(formdata=None, entry_date=business_today())


@bp.post("/<id:household_id>/adjustments")
@roles_required(*PROPOSERS)
def propose_adjustment(household_id: int):
    """Propose a correction; it reaches the ledger only when a second person approves it."""
    user = signed_in_user()
    household = visible(household_id)
    form = AdjustmentForm()
    valid = form.validate()
    amount = form.amount.fen
    if not valid or amount is None:
        return household_page(household, adjust_form=form, status=422)
    signed = -amount if form.direction.data == "take_back" else amount
    try:
        adjustments.propose(
            household_id=household.id,
            amount_fen=signed,
            entry_date=form.entry_date.data,
            reason=form.reason.data,
            by=user,
        )
    except DomainError as error:
        status = show_domain_error(form, error, ADJUSTMENT_FIELDS)
        return household_page(household, adjust_form=form, status=status)
    flash(
        _("Correction of %(amount)s proposed; it counts once a second person approves it.", amount=signed_text(signed)),
        "info",
    )
    return redirect(url_for(".household", household_id=household.id) + "#adjustments")


class DecisionForm(FlaskForm):
    """The manager's approval or rejection of a proposed correction, with a note."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500), MANY_LINES])


def adjustments_page(errors: dict[int, str] | None = None, status: int = 200):
    """The pending corrections; a refused decision shows its reason beside its correction."""
    body = render_template(
        "admin/households/adjustments.html",
        pending=officer_view.pending_adjustments(),
        errors=errors or {},
        user=signed_in_user(),
        form=DecisionForm(formdata=None),
        **page_helpers(),
    )
    return body, status


@bp.get("/adjustments", endpoint="adjustments")
@roles_required(Role.ADMIN)
def adjustments_list():
    """Corrections waiting for a second person: approve or reject each, except one's own."""
    return adjustments_page()


@bp.post("/adjustments/<id:adjustment_id>/decision")
@roles_required(Role.ADMIN)
def decide_adjustment(adjustment_id: int):
    """Approve (writing its ledger entry) or reject a pending correction."""
    form = DecisionForm()
    decision = request.form.get("decision")
    if not form.validate() or decision not in ("approve", "reject"):
        message = "; ".join(str(m) for ms in form.errors.values() for m in ms) or _("Choose approve or reject.")
        return adjustments_page({adjustment_id: message}, 422)
    try:
        adjustment = adjustments.decide(
            adjustment_id=adjustment_id, approve=decision == "approve", note=form.note.data or "", by=signed_in_user()
        )
    except DomainError as error:
        return adjustments_page({adjustment_id: error.message}, status_of(error))
    if decision == "approve":
        message = _("Correction approved and entered in the ledger.")
    else:
        message = _("Correction rejected.")
    flash(f"{message} {adjustment.household.code} {signed_text(adjustment.amount_fen)}", "info")
    return redirect(url_for(".adjustments"))


# ---------------------------------------------------------------- the record and its history


class RecordForm(FlaskForm):
    """The manager's change to a household's record: members, phone, village, head's name and why."""

    members = IntegerField(
        _l("Members"),
        validators=[
            InputRequired(_l("Give the number of members.")),
            NumberRange(1, households.MAX_MEMBERS, _l("Members is a whole number from 1 to 50.")),
        ],
    )
    #: Left empty, the name and the phone stay as they are: the form never shows them in full.
    head_name = OneLineField(_l("New name of the head"), validators=[Optional()], max_length=50)
    phone = OneLineField(_l("New phone number"), validators=[Optional()], max_length=20)
    remove_phone = BooleanField(_l("Remove the phone number"))
    town = SelectField(_l("Town"), validators=[InputRequired(_l("Choose the town."))])
    village = OneLineField(_l("Village"), validators=[InputRequired(_l("Name the village."))], max_length=60)
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500), MANY_LINES])


class HandOverForm(FlaskForm):
    """Hand the household to another officer, saying why."""

    officer = SelectField(_l("New officer"), validators=[InputRequired(_l("Choose the officer."))])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500), MANY_LINES])


class StandingForm(FlaskForm):
    """A change of the household's category or monitoring status from a date on, with its reason."""

    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose the category."))])
    monitor_subtype = SelectField(_l("Kind of monitored household"), validators=[Optional()])
    monitoring_status = SelectField(_l("Monitoring status"), validators=[Optional()])
    effective_on = DateField(_l("From the day"), validators=[InputRequired(_l("Give the day the change holds from."))])
    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(_l("Say why, for the household's history.")), Length(max=500), MANY_LINES],
    )


#: Which form field a use case's error names.
RECORD_FIELDS = {"head_name": "head_name", "members": "members", "phone": "phone", "town": "town", "village": "village"}
HAND_OVER_FIELDS = {"officer": "officer", "reason": "reason"}
STANDING_FIELDS = {
    "category": "category",
    "monitor_subtype": "monitor_subtype",
    "monitoring_status": "monitoring_status",
    "effective_on": "effective_on",
    "reason": "reason",
}


def record_form(household: Household, formdata=None) -> RecordForm:
    """The record form, filled with the household's members and village (never its head's name or phone)."""
    form = RecordForm(
        formdata=formdata,
        members=household.members,
        town=household.village.town.name_zh,
        village=household.village.name_zh,
    )
    form.town.choices = [SelectChoice(t.name_zh, t.name_zh if is_chinese() else t.name_en) for t in households.towns()]
    return form


def hand_over_form(household: Household, formdata=None) -> HandOverForm:
    """The hand-over form, offering the active officers."""
    form = HandOverForm(formdata=formdata, officer=household.officer.username if household.officer else "")
    form.officer.choices = [SelectChoice("", _("Choose the officer"))] + [
        SelectChoice(o.username, f"{o.display_name} ({o.username})" if o.display_name else o.username)
        for o in households.active_officers()
    ]
    return form


def standing_form(household: Household, formdata=None) -> StandingForm:
    """The standing form, showing the household's current standing, dated today."""
    form = StandingForm(
        formdata=formdata,
        category=household.category.value,
        effective_on=business_today(),
    )
    form.category.choices = [SelectChoice(c.value, label(c)) for c in HouseholdCategory]
    form.monitor_subtype.choices = [SelectChoice("", _("Keep as it is (or none)"))] + [
        SelectChoice(k.value, label(k)) for k in MonitorSubtype
    ]
    form.monitoring_status.choices = [SelectChoice("", _("Keep as it is (or none)"))] + [
        SelectChoice(k.value, label(k)) for k in MonitoringStatus
    ]
    return form


def record_page(household: Household, status: int = 200, **refused):
    """The household's history for every reader; the manager's three forms, a refused one as it was typed."""
    manager = signed_in_user().role is Role.ADMIN
    statuses, changes = households.history_of(household.id)
    forms = {}
    if manager:
        forms = {
            "record_form": refused.get("record_form") or record_form(household),
            "hand_over_form": refused.get("hand_over_form") or hand_over_form(household),
            "standing_form": refused.get("standing_form") or standing_form(household),
        }
    body = render_template(
        "admin/households/record.html",
        household=household,
        statuses=statuses,
        changes=changes,
        manager=manager,
        today=business_today(),
        in_full=shown_in_full([household], status),
        **forms,
        **page_helpers(),
    )
    return body, status


@bp.get("/<id:household_id>/record")
@roles_required(*HOUSEHOLD_READERS)
def record(household_id: int):
    """A household's standings (oldest first) and the changes of its record; the manager's forms to change them."""
    return record_page(visible(household_id))


def typed_phone(form: RecordForm) -> str | None:
    """The phone the form asks for: None keeps it, "" removes it, digits typed on a Chinese keyboard count."""
    typed = unicodedata.normalize("NFKC", form.phone.data or "").strip()
    if form.remove_phone.data:
        if typed:
            show_error(form, "phone", _("Either type a new number or remove it, not both."))
        return ""
    return typed or None


@bp.post("/<id:household_id>/record")
@roles_required(Role.ADMIN)
def edit_record(household_id: int):
    """Change the household's members, phone, village or head's name; each change lands in its history."""
    household = visible(household_id)
    form = record_form(household, request.form)
    valid = form.validate()
    phone = typed_phone(form)
    if not valid or form.errors:
        return record_page(household, 422, record_form=form)
    try:
        changes = households.edit_household(
            household.id,
            by=signed_in_user(),
            source=households.FROM_PAGE,
            reason=form.reason.data or "",
            head_name=(form.head_name.data or "").strip() or None,
            members=form.members.data,
            phone=phone,
            town=form.town.data,
            village=form.village.data,
        )
    except DomainError as error:
        db.session.rollback()
        return record_page(visible(household_id), show_domain_error(form, error, RECORD_FIELDS), record_form=form)
    flash(_("%(n)s changes recorded.", n=len(changes)) if changes else _("Nothing was different."), "info")
    return redirect(url_for(".record", household_id=household.id) + "#changes")


@bp.post("/<id:household_id>/officer")
@roles_required(Role.ADMIN)
def hand_over(household_id: int):
    """Hand the household to another active officer; the history keeps who had it before."""
    household = visible(household_id)
    form = hand_over_form(household, request.form)
    if not form.validate():
        return record_page(household, 422, hand_over_form=form)
    try:
        changes = households.edit_household(
            household.id,
            by=signed_in_user(),
            source=households.FROM_PAGE,
            reason=form.reason.data or "",
            officer=form.officer.data,
        )
    except DomainError as error:
        db.session.rollback()
        return record_page(visible(household_id), show_domain_error(form, error, HAND_OVER_FIELDS), hand_over_form=form)
    flash(_("Handed to %(officer)s.", officer=form.officer.data) if changes else _("Nothing was different."), "info")
    return redirect(url_for(".record", household_id=household.id) + "#changes")


@bp.post("/<id:household_id>/status")
@roles_required(Role.ADMIN)
def record_standing(household_id: int):
    """Record a change of category or monitoring status from a date on, with its reason and who recorded it."""
    household = visible(household_id)
    form = standing_form(household, request.form)
    if not form.validate():
        return record_page(household, 422, standing_form=form)
    try:
        households.record_status(
            household.id,
            category=HouseholdCategory(form.category.data),
            # An optional select sent as blanks means "keep as it is", as its empty choice does.
            monitor_subtype=(form.monitor_subtype.data or "").strip() or None,
            monitoring_status=(form.monitoring_status.data or "").strip() or None,
            effective_on=form.effective_on.data,
            reason=form.reason.data or "",
            by=signed_in_user(),
        )
    except DomainError as error:
        db.session.rollback()
        return record_page(visible(household_id), show_domain_error(form, error, STANDING_FIELDS), standing_form=form)
    flash(_("The new standing is recorded."), "info")
    return redirect(url_for(".record", household_id=household.id) + "#standings")


# ---------------------------------------------------------------- the household's own page


@dataclass(frozen=True)
class OwnPageLink:
    """The household's link as its page shows it: whether it has one, and (to those who give it out) the address."""

    link: HouseholdLink | None
    url: str
    views: int
    may_issue: bool


def may_issue(household: Household, user) -> bool:
    """The manager, or the household's own officer, gives out its link."""
    return user.role is Role.ADMIN or (user.role is Role.OFFICER and household.officer_id == user.id)


def own_page_of(household: Household, user) -> OwnPageLink:
    """The household's link for its staff page; the address only for those who may give it out."""
    link = household_pages.live_link(household.id)
    allowed = may_issue(household, user)
    url = household_page_url(link.token) if link and allowed else ""
    return OwnPageLink(link, url, household_pages.views_of(link.id) if link else 0, allowed)


def issuable(household_id: int) -> Household:
    """The household, when the signed-in user may give out its link: 404 out of sight, 403 otherwise."""
    household = visible(household_id)
    if not may_issue(household, signed_in_user()):
        abort(403)
    return household


def live_url(household: Household) -> str:
    """The address of the household's live link; 404 when it has none."""
    token = household_pages.live_token(household.id)
    if token is None:
        raise HTTPNotFound()
    return household_page_url(token)


@bp.post("/<id:household_id>/link")
@roles_required(*household_pages.ISSUERS)
def issue_link(household_id: int):
    """Give the household a new link to its own page; the old one stops working."""
    household_pages.issue_link(household_id, by=signed_in_user())
    flash(_("A new link was made. Print the card for the household: the old link no longer opens."), "success")
    return redirect(url_for(".household", household_id=household_id, _anchor="own-page"), 303)


@bp.post("/<id:household_id>/link/revoke")
@roles_required(*household_pages.ISSUERS)
def revoke_link(household_id: int):
    """Revoke the household's link: its address answers 404 from now on."""
    household_pages.revoke_link(household_id, by=signed_in_user())
    flash(_("The link was revoked: it no longer opens the household's page."), "success")
    return redirect(url_for(".household", household_id=household_id, _anchor="own-page"), 303)


@bp.get("/<id:household_id>/link/qr.svg")
@roles_required(*household_pages.ISSUERS)
def link_qr(household_id: int):
    """The QR code of the household's live link, to show on screen and scan from it."""
    from shop.pdf.household_card import qr_svg

    response = make_response(qr_svg(live_url(issuable(household_id))))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<id:household_id>/link/card.pdf")
@roles_required(*household_pages.ISSUERS)
def link_card(household_id: int):
    """The card with the household's QR code and address, to print and hand over."""
    from shop.pdf.household_card import HouseholdCard, render_household_card

    household = issuable(household_id)
    url = live_url(household)
    village = household.village
    card = HouseholdCard(
        counter_name=counter_for(signed_in_user()).name,
        household_code=household.code,
        head_name_masked=household.head_name_masked,
        village=f"{village.town.name_zh}{village.name_zh}",
        url=url,
    )
    return pdf_response(render_household_card(card), f"{household.code}-card.pdf")
