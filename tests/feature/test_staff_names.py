"""Each role sees the names its work needs: an officer their own households in full, logged; others masks."""

import pytest

from shop.clock import business_today

from .test_audit import HOUSEHOLD_PHONE, events


@pytest.fixture
def phoned(goods, admin) -> int:
    """陈美玲's household, the officer's, with a phone number."""
    body = {
        "code": "DB002",
        "head_name": "陈美玲",
        "town": "临城镇",
        "village": "大波村",
        "members": 3,
        "category": "yiban",
        "officer": "officer",
        "phone": HOUSEHOLD_PHONE,
    }
    response = admin.post("/api/households", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def page(staff, url: str):
    response = staff.client.get(url)
    return response.status_code, response.get_data(as_text=True)


def viewed(app, actor: str) -> set[str]:
    """The households whose personal data this account was shown, by id."""
    return {e["entity_id"] for e in events(app, action="view_personal_data", entity="household") if e["actor"] == actor}


def test_an_officer_sees_their_own_household_in_full_name_and_phone_and_it_is_logged(app, goods, phoned, officer):
    status, html = page(officer, f"/admin/households/{phoned}")
    assert status == 200
    assert "陈美玲" in html and HOUSEHOLD_PHONE in html and f'href="tel:{HOUSEHOLD_PHONE}"' in html
    assert "陈**" not in html
    assert viewed(app, "officer") == {str(phoned)}
    seen = events(app, action="view_personal_data")[0]
    assert "陈美玲" not in str(seen) and HOUSEHOLD_PHONE not in str(seen)


def test_an_officer_lists_their_own_households_in_full_and_each_is_logged(app, goods, phoned, officer):
    status, html = page(officer, "/admin/households/")
    assert status == 200
    assert "王亦明" in html and "陈美玲" in html and HOUSEHOLD_PHONE in html
    assert viewed(app, "officer") == {str(goods["wang"]), str(phoned)}
    status, html = page(officer, f"/admin/households/{phoned}/record")
    assert status == 200 and "陈美玲" in html and HOUSEHOLD_PHONE in html


def test_another_officers_household_stays_hidden(app, goods, phoned, as_role):
    officer2 = as_role("officer2")
    assert page(officer2, f"/admin/households/{phoned}")[0] == 404
    assert page(officer2, f"/admin/households/{phoned}/record")[0] == 404
    status, html = page(officer2, "/admin/households/")
    assert "陈美玲" not in html and "王亦明" not in html and HOUSEHOLD_PHONE not in html
    assert "符海成" in html  # their own
    assert viewed(app, "officer2") == {str(goods["fu"])}


@pytest.mark.parametrize("who", ["county", "admin"])
def test_a_supervisor_and_the_manager_see_masks_and_nothing_is_logged(app, goods, phoned, as_role, who):
    staff = as_role(who)
    for url in ("/admin/households/", f"/admin/households/{phoned}", f"/admin/households/{phoned}/record", "/admin/"):
        status, html = page(staff, url)
        assert status == 200, url
        assert "陈美玲" not in html and HOUSEHOLD_PHONE not in html and "王亦明" not in html, url
        assert "陈**" in html, url
    assert viewed(app, who) == set()


def test_the_review_month_page_names_the_officers_own_household_in_full_and_masks_it_for_a_supervisor(
    app, goods, phoned, officer, as_role
):
    month = business_today().strftime("%Y-%m")
    status, html = page(officer, f"/admin/review/households/{phoned}/{month}")
    assert status == 200 and "陈美玲" in html
    assert viewed(app, "officer") == {str(phoned)}
    status, html = page(as_role("county"), f"/admin/review/households/{phoned}/{month}")
    assert status == 200 and "陈美玲" not in html and "陈**" in html
