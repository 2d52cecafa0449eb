"""The monthly review: a household's statement for a month, the officer's confirmation or dispute, and disputes."""

from flask import Blueprint

bp = Blueprint("admin_review", __name__, url_prefix="/admin/review")
