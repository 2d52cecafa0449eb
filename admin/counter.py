"""The counter (POS): selling, the day's sales, receipts and refunds."""

from flask import Blueprint

bp = Blueprint("admin_counter", __name__, url_prefix="/admin/counter")


from shop.access import roles_required  # noqa: E402
from shop.models import Role  # noqa: E402


@bp.route("/")
@roles_required(Role.ADMIN, Role.CLERK)
def pos():
    """The till (placeholder until the POS page lands)."""
    return "POS"
