"""The audit trail for the counter manager: search who did what, when, and what it changed.

Only the manager reads it. Filters come from the query string and are checked by a form:
anything that is not a known table, action, real date or sensible page number is a 422 with
the form's errors, never a database error. Values are shown as stored (masked personal data,
no secrets), autoescaped.
"""

import json

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, Regexp, ValidationError

from shop import audit
from shop.clock import local_time
from shop.models import AuditEvent, Role
from shop.web.access import roles_required

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

ANY = SelectChoice("", _l("Any"))
#: Deep enough for years of events at 50 a page; beyond it, narrow the dates.
MAX_PAGE = 100_000


#: What each action and record is called on the page; the stored names stay as they are.
ACTION_LABELS = {
    audit.INSERT: _l("Added"),
    audit.UPDATE: _l("Changed"),
    audit.DELETE: _l("Deleted"),
    audit.VIEW_PERSONAL_DATA: _l("Viewed personal data"),
    audit.SIGN_IN: _l("Signed in"),
    audit.SIGN_IN_FAILED: _l("Sign-in failed"),
    audit.SIGN_OUT: _l("Signed out"),
    audit.SAMPLE_DRAWN: _l("Drew an inspection sample"),
    audit.EVIDENCE_FILE: _l("Printed a household's evidence file"),
}
ENTITY_LABELS = {
    "adjustment": _l("Correction"),
    "app_user": _l("Staff account"),
    "counter": _l("Counter"),
    "declared_income": _l("Declared income"),
    "household": _l("Household"),
    "household_status": _l("Household status"),
    "lot": _l("Lot"),
    "measure": _l("Measure"),
    "measure_done": _l("Measure ticked off"),
    "month_review": _l("Month review"),
    "order_refund": _l("Order refund"),
    "payout": _l("Payout"),
    "product": _l("Product"),
    "refund": _l("Refund"),
    "risk_proposal": _l("Risk-elimination proposal"),
    "risk_step": _l("Step on a risk proposal"),
    "shop_order": _l("Order"),
    "stock_movement": _l("Stock movement"),
    "town": _l("Town"),
    "village": _l("Village"),
    "visit": _l("Visit"),
    "household_link": _l("Household page link"),
    "payout_dispute": _l("Payout dispute"),
}


class AuditSearch(FlaskForm):
    """The trail's filters, read from the query string (a GET search needs no CSRF token)."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("Staff member"),
        validators=[Optional(), Length(max=40), Regexp(r"^[A-Za-z0-9_.\- ]*$", message=_l("Not a username."))],
    )
    entity = SelectField(
        _l("Record"), choices=[ANY] + [SelectChoice(e, ENTITY_LABELS.get(e, e)) for e in audit.ENTITIES], default=""
    )
    action = SelectField(
        _l("Action"), choices=[ANY] + [SelectChoice(a, ACTION_LABELS.get(a, a)) for a in audit.ACTIONS], default=""
    )
    start = DateField(_l("First day"), validators=[Optional()])
    end = DateField(_l("Last day"), validators=[Optional()])
    page = IntegerField(_l("Page"), default=1, validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def validate_end(self, end):
        """The last day may not come before the first."""
        if end.data and self.start.data and end.data < self.start.data:
            raise ValidationError(_("The last day comes before the first."))


def changes(event: AuditEvent) -> list[tuple[str, object, object]]:
    """The event's values as (column, before, after) rows; a missing side is None."""
    before, after = _load(event.before), _load(event.after)
    return [(key, before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())]


def _load(text: str) -> dict:
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        return {"?": text}
    return values if isinstance(values, dict) else {"?": values}


def page_url(page: int) -> str:
    """This search's address at another page."""
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for(".index", page=page, **args)


@bp.context_processor
def _helpers() -> dict:
    """What the trail's template calls."""
    return {
        "changes": changes,
        "local_time": local_time,
        "page_url": page_url,
        "action_label": lambda action: ACTION_LABELS.get(action, action),
        "entity_label": lambda entity: ENTITY_LABELS.get(entity, entity),
    }


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    """Search the trail: newest first, 50 a page."""
    form = AuditSearch(formdata=request.args)
    if not form.validate():
        return render_template("admin/audit/index.html", form=form, events=[], total=0, page=1, pages=0), 422
    page = form.page.data or 1
    events, total = audit.search(
        actor=(form.actor.data or "").strip() or None,
        entity=form.entity.data or None,
        action=form.action.data or None,
        start=form.start.data,
        end=form.end.data,
        page=page,
    )
    return render_template(
        "admin/audit/index.html",
        form=form,
        events=events,
        total=total,
        page=page,
        pages=-(-total // audit.PAGE_SIZE),
    )
