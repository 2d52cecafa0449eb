"""The roster's pure part: one row of text to checked values or refusals, and what a row changes in a household."""

from datetime import date

import pytest

from shop.models import HouseholdCategory, MonitoringStatus, MonitorSubtype
from shop.tables import Row
from shop.villages.roster import Current, Refusal, RosterRow, diff, parse_row
from shop.villages.standing import Standing

GOOD = {
    "code": "DB001",
    "head_name": "王亦明",
    "town": "临城镇",
    "village": "大波村",
    "members": "4",
    "category": "监测户",
    "monitor_subtype": "脱贫不稳定户",
    "officer": " Officer1 ",
    "phone": "138 1234 5678",
}
TODAY = date(2026, 12, 3)


def parsed(**changes) -> RosterRow | list[Refusal]:
    return parse_row(Row(line=7, values={**GOOD, **changes}))


def columns(result) -> list[str]:
    assert isinstance(result, list), result
    assert all(r.line == 7 for r in result)
    return sorted(r.column for r in result)


def test_a_good_row_becomes_checked_values():
    row = parsed()
    assert row == RosterRow(
        line=7,
        code="DB001",
        head_name="王亦明",
        town="临城镇",
        village="大波村",
        members=4,
        category=HouseholdCategory.JIANCE,
        subtype=MonitorSubtype.UNSTABLE,  # 脱贫不稳定户 is the older name of 脆弱不稳定户
        officer="officer1",
        phone="13812345678",
    )


@pytest.mark.parametrize(
    ("category", "subtype", "want"),
    [
        ("tuopin", "", (HouseholdCategory.TUOPIN, None)),
        ("YIBAN", "", (HouseholdCategory.YIBAN, None)),
        ("jiance", "sudden", (HouseholdCategory.JIANCE, MonitorSubtype.SUDDEN)),
        ("监测户", "边缘易致贫户", (HouseholdCategory.JIANCE, MonitorSubtype.MARGINAL)),
        ("监测户", "", (HouseholdCategory.JIANCE, None)),
    ],
)
def test_categories_and_subtypes_in_chinese_or_english(category, subtype, want):
    row = parsed(category=category, monitor_subtype=subtype)
    assert (row.category, row.subtype) == want


def test_full_width_digits_are_what_a_chinese_keyboard_types():
    row = parsed(members="４", code="ＤＢ００１", phone="１３８１２３４５６７８")
    assert (row.members, row.code, row.phone) == (4, "DB001", "13812345678")


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"members": "四"}, ["members"]),
        ({"members": "4.5"}, ["members"]),
        ({"members": "0"}, ["members"]),
        ({"members": "51"}, ["members"]),
        ({"members": ""}, ["members"]),
        ({"code": "DB 001"}, ["code"]),
        ({"code": "x" * 33}, ["code"]),
        ({"head_name": ""}, ["head_name"]),
        ({"head_name": "王" * 51}, ["head_name"]),
        ({"head_name": "王\x00明"}, ["head_name"]),
        ({"village": ""}, ["village"]),
        ({"village": "村" * 61}, ["village"]),
        ({"town": ""}, ["town"]),
        ({"officer": ""}, ["officer"]),
        ({"category": "贫困户"}, ["category"]),
        ({"monitor_subtype": "其他"}, ["monitor_subtype"]),
        ({"category": "脱贫户"}, ["monitor_subtype"]),  # a subtype on a non-监测户
        ({"phone": "1381234"}, ["phone"]),
        ({"phone": "+1 650 555 0100"}, ["phone"]),
        ({"members": "四", "phone": "x", "code": ""}, ["code", "members", "phone"]),
    ],
)
def test_each_bad_column_is_refused_on_its_own(changes, bad):
    assert columns(parsed(**changes)) == bad


def test_an_empty_phone_and_subtype_are_allowed():
    row = parsed(phone="", monitor_subtype="")
    assert row.phone is None and row.subtype is None


def current(**changes) -> Current:
    values = {
        "head_name": "王亦明",
        "members": 4,
        "phone": "13812345678",
        "town": "临城镇",
        "village": "大波村",
        "officer": "officer1",
        "standing": Standing(HouseholdCategory.JIANCE, MonitorSubtype.UNSTABLE, MonitoringStatus.IDENTIFIED),
    }
    return Current(**{**values, **changes})


def test_a_row_that_says_what_is_recorded_changes_nothing():
    assert diff(current(), parsed(), "临城镇", TODAY) == []
    # An empty phone keeps the number on record; an empty subtype keeps the 监测户's subtype.
    assert diff(current(), parsed(phone="", monitor_subtype=""), "临城镇", TODAY) == []


def test_changes_are_listed_part_by_part_with_names_and_phones_masked():
    row = parsed(head_name="王明", members="5", phone="13912345678", village="新村", officer="officer2")
    changes = {c.column: (c.before, c.after) for c in diff(current(), row, "临城镇", TODAY)}
    assert changes == {
        "head_name": ("王**", "王*"),
        "members": ("4", "5"),
        "phone": ("138****5678", "139****5678"),
        "village": ("临城镇 大波村", "临城镇 新村"),
        "officer": ("officer1", "officer2"),
    }


def test_a_change_of_category_shows_the_category_and_subtype_in_chinese():
    changes = diff(current(), parsed(category="一般农户", monitor_subtype=""), "临城镇", TODAY)
    assert [(c.column, c.before, c.after) for c in changes] == [
        ("category", "监测户", "一般农户"),
        ("monitor_subtype", "脆弱不稳定户", ""),
    ]
    subtype_only = diff(current(), parsed(monitor_subtype="sudden"), "临城镇", TODAY)
    assert [(c.column, c.after) for c in subtype_only] == [("monitor_subtype", "突发严重困难户")]


# ---------------------------------------------------------------- a staff list's rows


@pytest.mark.parametrize(
    ("values", "want"),
    [
        ({"username": " Li.Wei ", "role": "帮扶责任人", "households": "DB001、DB002，DB003 DB004"}, "officer"),
        ({"username": "zhang", "role": "售货员", "counter": "LC-JN"}, "clerk"),
        ({"username": "lincheng", "role": "督导人员", "town": "临城镇"}, "supervisor"),
        ({"username": "boss", "role": "ADMIN"}, "admin"),
    ],
)
def test_a_staff_row_takes_roles_in_chinese_or_english(values, want):
    from shop.staff.staff_import import parse_row as parse_staff

    row = parse_staff(3, values)
    assert row.role.value == want
    if want == "officer":
        assert row.username == "li.wei" and row.households == ("DB001", "DB002", "DB003", "DB004")


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ({"username": "Bad Name", "role": "clerk"}, ["username"]),
        ({"username": "x", "role": "clerk"}, ["username"]),
        ({"username": "cook", "role": "厨师"}, ["role"]),
        ({"username": "clerk9", "role": "clerk", "town": "临城镇"}, ["town"]),
        ({"username": "clerk9", "role": "clerk", "households": "DB001"}, ["households"]),
        ({"username": "off9", "role": "officer", "counter": "LC-JN"}, ["counter"]),
        ({"username": "off9", "role": "officer", "name": "名" * 61}, ["name"]),
    ],
)
def test_a_bad_staff_row_names_its_column(values, bad):
    from shop.staff.staff_import import parse_row as parse_staff

    refused = parse_staff(3, values)
    assert sorted(r.column for r in refused) == bad and all(r.line == 3 for r in refused)


def test_one_time_passwords_are_random_and_strong_enough():
    from shop.staff.accounts import check_password_strength
    from shop.staff.staff_import import one_time_password

    drawn = {one_time_password("li.wei", "李伟") for _ in range(5)}
    assert len(drawn) == 5
    for password in drawn:
        check_password_strength(password, "li.wei", "李伟")
        assert len(password) == 19 and password.count("-") == 3
