"""Reports for supervisors and the manager: the counter's month as a page, a PDF and a CSV for the bureau.

The manager and every supervisor read them; a town's supervisor sees only their
town's households in the household tables (the scoping is in shop.oversight.report_queries'
queries). Clerks and officers get 403. A month or year that is not one, is
before 2000 or is still to come is a 404: there is no such report.

The index offers the last complete month first: a month still running would
understate, and the bureau asks for complete months. The current month is
there too, marked as so far.
"""

import re
from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from shop.clock import business_today, local_time, now_utc
from shop.extensions import db
from shop.models import Counter
from shop.oversight import report_exports, report_queries
from shop.oversight.monitoring import FIRST_YEAR, InvalidMonth, add_months, month_start, parse_month
from shop.stock.counters import default_counter
from shop.web.access import roles_required, signed_in_user

bp = Blueprint("admin_reports", __name__, url_prefix="/admin/reports")

report_readers = roles_required(*report_queries.REPORT_READERS)

#: How many recent months and years the index links to.
RECENT_MONTHS, RECENT_YEARS = 12, 3

_YEAR = re.compile(r"[0-9]{4}")


def month_title(month: date, skeleton: str = "yMMMM") -> str:
    """A month as the reader's language writes it: 2026年11月, November 2026 (or "MMM": 11月, Nov)."""
    return format_skeleton(skeleton, month, locale=get_locale())


@bp.context_processor
def report_helpers() -> dict:
    """What the report templates format months and channels with."""
    return {"month_title": month_title, "channel_label": channel_label}


@bp.route("/")
@report_readers
def index():
    """Pick a month or a year; a month typed into the picker goes to its report."""
    today = business_today()
    this_month = month_start(today)
    if picked := request.args.get("month"):
        return redirect(url_for(".month_page", month=f"{report_month(picked):%Y-%m}"))
    if picked := request.args.get("year"):
        return redirect(url_for(".year_page", year=report_year(picked)))
    return render_template(
        "admin/reports/index.html",
        this_month=this_month,
        months=[add_months(this_month, -n) for n in range(1, RECENT_MONTHS + 1)],
        years=[today.year - n for n in range(RECENT_YEARS)],
    )


def report_month(text: str) -> date:
    """The month a URL names, or 404: not a month, before 2000, or after this one."""
    try:
        month = parse_month(text)
    except InvalidMonth:
        abort(404)
    if month > month_start(business_today()) or month.year < FIRST_YEAR:
        abort(404)
    return month


def report_year(text: str) -> int:
    """The year a URL names, or 404: not four digits, before 2000, or after this one."""
    if not _YEAR.fullmatch(text or "") or not FIRST_YEAR <= int(text) <= business_today().year:
        abort(404)
    return int(text)


def counter_filter() -> int | None:
    """The ?counter=<id> the sales tables are limited to; a counter id that is not a number is 404."""
    text = request.args.get("counter", "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**31:
        abort(404)
    return int(text)


def report_counters() -> list[Counter]:
    """The counters a report may be limited to: every one, closed ones too, whose past is still reported."""
    return list(db.session.scalars(db.select(Counter).order_by(Counter.id)))


def month_figures(month_text: str) -> report_queries.MonthFigures:
    """The month a URL names, as the signed-in reader may see it."""
    return report_queries.month_report(report_month(month_text), signed_in_user(), counter_filter())


@bp.get("/month/<month>")
@report_readers
def month_page(month: str):
    """The month: summary, channels, products, towns and the households' income."""
    figures = month_figures(month)
    return render_template(
        "admin/reports/month.html",
        figures=figures,
        counters=report_counters(),
        running=figures.month == month_start(business_today()),
        previous=add_months(figures.month, -1),
        following=add_months(figures.month, 1),
        latest=month_start(business_today()),
    )


@bp.get("/month/<month>.pdf")
@report_readers
def month_pdf(month: str):
    """The month as an A4 PDF in Chinese, to print and file."""
    figures = month_figures(month)
    name = figures.counter.name if figures.counter else _counters_name()
    document = report_exports.month_document(figures, name, local_time(now_utc()))
    from shop.pdf.report import render_month_report  # reportlab: loaded by the first report printed

    response = make_response(render_month_report(document))
    response.mimetype = "application/pdf"
    response.headers.set("Content-Disposition", "inline", filename=f"bangfu-{figures.month:%Y-%m}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _counters_name() -> str:
    """The name a report of every counter goes under: the counter's own when there is only one."""
    if db.session.scalar(db.select(db.func.count(Counter.id))) == 1:
        return default_counter().name
    return "全部专柜"


@bp.get("/month/<month>.csv")
@report_readers
def month_csv(month: str):
    """One table of the month as CSV for the bureau: the households, or ?table=products|towns|channels."""
    table = request.args.get("table", "households")
    if table not in report_exports.MONTH_TABLES:
        abort(404)
    figures = month_figures(month)
    suffix = "" if table == "households" else f"-{table}"
    return csv_response(report_exports.month_csv(figures, table), f"bangfu-{figures.month:%Y-%m}{suffix}.csv")


@bp.get("/year/<year>")
@report_readers
def year_page(year: str):
    """Every visible household's income month by month in a year, against the monitoring line."""
    figures = report_queries.household_year(report_year(year), signed_in_user(), counter_filter())
    months = [date(figures.year, m, 1) for m in range(1, 13)]
    return render_template(
        "admin/reports/year.html",
        figures=figures,
        months=months,
        this_year=business_today().year,
        counters=report_counters(),
    )


@bp.get("/year/<year>.csv")
@report_readers
def year_csv(year: str):
    """The year's household × month table as CSV for the bureau."""
    figures = report_queries.household_year(report_year(year), signed_in_user(), counter_filter())
    return csv_response(report_exports.year_csv(figures), f"bangfu-{figures.year}.csv")


def csv_response(text: str, filename: str):
    """A CSV download, UTF-8 with its byte-order mark, not cached on shared machines."""
    response = make_response(text.encode("utf-8"))
    response.mimetype = "text/csv"
    response.charset = "utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def channel_label(value) -> str:
    """Words for a sale channel on the report pages."""
    return {"counter": _("At the counter"), "online": _("Online")}.get(str(value), str(value))
