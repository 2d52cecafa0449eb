"""The monthly review: a household's statement for a month, the officer's confirmation or dispute, and disputes.

The month page shows the one account of the month that the PDF and the public
verification page also read (shop.oversight.statements.month_statement). Only the
household's own officer confirms or disputes it, and the form carries the
digest of what they saw: if an entry lands in the month meanwhile, the use case
refuses (409) and the page shows the month again as it now stands. Scoping is
in the queries: another officer's household is 404, like one that does not
exist; supervisors read and never write (403). A month is named YYYY-MM in the
address; a month that is not one, or has not begun, is 404. The queries are in
shop.oversight.officer_view.
"""

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length

from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.models import Household, ReviewOutcome, Role
from shop.oversight import officer_view, reviews, statement_pdf
from shop.oversight.monitoring import FIRST_YEAR, InvalidMonth, add_months, month_start, parse_month
from shop.oversight.officer_view import review_state
from shop.oversight.statements import Cause, month_statement
from shop.villages import households
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import MANY_LINES, show_domain_error
from shop.web.responses import pdf_response
from shop.web.templating import month_text, person, quantity_text, signed_text, words
from shop.web.urls import own_page_url, statement_url

bp = Blueprint("admin_review", __name__, url_prefix="/admin/review")

#: Who reads statements: the manager, the officers (their own households), the supervisors and the inspectors
#: (their town, or all). Only GET routes take this tuple: inspectors write nothing.
READERS = (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR, Role.INSPECTOR)


# ---------------------------------------------------------------- words


def line_text(cause: Cause) -> str:
    """What an entry came from, in the page's language: 虾干 0.5 斤 · sale #12 · lot P000007."""
    if cause.adjustment is not None:
        return _("Correction: %(reason)s", reason=cause.adjustment.reason)
    if cause.payout is not None:
        return _("Payout %(number)s · %(method)s", number=cause.payout.number, method=words(cause.payout.method))
    amount = quantity_text(cause.quantity, cause.unit) if cause.unit and cause.quantity is not None else ""
    goods = " ".join(p for p in (cause.product_name, amount) if p)
    lot = cause.lot.code if cause.lot is not None else "—"
    if cause.refund_id is not None:
        return _(
            "%(goods)s · refund #%(refund)s of sale #%(sale)s · lot %(lot)s",
            goods=goods,
            refund=cause.refund_id,
            sale=cause.sale_id,
            lot=lot,
        )
    if cause.sale_id is not None:
        return _("%(goods)s · sale #%(sale)s · lot %(lot)s", goods=goods, sale=cause.sale_id, lot=lot)
    if cause.lot is not None:
        return _("Bought outright: %(goods)s · lot %(lot)s", goods=goods, lot=lot)
    return ""


def when(utc_naive) -> str:
    """A stored instant as the counter's wall-clock time: 2026-11-05 14:05."""
    return f"{local_time(utc_naive):%Y-%m-%d %H:%M}" if utc_naive else ""


def month_arg(month: date) -> str:
    """A month as its address names it: 2026-11."""
    return f"{month:%Y-%m}"


@bp.context_processor
def _helpers() -> dict:
    """What the review templates call."""
    return {
        "line_text": line_text,
        "review_state": review_state,
        "words": words,
        "month_text": month_text,
        "signed_text": signed_text,
        "person": person,
        "when": when,
        "month_arg": month_arg,
    }


# ---------------------------------------------------------------- which month


def this_month() -> date:
    """The first day of the counter's current month."""
    return month_start(business_today())


def month_in_view(text: str) -> date:
    """The month an address names, if it has begun: 404 otherwise (not a month, or still ahead)."""
    try:
        month = parse_month(text)
    except InvalidMonth:
        abort(404)
    if month > this_month() or month_arg(month) != text:
        abort(404)
    return month


@dataclass(frozen=True)
class MonthNav:
    """The neighbouring months a month page links to; None where there is none to show."""

    previous: date | None
    next: date | None


def month_nav(month: date) -> MonthNav:
    """The month before (back to the first year the app knows) and after (up to the current month)."""
    before, after = add_months(month, -1), add_months(month, 1)
    return MonthNav(before if before.year >= FIRST_YEAR else None, after if after <= this_month() else None)


# ---------------------------------------------------------------- a household's month


class ReviewForm(FlaskForm):
    """The officer's verdict on the month they saw: confirmed, or disputed with a note."""

    outcome = HiddenField(validators=[AnyOf([o.value for o in ReviewOutcome], message=_l("Confirm or dispute."))])
    note = TextAreaField(_l("What is wrong?"), validators=[Length(max=reviews.MAX_NOTE), MANY_LINES])
    #: The digest of the statement shown with the form: the use case refuses if the month changed since.
    digest = HiddenField(validators=[InputRequired(_l("Open the month again and review it.")), Length(max=64)])


def month_page(household: Household, month: date, form: ReviewForm, status: int = 200, error: str | None = None):
    """The month's statement, its review history and (for its officer) the review form."""
    user = signed_in_user()
    statement = month_statement(household, month)
    # The form always carries the digest of the statement shown with it, also when the page comes back.
    form.digest.data = statement.digest
    history = officer_view.month_history(household.id, month)
    # The household's own officer reviews it by its head's full name; who saw it goes to the audit trail.
    # A refusal (4xx) shows the mask and records nothing.
    in_full = officer_view.names_in_full(user, [household], "head_name") if status < 400 else frozenset()
    body = render_template(
        "admin/review/month.html",
        statement=statement,
        household=household,
        month=month,
        nav=month_nav(month),
        history=history,
        can_review=user.role is Role.OFFICER and household.officer_id == user.id,
        in_full=in_full,
        form=form,
        error=error,
    )
    return body, status


@bp.get("/households/<id:household_id>/<month>")
@roles_required(*READERS)
def month(household_id: int, month: str):
    """A household's statement for a month, with its review; the review form for the household's officer."""
    household = households.visible_household(signed_in_user(), household_id)
    return month_page(household, month_in_view(month), ReviewForm(formdata=None))


@bp.post("/households/<id:household_id>/<month>")
@roles_required(Role.OFFICER)
def review(household_id: int, month: str):
    """Record the officer's confirmation or dispute of the month they saw."""
    user = signed_in_user()
    household = households.visible_household(user, household_id)
    first = month_in_view(month)
    form = ReviewForm()
    if not form.validate():
        return month_page(household, first, form, 422)
    try:
        done = reviews.review_month(
            household_id=household.id,
            month=first,
            outcome=ReviewOutcome(form.outcome.data),
            note=form.note.data or "",
            seen_digest=form.digest.data,
            by=user,
        )
    except reviews.AlreadyConfirmed as repeat:
        # A second tap, or the browser sending the form again: nothing to add, so show the month.
        flash(repeat.message, "info")
        return redirect(url_for(".month", household_id=household.id, month=month_arg(first)))
    except reviews.StatementChanged:
        message = _(
            "Nothing was recorded: the month gained or lost entries since you opened it. "
            "Here it is as it stands now; look it over and review it again."
        )
        return month_page(household, first, form, 409, message)
    except DomainError as refusal:
        return month_page(household, first, form, show_domain_error(form, refusal, {"note": "note"}))
    if done.outcome is ReviewOutcome.CONFIRMED:
        flash(_("%(month)s confirmed for %(code)s.", month=month_text(first), code=household.code), "info")
    else:
        flash(_("Your dispute of %(month)s is with the counter manager.", month=month_text(first)), "info")
    return redirect(url_for(".month", household_id=household.id, month=month_arg(first)))


@bp.get("/households/<id:household_id>/<month>/statement.pdf", endpoint="statement_pdf")
@roles_required(*READERS)
def statement_document(household_id: int, month: str):
    """The month's statement as the A4 PDF the household and the officer sign."""
    household = households.visible_household(signed_in_user(), household_id)
    statement = month_statement(household, month_in_view(month))
    verify = statement_url(household.id, statement.month, statement.digest)
    document = statement_pdf.render(statement, verify, own_page_url(household.id))
    return pdf_response(document, statement_pdf.filename(statement))


# ---------------------------------------------------------------- disputes


class ResolveForm(FlaskForm):
    """The manager's answer to a disputed month."""

    resolution = TextAreaField(
        _l("Answer"),
        validators=[
            InputRequired(_l("Say what was done about the dispute.")),
            Length(max=reviews.MAX_NOTE),
            MANY_LINES,
        ],
    )


def disputes_page(forms: dict[int, ResolveForm] | None = None, status: int = 200, error: str | None = None):
    """The open disputes; the manager answers each in place."""
    user = signed_in_user()
    shown = officer_view.disputes_in_view(user)
    forms = forms or {}
    body = render_template(
        "admin/review/disputes.html",
        disputes=shown,
        forms={d.id: forms.get(d.id) or ResolveForm(formdata=None) for d in shown},
        can_resolve=user.role is Role.ADMIN,
        error=error,
    )
    return body, status


@bp.get("/disputes")
@roles_required(*READERS)
def disputes():
    """Open disputes: all for the manager, with an answer form; the visible ones, read-only, for others."""
    return disputes_page()


@bp.post("/disputes/<id:review_id>/resolve")
@roles_required(Role.ADMIN)
def resolve(review_id: int):
    """Record the manager's answer to a dispute."""
    form = ResolveForm()
    if not form.validate():
        return disputes_page({review_id: form}, 422)
    try:
        reviews.resolve_dispute(review_id=review_id, resolution=form.resolution.data, by=signed_in_user())
    except reviews.AlreadyResolved as refusal:
        return disputes_page(status=409, error=refusal.message)
    except DomainError as refusal:
        status = show_domain_error(form, refusal, {"resolution": "resolution"})
        if status == 404:
            abort(404)
        return disputes_page({review_id: form}, status)
    flash(_("Your answer is recorded; the officer sees it on the month's page."), "info")
    return redirect(url_for(".disputes"))


# ---------------------------------------------------------------- the overview


@bp.get("/")
@roles_required(*READERS)
def index():
    """An officer's to-do list of months to review; for the manager and supervisors, last month's counts."""
    user = signed_in_user()
    current = this_month()
    last = add_months(current, -1)
    if user.role is Role.OFFICER:
        to_do = officer_view.officer_months(user, (last, current))
        return render_template("admin/review/index.html", rows=to_do.rows, months=to_do.months, counts=None)
    found = officer_view.overview(user, last)
    return render_template(
        "admin/review/index.html",
        rows=None,
        months=(last, current),
        counts=found.counts,
        total=found.total,
        waiting=found.waiting,
        more=found.more,
        open_disputes=found.open_disputes,
    )
