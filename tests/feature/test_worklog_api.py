"""The work ledger's API: an officer plans, ticks off and visits; others read within their scope and write nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Measure, MeasureDone, RiskProposal, RiskStep, User, Visit
from tests.factories import receive


def day(offset: int) -> str:
    return (business_today() + timedelta(days=offset)).isoformat()


def add_measure(user, household_id: int, **fields):
    body = {"kind": "industry", "title": "通过专柜销售虾干", "due_on": day(30), **fields}
    return user.post(f"/api/households/{household_id}/measures", json=body)


def visit(user, household_id: int, **fields):
    body = {"visited_on": day(0), "kind": "home", "findings": "家中生产正常", "risk_found": False, **fields}
    return user.post(f"/api/households/{household_id}/visits", json=body)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---------------------------------------------------------------- an officer's plan


def test_an_officer_plans_a_measure_and_ticks_it_off_once(goods, officer, app):
    created = add_measure(officer, goods["wang"], kind="employment", title="推荐到县城务工")
    assert created.status_code == 201
    measure_id = created.get_json()["id"]

    done = officer.post(f"/api/measures/{measure_id}/done", json={"done_on": day(0), "evidence": "已签劳动合同"})
    assert done.status_code == 201
    again = officer.post(f"/api/measures/{measure_id}/done", json={"done_on": day(0), "evidence": "再次销号"})
    assert again.status_code == 409
    assert count(app, MeasureDone) == 1

    [measure] = officer.get(f"/api/households/{goods['wang']}/worklog").get_json()["measures"]
    assert (measure["kind"], measure["title"], measure["status"]) == ("employment", "推荐到县城务工", "done")
    assert (measure["done_on"], measure["evidence"], measure["done_late"]) == (day(0), "已签劳动合同", False)
    assert measure["due_on"] == day(30) and measure["starts_on"] == day(0)


def test_a_tick_off_typed_in_long_after_is_kept_and_marked_late(goods, officer):
    measure_id = add_measure(officer, goods["wang"]).get_json()["id"]
    assert (
        officer.post(f"/api/measures/{measure_id}/done", json={"done_on": day(-8), "evidence": "补录"}).status_code
        == 201
    )
    [measure] = officer.get(f"/api/households/{goods['wang']}/worklog").get_json()["measures"]
    assert measure["done_late"] is True


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"due_on": day(-1)}, "due_on"),
        ({"due_on": day(6 * 366)}, "due_on"),
        ({"kind": "magic"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "两行\n标题"}, "title"),
        ({"due_on": "2026-02-30"}, "due_on"),
        ({"sells_through_counter": "yes"}, "sells_through_counter"),
    ],
)
def test_a_measure_the_rules_refuse_changes_nothing(goods, officer, app, fields, field):
    response = add_measure(officer, goods["wang"], **fields)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(app, Measure) == 0


def test_a_tick_off_in_the_future_is_refused(goods, officer, app):
    measure_id = add_measure(officer, goods["wang"]).get_json()["id"]
    response = officer.post(f"/api/measures/{measure_id}/done", json={"done_on": day(1), "evidence": "明天"})
    assert response.status_code == 422 and "done_on" in response.get_json()["error"]["fields"]
    assert count(app, MeasureDone) == 0


def test_an_industry_measure_about_the_counter_shows_the_households_credits(goods, officer, clerk, app):
    measure_id = add_measure(officer, goods["wang"], sells_through_counter=True).get_json()["id"]
    receive(clerk, goods["shrimp"], goods["wang"], 2000, mode="purchase", purchase_price_fen=9000)
    receive(clerk, goods["shrimp"], goods["wang"], 1000, mode="purchase", purchase_price_fen=4500)
    with app.app_context():
        from shop.models import LedgerEntry

        credited = db.session.scalar(
            sa.select(sa.func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.household_id == goods["wang"])
        )
    [measure] = officer.get(f"/api/households/{goods['wang']}/worklog").get_json()["measures"]
    assert credited > 0 and measure["counter_fen"] == credited
    assert measure_id == measure["id"]


# ---------------------------------------------------------------- visits


def test_a_visit_is_recorded_with_the_servers_time_and_the_phones(goods, officer, app):
    phone_time = "2026-12-01T09:30:00+08:00"
    before = datetime.now(UTC).replace(tzinfo=None)
    response = visit(officer, goods["wang"], kind="phone", risk_found=True, device_recorded_at=phone_time)
    assert response.status_code == 201
    assert response.get_json()["late"] is False
    [row] = officer.get(f"/api/households/{goods['wang']}/worklog").get_json()["visits"]
    assert (row["kind"], row["risk_found"], row["late"]) == ("phone", True, False)
    assert row["device_recorded_at"] == "2026-12-01T01:30:00Z"
    assert datetime.fromisoformat(row["recorded_at"].removesuffix("Z")) >= before.replace(microsecond=0)


def test_a_visit_recorded_more_than_seven_days_after_is_kept_and_marked_late(goods, officer):
    assert visit(officer, goods["wang"], visited_on=day(-7)).get_json()["late"] is False
    assert visit(officer, goods["wang"], visited_on=day(-8)).get_json()["late"] is True
    rows = officer.get(f"/api/households/{goods['wang']}/worklog").get_json()["visits"]
    assert [(r["visited_on"], r["late"]) for r in rows] == [(day(-7), False), (day(-8), True)]


def test_a_visit_in_the_future_is_refused(goods, officer, app):
    response = visit(officer, goods["wang"], visited_on=day(1))
    assert response.status_code == 422 and "visited_on" in response.get_json()["error"]["fields"]
    assert count(app, Visit) == 0


def test_the_phone_sending_a_visit_twice_records_it_once(goods, officer, app):
    first = visit(officer, goods["wang"], client_key="b1c4f6e0-0000-4000-8000-000000000001")
    again = visit(officer, goods["wang"], client_key="b1c4f6e0-0000-4000-8000-000000000001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert count(app, Visit) == 1
    other = visit(officer, goods["wang"], client_key="b1c4f6e0-0000-4000-8000-000000000001", findings="另一次")
    assert other.status_code == 409
    assert count(app, Visit) == 1


def forty_days_on(monkeypatch) -> None:
    """The officer records visits as if 40 days had passed since the household was listed."""
    monkeypatch.setattr("shop.worklog.visits.business_today", lambda: business_today() + timedelta(days=40))


def next_due(user, household_id: int) -> str | None:
    return user.get(f"/api/households/{household_id}/worklog").get_json()["next_visit_due"]


def test_a_monitored_household_is_due_a_visit_a_month_after_the_last(goods, officer, monkeypatch):
    assert next_due(officer, goods["wang"]) == day(30)
    forty_days_on(monkeypatch)
    visit(officer, goods["wang"], visited_on=day(37))
    assert next_due(officer, goods["wang"]) == day(67)


def test_a_household_whose_risk_was_eliminated_is_due_a_visit_a_quarter_later(goods, admin, officer, monkeypatch):
    visit(officer, goods["wang"], visited_on=day(-5))
    status = {"category": "jiance", "monitoring_status": "risk_eliminated", "effective_on": day(0), "reason": "稳定"}
    assert admin.post(f"/api/households/{goods['wang']}/status", json=status).status_code == 201
    assert next_due(officer, goods["wang"]) == day(90)
    forty_days_on(monkeypatch)
    visit(officer, goods["wang"], visited_on=day(20))
    assert next_due(officer, goods["wang"]) == day(110)


def test_a_tuopin_household_has_no_visit_scheduled_unless_configured(goods, as_role):
    assert next_due(as_role("officer2"), goods["fu"]) is None


# ---------------------------------------------------------------- who may do what


def test_another_officers_household_is_not_found(goods, as_role, app):
    other = as_role("officer2")
    assert other.get(f"/api/households/{goods['wang']}/worklog").status_code == 404
    assert add_measure(other, goods["wang"]).status_code == 404
    assert visit(other, goods["wang"]).status_code == 404
    assert count(app, Measure) + count(app, Visit) == 0


def test_supervisors_and_inspectors_read_within_their_scope_and_write_nothing(goods, officer, as_role, app):
    measure_id = add_measure(officer, goods["wang"]).get_json()["id"]
    for username in ("county", "inspector", "heshe", "heshe-inspector", "clerk"):
        reader = as_role(username)
        in_scope = username in ("county", "inspector")
        expected = 200 if in_scope else 403 if username == "clerk" else 404
        assert reader.get(f"/api/households/{goods['wang']}/worklog").status_code == expected, username
        refused = 403  # none of these roles writes a work ledger, in scope or not
        assert add_measure(reader, goods["wang"]).status_code == refused, username
        assert visit(reader, goods["wang"]).status_code == refused, username
        done = reader.post(f"/api/measures/{measure_id}/done", json={"done_on": day(0), "evidence": "x"})
        assert done.status_code == refused, username
    assert (count(app, Measure), count(app, MeasureDone), count(app, Visit)) == (1, 0, 0)


def test_every_record_goes_to_the_audit_trail_with_its_author(goods, officer, app):
    add_measure(officer, goods["wang"])
    visit(officer, goods["wang"])
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.entity, AuditEvent.action).where(AuditEvent.entity.in_(["measure", "visit"]))
        ).all()
        assert sorted(events) == [("measure", "insert"), ("visit", "insert")]


# ---------------------------------------------------------------- nothing is changed or deleted


def every_kind_of_record(app, officer, household_id: int) -> None:
    """One row in each of the work ledger's tables: a measure ticked off, a visit with income, a proposal's step."""
    measure_id = add_measure(officer, household_id).get_json()["id"]
    officer.post(f"/api/measures/{measure_id}/done", json={"done_on": day(0), "evidence": "已完成"})
    line = {
        "source": "wages",
        "amount_fen": 120000,
        "period_start": day(-30),
        "period_end": day(0),
        "how_checked": "工资条",
    }
    assert visit(officer, household_id, income=[line]).status_code == 201
    with app.app_context():
        by = db.session.scalar(sa.select(User.id).where(User.username == "county"))
        proposal = RiskProposal(household_id=household_id, evidence="{}", proposed_by_id=by)
        db.session.add(proposal)
        db.session.flush()
        db.session.add(RiskStep(proposal_id=proposal.id, step="returned", reason="材料不全", by_id=by))
        db.session.commit()


@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("measure", "title"),
        ("measure_done", "evidence"),
        ("visit", "late"),
        ("declared_income", "amount_fen"),
        ("risk_proposal", "note"),
        ("risk_step", "reason"),
    ],
)
def test_the_database_refuses_to_change_or_delete_a_record(goods, officer, app, statement, table, column):
    every_kind_of_record(app, officer, goods["wang"])
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement.format(t=table, c=column)))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) == 1


# ---------------------------------------------------------------- what is overdue


def test_overdue_lists_open_measures_past_their_deadline_and_visits_due_in_scope(goods, officer, as_role, monkeypatch):
    late = add_measure(officer, goods["wang"], due_on=day(1), title="修缮住房").get_json()["id"]
    done = add_measure(officer, goods["wang"], due_on=day(1), title="办理医保").get_json()["id"]
    add_measure(officer, goods["wang"], due_on=day(100), title="以后")
    officer.post(f"/api/measures/{done}/done", json={"done_on": day(0), "evidence": "已办"})
    monkeypatch.setattr("shop.web.worklog_api.business_today", lambda: business_today() + timedelta(days=40))

    answer = officer.get("/api/worklog/overdue").get_json()
    assert answer["measures"] == [
        {"id": late, "household_id": goods["wang"], "kind": "industry", "title": "修缮住房", "due_on": day(1)}
    ]
    assert answer["visits_due"] == [{"household_id": goods["wang"], "next_visit_due": day(30)}]
    assert as_role("officer2").get("/api/worklog/overdue").get_json() == {"measures": [], "visits_due": []}
    assert as_role("heshe-inspector").get("/api/worklog/overdue").get_json() == {"measures": [], "visits_due": []}
    assert len(as_role("inspector").get("/api/worklog/overdue").get_json()["measures"]) == 1
    assert as_role("clerk").get("/api/worklog/overdue").status_code == 403
