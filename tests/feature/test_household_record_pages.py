"""The household's record page: its history for every reader; the manager changes the record, officer and standing."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.audit import UPDATE
from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Household, HouseholdChange, HouseholdStatus


def send(user, url: str, **fields):
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def page(user, household_id: int) -> str:
    response = user.get(f"/admin/households/{household_id}/record")
    assert response.status_code == 200
    return response.get_data(as_text=True)


RECORD = {"members": "4", "town": "临城镇", "village": "大波村", "head_name": "", "phone": "", "reason": ""}


def test_the_manager_changes_members_village_phone_and_name_and_the_history_shows_it(app, goods, admin, officer):
    fields = {**RECORD, "members": "6", "village": "新村", "phone": "１３９１２３４５６７８", "head_name": "王亦强"}
    response = send(admin, f"/admin/households/{goods['wang']}/record", **{**fields, "reason": "长子成家分户"})
    assert response.status_code == 302
    with app.app_context():
        household = db.session.get(Household, goods["wang"])
        assert (household.members, household.village.name_zh, household.phone, household.head_name) == (
            6,
            "新村",
            "13912345678",
            "王亦强",
        )
        changes = db.session.scalars(sa.select(HouseholdChange)).all()
        assert {c.field.value for c in changes} == {"members", "village", "phone", "head_name"}
        assert all(c.source == "page" and c.reason == "长子成家分户" for c in changes)
        # The audit trail keeps the household's update too, masked.
        updates = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity == "household", AuditEvent.action == UPDATE)
        ).all()
        assert updates and not any("王亦强" in (e.after or "") or "13912345678" in (e.after or "") for e in updates)
    html = page(officer, goods["wang"])  # the officer reads the history
    assert "长子成家分户" in html and "临城镇 大波村" in html and "临城镇 新村" in html
    # Their own household: the head and phone in full (logged); the history keeps its masks.
    assert "13912345678" in html and "王亦强" in html
    assert "edit_record" not in html and 'id="edit"' not in html  # no forms for the officer


def test_the_same_record_sent_again_records_nothing(app, goods, admin):
    assert send(admin, f"/admin/households/{goods['wang']}/record", **RECORD).status_code == 302
    assert rows(app, HouseholdChange) == 0


def test_the_phone_can_be_removed(app, goods, admin):
    assert (
        send(admin, f"/admin/households/{goods['wang']}/record", **{**RECORD, "phone": "13812345678"}).status_code
        == 302
    )
    assert send(admin, f"/admin/households/{goods['wang']}/record", **RECORD, remove_phone="y").status_code == 302
    with app.app_context():
        assert db.session.get(Household, goods["wang"]).phone is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"members": "0"}, "Members is a whole number"),
        ({"members": "51"}, "Members is a whole number"),
        ({"members": "abc"}, None),
        ({"members": ""}, "Give the number of members."),
        ({"village": ""}, "Name the village."),
        ({"village": "a\x00b"}, "Remove the control characters."),
        ({"town": "没有镇"}, None),
        ({"phone": "12345"}, "11 digits"),
        ({"phone": "13812345678", "remove_phone": "y"}, "not both"),
        ({"head_name": "王" * 51}, None),
        ({"head_name": "王\x1b明"}, "Remove the control characters."),
        ({"reason": "x" * 501}, None),
    ],
)
def test_a_bad_record_is_422_with_the_error_beside_the_field_and_nothing_changed(app, goods, admin, change, message):
    admin.client.get("/lang/en")
    response = send(admin, f"/admin/households/{goods['wang']}/record", **{**RECORD, "members": "5", **change})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html
    if message:
        assert message in html
    assert rows(app, HouseholdChange) == 0
    with app.app_context():
        assert db.session.get(Household, goods["wang"]).members == 4


def test_the_manager_hands_the_household_to_another_officer(app, goods, admin, as_role):
    response = send(admin, f"/admin/households/{goods['wang']}/officer", officer="officer2", reason="调岗")
    assert response.status_code == 302
    assert as_role("officer").get(f"/admin/households/{goods['wang']}/record").status_code == 404
    html = page(as_role("officer2"), goods["wang"])
    changes = html[html.index('id="changes"') :]
    assert "调岗" in changes
    assert '<span class="before">officer</span>' in changes and '<span class="after">officer2</span>' in changes


@pytest.mark.parametrize("officer", ["", "clerk", "nobody", "officer2\x00", "<script>alert(1)</script>"])
def test_a_hand_over_to_no_active_officer_is_422(app, goods, admin, officer):
    response = send(admin, f"/admin/households/{goods['wang']}/officer", officer=officer, reason="")
    assert response.status_code == 422
    assert rows(app, HouseholdChange) == 0


def test_a_deactivated_officer_is_not_offered(app, goods, admin):
    with app.app_context():
        from shop.models import User

        user = db.session.scalars(sa.select(User).where(User.username == "officer2")).one()
        user.active = False
        db.session.commit()
    html = page(admin, goods["wang"])
    assert 'value="officer2"' not in html
    assert send(admin, f"/admin/households/{goods['wang']}/officer", officer="officer2").status_code == 422


def today(days: int = 0) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


STANDING = {
    "category": "jiance",
    "monitor_subtype": "",
    "monitoring_status": "risk_eliminated",
    "reason": "连续六个月达标",
}


def test_the_manager_records_a_standing_and_everyone_reads_it_oldest_first(app, goods, admin, as_role):
    response = send(admin, f"/admin/households/{goods['wang']}/status", **STANDING, effective_on=today())
    assert response.status_code == 302
    with app.app_context():
        household = db.session.get(Household, goods["wang"])
        assert household.monitoring_status.value == "risk_eliminated"
    for who in ("officer", "county"):
        html = as_role(who).get(f"/admin/households/{goods['wang']}/record").get_data(as_text=True)
        standings = html[html.index('id="standings"') : html.index('id="changes"')]
        assert standings.index("建档") < standings.index("连续六个月达标")
        assert "admin" in standings


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"effective_on": today(1)}, "in the future"),
        ({"effective_on": today(-1)}, "before the household"),
        ({"effective_on": ""}, "Give the day"),
        ({"effective_on": "2026-13-45"}, None),
        ({"monitoring_status": "relapsed"}, "Only a household whose risk was eliminated"),
        ({"monitoring_status": "identified"}, "already the household"),
        ({"category": "yiban", "monitoring_status": "identified"}, "Only a monitored household"),
        ({"category": "poor"}, None),
        ({"reason": ""}, "Say why"),
        ({"reason": "a\x00b"}, "Remove the control characters."),
    ],
)
def test_a_refused_standing_is_422_with_its_reason_and_records_nothing(app, goods, admin, change, field_message):
    admin.client.get("/lang/en")
    response = send(
        admin, f"/admin/households/{goods['wang']}/status", **{**STANDING, "effective_on": today(), **change}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html
    if field_message:
        assert field_message in html
    assert rows(app, HouseholdStatus) == 2


@pytest.mark.parametrize("who", ["officer", "county", "heshe"])
def test_readers_see_the_history_without_forms_and_writes_are_refused(app, goods, as_role, who):
    user = as_role(who)
    status = 200 if who != "heshe" else 404
    assert user.get(f"/admin/households/{goods['wang']}/record").status_code == status
    want = 403
    assert send(user, f"/admin/households/{goods['wang']}/record", **{**RECORD, "members": "5"}).status_code == want
    assert send(user, f"/admin/households/{goods['wang']}/officer", officer="officer2").status_code == want
    assert send(user, f"/admin/households/{goods['wang']}/status", **STANDING, effective_on=today()).status_code == want
    assert rows(app, HouseholdChange) == 0 and rows(app, HouseholdStatus) == 2


def test_clerks_have_no_record_page(goods, clerk):
    assert clerk.get(f"/admin/households/{goods['wang']}/record").status_code == 403
    assert send(clerk, f"/admin/households/{goods['wang']}/record", **RECORD).status_code == 403


def test_another_officers_household_is_404(goods, as_role):
    assert as_role("officer2").get(f"/admin/households/{goods['wang']}/record").status_code == 404


@pytest.mark.parametrize("bad", ["0", "99999", str(2**63)])
def test_a_household_that_is_not_there_is_404(goods, admin, bad):
    assert admin.get(f"/admin/households/{bad}/record").status_code == 404
    assert send(admin, "/admin/households/99999/record", **RECORD).status_code == 404
    assert send(admin, "/admin/households/99999/status", **STANDING, effective_on=today()).status_code == 404


def test_every_form_needs_its_csrf_token(app, goods, admin):
    for url, fields in (("record", {**RECORD, "members": "5"}), ("officer", {"officer": "officer2"})):
        response = admin.client.post(f"/admin/households/{goods['wang']}/{url}", data=fields)
        assert response.status_code == 400
    assert rows(app, HouseholdChange) == 0


def test_the_household_page_links_to_the_record_and_lists_standings_oldest_first(goods, admin, officer):
    assert send(admin, f"/admin/households/{goods['wang']}/status", **STANDING, effective_on=today()).status_code == 302
    html = officer.get(f"/admin/households/{goods['wang']}").get_data(as_text=True)
    assert f"/admin/households/{goods['wang']}/record" in html
    section = html[html.index('id="statuses"') :]
    assert section.index("建档") < section.index("连续六个月达标")
