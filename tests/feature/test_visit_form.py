"""The visit form's page: an officer is offered only their own households, the manager all, others nothing."""

import re

import pytest

from tests.conftest import WANG


def options(html: str) -> list[str]:
    """The household codes the form's select offers."""
    return re.findall(r'<option value="\d+"[^>]*>([A-Z0-9]+) ·', html)


def test_an_officer_is_offered_only_their_own_households_masked(goods, officer):
    response = officer.client.get("/admin/visits/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert options(html) == ["DB001"]
    assert "王亦明" not in html and "王*" in html
    assert "CT001" not in html
    # The queue's script and its worker's address; no inline script runs.
    assert "/static/js/visits.js" in html and '"/admin/visits/sw.js"' in html
    assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", html)


def test_a_household_can_be_preselected(goods, officer):
    html = officer.client.get(f"/admin/visits/?household={goods['wang']}").get_data(as_text=True)
    assert re.search(rf'<option value="{goods["wang"]}" selected>', html)


@pytest.mark.parametrize("household", ["999999", "-1", "abc", "1e9", "%00"])
def test_a_household_out_of_sight_or_nonsense_is_preselected_as_nothing(goods, officer, household):
    response = officer.client.get(f"/admin/visits/?household={household}")
    assert response.status_code == 200
    assert "selected>" not in response.get_data(as_text=True).split('id="household"')[1].split("</select>")[0]


def test_another_officers_household_is_not_preselected(goods, as_role):
    html = as_role("officer2").client.get(f"/admin/visits/?household={goods['wang']}").get_data(as_text=True)
    assert options(html) == ["CT001"] and "DB001" not in html


def test_the_manager_is_offered_every_household(goods, admin):
    html = admin.client.get("/admin/visits/").get_data(as_text=True)
    assert options(html) == ["CT001", "DB001"]


def test_the_manager_searches_when_there_are_many(goods, admin, monkeypatch):
    monkeypatch.setattr("shop.worklog.visits.FORM_LIST_LIMIT", 1)
    html = admin.client.get("/admin/visits/").get_data(as_text=True)
    assert options(html) == [] and 'name="q"' in html
    assert options(admin.client.get("/admin/visits/?q=DB0").get_data(as_text=True)) == ["DB001"]
    chosen = admin.client.get(f"/admin/visits/?q=CT&household={goods['wang']}").get_data(as_text=True)
    assert options(chosen) == ["CT001", "DB001"]
    assert options(admin.client.get("/admin/visits/?q=%00%00").get_data(as_text=True)) == []


def test_an_officer_never_searches_whatever_the_limit(goods, officer, admin, monkeypatch):
    monkeypatch.setattr("shop.worklog.visits.FORM_LIST_LIMIT", 0)
    admin.post("/api/households", json={**WANG, "code": "DB002"})
    assert options(officer.client.get("/admin/visits/?q=zzz").get_data(as_text=True)) == ["DB001", "DB002"]


@pytest.mark.parametrize(("username", "status"), [("clerk", 403), ("county", 403), ("inspector", 403)])
def test_readers_and_clerks_have_no_visit_form(goods, as_role, username, status):
    assert as_role(username).client.get("/admin/visits/").status_code == status
    assert as_role(username).client.get("/admin/visits/sw.js").status_code == status


def test_strangers_are_sent_to_sign_in(goods, client):
    assert client.get("/admin/visits/").status_code in (302, 401)


def test_the_worker_is_served_for_the_forms_scope_and_never_cached(goods, officer):
    response = officer.client.get("/admin/visits/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/admin/visits/"
    assert "no-store" in response.headers["Cache-Control"] or response.headers["Cache-Control"] == "no-cache"
    assert b"bangfu-visits-v1" in response.data


def test_the_sources_are_offered_with_the_deducted_costs_apart(goods, officer):
    html = officer.client.get("/admin/visits/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    income, deducted = html.split('<optgroup label="Deducted">')
    for source in ("wages", "business", "transfer", "property"):
        assert f'value="{source}"' in income.split('<optgroup label="Income">')[1]
    for source in ("medical_cost", "education_cost", "other_cost"):
        assert f'value="{source}"' in deducted
