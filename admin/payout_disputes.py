"""Payout disputes: households that say, from their own page, that a payout never reached them.

The manager, the household's officer and the supervisors over its town see each dispute (open ones
first) and answer it; the answer shows on the household's page. Inspectors read them within their
scope and answer none; clerks see nothing. The queries and their scoping are in shop.oversight.disputes.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from shop.clock import local_time
from shop.errors import DomainError
from shop.oversight import disputes
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import MANY_LINES, show_domain_error
from shop.web.templating import person

bp = Blueprint("admin_payout_disputes", __name__, url_prefix="/admin/disputes")


class AnswerForm(FlaskForm):
    """A staff answer to a household's dispute."""

    answer = TextAreaField(
        _l("Answer"),
        validators=[
            InputRequired(_l("Write the answer to the household.")),
            Length(max=disputes.MAX_ANSWER),
            MANY_LINES,
        ],
    )


def when(at) -> str:
    """A moment in the counter's time, to the minute."""
    return f"{local_time(at):%Y-%m-%d %H:%M}"


def list_page(forms: dict | None = None, status: int = 200):
    """Every dispute the user sees, open ones first, each open one with its answer form for those who answer."""
    user = signed_in_user()
    shown = disputes.disputes_for(user)
    forms = forms or {}
    body = render_template(
        "admin/disputes/index.html",
        disputes=shown,
        forms={d.id: forms.get(d.id) or AnswerForm(formdata=None) for d in shown},
        can_answer=user.role in disputes.ANSWERERS,
        person=person,
        when=when,
    )
    return body, status


@bp.get("/")
@roles_required(*disputes.READERS)
def index():
    """The payout disputes in the user's scope."""
    return list_page()


@bp.post("/<id:dispute_id>/answer")
@roles_required(*disputes.ANSWERERS)
def answer(dispute_id: int):
    """Answer a dispute, once."""
    form = AnswerForm()
    if not form.validate():
        return list_page({dispute_id: form}, 422)
    try:
        disputes.answer_dispute(dispute_id, form.answer.data, by=signed_in_user())
    except DomainError as error:
        if error.code == "not_found":
            raise
        return list_page({dispute_id: form}, show_domain_error(form, error, {"answer": "answer"}))
    flash(_("The answer was recorded; the household sees it on its page."), "success")
    return redirect(url_for(".index", _anchor=f"dispute-{dispute_id}"), 303)
