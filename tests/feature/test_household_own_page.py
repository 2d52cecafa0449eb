"""A household's own page: its link (issued, replaced, revoked, throttled), what it shows, and payout disputes."""

import re

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, HouseholdLink, HouseholdPageViews, PayoutDispute, PayoutMethod, Role, User
from shop.oversight import payouts
from shop.staff import accounts
from tests.conftest import PASSWORD, Api, base_config

from . import test_ledger

#: 王's shrimp sold and partly refunded; 符's paste bought by the counter (a credit of its own).
sold = test_ledger.sold


def issue(api: Api, household_id: int):
    return api.post(f"/api/households/{household_id}/link", json={})


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def pay(app, household_id: int, amount_fen: int):
    with app.test_request_context():
        by = db.session.scalar(sa.select(User).where(User.username == "admin"))
        return payouts.pay_household(payouts.PayoutRequest(household_id, amount_fen, PayoutMethod.CASH), by).id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def wang_page(app, goods, sold, admin):
    """The address of 王's page, issued by the manager."""
    response = issue(admin, goods["wang"])
    assert response.status_code == 201, response.get_json()
    return path_of(response.get_json()["url"])


def test_a_link_shows_its_household_only_masked(app, client, goods, wang_page, admin):
    fu = path_of(issue(admin, goods["fu"]).get_json()["url"])
    page = client.get(wang_page)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "王**" in html and "王亦明" not in html
    assert "虾干" in html and "虾酱" not in html and "符" not in html
    assert page.headers["Cache-Control"] == "private, no-store"
    other = client.get(fu).get_data(as_text=True)
    assert "虾酱" in other and "虾干" not in other and "王" not in other
    assert not re.search(r"1[3-9]\d{9}", html)


def test_the_page_is_light_and_has_no_script(client, wang_page):
    page = client.get(wang_page)
    html = page.get_data(as_text=True)
    assert len(page.get_data()) <= 50 * 1024
    assert "<script" not in html.lower()
    assert "<caption>" in html and 'scope="col"' in html and "<h1>" in html and "<h2" in html


def test_views_are_counted_without_who(app, client, wang_page):
    client.get(wang_page)
    client.get(wang_page)
    with app.app_context():
        rows = db.session.execute(sa.select(HouseholdPageViews)).scalars().all()
        assert [row.views for row in rows] == [2]
        assert set(HouseholdPageViews.__table__.columns.keys()) == {"link_id", "day", "views"}


def test_the_token_is_stored_sealed_and_as_a_digest(app, wang_page):
    token = wang_page.rsplit("/", 1)[1]
    assert len(token) >= 30
    with app.app_context():
        raw = db.session.execute(sa.text("SELECT token, token_digest FROM household_link")).one()
        assert token not in raw.token and token not in raw.token_digest
        trail = " ".join(e.after for e in db.session.scalars(sa.select(AuditEvent)))
        assert token not in trail and raw.token_digest not in trail


def test_a_revoked_link_answers_404(app, client, goods, wang_page, admin):
    assert admin.delete(f"/api/households/{goods['wang']}/link").status_code == 200
    assert client.get(wang_page).status_code == 404
    assert admin.delete(f"/api/households/{goods['wang']}/link").status_code == 404
    with app.app_context():
        link = db.session.scalars(sa.select(HouseholdLink)).one()
        assert link.revoked_at is not None and link.revoked_by.username == "admin"


def test_a_replaced_link_answers_404_and_the_new_one_works(app, client, goods, wang_page, officer):
    response = issue(officer, goods["wang"])
    assert response.status_code == 201
    new = path_of(response.get_json()["url"])
    assert new != wang_page
    assert client.get(wang_page).status_code == 404
    assert client.get(new).status_code == 200
    with app.app_context():
        live = db.session.scalars(sa.select(HouseholdLink).where(HouseholdLink.revoked_at.is_(None))).all()
        assert len(live) == 1 and live[0].created_by.username == "officer"
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "household_link")).all()
        assert sorted(actions) == ["insert", "insert", "update"]


@pytest.mark.parametrize("who,status", [("officer2", 404), ("clerk", 403), ("heshe", 403), ("inspector", 403)])
def test_only_the_manager_and_the_households_officer_issue_its_link(app, goods, as_role, who, status):
    assert issue(as_role(who), goods["wang"]).status_code == status
    assert as_role(who).delete(f"/api/households/{goods['wang']}/link").status_code == status
    assert count(app, HouseholdLink) == 0


@pytest.mark.parametrize("guess", ["x" * 30, "short", "A" * 200, "%00" * 12, "..%2F..%2Fetc"])
def test_a_guessed_link_answers_404(client, goods, guess):
    assert client.get(f"/h/{guess}").status_code == 404


def test_a_burst_of_guesses_gets_429_and_real_views_cost_nothing(app, goods, sold, admin):
    path = path_of(issue(admin, goods["wang"]).get_json()["url"])
    limited = create_app(
        {
            **base_config(app.config["SQLALCHEMY_DATABASE_URI"]),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    client = limited.test_client()
    try:
        assert [client.get(path).status_code for _ in range(12)] == [200] * 12
        statuses = [client.get(f"/h/guess{n:026d}").status_code for n in range(12)]
        assert statuses[:10] == [404] * 10 and statuses[-1] == 429
    finally:
        with limited.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- disputes


def raise_on(client, page: str, payout_id: int, note: str = "", csrf: str | None = None):
    html = client.get(page).get_data(as_text=True)
    token = csrf if csrf is not None else re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    return client.post(f"{page}/payouts/{payout_id}/dispute", data={"csrf_token": token, "note": note})


@pytest.fixture
def lincheng(app, staff):
    """The supervisor of 临城镇, 王's town."""
    with app.app_context():
        accounts.create_user("lincheng", PASSWORD, Role.SUPERVISOR, town="临城镇")


def test_a_dispute_reaches_the_right_staff_and_no_one_else(app, client, goods, wang_page, as_role, lincheng):
    payout = pay(app, goods["wang"], 1000)
    assert "data-dispute-form" in client.get(wang_page).get_data(as_text=True)
    response = raise_on(client, wang_page, payout, note="没有人给我钱")
    assert response.status_code == 303
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-dispute="open"' in shown
    for who in ("admin", "officer", "lincheng", "county"):
        html = as_role(who).get("/admin/disputes/").get_data(as_text=True)
        assert "没有人给我钱" in html and "王**" in html, who
        assert "王亦明" not in html
    today = as_role("officer").get("/admin/work/today").get_data(as_text=True)
    assert 'data-open-disputes="1"' in today
    for who in ("officer2", "heshe", "heshe-inspector"):
        response = as_role(who).get("/admin/disputes/")
        assert response.status_code in (200, 403)
        assert "没有人给我钱" not in response.get_data(as_text=True), who
    assert as_role("clerk").get("/admin/disputes/").status_code == 403
    # The county inspector reads it, and cannot answer it.
    assert "没有人给我钱" in as_role("inspector").get("/admin/disputes/").get_data(as_text=True)


def answer(api: Api, dispute_id: int, text: str):
    html = api.get("/admin/disputes/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    return api.client.post(f"/admin/disputes/{dispute_id}/answer", data={"csrf_token": token, "answer": text})


def test_an_answer_shows_on_the_households_page_once(app, client, goods, wang_page, as_role):
    payout = pay(app, goods["wang"], 1000)
    raise_on(client, wang_page, payout)
    with app.app_context():
        dispute_id = db.session.scalar(sa.select(PayoutDispute.id))
    assert answer(as_role("officer2"), dispute_id, "不是你的").status_code == 404
    assert answer(as_role("inspector"), dispute_id, "看看").status_code == 403
    assert answer(as_role("officer"), dispute_id, "已查明：现金已由村委代领，明天送到。").status_code == 303
    html = client.get(wang_page).get_data(as_text=True)
    assert "现金已由村委代领" in html and 'data-dispute="answered"' in html
    assert answer(as_role("admin"), dispute_id, "again").status_code == 409
    assert "data-open-disputes" not in as_role("officer").get("/admin/work/today").get_data(as_text=True)
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity == "payout_dispute").order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == ["insert", "update"]


def test_a_second_press_creates_nothing(app, client, goods, wang_page):
    payout = pay(app, goods["wang"], 1000)
    html = client.get(wang_page).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    assert raise_on(client, wang_page, payout, csrf=token).status_code == 303
    second = raise_on(client, wang_page, payout, note="again", csrf=token)
    assert second.status_code == 303
    assert count(app, PayoutDispute) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(PayoutDispute.note)) == ""
    assert "data-dispute-form" not in client.get(wang_page).get_data(as_text=True)


@pytest.mark.parametrize("note", ["长" * 201, "line\nbreak", "nul\x00", "bell\x07"])
def test_a_hostile_note_is_refused_and_records_nothing(app, client, goods, wang_page, note):
    payout = pay(app, goods["wang"], 1000)
    assert raise_on(client, wang_page, payout, note=note).status_code == 422
    assert count(app, PayoutDispute) == 0


def test_another_households_payout_or_a_bad_csrf_token_records_nothing(app, client, goods, wang_page, admin):
    fu_payout = pay(app, goods["fu"], 1000)
    wang_payout = pay(app, goods["wang"], 1000)
    assert raise_on(client, wang_page, fu_payout).status_code == 404
    assert raise_on(client, wang_page, 2**31 - 1).status_code == 404
    assert raise_on(client, wang_page, wang_payout, csrf="forged").status_code == 400
    assert client.post(f"/h/{'x' * 30}/payouts/{wang_payout}/dispute", data={}).status_code in (400, 404)
    assert count(app, PayoutDispute) == 0


# ---------------------------------------------------------------- staff side and paper


def pdf_text(data: bytes) -> str:
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed")
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_the_staff_page_shows_the_link_to_those_who_give_it_out(app, goods, wang_page, as_role):
    officer = as_role("officer").get(f"/admin/households/{goods['wang']}").get_data(as_text=True)
    assert wang_page in officer and 'data-own-page="live"' in officer
    county = as_role("county").get(f"/admin/households/{goods['wang']}").get_data(as_text=True)
    assert 'data-own-page="live"' in county and wang_page not in county
    qr = as_role("officer").get(f"/admin/households/{goods['wang']}/link/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<path" in qr.data
    assert as_role("county").get(f"/admin/households/{goods['wang']}/link/qr.svg").status_code == 403
    assert as_role("officer2").get(f"/admin/households/{goods['wang']}/link/card.pdf").status_code == 404
    card = as_role("officer").get(f"/admin/households/{goods['wang']}/link/card.pdf")
    assert card.status_code == 200 and card.data.startswith(b"%PDF")
    assert wang_page.rsplit("/", 1)[1] in pdf_text(card.data).replace("\n", "")


def test_the_staff_page_issues_and_revokes(app, client, goods, wang_page, as_role):
    officer = as_role("officer")
    assert (
        officer.client.post(f"/admin/households/{goods['wang']}/link", data={"csrf_token": officer.token}).status_code
        == 303
    )
    assert client.get(wang_page).status_code == 404
    revoke = f"/admin/households/{goods['wang']}/link/revoke"
    assert officer.client.post(revoke, data={"csrf_token": officer.token}).status_code == 303
    assert count(app, HouseholdLink) == 2
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(HouseholdLink.revoked_at.is_(None))) == 0
    html = officer.get(f"/admin/households/{goods['wang']}/link/card.pdf")
    assert html.status_code == 404


def test_papers_carry_the_link_only_when_there_is_one(app, goods, sold, admin):
    payout = pay(app, goods["wang"], 1000)
    month = f"{business_today():%Y-%m}"
    papers = (
        f"/admin/households/payouts/{payout}/receipt.pdf",
        f"/admin/review/households/{goods['wang']}/{month}/statement.pdf",
    )
    for url in papers:
        response = admin.get(url)
        assert response.status_code == 200, url
        assert "扫码查看本户账目" not in pdf_text(response.data)
    token = path_of(issue(admin, goods["wang"]).get_json()["url"]).rsplit("/", 1)[1]
    for url in papers:
        text = pdf_text(admin.get(url).data)
        assert "扫码查看本户账目" in text and token[:10] in text.replace("\n", ""), url


def test_issue_links_gives_each_household_without_one_a_link(app, goods, admin, tmp_path):
    issue(admin, goods["wang"])
    out = tmp_path / "links.csv"
    result = app.test_cli_runner().invoke(args=["households", "issue-links", "--by", "admin", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Issued 1 links" in result.output and "/h/" not in result.output
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "code,url" and rows[1].startswith("CT001,") and len(rows) == 2
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    again = app.test_cli_runner().invoke(
        args=["households", "issue-links", "--by", "clerk", "--out", str(tmp_path / "x")]
    )
    assert again.exit_code != 0
