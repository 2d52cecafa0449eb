"""The household's work ledger page: the plan, its tick-offs, visits and declared income, and the forms to keep it."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, DeclaredIncome, Measure, MeasureDone, User, Visit
from shop.worklog import incomes
from tests.factories import receive


def day(offset: int = 0) -> str:
    return (business_today() + timedelta(days=offset)).isoformat()


def page_of(user, household_id: int) -> str:
    response = user.get(f"/admin/worklog/households/{household_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def send(user, url: str, **fields):
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def add_measure(user, household_id: int, **fields):
    body = {"kind": "industry", "title": "通过专柜销售虾干", "due_on": day(30), **fields}
    response = user.post(f"/api/households/{household_id}/measures", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def add_visit(user, household_id: int, **fields):
    body = {"visited_on": day(0), "kind": "home", "findings": "家中生产正常", "risk_found": False, **fields}
    response = user.post(f"/api/households/{household_id}/visits", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def declare(app, household_id: int, amount_fen: int = 150000, source: str = "wages") -> int:
    with app.test_request_context():
        officer = db.session.scalars(sa.select(User).where(User.username == "officer")).one()
        line = incomes.IncomeLine(source, amount_fen, business_today() - timedelta(days=30), business_today(), "工资条")
        [row] = incomes.declare_income(household_id, [line], by=officer)
        return row.id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def item(html: str, kind: str, record_id: int) -> str:
    """The card of one measure, visit or figure on the page."""
    match = re.search(rf'<li [^>]*data-{kind}="{record_id}".*?</li>', html, re.S)
    assert match, f"no {kind} {record_id} on the page"
    return match.group(0)


@pytest.fixture
def as_role(as_role):
    """Staff clients that read the pages in English, so the tests can name what they show."""

    def english(username: str):
        user = as_role(username)
        user.client.get("/lang/en")
        return user

    return english


# ---------------------------------------------------------------- what the page shows


def test_the_page_shows_the_plan_with_kinds_deadlines_and_status(goods, officer, as_role):
    open_id = add_measure(officer, goods["wang"], kind="employment", title="推荐到县城务工", due_on=day(20))
    done_id = add_measure(officer, goods["wang"], kind="education", title="申请助学金")
    officer.post(f"/api/measures/{done_id}/done", json={"done_on": day(-9), "evidence": "已到账 1500 元"})
    zh = as_role("officer")
    zh.client.set_cookie("lang", "zh_CN")
    html = page_of(zh, goods["wang"])
    opened, done = item(html, "measure", open_id), item(html, "measure", done_id)
    assert "就业帮扶" in opened and "推荐到县城务工" in opened and 'data-status="open"' in opened
    assert "教育帮扶" in done and 'data-status="done"' in done and "已到账 1500 元" in done
    assert "补录" in done and "data-late" in done and "data-late" not in opened
    # Newest first.
    assert html.index(f'data-measure="{done_id}"') < html.index(f'data-measure="{open_id}"')


def test_a_measure_past_its_deadline_is_overdue(goods, officer, monkeypatch):
    measure_id = add_measure(officer, goods["wang"], due_on=day(0))
    assert 'data-status="open"' in item(page_of(officer, goods["wang"]), "measure", measure_id)  # due today
    later = business_today() + timedelta(days=1)
    monkeypatch.setattr("admin.worklog.business_today", lambda: later)
    card = item(page_of(officer, goods["wang"]), "measure", measure_id)
    assert 'data-status="overdue"' in card and "Overdue" in card


def test_a_counter_measure_shows_the_credits_over_its_period(goods, officer, clerk):
    measure_id = add_measure(officer, goods["wang"], sells_through_counter=True)
    receive(clerk, goods["shrimp"], goods["wang"], 2000, mode="purchase", purchase_price_fen=9000)
    card = item(page_of(officer, goods["wang"]), "measure", measure_id)
    assert 'data-counter-fen="9000"' in card and "¥90.00" in card


def test_visits_show_their_kind_findings_late_mark_and_both_times(goods, officer):
    late = add_visit(officer, goods["wang"], visited_on=day(-10), kind="phone", risk_found=True)
    fresh = add_visit(officer, goods["wang"], device_recorded_at="2026-12-01T09:30:00+08:00")
    html = page_of(officer, goods["wang"])
    late_card, fresh_card = item(html, "visit", late), item(html, "visit", fresh)
    assert "Phone call" in late_card and "Risk found" in late_card and "data-late" in late_card
    assert "Home visit" in fresh_card and "家中生产正常" in fresh_card and "data-late" not in fresh_card
    assert "phone’s time" in fresh_card and "phone’s time" not in late_card
    assert html.index(f'data-visit="{fresh}"') < html.index(f'data-visit="{late}"')


def test_declared_income_shows_source_period_amount_and_how_checked(app, goods, officer):
    wages = declare(app, goods["wang"], 150000)
    costs = declare(app, goods["wang"], 30000, source="medical_cost")
    html = page_of(officer, goods["wang"])
    assert "Wages" in item(html, "income", wages) and "¥1,500.00" in item(html, "income", wages)
    assert "工资条" in item(html, "income", wages)
    assert "deducted" in item(html, "income", costs) and "deducted" not in item(html, "income", wages)


def test_the_next_visit_is_due_a_month_on_and_highlighted_when_past(goods, officer, monkeypatch):
    add_visit(officer, goods["wang"], visited_on=day(-3))
    html = page_of(officer, goods["wang"])
    # A month from the day the household took its standing (today), which is after the visit.
    assert f'data-next-due="{day(30)}"' in html and "wl-past" not in html and "Visit overdue" not in html
    later = business_today() + timedelta(days=31)
    monkeypatch.setattr("admin.worklog.business_today", lambda: later)
    html = page_of(officer, goods["wang"])
    assert f'data-next-due="{day(30)}"' in html and "wl-past" in html and "Visit overdue" in html


def test_a_household_without_scheduled_visits_says_so(goods, as_role):
    assert 'data-next-due=""' in page_of(as_role("officer2"), goods["fu"])  # 脱贫户: none scheduled


def test_the_household_page_links_to_the_work_ledger(goods, officer):
    html = officer.get(f"/admin/households/{goods['wang']}").get_data(as_text=True)
    assert f'href="/admin/worklog/households/{goods["wang"]}"' in html


def test_the_page_links_to_recording_a_visit(goods, officer):
    assert f'href="/admin/visits/?household={goods["wang"]}"' in page_of(officer, goods["wang"])


# ---------------------------------------------------------------- who sees it


def test_the_head_is_named_in_full_only_to_the_households_officer_and_each_view_is_logged(app, goods, as_role):
    assert "王亦明" in page_of(as_role("officer"), goods["wang"])
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view_personal_data")).all()
        assert [(e.entity, e.entity_id) for e in events] == [("household", str(goods["wang"]))]
    for who in ("admin", "county", "inspector"):
        html = page_of(as_role(who), goods["wang"])
        assert "王亦明" not in html and "王**" in html, who


@pytest.mark.parametrize(
    ("who", "status"), [("officer2", 404), ("heshe", 404), ("heshe-inspector", 404), ("clerk", 403)]
)
def test_out_of_scope_readers_are_refused(goods, as_role, who, status):
    assert as_role(who).get(f"/admin/worklog/households/{goods['wang']}").status_code == status


def test_a_household_that_is_not_there_is_404(goods, officer):
    assert officer.get("/admin/worklog/households/999999").status_code == 404


@pytest.mark.parametrize("who", ["inspector", "county"])
def test_readers_see_no_forms_and_their_posts_are_refused(app, goods, officer, as_role, who):
    measure_id = add_measure(officer, goods["wang"])
    reader = as_role(who)
    html = page_of(reader, goods["wang"])
    assert '<form method="post" action="/admin/worklog' not in html and "data-draft" not in html
    assert "通过专柜销售虾干" in html
    posts = [
        (
            f"/admin/worklog/households/{goods['wang']}/measures",
            {"add-kind": "other", "add-title": "x", "add-due_on": day(5)},
        ),
        (
            f"/admin/worklog/measures/{measure_id}/done",
            {f"done-{measure_id}-done_on": day(0), f"done-{measure_id}-evidence": "x"},
        ),
    ]
    for url, fields in posts:
        assert send(reader, url, **fields).status_code == 403
    assert count(app, Measure) == 1 and count(app, MeasureDone) == 0


def test_another_officer_cannot_write_a_households_ledger(app, goods, officer, as_role):
    measure_id = add_measure(officer, goods["wang"])
    other = as_role("officer2")
    fields = {f"done-{measure_id}-done_on": day(0), f"done-{measure_id}-evidence": "x"}
    assert send(other, f"/admin/worklog/measures/{measure_id}/done", **fields).status_code == 404
    added = send(
        other,
        f"/admin/worklog/households/{goods['wang']}/measures",
        **{"add-kind": "other", "add-title": "x", "add-due_on": day(5)},
    )
    assert added.status_code == 404
    assert count(app, Measure) == 1 and count(app, MeasureDone) == 0


# ---------------------------------------------------------------- the forms


def test_an_officer_adds_a_measure_and_comes_back_to_the_page(app, goods, officer):
    response = send(
        officer,
        f"/admin/worklog/households/{goods['wang']}/measures",
        **{"add-kind": "industry", "add-title": "养殖生蚝", "add-due_on": day(60), "add-sells_through_counter": "y"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/worklog/households/{goods['wang']}?saved=add#plan")
    html = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-saved="wl{goods["wang"]}-add"' in html and "The measure is added to the plan." in html
    with app.app_context():
        measure = db.session.scalars(sa.select(Measure)).one()
        assert (measure.kind.value, measure.title, measure.sells_through_counter) == ("industry", "养殖生蚝", True)
        assert measure.due_on.isoformat() == day(60)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"add-due_on": day(-1)}, "A deadline cannot be in the past."),
        ({"add-due_on": "2026-02-30"}, "Not a valid date value."),
        ({"add-kind": "magic"}, "Not a valid choice."),
        ({"add-title": ""}, "Say what will be done."),
        ({"add-title": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_a_refused_measure_is_422_with_the_error_and_the_typed_values_kept(app, goods, officer, fields, message):
    typed = {"add-kind": "housing", "add-title": "危房改造申请", "add-due_on": day(10), **fields}
    response = send(officer, f"/admin/worklog/households/{goods['wang']}/measures", **typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    if typed["add-title"] and len(typed["add-title"]) < 50:
        assert f'value="{typed["add-title"]}"' in html
    assert re.search(r'<details class="propose wl-form" open>\s*<summary>Add a measure', html)
    assert count(app, Measure) == 0


def test_a_tick_off_is_recorded_and_a_second_is_refused_with_the_message(app, goods, officer):
    measure_id = add_measure(officer, goods["wang"])
    url = f"/admin/worklog/measures/{measure_id}/done"
    fields = {f"done-{measure_id}-done_on": day(0), f"done-{measure_id}-evidence": "已签订收购协议"}
    first = send(officer, url, **fields)
    assert first.status_code == 302 and first.headers["Location"].endswith(
        f"?saved=done-{measure_id}#measure-{measure_id}"
    )
    again = send(officer, url, **{**fields, f"done-{measure_id}-evidence": "再次销号"})
    assert again.status_code == 409
    assert "This measure was ticked off on" in again.get_data(as_text=True)
    assert "再次销号" in again.get_data(as_text=True)  # what was typed is kept
    with app.app_context():
        [done] = db.session.scalars(sa.select(MeasureDone)).all()
        assert done.evidence == "已签订收购协议"


def test_a_tick_off_in_the_future_is_422(app, goods, officer):
    measure_id = add_measure(officer, goods["wang"])
    fields = {f"done-{measure_id}-done_on": day(1), f"done-{measure_id}-evidence": "明天"}
    response = send(officer, f"/admin/worklog/measures/{measure_id}/done", **fields)
    assert response.status_code == 422 and "This date is in the future" in response.get_data(as_text=True)
    assert count(app, MeasureDone) == 0


def test_a_corrected_measure_shows_old_and_new_with_the_reason(app, goods, officer):
    old = add_measure(officer, goods["wang"], title="养鸡 100 只")
    response = send(
        officer,
        f"/admin/worklog/measures/{old}/correction",
        **{
            f"fix-m{old}-kind": "industry",
            f"fix-m{old}-title": "养鸡 50 只",
            f"fix-m{old}-due_on": day(40),
            f"fix-m{old}-reason": "鸡苗数量按合同改为 50 只",
        },
    )
    assert response.status_code == 302
    html = page_of(officer, goods["wang"])
    with app.app_context():
        new = db.session.scalars(sa.select(Measure.id).where(Measure.corrects_id == old)).one()
    old_card, new_card = item(html, "measure", old), item(html, "measure", new)
    assert 'data-status="corrected"' in old_card and "养鸡 100 只" in old_card and f"#measure-{new}" in old_card
    assert "养鸡 50 只" in new_card and "鸡苗数量按合同改为 50 只" in new_card and f"#measure-{old}" in new_card
    # The replaced measure offers no more forms; correcting it again is refused.
    assert f"/admin/worklog/measures/{old}/" not in old_card
    again = send(
        officer,
        f"/admin/worklog/measures/{old}/correction",
        **{
            f"fix-m{old}-kind": "industry",
            f"fix-m{old}-title": "x",
            f"fix-m{old}-due_on": day(4),
            f"fix-m{old}-reason": "y",
        },
    )
    assert again.status_code == 409 and count(app, Measure) == 2


def test_a_correction_needs_a_reason(app, goods, officer):
    old = add_measure(officer, goods["wang"])
    response = send(
        officer,
        f"/admin/worklog/measures/{old}/correction",
        **{f"fix-m{old}-kind": "industry", f"fix-m{old}-title": "新标题", f"fix-m{old}-due_on": day(4)},
    )
    assert response.status_code == 422 and "Say why it is corrected." in response.get_data(as_text=True)
    assert count(app, Measure) == 1


def test_a_visit_is_corrected_and_both_records_show(app, goods, officer):
    old = add_visit(officer, goods["wang"], findings="未见异常")
    response = send(
        officer,
        f"/admin/worklog/visits/{old}/correction",
        **{
            f"fix-v{old}-visited_on": day(-1),
            f"fix-v{old}-kind": "phone",
            f"fix-v{old}-findings": "户主生病住院",
            f"fix-v{old}-risk_found": "y",
            f"fix-v{old}-reason": "记错了日期和情况",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        new = db.session.scalars(sa.select(Visit).where(Visit.corrects_id == old)).one()
        assert (new.kind.value, new.risk_found, new.visited_on.isoformat()) == ("phone", True, day(-1))
    html = page_of(officer, goods["wang"])
    assert "未见异常" in item(html, "visit", old) and "Corrected, no longer counted" in item(html, "visit", old)
    assert "户主生病住院" in item(html, "visit", new.id) and "记错了日期和情况" in item(html, "visit", new.id)


def test_a_visit_correction_in_the_future_is_refused(app, goods, officer):
    old = add_visit(officer, goods["wang"])
    fields = {
        f"fix-v{old}-visited_on": day(2),
        f"fix-v{old}-kind": "home",
        f"fix-v{old}-findings": "x",
        f"fix-v{old}-reason": "y",
    }
    response = send(officer, f"/admin/worklog/visits/{old}/correction", **fields)
    assert response.status_code == 422 and "This date is in the future" in response.get_data(as_text=True)
    assert count(app, Visit) == 1


def test_a_declared_figure_is_corrected_in_yuan(app, goods, officer):
    old = declare(app, goods["wang"], 150000)
    response = send(
        officer,
        f"/admin/worklog/incomes/{old}/correction",
        **{
            f"fix-i{old}-source": "wages",
            f"fix-i{old}-amount": "1,200.50",
            f"fix-i{old}-period_start": day(-30),
            f"fix-i{old}-period_end": day(0),
            f"fix-i{old}-how_checked": "银行流水",
            f"fix-i{old}-reason": "工资条多算了加班费",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        new = db.session.scalars(sa.select(DeclaredIncome).where(DeclaredIncome.corrects_id == old)).one()
        assert new.amount_fen == 120050
    html = page_of(officer, goods["wang"])
    assert "¥1,500.00" in item(html, "income", old) and "¥1,200.50" in item(html, "income", new.id)


def test_a_declared_figure_with_a_bad_amount_is_422(app, goods, officer):
    old = declare(app, goods["wang"], 150000)
    fields = {
        f"fix-i{old}-source": "wages",
        f"fix-i{old}-amount": "十二",
        f"fix-i{old}-period_start": day(-30),
        f"fix-i{old}-period_end": day(0),
        f"fix-i{old}-how_checked": "银行流水",
        f"fix-i{old}-reason": "x",
    }
    response = send(officer, f"/admin/worklog/incomes/{old}/correction", **fields)
    assert response.status_code == 422 and 'value="十二"' in response.get_data(as_text=True)
    assert count(app, DeclaredIncome) == 1


def test_a_hostile_title_is_shown_as_text(app, goods, officer, as_role):
    add_measure(officer, goods["wang"], title='<script>alert("x")</script>')
    html = page_of(as_role("county"), goods["wang"])
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_every_form_needs_its_csrf_token(app, goods, officer):
    response = officer.client.post(
        f"/admin/worklog/households/{goods['wang']}/measures",
        data={"add-kind": "other", "add-title": "x", "add-due_on": day(5)},
    )
    assert response.status_code == 400 and count(app, Measure) == 0


def test_the_manager_writes_every_households_ledger(app, goods, admin):
    response = send(
        admin,
        f"/admin/worklog/households/{goods['fu']}/measures",
        **{"add-kind": "safety_net", "add-title": "申请低保", "add-due_on": day(15)},
    )
    assert response.status_code == 302 and count(app, Measure) == 1
    assert "data-draft" in page_of(admin, goods["fu"])
