"""The staff home page: what this account looks after."""

from flask import Blueprint, render_template

from shop import audit
from shop.clock import business_today
from shop.models import Household, Role
from shop.stock import lots
from shop.stock.counters import counter_for
from shop.villages import households
from shop.web.access import signed_in_user, staff_required

bp = Blueprint("admin_home", __name__, url_prefix="/admin")


@bp.route("/")
@staff_required
def index():
    """Households for officers and supervisors, the shelf for clerks, both for the manager, links for inspectors."""
    user = signed_in_user()
    today = business_today()
    # An inspector starts from a sample or the searchable list, not a county's worth of rows.
    show_households = user.role not in (Role.CLERK, Role.INSPECTOR)
    show_shelf = user.role in (Role.ADMIN, Role.CLERK)
    counter = counter_for(user) if show_shelf else None
    listed = households.list_visible(user) if show_households else []
    # An officer's own households by their heads' full names; who saw them goes to the audit trail.
    in_full = households.named_in_full(user, listed)
    audit.personal_data_listed(Household.__tablename__, in_full, "head_name")
    return render_template(
        "admin/home.html",
        households=listed,
        in_full=in_full,
        shelf=lots.shelf(counter.id) if counter else [],
        counter=counter,
        show_households=show_households,
        show_shelf=show_shelf,
        show_inspections=user.role is Role.INSPECTOR,
        today=today,
    )
