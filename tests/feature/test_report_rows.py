"""The reports' labelled rows read from the ledger: each household's fields add up as their names say."""

from shop.extensions import db
from shop.models import Role, User
from shop.oversight import report_queries
from shop.oversight.monitoring import per_capita

from .test_reports import THIS_MONTH, TODAY, trade  # noqa: F401 (fixture)


def test_each_household_month_and_year_row_adds_up(app, goods, trade):  # noqa: F811
    with app.app_context():
        admin = db.session.scalars(db.select(User).where(User.role == Role.ADMIN)).first()
        month = report_queries.month_report(THIS_MONTH, admin)
        year = report_queries.household_year(TODAY.year, admin)
    assert month.households and year.households
    for h in month.households:
        assert h.income_fen == h.credited_fen - h.reversed_fen + h.adjusted_fen
        assert h.per_capita_fen == per_capita(h.income_fen, h.members)
        assert h.credited_fen > 0 and "*" in h.head_name_masked
    for h in year.households:
        assert len(h.months) == 12 and h.total_fen == sum(h.months)
        assert h.per_capita_fen == per_capita(h.total_fen, h.members)
    # This month in the year's table is the month's income, household by household (a quiet one is left out).
    incomes = {h.code: h.income_fen for h in month.households}
    this_month = {h.code: h.months[THIS_MONTH.month - 1] for h in year.households}
    assert all(this_month.get(code, 0) == fen for code, fen in incomes.items())
    assert all(incomes.get(code, 0) == fen for code, fen in this_month.items())
