"""The work dashboards (/admin/work): the officer's day, the town's table and the county's, with the campaign's curve.

An officer sees their own households, a town's supervisor or inspector their town (another town
is "not found"), the county's supervisors and inspectors and the manager everything. Clerks have
no part in it (403). The counts come from shop.worklog.dashboards in grouped queries.
"""

from flask import Blueprint, abort, render_template, request

from shop import audit
from shop.clock import business_today
from shop.models import Household, Role
from shop.oversight import disputes
from shop.oversight.officer_view import visible_ids
from shop.villages.households import named_in_full
from shop.web.access import roles_required, signed_in_user
from shop.web.progress_chart import progress_chart
from shop.web.templating import month_text
from shop.worklog import dashboards, proposals, warnings
from shop.worklog.visits import cadence

bp = Blueprint("admin_dashboards", __name__, url_prefix="/admin/work")

#: Who reads a town's or the county's dashboard (each within their scope).
READERS = (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR)


@bp.get("/today")
@roles_required(Role.OFFICER, Role.ADMIN)
def today():
    """The officer's day: measures overdue, visits past due and due this week, late records this month."""
    user = signed_in_user()
    today = business_today()
    day = dashboards.day_of(user, today, cadence())
    # An officer's own households by their heads' full names; who saw them goes to the audit trail.
    in_full = named_in_full(user, list(day.households.values()))
    audit.personal_data_listed(Household.__tablename__, in_full, "head_name")
    return render_template(
        "admin/dashboards/today.html",
        day=day,
        in_full=in_full,
        today=today,
        warnings=warnings.warnings_in(visible_ids(user), today),
        waiting=proposals.waiting_for(user),
        state_of=proposals.state_of,
        month_text=month_text,
        open_disputes=disputes.open_count(user),
    )


def _number_arg(name: str) -> int | None:
    """A whole-number query argument, None when absent; anything else is 404 (there is no such page)."""
    text = request.args.get(name)
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        abort(404)
    return int(text)


@bp.get("/town")
@roles_required(*READERS)
def town():
    """A town's work per village and per officer; county-level readers pick the town with ?town=<id>."""
    user = signed_in_user()
    towns = dashboards.towns_readable(user)
    asked = _number_arg("town")
    if asked is None:
        chosen = towns[0] if towns else None
    else:
        chosen = next((t for t in towns if t.id == asked), None)
        if chosen is None:
            abort(404)
    if chosen is None:
        return render_template(
            "admin/dashboards/town.html", town=None, towns=towns, waiting=proposals.waiting_for(user)
        )
    today = business_today()
    return render_template(
        "admin/dashboards/town.html",
        town=chosen,
        towns=towns,
        villages=dashboards.by_village(chosen.id, today, cadence()),
        officers=dashboards.by_officer(chosen.id, today, cadence()),
        waiting=proposals.waiting_for(user),
    )


@bp.get("/county")
@roles_required(*READERS)
def county():
    """The county's work per town, and measures opened and ticked off per week (?weeks=, 1 to 104)."""
    user = signed_in_user()
    if user.town_id is not None:
        abort(403)  # a town's account reads its town's dashboard
    weeks = _number_arg("weeks") or dashboards.DEFAULT_WEEKS
    if weeks > dashboards.MAX_WEEKS:
        abort(404)
    today = business_today()
    curve = dashboards.progress(user, today, weeks)
    figures = ([w.label for w in curve], [w.opened for w in curve], [w.done for w in curve])
    return render_template(
        "admin/dashboards/county.html",
        towns=dashboards.by_town(user, today, cadence()),
        curve=curve,
        charts=(progress_chart(*figures, phone=True), progress_chart(*figures)),
        weeks=weeks,
        max_weeks=dashboards.MAX_WEEKS,
        waiting=proposals.waiting_for(user),
    )
