"""The work dashboards: the officer's day, the town's and the county's tables and the weekly curve, within scope.

Every count on a page is checked against a count the test makes itself, household by household,
from the work ledger's API (a different path through the code than the dashboards' grouped queries).
"""

import re
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Town, User, Village

D = business_today()
#: The day the dashboards are read: 40 days after the households were listed.
T = D + timedelta(days=40)
COLUMNS = ("measures_open", "measures_done", "measures_overdue", "visits_due", "visits_past_due", "late", "warnings")


def iso(day) -> str:
    return day.isoformat()


def on_day(monkeypatch, day) -> None:
    """Records are typed in as if the server's day were `day`."""
    monkeypatch.setattr("shop.worklog.plans.business_today", lambda: day)
    monkeypatch.setattr("shop.worklog.visits.business_today", lambda: day)


def read_on(monkeypatch, day) -> None:
    """The dashboards are read as if the server's day were `day`."""
    monkeypatch.setattr("admin.dashboards.business_today", lambda: day)


def measure(user, household_id: int, due) -> int:
    body = {"kind": "industry", "title": "通过专柜销售虾干", "due_on": iso(due)}
    response = user.post(f"/api/households/{household_id}/measures", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def tick(user, measure_id: int, done_on) -> None:
    body = {"done_on": iso(done_on), "evidence": "已完成"}
    assert user.post(f"/api/measures/{measure_id}/done", json=body).status_code == 201


def visit(user, household_id: int, visited_on) -> None:
    body = {"visited_on": iso(visited_on), "kind": "home", "findings": "正常", "risk_found": False}
    assert user.post(f"/api/households/{household_id}/visits", json=body).status_code == 201


def new_household(admin, code: str, village: str, town: str, officer: str, category: str = "jiance") -> int:
    body = {"code": code, "head_name": "李春花", "town": town, "village": village, "members": 3}
    body |= {"category": category, "officer": officer}
    if category == "jiance":
        body["monitor_subtype"] = "marginal"
    response = admin.post("/api/households", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def work(goods, app, admin, as_role, monkeypatch):
    """Five households in two towns and three villages, with measures, tick-offs, visits and a correction."""
    with app.app_context():
        lincheng = db.session.scalar(sa.select(Town).where(Town.name_zh == "临城镇"))
        db.session.add(Village(town=lincheng, name_zh="新盈村", name_en="Xinying"))
        db.session.commit()
    ids = dict(goods)
    ids["db2"] = new_household(admin, "DB002", "大波村", "临城镇", "officer")
    ids["xy1"] = new_household(admin, "XY001", "新盈村", "临城镇", "officer2")
    ids["ct2"] = new_household(admin, "CT002", "丛潭村", "和舍镇", "officer2")
    officer, officer2 = as_role("officer"), as_role("officer2")

    on_day(monkeypatch, D)
    a = measure(officer, ids["wang"], D + timedelta(days=10))  # overdue by T
    b = measure(officer, ids["wang"], D + timedelta(days=60))  # open, not overdue
    c = measure(officer, ids["db2"], D + timedelta(days=5))  # done in time
    d = measure(officer2, ids["xy1"], D + timedelta(days=3))  # to be corrected
    measure(officer2, ids["ct2"], D + timedelta(days=20))  # overdue by T
    measure(officer2, ids["fu"], D + timedelta(days=90))
    on_day(monkeypatch, D + timedelta(days=4))
    tick(officer, c, D + timedelta(days=4))
    with app.test_request_context():
        from shop.worklog import plans

        by = db.session.scalar(sa.select(User).where(User.username == "officer2"))
        corrected = plans.correct_measure(
            d, kind="employment", title="推荐务工", due_on=D + timedelta(days=50), reason="写错了类别", by=by
        )
        corrected_id = corrected.id
    on_day(monkeypatch, D + timedelta(days=30))
    tick(officer2, corrected_id, D + timedelta(days=12))  # late: typed 18 days after
    e = measure(officer, ids["db2"], D + timedelta(days=31))  # opened in a later week, overdue by T
    on_day(monkeypatch, D + timedelta(days=36))
    visit(officer, ids["wang"], D + timedelta(days=36))  # next due D+66: not due
    visit(officer, ids["db2"], D + timedelta(days=15))  # late, next due D+45: due this week
    visit(officer2, ids["ct2"], D + timedelta(days=36))  # next due D+66
    # xy1 is never visited: due D+30, past due at T. fu (脱贫户) has no scheduled visit.
    ids.update(a=a, b=b, c=c, d=d, corrected=corrected_id, e=e)
    monkeypatch.undo()
    read_on(monkeypatch, T)
    return ids


def week_monday(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def expected(admin, household_ids: list[int], key_of) -> dict:
    """The counts per key, made household by household from the work ledger's API."""
    rows: dict = {}
    warned = {w["household_id"] for w in admin.get("/api/worklog/warnings").get_json()["warnings"]}
    for household_id in household_ids:
        ledger = admin.get(f"/api/households/{household_id}/worklog").get_json()
        counts = rows.setdefault(key_of(household_id), Counter({c: 0 for c in COLUMNS}))
        for m in ledger["measures"]:
            if m["corrected_by"] is not None:
                continue
            counts["measures_done" if m["status"] == "done" else "measures_open"] += 1
            counts["measures_overdue"] += m["status"] == "open" and m["due_on"] < iso(T)
            counts["late"] += bool(m["done_late"])
        counts["late"] += sum(1 for v in ledger["visits"] if v["late"] and v["corrected_by"] is None)
        counts["warnings"] += household_id in warned
        due = ledger["next_visit_due"]
        if due is not None:
            counts["visits_past_due"] += due < iso(T)
            counts["visits_due"] += iso(T) <= due <= iso(T + timedelta(days=7))
    return rows


def table(html: str) -> dict[str, dict]:
    """Each row of the page's count tables (by its data-row), as column → number."""
    found = {}
    for key, body in re.findall(r'<tr data-row="([^"]+)">(.*?)</tr>', html, re.S):
        numbers = [int(n) for n in re.findall(r'<td class="num[^"]*">(\d+)</td>', body)]
        found.setdefault(key, []).append(dict(zip(COLUMNS, numbers, strict=True)))
    return found


def village_of(app, household_id: int) -> int:
    with app.app_context():
        from shop.models import Household

        return db.session.get(Household, household_id).village_id


def town_of(app, household_id: int) -> int:
    with app.app_context():
        from shop.models import Household

        return db.session.get(Household, household_id).village.town_id


def officer_of(app, household_id: int) -> int:
    with app.app_context():
        from shop.models import Household

        return db.session.get(Household, household_id).officer_id


def households(work) -> list[int]:
    return [work[k] for k in ("wang", "fu", "db2", "xy1", "ct2")]


def lincheng_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Town.id).where(Town.name_zh == "临城镇"))


def heshe_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Town.id).where(Town.name_zh == "和舍镇"))


def totals(rows: dict) -> dict:
    total = Counter({c: 0 for c in COLUMNS})
    for counts in rows.values():
        total.update(counts)
    return dict(total)


# ---------------------------------------------------------------- the town and the county


def test_the_town_dashboard_counts_per_village_and_officer_as_the_households_ledgers_do(work, app, admin):
    town = lincheng_id(app)
    page = admin.get(f"/admin/work/town?town={town}")
    assert page.status_code == 200
    found = table(page.get_data(as_text=True))
    in_town = [h for h in households(work) if town_of(app, h) == town]
    by_village = expected(admin, in_town, lambda h: village_of(app, h))
    by_officer = expected(admin, in_town, lambda h: officer_of(app, h))
    # The village table comes first, then the officer table; each ends with its totals row.
    for key, counts in by_village.items():
        assert found[str(key)][0] == dict(counts), key
    for key, counts in by_officer.items():
        assert found[str(key)][-1] == dict(counts), key
    assert found["total"][0] == totals(by_village) == found["total"][1]
    # The world is not trivial: every kind of count is there.
    assert found["total"][0] == {
        "measures_open": 3,  # wang's two, db2's later one
        "measures_done": 2,  # db2's first, xy1's correction
        "measures_overdue": 2,  # wang's first, db2's later one
        "visits_due": 1,  # db2, visited late on D+15
        "visits_past_due": 1,  # xy1, never visited
        "late": 2,  # db2's late visit, xy1's late tick-off
        "warnings": 0,  # no sales at all: nothing fell
    }


def test_the_county_dashboard_counts_per_town(work, app, admin, as_role):
    for reader in (admin, as_role("county"), as_role("inspector")):
        page = reader.get("/admin/work/county")
        assert page.status_code == 200
        found = table(page.get_data(as_text=True))
        by_town = expected(admin, households(work), lambda h: town_of(app, h))
        for key, counts in by_town.items():
            assert found[str(key)] == [dict(counts)], key
        assert found["total"] == [totals(by_town)]


def test_the_weekly_curve_counts_measures_opened_and_ticked_off_once_each(work, admin):
    page = admin.get("/admin/work/county?weeks=12").get_data(as_text=True)
    rows = dict(
        (label, (int(opened), int(done)))
        for label, opened, done in re.findall(
            r'<tr data-week="([^"]+)">.*?<td class="num[^"]*">(\d+)</td><td class="num[^"]*">(\d+)</td>', page, re.S
        )
    )
    assert len(rows) == 12 and week_monday(T) in rows
    opened, done = Counter(), Counter()
    for h in (work["wang"], work["fu"], work["db2"], work["xy1"], work["ct2"]):
        for m in admin.get(f"/api/households/{h}/worklog").get_json()["measures"]:
            if m["corrected_by"] is not None:
                continue  # replaced by a correction: its replacement counts instead
            opened[week_monday(business_today().fromisoformat(m["starts_on"]))] += 1
            if m["done_on"]:
                done[week_monday(business_today().fromisoformat(m["done_on"]))] += 1
    assert sum(opened.values()) == 7 and sum(done.values()) == 2
    for label, (n_opened, n_done) in rows.items():
        assert (n_opened, n_done) == (opened[label], done[label]), label
    assert sum(o for o, _ in rows.values()) == 7
    assert "<svg" in page and 'class="opened"' in page


def test_a_shorter_curve_leaves_older_weeks_out(work, admin):
    page = admin.get("/admin/work/county?weeks=1").get_data(as_text=True)
    assert re.findall(r'<tr data-week="([^"]+)">', page) == [week_monday(T)]


# ---------------------------------------------------------------- the officer's day


def test_the_officers_day_lists_their_own_work_only(work, app, as_role):
    page = as_role("officer").get("/admin/work/today")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    overdue = re.findall(r'data-measure="(\d+)"', html)
    assert sorted(map(int, overdue)) == sorted([work["a"], work["e"]])
    assert "DB001" in html and "DB002" in html
    assert "XY001" not in html and "CT002" not in html
    assert f'href="/admin/worklog/households/{work["wang"]}"' in html
    assert "王亦明" in html  # their own household, in full
    assert "{# warnings" not in html
    with app.app_context():
        logged = db.session.scalars(sa.select(AuditEvent.entity_id).where(AuditEvent.action == "view_personal_data"))
        assert {str(work["wang"]), str(work["db2"])} <= set(logged)


def test_the_other_officers_day(work, as_role):
    html = as_role("officer2").get("/admin/work/today").get_data(as_text=True)
    assert "DB001" not in html and "DB002" not in html
    assert re.findall(r'data-household="([^"]+)"', html) == ["XY001"]  # past due; CT002 was visited
    assert len(re.findall(r'data-measure="(\d+)"', html)) == 1  # CT002's, due D+20
    assert "李春花" in html  # their own households, in full


# ---------------------------------------------------------------- scope


def test_a_town_supervisor_sees_their_town_only(work, app, as_role):
    for name in ("heshe", "heshe-inspector"):
        user = as_role(name)
        page = user.get("/admin/work/town")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "丛潭村" in html and "大波村" not in html
        assert user.get(f"/admin/work/town?town={heshe_id(app)}").status_code == 200
        assert user.get(f"/admin/work/town?town={lincheng_id(app)}").status_code == 404
        assert user.get("/admin/work/county").status_code == 403


@pytest.mark.parametrize("path", ["/admin/work/today", "/admin/work/town", "/admin/work/county"])
def test_clerks_have_no_part_in_it(work, clerk, api, path):
    assert clerk.get(path).status_code == 403
    assert api.get(path).status_code in (302, 401)


def test_officers_read_their_day_not_the_towns(work, officer, as_role):
    assert officer.get("/admin/work/town").status_code == 403
    assert officer.get("/admin/work/county").status_code == 403
    assert as_role("county").get("/admin/work/today").status_code == 403


@pytest.mark.parametrize(
    "query", ["town=abc", "town=-1", "town=99999999", "town=1e3", "town=%EF%BC%91", "town=" + "9" * 40, "town=1.0"]
)
def test_a_town_that_is_not_one_is_404(work, admin, query):
    assert admin.get(f"/admin/work/town?{query}").status_code == 404


@pytest.mark.parametrize("query", ["weeks=abc", "weeks=-3", "weeks=105", "weeks=" + "9" * 40, "weeks=%00"])
def test_a_curve_length_that_is_not_one_is_404(work, admin, query):
    assert admin.get(f"/admin/work/county?{query}").status_code == 404


def test_an_empty_town_or_curve_length_is_the_default(work, admin):
    assert admin.get("/admin/work/town?town=").status_code == 200
    html = admin.get("/admin/work/county?weeks=").get_data(as_text=True)
    assert len(re.findall(r'<tr data-week="', html)) == 12


def test_the_home_page_leads_each_level_to_its_dashboard(work, officer, as_role):
    assert 'href="/admin/work/today"' in officer.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/work/town"' in as_role("heshe").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/work/county"' in as_role("county").get("/admin/").get_data(as_text=True)
