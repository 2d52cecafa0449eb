"""Inspections: the inspector's read-only pages in scope, random samples in the audit trail, the evidence file."""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop import audit
from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Town, User
from shop.worklog import incomes
from tests.conftest import Api

GOOD = "teal kettle drifts north"


def send(user: Api, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def day(offset: int) -> str:
    return (business_today() + timedelta(days=offset)).isoformat()


def events(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [
            {"actor": e.actor.username if e.actor else None, "entity_id": e.entity_id, **json.loads(e.after or "{}")}
            for e in rows
        ]


def pdf_text(document: bytes) -> str:
    """The PDF's text: pdftotext when installed, pypdf (a test dependency) otherwise."""
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=document, capture_output=True, check=True)
        return done.stdout.decode()
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(document)).pages)


def page(user: Api, url: str):
    response = user.get(url)
    return response.status_code, response.get_data(as_text=True)


# ---------------------------------------------------------------- the role through the staff pages


def test_a_county_inspector_reads_every_household_masked_and_a_town_inspector_only_its_town(goods, as_role):
    county, heshe = as_role("inspector"), as_role("heshe-inspector")
    status, body = page(county, "/admin/households/")
    assert status == 200 and "DB001" in body and "CT001" in body
    assert "王亦明" not in body and "符海成" not in body and "王**" in body
    status, body = page(heshe, "/admin/households/")
    assert status == 200 and "CT001" in body and "DB001" not in body

    for url in ("/admin/households/{}", "/admin/households/{}/record"):
        status, body = page(county, url.format(goods["wang"]))
        assert status == 200 and "王亦明" not in body and "王**" in body
        assert heshe.get(url.format(goods["wang"])).status_code == 404
        assert heshe.get(url.format(goods["fu"])).status_code == 200
    month = f"{business_today():%Y-%m}"
    assert county.get(f"/admin/review/households/{goods['wang']}/{month}").status_code == 200
    assert heshe.get(f"/admin/review/households/{goods['wang']}/{month}").status_code == 404
    assert county.get(f"/admin/review/households/{goods['wang']}/{month}/statement.pdf").status_code == 200
    assert county.get("/admin/review/").status_code == 200 and county.get("/admin/review/disputes").status_code == 200


def test_an_inspector_writes_nothing(goods, as_role, app):
    inspector = as_role("inspector")
    hid = goods["wang"]
    assert send(inspector, f"/admin/households/{hid}/adjustments", amount="10", reason="想改").status_code == 403
    assert send(inspector, f"/admin/households/{hid}/payouts/new", amount="10").status_code == 403
    body = {"kind": "industry", "title": "督查不该写", "due_on": day(30)}
    assert inspector.post(f"/api/households/{hid}/measures", json=body).status_code == 403
    month = f"{business_today():%Y-%m}"
    assert send(inspector, f"/admin/review/households/{hid}/{month}", outcome="confirmed").status_code == 403
    status, body = page(inspector, f"/admin/households/{hid}")
    assert "/payouts/new" not in body and "Show the full number" not in body


def test_an_inspectors_home_leads_to_the_sample_and_the_household_list(goods, as_role):
    status, body = page(as_role("inspector"), "/admin/")
    assert status == 200
    assert 'href="/admin/inspections/"' in body and 'href="/admin/households/"' in body
    # A county's worth of rows is not listed on the home page: the inspector starts from a sample or the list.
    assert "data-household=" not in body


def test_the_manager_adds_a_town_inspector_and_a_county_one(staff, as_role):
    admin = as_role("admin")
    base = {"display_name": "", "counter": "", "households": "", "role": "inspector", "password": GOOD}
    assert send(admin, "/admin/users/new", **base, username="du1", town="和舍镇").status_code == 302
    assert send(admin, "/admin/users/new", **base, username="du2", town="").status_code == 302
    with staff.app_context():
        made = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(["du1", "du2"])))}
        assert made["du1"].role.value == "inspector" and made["du1"].town.name_zh == "和舍镇"
        assert made["du2"].role.value == "inspector" and made["du2"].town is None
    status, body = page(admin, "/admin/users/")
    row = body.split('data-user="du1"', 1)[1].split("</tr>", 1)[0]
    assert "和舍镇" in row


# ---------------------------------------------------------------- samples


def test_a_draw_takes_distinct_households_in_scope_and_is_recorded_before_it_is_shown(goods, as_role, app):
    county = as_role("inspector")
    response = send(county, "/admin/inspections/samples", size="2", town="", village="", category="")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.count('data-household="DB001"') == 1 and body.count('data-household="CT001"') == 1
    [drawn] = events(app, audit.SAMPLE_DRAWN)
    assert drawn["actor"] == "inspector" and drawn["size"] == 2 and drawn["pool"] == 2
    assert sorted(drawn["households"]) == ["CT001", "DB001"]
    assert sorted(drawn["household_ids"]) == sorted([goods["wang"], goods["fu"]])

    # A second draw does not replace the first: both stay in the trail and on the page.
    again = send(county, "/admin/inspections/samples", size="1", town="", village="", category="jiance")
    assert again.status_code == 200
    first, second = events(app, audit.SAMPLE_DRAWN)
    assert second["households"] == ["DB001"] and second["scope"]["category"] == "jiance"
    listed = county.get("/admin/inspections/").get_data(as_text=True)
    assert listed.count("data-draw=") == 2


def test_a_town_inspector_draws_only_from_its_town(goods, as_role, app):
    heshe = as_role("heshe-inspector")
    for _ in range(3):
        response = send(heshe, "/admin/inspections/samples", size="5", village="", category="")
        assert response.status_code == 200
    assert [e["households"] for e in events(app, audit.SAMPLE_DRAWN)] == [["CT001"]] * 3
    with app.app_context():
        lincheng = db.session.scalars(sa.select(Town).where(Town.name_zh == "临城镇")).one()
        village = lincheng.villages[0].id
    # Another town's town or village is not among the choices: refused, nothing drawn.
    assert send(heshe, "/admin/inspections/samples", size="1", town=str(lincheng.id)).status_code == 422
    assert send(heshe, "/admin/inspections/samples", size="1", village=str(village)).status_code == 422
    assert len(events(app, audit.SAMPLE_DRAWN)) == 3
    # The county inspector sees only their own draws.
    assert "data-draw=" not in as_role("inspector").get("/admin/inspections/").get_data(as_text=True)


@pytest.mark.parametrize("size", ["0", "51", "-3", "abc", "", "1e3", "5" * 40])
def test_a_sample_size_out_of_range_draws_nothing(goods, as_role, app, size):
    response = send(as_role("inspector"), "/admin/inspections/samples", size=size)
    assert response.status_code == 422
    assert events(app, audit.SAMPLE_DRAWN) == []


def test_nothing_to_draw_is_said_and_drawn_nothing(goods, as_role, app):
    response = send(as_role("heshe-inspector"), "/admin/inspections/samples", size="3", category="jiance")
    assert response.status_code == 422
    assert events(app, audit.SAMPLE_DRAWN) == []


@pytest.mark.parametrize("who", ["officer", "clerk"])
def test_officers_and_clerks_do_not_draw_samples(goods, as_role, app, who):
    user = as_role(who)
    assert user.get("/admin/inspections/").status_code == 403
    assert send(user, "/admin/inspections/samples", size="2").status_code == 403
    assert events(app, audit.SAMPLE_DRAWN) == []


@pytest.mark.parametrize("who", ["county", "admin"])
def test_supervisors_and_the_manager_draw_too(goods, as_role, app, who):
    assert send(as_role(who), "/admin/inspections/samples", size="1").status_code == 200
    assert [e["actor"] for e in events(app, audit.SAMPLE_DRAWN)] == [who]


# ---------------------------------------------------------------- the evidence file


@pytest.fixture
def worked(goods, officer, app):
    """王's household with a plan, a measure ticked off late, a visit typed in late, one on time and a declared wage."""
    hid = goods["wang"]
    measure = officer.post(
        f"/api/households/{hid}/measures", json={"kind": "industry", "title": "扩大虾干晾晒", "due_on": day(30)}
    ).get_json()["id"]
    assert (
        officer.post(f"/api/measures/{measure}/done", json={"done_on": day(-9), "evidence": "晾晒架已建成"}).status_code
        == 201
    )
    for offset, findings in ((-10, "补记的入户走访"), (0, "当天电话回访")):
        body = {"visited_on": day(offset), "kind": "home", "findings": findings, "risk_found": False}
        assert officer.post(f"/api/households/{hid}/visits", json=body).status_code == 201
    with app.app_context():
        by = db.session.scalars(sa.select(User).where(User.username == "officer")).one()
        line = incomes.IncomeLine("wages", 320000, business_today() - timedelta(days=60), business_today(), "工资条")
        incomes.declare_income(hid, [line], by=by)
    return goods


def test_the_evidence_file_holds_the_plan_the_visits_the_late_mark_and_no_full_name(worked, as_role, app):
    response = as_role("inspector").get(f"/admin/inspections/households/{worked['wang']}/file.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    text = pdf_text(response.data)
    for expected in ("一户一档", "DB001", "王**", "扩大虾干晾晒", "晾晒架已建成", "补记的入户走访", "当天电话回访"):
        assert expected in text, expected
    assert "补录" in text and "工资性收入" in text and "¥3,200.00" in text
    # The whole income against the line: months nobody declared are said to be so, never counted as 0.
    assert "全部收入人均与监测线" in text and "未申报" in text
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)
    assert "王亦明" not in text
    [printed] = events(app, audit.EVIDENCE_FILE)
    assert printed["actor"] == "inspector" and printed["entity_id"] == str(worked["wang"])


def test_the_late_mark_is_on_the_late_visit_only(worked, as_role):
    text = pdf_text(as_role("inspector").get(f"/admin/inspections/households/{worked['wang']}/file.pdf").data)
    late_line = next(line for line in text.splitlines() if day(-10) in line and "补录" in line)
    assert day(0) not in late_line.split("补录")[0]
    on_time = [line for line in text.splitlines() if "当天电话回访" in line]
    assert on_time and all("补录" not in line for line in on_time)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("officer", 200),
        ("admin", 200),
        ("county", 200),
        ("heshe", 404),
        ("heshe-inspector", 404),
        ("officer2", 404),
        ("clerk", 403),
    ],
)
def test_the_evidence_file_is_for_readers_in_scope(worked, as_role, app, who, status):
    response = as_role(who).get(f"/admin/inspections/households/{worked['wang']}/file.pdf")
    assert response.status_code == status
    assert len(events(app, audit.EVIDENCE_FILE)) == (1 if status == 200 else 0)


def test_an_unknown_household_has_no_evidence_file(goods, as_role):
    assert as_role("inspector").get("/admin/inspections/households/999999/file.pdf").status_code == 404
