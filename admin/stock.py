"""Stock: receiving lots, the shelf by product and lot, labels, write-offs, stocktakes and returns."""

from flask import Blueprint

bp = Blueprint("admin_stock", __name__, url_prefix="/admin/stock")


from shop.access import roles_required  # noqa: E402
from shop.models import Role  # noqa: E402


@bp.route("/")
@roles_required(Role.ADMIN, Role.CLERK)
def index():
    """Stock (placeholder until the stock pages land)."""
    return "Stock"
