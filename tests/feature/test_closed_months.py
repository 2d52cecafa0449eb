"""Months closed once a month: the year report reads them, `ledger verify` recomputes them, late entries count."""

import re
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.ledger import closed_months, guard
from shop.ledger.chain import INCOME_KINDS, EntryKind
from shop.models import ClosedHouseholdMonth, LedgerClosing, LedgerEntry, User
from shop.oversight import report_queries
from shop.oversight.monitoring import add_months, month_start
from tests.feature.test_reports import correct, read_csv, second_admin, trade  # noqa: F401 (fixtures)

TODAY = business_today()
THIS_MONTH = month_start(TODAY)
LAST_MONTH = add_months(THIS_MONTH, -1)
EARLIER = add_months(THIS_MONTH, -3)
#: The years the entries below fall in (last month may be last year's December).
YEARS = sorted({EARLIER.year, LAST_MONTH.year, TODAY.year})


def year_page(admin, year: int) -> str:
    """The year report's page, without the form token that differs per request."""
    html = admin.get(f"/admin/reports/year/{year}").get_data(as_text=True)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def flask(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def ledger_alone(app, year: int) -> dict[int, list[int]]:
    """Each household's twelve net incomes of the year, summed here from the ledger's rows."""
    months: dict[int, list[int]] = defaultdict(lambda: [0] * 12)
    with app.app_context():
        for entry in db.session.scalars(sa.select(LedgerEntry)):
            if entry.kind in INCOME_KINDS and entry.entry_date.year == year:
                sign = -1 if entry.kind is EntryKind.REVERSAL else 1
                months[entry.household_id][entry.entry_date.month - 1] += sign * entry.amount_fen
    return dict(months)


def reported(app, year: int) -> dict[int, list[int]]:
    """The same through the project's year report, as the county bureau reads it."""
    with app.app_context():
        county = db.session.scalars(sa.select(User).where(User.username == "county")).one()
        return {h.household_id: list(h.months) for h in report_queries.household_year(year, county).households}


@pytest.fixture
def history(app, goods, trade, second_admin):  # noqa: F811 (fixtures)
    """This month's trade, and corrections dated back three months and last month, both households."""
    for household, amount, on in (
        (goods["wang"], 1500, EARLIER),
        (goods["fu"], 800, EARLIER.replace(day=15)),
        (goods["wang"], 2500, LAST_MONTH.replace(day=28)),
        (goods["fu"], -300, LAST_MONTH),
    ):
        correct(app, household, amount, on)
    return goods


def test_the_year_with_closed_months_is_the_year_from_the_ledger_alone(app, history, as_role):
    admin = as_role("admin")
    before = {year: read_csv(admin.get(f"/admin/reports/year/{year}.csv")) for year in YEARS}
    page_before = year_page(admin, TODAY.year)
    result = flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}")
    assert result.exit_code == 0, result.output
    assert f"Closed the months up to {LAST_MONTH:%Y-%m}" in result.output
    with app.app_context():
        closed = db.session.scalars(sa.select(ClosedHouseholdMonth)).all()
        assert {(r.household_id, r.month) for r in closed} >= {
            (history["wang"], EARLIER),
            (history["wang"], LAST_MONTH),
            (history["fu"], LAST_MONTH),
        }
        assert all(r.month <= LAST_MONTH for r in closed)
    for year in YEARS:
        assert reported(app, year) == ledger_alone(app, year)
        assert read_csv(admin.get(f"/admin/reports/year/{year}.csv")) == before[year]
    assert year_page(admin, TODAY.year) == page_before


def test_the_year_reads_closed_months_from_their_rows_not_the_ledger(app, history):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    # A row's figure changed behind the app's back shows in the report: it is what the report reads.
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn, "closed_household_month")
        conn.execute(
            sa.text(
                "UPDATE closed_household_month SET income_fen = income_fen + 1 WHERE household_id = :h AND month = :m"
            ),
            {"h": history["wang"], "m": LAST_MONTH},
        )
        guard.install(conn, "closed_household_month")
    assert reported(app, LAST_MONTH.year)[history["wang"]][LAST_MONTH.month - 1] == (
        ledger_alone(app, LAST_MONTH.year)[history["wang"]][LAST_MONTH.month - 1] + 1
    )
    # ... and `ledger verify` names it.
    result = flask(app, "ledger", "verify")
    assert result.exit_code == 1
    assert f"household {history['wang']}'s closed month {LAST_MONTH:%Y-%m}" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE closed_household_month SET credited_fen = credited_fen + 100, income_fen = income_fen + 100"
        " WHERE household_id = :h AND month = :m",
        "DELETE FROM closed_household_month WHERE household_id = :h AND month = :m",
        "UPDATE closed_household_month SET month = :later WHERE household_id = :h AND month = :m",
    ],
)
def test_verify_names_a_closed_month_changed_behind_the_apps_back(app, history, statement):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    assert flask(app, "ledger", "verify").exit_code == 0
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn, "closed_household_month")
        conn.execute(sa.text(statement), {"h": history["wang"], "m": LAST_MONTH, "later": THIS_MONTH})
        guard.install(conn, "closed_household_month")
    result = flask(app, "ledger", "verify")
    assert result.exit_code == 1
    assert "closed" in result.output


def test_verify_names_a_closed_month_whose_ledger_was_changed_behind_it(app, history):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        conn.execute(
            sa.text(
                "UPDATE household_ledger SET amount_fen = amount_fen + 100 WHERE household_id = :h "
                "AND entry_date >= :m AND entry_date < :next"
            ),
            {"h": history["fu"], "m": LAST_MONTH, "next": THIS_MONTH},
        )
        guard.install(conn)
    with app.app_context():
        fault = closed_months.verify_closed()
    assert fault is not None
    assert (fault.household_id, fault.month) == (history["fu"], LAST_MONTH)
    assert flask(app, "ledger", "verify").exit_code == 1


def test_the_closed_tables_refuse_changes(app, history):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    for statement in (
        "UPDATE closed_household_month SET income_fen = 0",
        "DELETE FROM closed_household_month",
        "UPDATE ledger_closing SET through_seq = 0",
        "DELETE FROM ledger_closing",
    ):
        with app.app_context(), pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_closing_twice_adds_nothing(app, history):
    first = flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}")
    assert first.exit_code == 0, first.output
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(ClosedHouseholdMonth))
    again = flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}")
    earlier = flask(app, "ledger", "close-month", f"{EARLIER:%Y-%m}")
    assert again.exit_code == earlier.exit_code == 0
    assert "nothing new" in again.output and "nothing new" in earlier.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerClosing)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClosedHouseholdMonth)) == rows


def test_an_entry_written_into_a_closed_month_later_is_counted_then_closed_too(app, history):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    correct(app, history["wang"], 4200, LAST_MONTH.replace(day=2))  # a correction dated back, after the closing
    correct(app, history["fu"], 900, EARLIER.replace(day=3))
    for year in YEARS:
        assert reported(app, year) == ledger_alone(app, year)
    assert flask(app, "ledger", "verify").exit_code == 0
    # The next closing sums just those into new rows of the closed months; the year still agrees.
    result = flask(app, "ledger", "close-month")  # last month, as cron runs it
    assert result.exit_code == 0, result.output
    with app.app_context():
        newest = db.session.scalar(sa.select(sa.func.max(LedgerClosing.id)))
        added = db.session.scalars(
            sa.select(ClosedHouseholdMonth).where(ClosedHouseholdMonth.closing_id == newest)
        ).all()
    assert sorted((r.household_id, r.month, r.income_fen) for r in added) == sorted(
        [(history["wang"], LAST_MONTH, 4200), (history["fu"], EARLIER, 900)]
    )
    for year in YEARS:
        assert reported(app, year) == ledger_alone(app, year)
    assert flask(app, "ledger", "verify").exit_code == 0


def test_a_town_supervisor_sees_their_towns_closed_months_only(app, history, as_role):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    rows = read_csv(as_role("heshe").get(f"/admin/reports/year/{LAST_MONTH.year}.csv"))
    assert [r["户编号"] for r in rows] == ["CT001"]


@pytest.mark.parametrize(
    "argument, code, said",
    [
        ("2026-13", 2, "is not a month"),
        ("26-01", 2, "is not a month"),
        ("'; DROP TABLE ledger_closing; --", 2, "is not a month"),
        ("９９９９-01", 2, "is not a month"),
        ("1999-12", 2, "is not a month"),
        (f"{THIS_MONTH:%Y-%m}", 1, "月份结束后才能结账"),
        (f"{add_months(THIS_MONTH, 5):%Y-%m}", 1, "月份结束后才能结账"),
    ],
)
def test_close_month_refuses_what_is_not_a_month_that_is_over(app, history, argument, code, said):
    result = flask(app, "ledger", "close-month", argument)
    assert result.exit_code == code, result.output
    assert said in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerClosing)) == 0


def test_a_county_without_entries_can_close_its_months(app, world):
    result = flask(app, "ledger", "close-month", "2020-01")
    assert result.exit_code == 0, result.output
    assert flask(app, "ledger", "verify").exit_code == 0
    assert "nothing new" in flask(app, "ledger", "close-month", "2020-01").output


def test_closing_a_first_month_sums_every_month_before_it(app, history):
    assert flask(app, "ledger", "close-month", f"{EARLIER:%Y-%m}").exit_code == 0
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    with app.app_context():
        months = sorted({r.month for r in db.session.scalars(sa.select(ClosedHouseholdMonth))})
    assert months[-1] == LAST_MONTH and EARLIER in months
    for year in YEARS:
        assert reported(app, year) == ledger_alone(app, year)
    assert flask(app, "ledger", "verify").exit_code == 0


def test_the_closed_figures_are_those_of_the_month(app, history):
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    with app.app_context():
        row = db.session.scalars(
            sa.select(ClosedHouseholdMonth).where(
                ClosedHouseholdMonth.household_id == history["wang"], ClosedHouseholdMonth.month == LAST_MONTH
            )
        ).one()
        entries = db.session.scalars(
            sa.select(LedgerEntry).where(
                LedgerEntry.household_id == history["wang"],
                LedgerEntry.entry_date >= LAST_MONTH,
                LedgerEntry.entry_date < THIS_MONTH,
            )
        ).all()
    assert (row.adjusted_fen, row.income_fen, row.entries, row.income_entries) == (2500, 2500, 1, 1)
    assert row.last_seq == max(e.seq for e in entries)
    assert isinstance(row.month, date)


def overview_counts(manager) -> dict[str, str]:
    html = manager.get("/admin/review/").get_data(as_text=True)
    return dict(re.findall(r'<div data-count="(\w+)">.*?<dd>(\d+)</dd>', html, re.S))


def test_the_managers_overview_reads_a_closed_month_as_the_ledger_gives_it(app, history, as_role):
    from tests.feature.test_review_pages import review

    assert review(as_role("officer"), history["wang"], "confirmed", month=f"{LAST_MONTH:%Y-%m}").status_code == 302
    manager = as_role("admin")
    before = overview_counts(manager)
    assert before["confirmed"] == "1" and before["none"] == "1"  # 符 has last month's correction, unreviewed
    assert flask(app, "ledger", "close-month", f"{LAST_MONTH:%Y-%m}").exit_code == 0
    assert overview_counts(manager) == before
    # A correction written into the closed, confirmed month afterwards shows it amended, as it would unclosed.
    correct(app, history["wang"], 100, LAST_MONTH.replace(day=9))
    after = overview_counts(manager)
    assert (after["confirmed"], after["amended"]) == ("0", "1")
    assert flask(app, "ledger", "close-month").exit_code == 0
    assert overview_counts(manager) == after
