"""Reports for supervisors and the manager: the counter's month as a page, a PDF and a CSV for the bureau."""

from flask import Blueprint

bp = Blueprint("admin_reports", __name__, url_prefix="/admin/reports")
