"""Households for officers, supervisors and the manager: income, the monitoring evidence, payouts and corrections."""

from flask import Blueprint

bp = Blueprint("admin_households", __name__, url_prefix="/admin/households")
