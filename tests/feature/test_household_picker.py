"""The receiving form's household picker: a search, not one long list, and the chosen head's name shown and audited."""

import re

import pytest
import sqlalchemy as sa

from shop.audit import VIEW_PERSONAL_DATA
from shop.extensions import db
from shop.models import AuditEvent, Household, Lot
from tests.feature.test_stock_pages import delivery, send


def find(user, goods, text: str, **fields):
    """Press Find on the receiving form with this search text."""
    form = {**delivery(goods), "household": "", **fields, "household_search": text, "action": "find"}
    return send(user, "/admin/stock/receive", **form)


def offered(html: str) -> list[str]:
    """The households the select offers, as their labels."""
    select = html[html.index('name="household"') : html.index("</select>", html.index('name="household"'))]
    return [label for value, label in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', select)]


def views(app) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == VIEW_PERSONAL_DATA)).all()


def lots(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Lot.id)))


@pytest.fixture
def many(app, goods):
    """30 more households in 丛潭村, officer2's, so a search can find more than the limit."""
    with app.app_context():
        fu = db.session.get(Household, goods["fu"])
        db.session.add_all(
            Household(
                code=f"CT5{n:02d}",
                head_name=f"符{n}",
                members=1,
                village_id=fu.village_id,
                category="yiban",
                officer_id=fu.officer_id,
            )
            for n in range(30)
        )
        db.session.commit()
    return goods


def test_finding_by_code_name_or_village_offers_the_matches_and_keeps_what_was_typed(app, goods, clerk):
    for text, codes in (("db00", ["DB001"]), ("符海", ["CT001"]), ("丛潭", ["CT001"]), ("Dabo", ["DB001"])):
        response = find(clerk, goods, text, quantity="2.5")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert [label.split(" · ")[0] for label in offered(html)] == codes
        assert 'value="2.5"' in html and f'value="{text}"' in html  # what was typed stays
    assert lots(app) == 0  # finding receives nothing


def test_one_match_is_chosen_and_its_heads_full_name_is_shown_and_logged(app, goods, clerk):
    html = find(clerk, goods, "DB001").get_data(as_text=True)
    assert "王亦明" in html and "data-picked-name>王亦明<" in html
    assert "DB001 · 王亦明 · 大波村" in html
    logged = views(app)
    assert [(e.entity, e.entity_id) for e in logged] == [("household", str(goods["wang"]))]
    assert "王亦明" not in (logged[0].after or "")


def test_households_whose_names_mask_alike_are_offered_with_code_and_full_name_and_each_is_logged(app, goods, clerk):
    with app.app_context():
        wang = db.session.get(Household, goods["wang"])
        twin = Household(code="DB002", head_name="王亦态", members=2, village_id=wang.village_id, category="yiban")
        db.session.add(twin)
        db.session.commit()
        twin_id = twin.id
    html = find(clerk, goods, "大波").get_data(as_text=True)
    assert offered(html) == ["DB001 · 王亦明 · 大波村", "DB002 · 王亦态 · 大波村"]
    assert sorted(e.entity_id for e in views(app)) == sorted([str(goods["wang"]), str(twin_id)])
    assert all(e.after and "王" not in e.after for e in views(app))  # who saw which households, never the names


def test_the_pickers_search_api_gives_receivers_full_names_logged_and_others_masks(app, goods, as_role):
    clerk = as_role("clerk")
    (found,) = clerk.get("/api/households/search?q=DB001").get_json()
    assert (found["code"], found["head_name"], found["head_name_masked"]) == ("DB001", "王亦明", "王**")
    assert [(e.entity, e.entity_id, e.actor_id is not None) for e in views(app)] == [
        ("household", str(goods["wang"]), True)
    ]
    # A supervisor sees the households of their town masked, and nothing is logged for them.
    (masked,) = as_role("heshe").get("/api/households/search?q=CT001").get_json()
    assert "head_name" not in masked and masked["head_name_masked"] == "符**"
    assert len(views(app)) == 1


def test_the_chosen_household_is_received_from_after_a_search(app, goods, clerk):
    find(clerk, goods, "DB001")
    response = send(clerk, "/admin/stock/receive", **delivery(goods), household_search="DB001")
    assert response.status_code == 302
    assert lots(app) == 1


def test_a_search_offers_at_most_twenty(app, many, clerk):
    html = find(clerk, many, "CT").get_data(as_text=True)
    assert len(offered(html)) == 20
    assert "20" in html  # says the first 20 are offered


HOSTILE_SEARCHES = ["%", "_", "%_%", "\\", "zz\x00zz", "\x00", "'; DROP TABLE household; --", "虾" * 5000]


@pytest.mark.parametrize("text", HOSTILE_SEARCHES)
def test_wildcards_nul_and_long_text_offer_nothing_and_break_nothing(app, many, clerk, text):
    response = find(clerk, many, text)
    assert response.status_code in (200, 422)
    assert offered(response.get_data(as_text=True)) == []
    assert lots(app) == 0


def test_an_officer_cannot_reach_the_form_and_a_supervisors_search_stays_in_their_town(app, goods, as_role):
    assert find(as_role("officer"), goods, "DB").status_code == 403
    assert as_role("heshe").get("/api/households/search?q=DB").get_json() == []


def test_a_household_the_user_may_not_see_or_that_does_not_exist_is_not_a_choice(app, goods, clerk):
    for bad in ("99999", "0", "-1", str(2**63), "abc", "1\x00"):
        response = send(clerk, "/admin/stock/receive", **delivery(goods, household=bad))
        assert response.status_code == 422
        assert "field-error" in response.get_data(as_text=True)
    assert lots(app) == 0 and views(app) == []


def test_the_script_is_served_from_static_and_not_inline(goods, clerk):
    html = clerk.get("/admin/stock/receive").get_data(as_text=True)
    assert '<script src="/static/js/household-picker.js' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert clerk.get("/static/js/household-picker.js").status_code == 200
