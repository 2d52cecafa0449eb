"""The visit form an officer fills in at a household, which keeps working with no signal.

One page plus static/js/visits.js: a visit (and the household's income by source) is kept in
the phone's localStorage under a fresh record key before it is first sent to
POST /api/households/<id>/visits, and sent again until the server keeps it or refuses it for
good. A service worker (static/js/visits-sw.js, served from here for its scope) keeps the page
itself, so that it reloads in a village with no network.
"""

from flask import Blueprint, current_app, render_template, request, send_from_directory, url_for
from flask_babel import lazy_gettext as _l

from shop.clock import business_today
from shop.villages.households import search_text
from shop.web.access import roles_required, signed_in_user
from shop.worklog import access, visits
from shop.worklog.rules import DEDUCTED, IncomeSource, VisitKind

bp = Blueprint("admin_visits", __name__, url_prefix="/admin/visits")

SOURCE_LABELS = {
    IncomeSource.WAGES: _l("Wages"),
    IncomeSource.BUSINESS: _l("Business income (besides the counter)"),
    IncomeSource.TRANSFER: _l("Transfers (pensions, subsidies)"),
    IncomeSource.PROPERTY: _l("Property income (rent, dividends)"),
    IncomeSource.MEDICAL_COST: _l("Medical costs (deducted)"),
    IncomeSource.EDUCATION_COST: _l("Education costs (deducted)"),
    IncomeSource.OTHER_COST: _l("Other unavoidable costs (deducted)"),
}
KIND_LABELS = {VisitKind.HOME: _l("At home"), VisitKind.PHONE: _l("By phone")}


@bp.get("/")
@roles_required(*access.WRITERS)
def index():
    """The visit form with its queue: the officer's households, or for the manager those found by a search.

    Names are shown masked with their codes: the list stays in the phone's cache.
    """
    user = signed_in_user()
    typed = search_text(request.args.get("q"))
    chosen = request.args.get("household", type=int)
    choice = visits.households_for_form(user, typed, chosen)
    return render_template(
        "admin/visits/index.html",
        choice=choice,
        typed=typed,
        today=business_today(),
        kinds=[(k.value, KIND_LABELS[k]) for k in VisitKind],
        earned=[(s.value, SOURCE_LABELS[s]) for s in IncomeSource if s not in DEDUCTED],
        deducted=[(s.value, SOURCE_LABELS[s]) for s in IncomeSource if s in DEDUCTED],
        messages=messages(),
    )


@bp.get("/sw.js")
@roles_required(*access.WRITERS)
def service_worker():
    """The visit form's service worker, served from here so that its scope covers /admin/visits/."""
    response = send_from_directory(current_app.static_folder, "js/visits-sw.js", mimetype="text/javascript", max_age=0)
    # The browser checks for a new worker on every visit; never let a cache answer for it.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for(".index")
    return response


def messages() -> dict[str, str]:
    """The words visits.js shows, translated here."""
    return {
        "pending": str(_l("Waiting to be sent")),
        "attention": str(_l("Refused: needs your attention")),
        "offline": str(_l("No network: visits are kept on this phone and sent later.")),
        "saved": str(_l("Kept on this phone: it is sent as soon as there is network.")),
        "sent": str(_l("Sent: the visit is recorded.")),
        "network_error": str(_l("Not sent yet: no network or no answer. It will be sent again.")),
        "signed_out": str(_l("Signed out: sign in again and the visits waiting are sent.")),
        "storage_full": str(_l("This phone could not keep the visit: nothing was saved. Free some space.")),
        "discard_confirm": str(_l("Throw this visit away? It was not recorded.")),
        "discard": str(_l("Throw away")),
        "retry": str(_l("Send again")),
        "remove_line": str(_l("Remove this line")),
        "bad_amount": str(_l("Write the amount in yuan, such as 1200 or 1200.50.")),
        "missing": str(_l("Fill this in.")),
        "home": str(KIND_LABELS[VisitKind.HOME]),
        "phone": str(KIND_LABELS[VisitKind.PHONE]),
        "risk": str(_l("Risk found")),
        "income_lines": str(_l("%(n)s income lines")),
        "income_line": str(_l("income line %(n)s")),
        "typed_at": str(_l("typed %(when)s")),
    }
