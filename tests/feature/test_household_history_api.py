"""GET and PATCH /api/households/<id>, POST /api/households/<id>/status, the household search and the head's name."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.audit import VIEW_PERSONAL_DATA
from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Household, HouseholdChange, HouseholdStatus, LedgerEntry, Village
from tests.factories import receive


def patch(user, url: str, body):
    return user.client.patch(url, json=body, headers={"X-CSRFToken": user.token or user.refresh_token()})


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def days_ago(n: int) -> str:
    return (business_today() - timedelta(days=n)).isoformat()


# ---------------------------------------------------------------- reading one household


def test_one_household_reads_as_the_list_with_its_history(goods, admin):
    listed = next(h for h in admin.get("/api/households").get_json() if h["id"] == goods["wang"])
    response = admin.get(f"/api/households/{goods['wang']}")
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in listed} == listed
    assert body["head_name_masked"] == "王**" and "王亦明" not in response.get_data(as_text=True)
    assert body["status_history"] == [
        {
            "category": "jiance",
            "monitor_subtype": "marginal",
            "monitoring_status": "identified",
            "effective_on": business_today().isoformat(),
            "reason": "建档",  # written in the language of the request that listed it
            "recorded_by": "admin",
        }
    ]
    assert body["changes"] == []


@pytest.mark.parametrize(("who", "status"), [("officer", 200), ("officer2", 404), ("heshe", 404), ("county", 200)])
def test_one_household_is_scoped_like_the_list(goods, as_role, who, status):
    assert as_role(who).get(f"/api/households/{goods['wang']}").status_code == status


@pytest.mark.parametrize("bad", ["0", "99999", str(2**63), "-1", "abc", "%00"])
def test_a_household_that_is_not_there_is_404(goods, admin, bad):
    assert admin.get(f"/api/households/{bad}").status_code == 404


def test_strangers_read_no_household(goods, api):
    assert api.get(f"/api/households/{goods['wang']}").status_code == 401


# ---------------------------------------------------------------- changing the record


def test_the_manager_changes_members_phone_village_and_officer_and_the_history_keeps_it(app, goods, admin):
    body = {
        "members": 5,
        "phone": "13912345678",
        "town": "和舍镇",
        "village": "丛潭村",
        "officer": "officer2",
        "reason": "Moved in with the son",
    }
    response = patch(admin, f"/api/households/{goods['wang']}", body)
    assert response.status_code == 200, response.get_json()
    household = response.get_json()
    assert (household["members"], household["town"], household["village"], household["officer"]) == (
        5,
        "和舍镇",
        "丛潭村",
        "officer2",
    )
    changes = {c["field"]: c for c in household["changes"]}
    assert set(changes) == {"members", "phone", "village", "officer"}
    assert changes["members"]["before"] == "4" and changes["members"]["after"] == "5"
    assert changes["phone"]["after"] == "139****5678"  # masked, as the audit trail keeps it
    assert changes["village"]["before"] == "临城镇 大波村" and changes["village"]["after"] == "和舍镇 丛潭村"
    assert all(c["changed_by"] == "admin" and c["source"] == "api" for c in changes.values())
    assert all(c["reason"] == "Moved in with the son" for c in changes.values())
    assert "13912345678" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Household, goods["wang"]).phone == "13912345678"
    # Handed to officer2: the first officer no longer sees it, the new one does.
    assert patch(admin, f"/api/households/{goods['wang']}", {"members": 6}).status_code == 200


def test_a_handed_over_household_moves_between_officers(goods, admin, as_role):
    assert patch(admin, f"/api/households/{goods['wang']}", {"officer": "officer2"}).status_code == 200
    assert as_role("officer").get(f"/api/households/{goods['wang']}").status_code == 404
    assert as_role("officer2").get(f"/api/households/{goods['wang']}").status_code == 200


def test_the_same_record_sent_again_records_nothing(app, goods, admin):
    assert patch(admin, f"/api/households/{goods['wang']}", {"members": 4, "officer": "officer"}).status_code == 200
    assert rows(app, HouseholdChange) == 0


def test_the_head_name_changes_and_the_phone_is_removed(app, goods, admin):
    assert patch(admin, f"/api/households/{goods['wang']}", {"phone": "13812345678"}).status_code == 200
    response = patch(admin, f"/api/households/{goods['wang']}", {"head_name": "王亦强", "phone": "", "reason": "x"})
    assert response.status_code == 200
    with app.app_context():
        household = db.session.get(Household, goods["wang"])
        assert (household.head_name, household.phone) == ("王亦强", None)
    removed = [c for c in response.get_json()["changes"] if c["field"] == "phone"][-1]
    assert (removed["before"], removed["after"]) == ("138****5678", "")


def test_a_village_alone_stays_in_the_households_town_and_is_added_when_new(app, goods, admin):
    assert patch(admin, f"/api/households/{goods['wang']}", {"village": "新村"}).status_code == 200
    with app.app_context():
        village = db.session.get(Household, goods["wang"]).village
        assert (village.town.name_zh, village.name_zh) == ("临城镇", "新村")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"reason": "only a reason"}, "body"),
        ({"members": None}, "body"),
        ({"code": "X1"}, "code"),
        ({"category": "yiban"}, "category"),
        ({"members": 0}, "members"),
        ({"members": 51}, "members"),
        ({"members": "5"}, "members"),
        ({"members": True}, "members"),
        ({"phone": "1381234567"}, "phone"),
        ({"phone": "１３８１２３４５６７８"}, "phone"),
        ({"head_name": ""}, "head_name"),
        ({"head_name": "王\x00明"}, "head_name"),
        ({"head_name": "王" * 51}, "head_name"),
        ({"town": "和舍镇"}, "village"),
        ({"town": "没有镇", "village": "某村"}, "town"),
        ({"officer": "clerk"}, "officer"),
        ({"officer": "nobody"}, "officer"),
        ({"members": 5, "reason": "x" * 501}, "reason"),
        ({"members": 5, "reason": "a\x00b"}, "reason"),
    ],
)
def test_a_bad_change_is_422_and_changes_nothing(app, goods, admin, body, field):
    response = patch(admin, f"/api/households/{goods['wang']}", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert rows(app, HouseholdChange) == 0
    with app.app_context():
        household = db.session.get(Household, goods["wang"])
        assert (household.members, household.head_name, household.officer.username) == (4, "王亦明", "officer")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Village)) == 2


def test_a_change_that_is_not_json_is_415(goods, admin):
    response = admin.client.patch(
        f"/api/households/{goods['wang']}", data="members=5", headers={"X-CSRFToken": admin.refresh_token()}
    )
    assert response.status_code == 415


@pytest.mark.parametrize("who", ["clerk", "officer", "county"])
def test_only_the_manager_changes_a_household(app, goods, as_role, who):
    user = as_role(who)
    assert patch(user, f"/api/households/{goods['wang']}", {"members": 5}).status_code == 403
    body = {"category": "yiban", "effective_on": days_ago(0), "reason": "x"}
    assert user.post(f"/api/households/{goods['wang']}/status", json=body).status_code == 403
    assert rows(app, HouseholdChange) == 0 and rows(app, HouseholdStatus) == 2


def test_a_change_without_the_csrf_token_is_refused(app, goods, admin):
    admin.refresh_token()
    assert admin.client.patch(f"/api/households/{goods['wang']}", json={"members": 5}).status_code == 400
    assert rows(app, HouseholdChange) == 0


def test_a_change_to_a_household_that_is_not_there_is_404(goods, admin):
    assert patch(admin, "/api/households/99999", {"members": 5}).status_code == 404


# ---------------------------------------------------------------- standings


def test_a_status_change_is_201_and_reads_back_oldest_first(app, goods, admin):
    url = f"/api/households/{goods['wang']}/status"
    body = {"category": "jiance", "monitoring_status": "risk_eliminated", "effective_on": days_ago(0), "reason": "达标"}
    response = admin.post(url, json=body)
    assert response.status_code == 201, response.get_json()
    history = response.get_json()["status_history"]
    assert [s["monitoring_status"] for s in history] == ["identified", "risk_eliminated"]
    assert history[-1] == {
        "category": "jiance",
        "monitor_subtype": "marginal",
        "monitoring_status": "risk_eliminated",
        "effective_on": days_ago(0),
        "reason": "达标",
        "recorded_by": "admin",
    }
    assert response.get_json()["monitoring_status"] == "risk_eliminated"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effective_on": (business_today() + timedelta(days=1)).isoformat()}, "effective_on"),
        ({"effective_on": days_ago(1)}, "effective_on"),  # before the listing, the last change
        ({"effective_on": "2026-13-01"}, "effective_on"),
        ({"effective_on": "yesterday"}, "effective_on"),
        ({"monitoring_status": "relapsed"}, "monitoring_status"),
        ({"monitoring_status": "identified"}, "category"),  # no change at all
        ({"category": "yiban", "monitoring_status": "identified"}, "monitoring_status"),
        ({"category": "yiban", "monitor_subtype": "sudden"}, "monitor_subtype"),
        ({"category": "poor"}, "category"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "a\x00b"}, "reason"),
        ({"note": "x"}, "note"),
    ],
)
def test_a_refused_status_change_is_422_and_records_nothing(app, goods, admin, change, field):
    body = {"category": "jiance", "monitoring_status": "risk_eliminated", "effective_on": days_ago(0), "reason": "x"}
    response = admin.post(f"/api/households/{goods['wang']}/status", json={**body, **change})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert rows(app, HouseholdStatus) == 2
    with app.app_context():
        assert db.session.get(Household, goods["wang"]).monitoring_status.value == "identified"


def test_a_status_change_for_another_officers_household_is_404_for_no_one_but_the_manager(goods, admin):
    body = {"category": "yiban", "effective_on": days_ago(0), "reason": "x"}
    assert admin.post("/api/households/99999/status", json=body).status_code == 404


def test_a_relapse_follows_elimination(goods, admin):
    url = f"/api/households/{goods['wang']}/status"
    base = {"category": "jiance", "effective_on": days_ago(0), "reason": "x"}
    assert admin.post(url, json={**base, "monitoring_status": "risk_eliminated"}).status_code == 201
    response = admin.post(url, json={**base, "monitoring_status": "relapsed"})
    assert response.status_code == 201
    assert [s["monitoring_status"] for s in response.get_json()["status_history"]] == [
        "identified",
        "risk_eliminated",
        "relapsed",
    ]


# ---------------------------------------------------------------- ledger entries keep the standing they were written in


def sell(clerk, product_id: int, key: str) -> None:
    body = {"idempotency_key": key, "payment_method": "cash", "lines": [{"product_id": product_id, "quantity": 500}]}
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()


def test_entries_after_a_status_change_carry_it_and_earlier_entries_keep_theirs(app, goods, admin, clerk):
    receive(clerk, goods["shrimp"], goods["wang"], 5000)
    sell(clerk, goods["shrimp"], "standing-sale-1")
    body = {"category": "jiance", "monitoring_status": "risk_eliminated", "effective_on": days_ago(0), "reason": "达标"}
    assert admin.post(f"/api/households/{goods['wang']}/status", json=body).status_code == 201
    sell(clerk, goods["shrimp"], "standing-sale-2")
    ledger = admin.get(f"/api/households/{goods['wang']}/ledger")
    assert ledger.status_code == 200
    tags = [(e["kind"], e["category"], e["monitoring_status"]) for e in ledger.get_json()["entries"]]
    assert tags == [("credit", "jiance", "identified"), ("credit", "jiance", "risk_eliminated")]
    with app.app_context():
        stored = db.session.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.seq)).all()
        assert [e.monitoring_status.value for e in stored] == ["identified", "risk_eliminated"]
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- searching


def test_the_search_finds_by_code_name_or_village(goods, clerk):
    def codes(q):
        response = clerk.get("/api/households/search", query_string={"q": q})
        assert response.status_code == 200
        return [h["code"] for h in response.get_json()]

    assert codes("db0") == ["DB001"]
    assert codes("符海") == ["CT001"]
    assert codes("丛潭") == ["CT001"]
    assert codes("congtan") == ["CT001"]  # the village's English name
    assert codes("z") == []
    assert codes("") == []
    (found,) = clerk.get("/api/households/search?q=王").get_json()
    assert (found["head_name_masked"], found["head_name"]) == ("王**", "王亦明")  # the clerk receiving goods


@pytest.mark.parametrize("q", ["%", "_", "%%", "\\", "zz\x00zz", "\x00", "'; DROP TABLE household; --", "虾" * 5000])
def test_wildcards_nul_and_long_text_find_nothing_and_break_nothing(goods, clerk, q):
    response = clerk.get("/api/households/search", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json() == []


def test_the_search_is_scoped_and_returns_at_most_twenty(app, goods, admin, as_role):
    with app.app_context():
        village = db.session.get(Household, goods["fu"]).village
        officer2 = db.session.get(Household, goods["fu"]).officer_id
        db.session.add_all(
            Household(
                code=f"CT9{n:02d}",
                head_name="符某",
                members=1,
                village_id=village.id,
                category="yiban",
                officer_id=officer2,
            )
            for n in range(30)
        )
        db.session.commit()
    for limit in ("", "50", "99999999999999999999", "-3"):
        response = admin.get(f"/api/households/search?q=CT&limit={limit}")
        assert response.status_code == 200
        assert 1 <= len(response.get_json()) <= 20
    assert len(admin.get("/api/households/search?q=CT9").get_json()) == 20
    assert as_role("officer").get("/api/households/search?q=CT").get_json() == []
    assert as_role("heshe").get("/api/households/search?q=DB").get_json() == []


def test_the_heads_full_name_is_shown_to_the_clerk_and_audited(app, goods, clerk, as_role):
    response = clerk.get(f"/api/households/{goods['wang']}/head")
    assert response.status_code == 200
    assert response.get_json() == {"id": goods["wang"], "code": "DB001", "head_name": "王亦明"}
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == VIEW_PERSONAL_DATA)).one()
        assert (event.entity, event.entity_id) == ("household", str(goods["wang"]))
        assert json.loads(event.after) == {"field": "head_name"}
        assert "王亦明" not in str(event.after)
    for who in ("officer", "county"):
        assert as_role(who).get(f"/api/households/{goods['wang']}/head").status_code == 403
    assert clerk.get("/api/households/99999/head").status_code == 404
