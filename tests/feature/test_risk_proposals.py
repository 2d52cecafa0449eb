"""Risk elimination: the officer proposes with the evidence frozen, the town agrees, the county approves."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.ledger.chain import INCOME_KINDS
from shop.models import (
    AuditEvent,
    DeclaredIncome,
    EntryKind,
    Household,
    HouseholdStatus,
    LedgerEntry,
    RiskProposal,
    RiskStep,
    Role,
    User,
)
from shop.oversight import adjustments
from shop.oversight.monitoring import add_months, month_end, month_start
from shop.staff import accounts
from shop.worklog import incomes
from tests.conftest import PASSWORD
from tests.factories import acting_as

TODAY = business_today()
LAST = add_months(month_start(TODAY), -1)
SIX = [add_months(LAST, n) for n in range(-5, 1)]


def person(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def credit(app, household_id: int, amount_fen: int, on) -> None:
    """An approved correction dated `on`: a ledger entry on a day in the past."""
    with app.test_request_context():
        proposed = adjustments.propose(
            household_id=household_id, amount_fen=amount_fen, entry_date=on, reason="补录", by=person("officer")
        )
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=person("admin"))


def declare(officer, household_id: int, lines: list[incomes.IncomeLine]) -> None:
    with acting_as(officer) as user:
        incomes.declare_income(household_id, lines, by=user)


def wages(month, amount_fen: int, source: str = "wages") -> incomes.IncomeLine:
    return incomes.IncomeLine(source, amount_fen, month, min(month_end(month), TODAY), "工资条")


@pytest.fixture
def lincheng(staff):
    """The supervisor of 临城镇, 王's town."""
    with staff.app_context():
        accounts.create_user("lincheng", PASSWORD, Role.SUPERVISOR, town="临城镇")
    return staff


@pytest.fixture
def ready(app, goods, officer, lincheng):
    """王's household meets every criterion: six months above the line, its one measure done, visited today."""
    for n, month in enumerate(SIX):
        credit(app, goods["wang"], 10_000 + 100 * n, month.replace(day=10))
    credit(app, goods["wang"], -700, SIX[2].replace(day=20))
    credit(app, goods["wang"], 99_999, month_start(TODAY))  # this month: not in the evidence
    # 4 people, 62,500 fen a person a month: 250,000 a month with the counter's 10,000.
    declare(officer, goods["wang"], [wages(m, 245_000) for m in SIX] + [wages(SIX[0], 1_000, "medical_cost")])
    measure = officer.post(
        f"/api/households/{goods['wang']}/measures",
        json={"kind": "industry", "title": "专柜销售虾干", "due_on": TODAY.isoformat()},
    ).get_json()["id"]
    assert (
        officer.post(
            f"/api/measures/{measure}/done", json={"done_on": TODAY.isoformat(), "evidence": "已销售"}
        ).status_code
        == 201
    )
    visit = {"visited_on": TODAY.isoformat(), "kind": "home", "findings": "生产正常", "risk_found": False}
    assert officer.post(f"/api/households/{goods['wang']}/visits", json=visit).status_code == 201
    return goods


def propose(user, household_id: int, note: str = "收入稳定"):
    return user.post(f"/admin/proposals/new/{household_id}", data={"note": note})


def step(user, proposal_id: int, step_name: str, reason: str = ""):
    return user.post(f"/admin/proposals/{proposal_id}/steps", data={"step": step_name, "reason": reason})


def the_proposal(app) -> RiskProposal:
    with app.app_context():
        return db.session.scalars(sa.select(RiskProposal)).one()


def test_the_frozen_evidence_matches_the_ledger_and_the_declared_figures(app, ready, officer):
    response = propose(officer, ready["wang"])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    evidence = json.loads(the_proposal(app).evidence)
    with app.app_context():
        signed = sa.case(
            (LedgerEntry.kind == EntryKind.REVERSAL, -LedgerEntry.amount_fen), else_=LedgerEntry.amount_fen
        )
        for row, month in zip(evidence["months"], SIX, strict=True):
            counted = db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(signed), 0)).where(
                    LedgerEntry.household_id == ready["wang"],
                    LedgerEntry.kind.in_(INCOME_KINDS),
                    LedgerEntry.entry_date.between(month, month_end(month)),
                )
            )
            assert row["month"] == month.strftime("%Y-%m")
            assert row["verified_fen"] == counted
        declared = db.session.execute(sa.select(DeclaredIncome.source, DeclaredIncome.amount_fen)).all()
    added = sum(fen for source, fen in declared if source == "wages")
    taken = sum(fen for source, fen in declared if source != "wages")
    assert sum(row["declared_fen"] for row in evidence["months"]) == added - taken
    assert all(row["whole_fen"] == row["verified_fen"] + row["declared_fen"] for row in evidence["months"])
    assert all(row["per_capita_fen"] == row["whole_fen"] // 4 for row in evidence["months"])
    assert evidence["months_above"] == 6 and evidence["unmet"] == []
    assert evidence["measures_done"] == 1 and evidence["measures_open"] == []
    assert evidence["last_visit_on"] == TODAY.isoformat()


def test_officer_town_county_changes_the_household_status_with_an_audit_row_each(app, ready, officer, as_role):
    assert propose(officer, ready["wang"]).status_code == 302
    proposal_id = the_proposal(app).id
    town, county = as_role("lincheng"), as_role("county")
    assert proposal_id in [p.id for p in waiting(app, "lincheng")]
    assert step(town, proposal_id, "town_agreed").status_code == 302
    assert waiting(app, "lincheng") == [] and [p.id for p in waiting(app, "county")] == [proposal_id]
    assert step(county, proposal_id, "approved").status_code == 302
    with app.app_context():
        household = db.session.get(Household, ready["wang"])
        assert household.monitoring_status == "risk_eliminated"
        steps = db.session.scalars(sa.select(RiskStep).order_by(RiskStep.id)).all()
        assert [s.step for s in steps] == ["town_agreed", "approved"]
        status = db.session.get(HouseholdStatus, steps[1].status_id)
        assert (status.household_id, status.monitoring_status, status.effective_on) == (
            ready["wang"],
            "risk_eliminated",
            TODAY,
        )
        audited = db.session.execute(
            sa.select(AuditEvent.entity, AuditEvent.entity_id).where(
                AuditEvent.entity.in_(["risk_proposal", "risk_step"])
            )
        ).all()
        assert sorted(audited) == sorted(
            [("risk_proposal", str(proposal_id)), ("risk_step", str(steps[0].id)), ("risk_step", str(steps[1].id))]
        )
    page = county.get(f"/admin/proposals/{proposal_id}")
    assert page.status_code == 200 and b'data-state="approved"' in page.data


def waiting(app, name: str):
    from shop.worklog import proposals

    with app.app_context():
        return proposals.waiting_for(person(name))


def test_steps_out_of_order_are_conflicts(app, ready, officer, as_role):
    propose(officer, ready["wang"])
    proposal_id = the_proposal(app).id
    town, county = as_role("lincheng"), as_role("county")
    assert step(county, proposal_id, "approved").status_code == 409  # the county before the town
    assert step(county, proposal_id, "returned", "太早").status_code == 409
    assert step(town, proposal_id, "town_agreed").status_code == 302
    assert step(town, proposal_id, "town_agreed").status_code == 409  # a second agreement
    assert step(county, proposal_id, "approved").status_code == 302
    assert step(county, proposal_id, "approved").status_code == 409  # a second approval
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(HouseholdStatus)
                .where(HouseholdStatus.monitoring_status == "risk_eliminated")
            )
            == 1
        )


def test_a_returned_proposal_takes_no_more_steps_and_the_officer_may_propose_again(app, ready, officer, as_role):
    propose(officer, ready["wang"])
    proposal_id = the_proposal(app).id
    town = as_role("lincheng")
    assert step(town, proposal_id, "returned", "").status_code == 422  # a return says why
    assert step(town, proposal_id, "returned", "走访记录不够详细").status_code == 302
    assert step(town, proposal_id, "town_agreed").status_code == 409
    assert step(as_role("county"), proposal_id, "approved").status_code == 409
    assert [p.id for p in waiting(app, "officer")] == [proposal_id]
    assert propose(officer, ready["wang"]).status_code == 302
    assert waiting(app, "officer") == []


def test_who_may_take_a_step(app, ready, officer, as_role):
    propose(officer, ready["wang"])
    proposal_id = the_proposal(app).id
    assert step(as_role("heshe"), proposal_id, "town_agreed").status_code == 404  # another town
    assert as_role("heshe").get(f"/admin/proposals/{proposal_id}").status_code == 404
    for name in ("officer", "inspector", "clerk", "admin"):
        assert step(as_role(name), proposal_id, "town_agreed").status_code == 403, name
    assert step(as_role("lincheng"), proposal_id, "approved").status_code == 403  # only the county approves
    assert step(as_role("county"), proposal_id, "town_agreed").status_code == 403
    assert step(as_role("lincheng"), proposal_id, "magic").status_code == 422
    assert step(as_role("lincheng"), 999_999, "town_agreed").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskStep)) == 0


def test_a_proposal_in_progress_is_not_proposed_twice(app, ready, officer):
    assert propose(officer, ready["wang"]).status_code == 302
    assert propose(officer, ready["wang"]).status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskProposal)) == 1


def test_unmet_criteria_refuse_the_proposal_naming_each(app, goods, officer, lincheng):
    page = officer.get(f"/admin/proposals/new/{goods['wang']}")
    assert page.status_code == 200
    assert page.data.count(b'data-met="no"') == 3  # income, measures, visit; the standing is met
    response = propose(officer, goods["wang"])
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for words in ("监测线", "全部完成", "30 天内"):
        assert words in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskProposal)) == 0


def test_only_the_household_officer_or_the_manager_proposes(app, ready, as_role):
    assert propose(as_role("officer2"), ready["wang"]).status_code == 404
    for name in ("county", "inspector", "clerk"):
        assert propose(as_role(name), ready["wang"]).status_code == 403, name
    assert propose(as_role("officer"), ready["fu"]).status_code == 404  # not theirs
    assert propose(as_role("admin"), ready["fu"]).status_code == 422  # a 脱贫户 is not monitored
    assert propose(as_role("officer"), ready["wang"], "x" * 1001).status_code == 422
    assert propose(as_role("admin"), ready["wang"]).status_code == 302


def test_the_lists_and_pages_render(app, ready, officer, as_role):
    propose(officer, ready["wang"])
    proposal_id = the_proposal(app).id
    town = as_role("lincheng")
    index = town.get("/admin/proposals/")
    assert index.status_code == 200 and f'data-proposal="{proposal_id}"'.encode() in index.data
    page = town.get(f"/admin/proposals/{proposal_id}")
    assert page.status_code == 200 and b'name="step"' in page.data
    assert b'name="step"' not in officer.get(f"/admin/proposals/{proposal_id}").data


# ---------------------------------------------------------------- early warnings


def test_a_fall_in_counter_income_and_a_month_below_the_line_are_warned_of(app, goods, officer, as_role, lincheng):
    credit(app, goods["wang"], 60_000, TODAY - timedelta(days=60))  # baseline average 20,000 per 30 days
    credit(app, goods["wang"], 5_000, TODAY - timedelta(days=3))
    [row] = officer.get("/api/worklog/warnings").get_json()["warnings"]
    assert row["household_id"] == goods["wang"] and row["rules"] == ["counter_drop"]
    assert (row["last_30_fen"], row["baseline_average_fen"], row["whole_per_capita_fen"]) == (5_000, 20_000, None)
    declare(officer, goods["wang"], [wages(LAST, 100_000)])
    [row] = as_role("county").get("/api/worklog/warnings").get_json()["warnings"]
    assert row["rules"] == ["counter_drop", "below_line"]
    counter_last_month = 60_000 if month_start(TODAY - timedelta(days=60)) == LAST else 0
    assert row["whole_per_capita_fen"] == (100_000 + counter_last_month) // 4
    assert as_role("heshe").get("/api/worklog/warnings").get_json()["warnings"] == []
    assert as_role("officer2").get("/api/worklog/warnings").get_json()["warnings"] == []
    assert as_role("clerk").get("/api/worklog/warnings").status_code == 403
    page = as_role("lincheng").get("/admin/proposals/warnings")
    assert page.status_code == 200 and f'data-household="{goods["wang"]}"'.encode() in page.data


def test_a_small_earner_is_not_warned_of_a_fall(app, goods, officer):
    credit(app, goods["wang"], 14_000, TODAY - timedelta(days=60))  # average 4,666: below the minimum
    assert officer.get("/api/worklog/warnings").get_json()["warnings"] == []


# ---------------------------------------------------------------- the household page


def test_the_household_page_says_when_nothing_is_declared(goods, officer):
    page = officer.get(f"/admin/households/{goods['wang']}")
    assert page.status_code == 200 and b'data-whole="none"' in page.data
    assert f"/admin/proposals/new/{goods['wang']}".encode() in page.data


def test_the_household_page_shows_the_whole_income_with_its_parts(app, ready, officer):
    page = officer.get(f"/admin/households/{ready['wang']}").get_data(as_text=True)
    assert 'data-whole="none"' not in page and 'data-whole-above="6"' in page
    month = SIX[-1]
    assert f'data-month="{month:%Y-%m}" data-whole="{(10_500 + 245_000) // 4}"' in page


def test_the_work_ledger_page_shows_the_households_proposals_and_offers_the_checklist(app, ready, officer, as_role):
    page = officer.get(f"/admin/worklog/households/{ready['wang']}").get_data(as_text=True)
    assert f"/admin/proposals/new/{ready['wang']}" in page and "data-proposal=" not in page
    propose(officer, ready["wang"])
    proposal_id = the_proposal(app).id
    page = officer.get(f"/admin/worklog/households/{ready['wang']}").get_data(as_text=True)
    assert f'data-proposal="{proposal_id}"' in page and 'data-state="proposed"' in page
    # The county reads the proposal's state there, but is offered no checklist to propose from.
    county = as_role("county").get(f"/admin/worklog/households/{ready['wang']}").get_data(as_text=True)
    assert f'data-proposal="{proposal_id}"' in county and "/admin/proposals/new/" not in county


# ---------------------------------------------------------------- the work dashboards carry both


def test_the_dashboards_show_warnings_and_the_proposals_waiting(app, ready, goods, officer, as_role):
    today_page = officer.get("/admin/work/today").get_data(as_text=True)
    assert 'id="warnings"' in today_page and f'data-household="{goods["wang"]}"' not in today_page

    credit(app, goods["wang"], 900_000, TODAY - timedelta(days=60))  # a big earner whose sales then fell
    today_page = officer.get("/admin/work/today").get_data(as_text=True)
    assert f'data-household="{goods["wang"]}" data-rules="counter_drop"' in today_page
    town = as_role("lincheng")
    village_row = town.get("/admin/work/town").get_data(as_text=True)
    assert "data-waiting" not in village_row
    # The warnings column is the last of the village's row: one warned household in 大波村.
    totals = village_row.split('data-row="total"')[1].split("</tr>")[0]
    assert totals.rstrip().endswith('<td class="num warn">1</td>')

    propose(officer, ready["wang"])
    assert 'data-waiting="1"' in town.get("/admin/work/town").get_data(as_text=True)
    assert "data-waiting" not in as_role("county").get("/admin/work/county").get_data(as_text=True)
    step(town, the_proposal(app).id, "town_agreed")
    assert 'data-waiting="1"' in as_role("county").get("/admin/work/county").get_data(as_text=True)
