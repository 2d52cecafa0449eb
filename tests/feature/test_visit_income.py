"""Income declared at a visit: written with the visit in one transaction, all or nothing, and never twice."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import DeclaredIncome, Visit

KEY = "0f0e4a52-9d43-4d7e-8a8b-2f1c3d4e5f60"


def day(offset: int) -> str:
    return (business_today() + timedelta(days=offset)).isoformat()


def line(**fields) -> dict:
    return {
        "source": "wages",
        "amount_fen": 1_200_000,
        "period_start": day(-90),
        "period_end": day(-1),
        "how_checked": "工资条",
        **fields,
    }


def visit(user, household_id: int, **fields):
    body = {"visited_on": day(0), "kind": "home", "findings": "家中生产正常", "risk_found": False, **fields}
    return user.post(f"/api/households/{household_id}/visits", json=body)


def recorded(app) -> tuple[int, list[tuple]]:
    """How many visits, and every declared line as (visit_id, source, amount_fen)."""
    with app.app_context():
        visits = db.session.scalar(sa.select(sa.func.count()).select_from(Visit))
        rows = db.session.execute(
            sa.select(DeclaredIncome.visit_id, DeclaredIncome.source, DeclaredIncome.amount_fen).order_by(
                DeclaredIncome.id
            )
        ).all()
        return visits, [(v, str(s), a) for v, s, a in rows]


def test_a_visit_and_its_income_lines_are_recorded_together(goods, officer, app):
    medical = line(source="medical_cost", amount_fen=300_000, how_checked="医院票据")
    response = visit(officer, goods["wang"], client_key=KEY, income=[line(), medical])
    assert response.status_code == 201, response.get_json()
    visit_id = response.get_json()["id"]
    assert recorded(app) == (1, [(visit_id, "wages", 1_200_000), (visit_id, "medical_cost", 300_000)])


def test_a_visit_without_income_writes_no_income(goods, officer, app):
    assert visit(officer, goods["wang"]).status_code == 201
    assert recorded(app) == (1, [])


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"amount_fen": -1}, "income.1.amount_fen"),
        ({"amount_fen": True}, "income.1.amount_fen"),
        ({"amount_fen": 1_000_000_001}, "income.1.amount_fen"),
        ({"amount_fen": 10**30}, "income.1.amount_fen"),
        ({"amount_fen": "12000"}, "income.1.amount_fen"),
        ({"amount_fen": 12.5}, "income.1.amount_fen"),
        ({"source": "lottery"}, "income.1.source"),
        ({"how_checked": ""}, "income.1.how_checked"),
        ({"how_checked": "x" * 201}, "income.1.how_checked"),
        ({"period_start": "2026-13-01"}, "income.1.period_start"),
        ({"extra": 1}, "income.1.extra"),
    ],
)
def test_a_malformed_income_line_refuses_the_whole_visit(goods, officer, app, bad, field):
    response = visit(officer, goods["wang"], client_key=KEY, income=[line(), line(**bad)])
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert recorded(app) == (0, [])


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"period_end": day(1)}, "income.1.period_end"),
        ({"period_start": day(1), "period_end": day(2)}, "income.1.period_end"),
        ({"period_start": day(-1), "period_end": day(-2)}, "income.1.period_end"),
        ({"period_start": day(-500), "period_end": day(-1)}, "income.1.period_start"),
        ({"period_start": "1999-12-31", "period_end": "2000-01-31"}, "income.1.period_end"),
        ({"how_checked": "工资\n条"}, "income.1.how_checked"),
    ],
)
def test_an_income_line_the_rules_refuse_refuses_the_whole_visit(goods, officer, app, bad, field):
    response = visit(officer, goods["wang"], client_key=KEY, income=[line(), line(**bad)])
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert recorded(app) == (0, [])


def test_at_most_twenty_income_lines(goods, officer, app):
    response = visit(officer, goods["wang"], income=[line()] * 21)
    assert response.status_code == 422 and "income" in response.get_json()["error"]["fields"]
    assert visit(officer, goods["wang"], income=[line()] * 20).status_code == 201
    assert len(recorded(app)[1]) == 20


def test_the_same_record_sent_again_writes_its_income_once(goods, officer, app):
    income = [line(), line(source="transfer", amount_fen=50_000, how_checked="存折")]
    first = visit(officer, goods["wang"], client_key=KEY, income=income)
    # The phone resends it, its lines in another order: the same record.
    again = visit(officer, goods["wang"], client_key=KEY, income=list(reversed(income)))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    visits, rows = recorded(app)
    assert (visits, len(rows)) == (1, 2)


@pytest.mark.parametrize(
    "changed",
    [
        [line(amount_fen=1_200_001)],
        [line(), line()],
        [],
        [line(source="business")],
        [line(how_checked="本人口述")],
    ],
)
def test_a_different_income_under_the_same_key_is_a_conflict(goods, officer, app, changed):
    assert visit(officer, goods["wang"], client_key=KEY, income=[line()]).status_code == 201
    response = visit(officer, goods["wang"], client_key=KEY, income=changed)
    assert response.status_code == 409 and "client_key" in response.get_json()["error"]["fields"]
    assert recorded(app)[0] == 1 and len(recorded(app)[1]) == 1


def test_another_officers_household_is_404_and_writes_nothing(goods, as_role, app):
    assert visit(as_role("officer2"), goods["wang"], income=[line()]).status_code == 404
    assert visit(as_role("county"), goods["wang"], income=[line()]).status_code == 403
    assert recorded(app) == (0, [])


def test_income_declared_at_a_visit_is_among_the_standing_figures(goods, officer, app):
    visit_id = visit(officer, goods["wang"], income=[line()]).get_json()["id"]
    from shop.worklog import incomes

    with app.app_context():
        [row] = incomes.standing_figures(goods["wang"])
        assert (row.visit_id, row.amount_fen, row.how_checked) == (visit_id, 1_200_000, "工资条")
