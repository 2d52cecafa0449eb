"""GET and POST /api/households: listing households, and who may see which."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Household, HouseholdStatus, Village
from tests.conftest import FU, WANG


def household_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Household.id)))


def codes(api) -> list[str]:
    response = api.get("/api/households")
    assert response.status_code == 200
    return sorted(h["code"] for h in response.get_json())


def test_the_manager_lists_a_household_with_its_first_status(staff, as_role):
    response = as_role("admin").post("/api/households", json={**WANG, "phone": "13812345678"})
    assert response.status_code == 201
    with staff.app_context():
        household = db.session.get(Household, response.get_json()["id"])
        assert household.village.name_zh == "大波村"
        assert household.officer.username == "officer"
        assert household.monitoring_status.value == "identified"
        assert household.phone_masked == "138****5678"
        statuses = db.session.scalars(sa.select(HouseholdStatus).where(HouseholdStatus.household_id == household.id))
        assert [(s.category.value, s.monitor_subtype.value, s.monitoring_status.value) for s in statuses] == [
            ("jiance", "marginal", "identified")
        ]


def test_the_list_shows_masked_names_only(goods, as_role):
    listed = as_role("admin").get("/api/households")
    text = listed.get_data(as_text=True)
    assert "王亦明" not in text and "符海成" not in text
    wang = next(h for h in listed.get_json() if h["code"] == "DB001")
    assert {k: wang[k] for k in ("code", "head_name_masked", "town", "village", "members", "category")} == {
        "code": "DB001",
        "head_name_masked": "王**",
        "town": "临城镇",
        "village": "大波村",
        "members": 4,
        "category": "jiance",
    }
    assert wang["id"] == goods["wang"]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", ["CT001", "DB001"]),
        ("clerk", ["CT001", "DB001"]),
        ("county", ["CT001", "DB001"]),
        ("heshe", ["CT001"]),
        ("officer", ["DB001"]),
        ("officer2", ["CT001"]),
    ],
)
def test_each_role_sees_only_its_own_households(goods, as_role, role, visible):
    assert codes(as_role(role)) == visible


def test_strangers_see_no_households(goods, api):
    response = api.get("/api/households")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_new_village_is_added_to_its_town(staff, as_role):
    response = as_role("admin").post("/api/households", json={**FU, "village": "茶胡村"})
    assert response.status_code == 201
    with staff.app_context():
        village = db.session.scalars(sa.select(Village).where(Village.name_zh == "茶胡村")).one()
        assert village.town.name_zh == "和舍镇"


def test_a_town_can_be_named_in_english(staff, as_role):
    assert as_role("admin").post("/api/households", json={**FU, "town": "heshe"}).status_code == 201


@pytest.mark.parametrize("role", ["clerk", "officer", "heshe", "county"])
def test_only_the_manager_lists_households(staff, as_role, role):
    assert as_role(role).post("/api/households", json=WANG).status_code == 403
    assert household_count(staff) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"town": "海口市"}, "town"),
        ({"officer": "nobody"}, "officer"),
        ({"officer": "clerk"}, "officer"),
        ({"category": "rich"}, "category"),
        ({"category": "tuopin"}, "monitor_subtype"),
        ({"members": 0}, "members"),
        ({"members": "4"}, "members"),
        ({"members": 4.0}, "members"),
        ({"code": "DB 001"}, "code"),
        ({"code": "../../etc"}, "code"),
        ({"head_name": ""}, "head_name"),
        ({"head_name": "王\u0000明"}, "head_name"),
        ({"village": "大波\r村"}, "village"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "1381234567８"}, "phone"),
        ({"village": ""}, "village"),
        ({"id": 7}, "id"),
    ],
)
def test_a_bad_household_is_422_and_nothing_is_recorded(staff, as_role, change, field):
    response = as_role("admin").post("/api/households", json={**WANG, **change})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert household_count(staff) == 0
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count(HouseholdStatus.id))) == 0


def test_a_taken_code_is_409(app, goods, as_role):
    response = as_role("admin").post("/api/households", json={**FU, "code": "DB001"})
    assert response.status_code == 409
    assert household_count(app) == 2


def test_a_household_with_a_new_village_that_fails_leaves_no_village(staff, as_role):
    response = as_role("admin").post("/api/households", json={**WANG, "village": "新村", "officer": "nobody"})
    assert response.status_code == 422
    with staff.app_context():
        assert db.session.scalar(sa.select(Village.id).where(Village.name_zh == "新村")) is None
