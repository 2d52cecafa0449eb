"""A household's own page, opened from the QR code on its slips, receipts, statements and card.

Public and unguessable: the address carries the link's token (shop.oversight.household_pages).
An unknown, revoked or malformed token answers the same 404, and 404s are throttled per client:
a burst of guesses gets 429, while opening a real page costs nothing of the budget. The page is
built for an old phone: no script, large type, under 50 KB, real headings and captioned tables
for the screen reader. The one form, "这笔钱我没收到" under a payout, is a plain POST with CSRF.
"""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from shop.errors import DomainError
from shop.extensions import limiter
from shop.oversight import disputes, household_pages
from shop.oversight.monitoring import InvalidMonth, parse_month
from shop.web.access import public
from shop.web.forms import FlaskForm, OneLineField
from shop.web.templating import month_text, signed_text

bp = Blueprint("household_page", __name__, url_prefix="/h")

#: Guesses a client may make before it is turned away for a while (only 404s count).
GUESSES = "10 per minute; 30 per hour"


def _missed(response) -> bool:
    """Only answers that found no page count against the client's guesses."""
    return response.status_code == 404


class DisputeForm(FlaskForm):
    """The household's "I did not receive this": an optional short note."""

    note = OneLineField(max_length=disputes.MAX_NOTE)


@bp.get("/<token>")
@public
@limiter.limit(GUESSES, deduct_when=_missed)
def page(token: str):
    """The household's months, newest first; ?before=YYYY-MM for older ones, ?month=YYYY-MM for one in full."""
    link = household_pages.link_by_token(token)
    if link is None:
        return not_found()
    try:
        before = parse_month(request.args["before"]) if "before" in request.args else None
        month = parse_month(request.args["month"]) if "month" in request.args else None
    except InvalidMonth:
        return not_found()
    household_pages.count_view(link.id)
    shown = household_pages.own_page(link.household, before=before, month=month)
    raised = request.args.get("raised", type=int)
    return private(
        render_template(
            "household_page/page.html",
            own=shown,
            token=token,
            raised=raised,
            checkpoint=household_pages.latest_checkpoint(),
            lines_shown=household_pages.LINES_SHOWN,
            month_text=month_text,
            signed_text=signed_text,
        )
    )


@bp.get("/<token>/proof/<id:seq>.json")
@public
@limiter.limit(GUESSES, deduct_when=_missed)
def proof(token: str, seq: int):
    """One of the household's entries, proved to be in the latest signed checkpoint: the checker's input."""
    link = household_pages.link_by_token(token)
    proved = household_pages.own_proof(link.household_id, seq) if link else None
    if proved is None:
        return not_found()
    return private(jsonify(proved))


@bp.post("/<token>/payouts/<id:payout_id>/dispute")
@public
@limiter.limit(GUESSES, deduct_when=_missed)
def dispute(token: str, payout_id: int):
    """Raise "I did not receive this" on a payout of this household, once; back to the page."""
    link = household_pages.link_by_token(token)
    if link is None:
        return not_found()
    form = DisputeForm()
    if not form.validate():
        return private(render_template("household_page/refused.html", token=token)), 422
    try:
        raised, _new = disputes.raise_dispute(link, payout_id, form.note.data or "")
    except DomainError as error:
        status = 404 if error.code == "not_found" else 422
        return private(render_template("household_page/refused.html", token=token)), status
    target = url_for(".page", token=token, raised=raised.payout_id, _anchor=f"payout-{raised.payout_id}")
    return redirect(target, 303)


def not_found():
    """The one answer for an address that opens no page."""
    return private(render_template("household_page/not_found.html")), 404


def private(body):
    """A household's own figures: not cached, not indexed, its address not sent on."""
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
