"""The monthly review pages: a household's month, the officer's confirmation or dispute, and the disputes."""

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import MonthReview
from shop.oversight.monitoring import add_months, month_start
from tests.factories import receive


def this_month() -> str:
    return f"{business_today():%Y-%m}"


def month_url(household_id: int, month: str | None = None) -> str:
    return f"/admin/review/households/{household_id}/{month or this_month()}"


def page(staff, url: str, status: int = 200) -> str:
    response = staff.client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def seen_digest(html: str) -> str:
    """The digest the review form carries, as a browser would send it back."""
    return re.search(r'name="digest" value="([0-9a-f]*)"', html).group(1)


def current_digest(app, household_id: int, month: str | None = None) -> str:
    """The month's digest as the ledger gives it now."""
    from shop.models import Household
    from shop.oversight.monitoring import parse_month
    from shop.oversight.statements import month_statement

    with app.app_context():
        return month_statement(db.session.get(Household, household_id), parse_month(month or this_month())).digest


def send(staff, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return staff.client.post(url, data={"csrf_token": staff.token, **fields})


def review(staff, household_id: int, outcome: str, note: str = "", digest: str | None = None, month: str | None = None):
    """Open the month's page, then send the review form with the digest it showed (or the one given)."""
    url = month_url(household_id, month)
    digest = digest if digest is not None else seen_digest(page(staff, url))
    return send(staff, url, outcome=outcome, note=note, digest=digest)


def reviews(app) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(MonthReview).order_by(MonthReview.id))
        return [(r.household_id, r.outcome.value, r.note) for r in rows]


def english(staff):
    """Switch a signed-in client's pages to English, so tests can read the words they assert on."""
    staff.client.get("/lang/en")
    return staff


@pytest.fixture
def sold(app, goods, clerk):
    """王's shrimp on consignment at 90 %: 500 g sold for ¥68.00 credits ¥61.20; returns the sale's body."""
    receive(clerk, goods["shrimp"], goods["wang"], 1000)
    body = {
        "idempotency_key": "review-sale-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refund(clerk, sale: dict, grams: int = 100):
    response = clerk.post(
        f"/api/counter/sales/{sale['id']}/refunds",
        json={
            "idempotency_key": uuid.uuid4().hex,
            "lines": [{"line_id": sale["lines"][0]["id"], "quantity": grams}],
            "restock": True,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_month_page_shows_the_statement_with_each_line_and_the_balances(app, goods, sold, officer):
    html = page(officer, month_url(goods["wang"]))
    assert "DB001" in html and "王亦明" in html  # the officer's own household, in full (logged)
    assert 'data-figure="opening">¥0.00' in html
    assert 'data-figure="credited">¥61.20' in html
    assert 'data-figure="closing">¥61.20' in html
    assert 'data-figure="per-capita">¥15.30' in html  # four people
    assert 'data-amount="6120"' in html and f"S{sold['id']:06d}" not in html and f"#{sold['id']}" in html
    assert 'data-review="none"' in html
    assert f"{month_url(goods['wang'])}/statement.pdf" in html


def test_an_officer_confirms_a_month_and_the_page_shows_it_confirmed(app, goods, sold, officer):
    response = review(officer, goods["wang"], "confirmed")
    assert response.status_code == 302 and response.headers["Location"] == month_url(goods["wang"])
    assert reviews(app) == [(goods["wang"], "confirmed", "")]
    html = page(english(officer), month_url(goods["wang"]))
    assert 'data-review="confirmed"' in html and "Confirmed by officer" in html
    assert 'data-amendment="1"' not in html


def test_a_refund_after_the_month_was_confirmed_shows_as_an_amendment(app, goods, sold, officer, clerk):
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    refund(clerk, sold)  # 100 g of the 500 g: takes back ¥12.24
    html = page(english(officer), month_url(goods["wang"]))
    amended = re.findall(
        r'<li class="rv-line rv-amendment" data-seq="\d+" data-amount="(-?\d+)" data-amendment="1">', html
    )
    assert amended == ["-1224"]
    assert "Amendment — written after the month was confirmed" in html
    assert 'data-amendments="1"' in html and 'data-figure="closing">¥48.96' in html
    # The month still stands confirmed, with the amendment shown rather than folded in.
    assert 'data-review="confirmed"' in html


def test_the_officer_may_confirm_again_after_an_amendment(app, goods, sold, officer, clerk):
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    refund(clerk, sold)
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    html = page(officer, month_url(goods["wang"]))
    assert 'data-amendment="1"' not in html and len(reviews(app)) == 2


def test_a_dispute_needs_a_note(app, goods, sold, officer):
    response = review(officer, goods["wang"], "disputed", note="   ")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert reviews(app) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"outcome": "approved"},
        {"outcome": ""},
        {"outcome": "disputed", "note": "x" * 1001},
        {"outcome": "disputed", "note": "bad\x00byte"},
        {"outcome": "confirmed", "digest": ""},
    ],
    ids=["unknown-outcome", "no-outcome", "long-note", "nul-in-note", "no-digest"],
)
def test_a_clumsy_review_form_is_422_and_records_nothing(app, goods, sold, officer, fields):
    url = month_url(goods["wang"])
    digest = seen_digest(page(officer, url))
    response = send(officer, url, **{"outcome": "confirmed", "note": "", "digest": digest, **fields})
    assert response.status_code == 422
    assert reviews(app) == []


def test_a_review_without_the_csrf_token_is_refused(app, goods, sold, officer):
    url = month_url(goods["wang"])
    digest = seen_digest(page(officer, url))
    response = officer.client.post(url, data={"outcome": "confirmed", "digest": digest})
    assert response.status_code == 400
    assert reviews(app) == []


def test_a_stale_digest_is_409_shows_the_month_as_it_stands_and_records_nothing(app, goods, sold, officer, clerk):
    url = month_url(goods["wang"])
    old = seen_digest(page(officer, url))
    refund(clerk, sold)  # lands while the officer is reading
    response = send(officer, url, outcome="confirmed", note="", digest=old)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'data-error="statement-changed"' in html and 'data-figure="closing">¥48.96' in html
    assert seen_digest(html) != old
    assert reviews(app) == []
    # Reviewing what is shown now goes through.
    assert send(officer, url, outcome="confirmed", note="", digest=seen_digest(html)).status_code == 302


def test_another_officers_household_is_not_found(app, goods, sold, as_role):
    other = as_role("officer2")
    url = month_url(goods["wang"])
    assert other.client.get(url).status_code == 404
    assert other.client.get(url + "/statement.pdf").status_code == 404
    assert send(other, url, outcome="confirmed", digest="0" * 16).status_code == 404
    assert as_role("heshe").client.get(url).status_code == 404  # 和舍镇's supervisor; 王 lives in 临城镇
    assert reviews(app) == []


@pytest.mark.parametrize("who", ["admin", "county"])
def test_the_manager_and_supervisors_read_the_month_but_cannot_review_it(app, goods, sold, as_role, who):
    staff = as_role(who)
    html = page(staff, month_url(goods["wang"]))
    assert 'data-figure="closing">¥61.20' in html and 'name="outcome"' not in html
    assert review(staff, goods["wang"], "confirmed", digest=current_digest(app, goods["wang"])).status_code == 403
    assert reviews(app) == []


def test_clerks_and_strangers_have_no_review_pages(app, goods, sold, as_role, client):
    url = month_url(goods["wang"])
    clerk = as_role("clerk")
    for path in (url, url + "/statement.pdf", "/admin/review/", "/admin/review/disputes"):
        assert clerk.client.get(path).status_code == 403
        assert client.get(path).status_code == 302
    assert send(clerk, url, outcome="confirmed", digest="0" * 16).status_code == 403


@pytest.mark.parametrize("month", ["future", "2026-13", "abc", "2026-1", "1999-12", "2026-00", "２０２６-１１"])
def test_a_month_that_is_not_one_or_has_not_begun_is_not_found(app, goods, sold, officer, month):
    if month == "future":
        month = f"{add_months(month_start(business_today()), 1):%Y-%m}"
    url = month_url(goods["wang"], month)
    assert officer.client.get(url).status_code == 404
    assert officer.client.get(url + "/statement.pdf").status_code == 404
    assert send(officer, url, outcome="confirmed", digest="0" * 16).status_code == 404
    assert reviews(app) == []


@pytest.mark.parametrize("household_id", ["999999", "0", "99999999999", "-1", "x"])
def test_a_household_that_does_not_exist_is_not_found(app, goods, officer, household_id):
    assert officer.client.get(f"/admin/review/households/{household_id}/{this_month()}").status_code == 404


def test_month_navigation_goes_back_but_not_beyond_the_current_month(app, goods, sold, officer):
    current = month_start(business_today())
    previous, following = add_months(current, -1), add_months(current, 1)
    html = page(officer, month_url(goods["wang"]))
    assert month_url(goods["wang"], f"{previous:%Y-%m}") in html
    assert month_url(goods["wang"], f"{following:%Y-%m}") not in html
    earlier = page(officer, month_url(goods["wang"], f"{previous:%Y-%m}"))
    assert month_url(goods["wang"]) in earlier and 'data-figure="opening">¥0.00' in earlier


def test_a_past_month_without_entries_can_be_read_and_confirmed(app, goods, sold, officer):
    last = f"{add_months(month_start(business_today()), -1):%Y-%m}"
    assert review(officer, goods["wang"], "confirmed", month=last).status_code == 302
    assert 'data-review="confirmed"' in page(officer, month_url(goods["wang"], last))


def test_a_dispute_reaches_the_manager_who_answers_it_once(app, goods, sold, officer, as_role):
    response = review(officer, goods["wang"], "disputed", note="王 says he delivered 2 斤, not 1.")
    assert response.status_code == 302
    html = page(officer, month_url(goods["wang"]))
    assert 'data-review="disputed"' in html and "王 says he delivered 2 斤, not 1." in html

    admin = as_role("admin")
    disputes = page(admin, "/admin/review/disputes")
    review_id = int(re.search(r'data-dispute="(\d+)"', disputes).group(1))
    assert "DB001" in disputes and f"/admin/review/disputes/{review_id}/resolve" in disputes

    answer = "Checked the receiving slip: 1 斤 was received. Explained to the household."
    assert send(admin, f"/admin/review/disputes/{review_id}/resolve", resolution=answer).status_code == 302
    assert 'data-dispute="' not in page(admin, "/admin/review/disputes")
    again = send(admin, f"/admin/review/disputes/{review_id}/resolve", resolution="Once more")
    assert again.status_code == 409 and 'data-error="already-resolved"' in again.get_data(as_text=True)
    html = page(officer, month_url(goods["wang"]))
    assert 'data-review="answered"' in html and answer in html
    with app.app_context():
        stored = db.session.get(MonthReview, review_id)
        assert stored.resolution == answer and stored.resolved_at is not None


def test_open_disputes_are_read_only_for_supervisors_and_officers_and_scoped(app, goods, sold, officer, as_role):
    assert review(officer, goods["wang"], "disputed", note="Short by one jar").status_code == 302
    for who, sees in (("county", True), ("officer", True), ("heshe", False), ("officer2", False)):
        html = page(as_role(who), "/admin/review/disputes")
        assert ("Short by one jar" in html) is sees, who
        assert "/resolve" not in html
    review_id = reviews_ids(app)[0]
    for who in ("county", "officer"):
        assert send(as_role(who), f"/admin/review/disputes/{review_id}/resolve", resolution="Done").status_code == 403


def reviews_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(MonthReview.id).order_by(MonthReview.id)))


def test_answering_a_dispute_needs_words_and_a_dispute_that_exists(app, goods, sold, officer, as_role):
    assert review(officer, goods["wang"], "disputed", note="Wrong price").status_code == 302
    admin = as_role("admin")
    review_id = reviews_ids(app)[0]
    assert send(admin, f"/admin/review/disputes/{review_id}/resolve", resolution="  ").status_code == 422
    assert send(admin, f"/admin/review/disputes/{review_id}/resolve", resolution="x" * 1001).status_code == 422
    assert send(admin, "/admin/review/disputes/999999/resolve", resolution="Done").status_code == 404
    assert (
        admin.client.post(f"/admin/review/disputes/{review_id}/resolve", data={"resolution": "Done"}).status_code == 400
    )
    with app.app_context():
        assert db.session.get(MonthReview, review_id).resolved_at is None
    # A confirmed month is no dispute to answer.
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    assert send(admin, f"/admin/review/disputes/{reviews_ids(app)[1]}/resolve", resolution="Done").status_code == 404


def test_the_officers_overview_lists_last_and_this_month_of_each_household(app, goods, sold, officer):
    current = month_start(business_today())
    html = page(officer, "/admin/review/")
    assert 'data-household="DB001"' in html and 'data-household="CT001"' not in html
    assert f'data-month="{add_months(current, -1):%Y-%m}"' in html and f'data-month="{current:%Y-%m}"' in html
    assert 'data-state="none"' in html  # this month has a sale and no review yet
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    html = page(officer, "/admin/review/")
    assert 'data-state="confirmed"' in html and 'data-state="none"' not in html


def test_the_managers_overview_counts_last_months_reviews(app, goods, officer, as_role):
    last = add_months(month_start(business_today()), -1)
    # Last month had no entries: confirming it for 王 leaves 符 quiet.
    assert review(officer, goods["wang"], "confirmed", month=f"{last:%Y-%m}").status_code == 302
    html = page(as_role("admin"), "/admin/review/")
    counts = dict(re.findall(r'<div data-count="(\w+)">.*?<dd>(\d+)</dd>', html, re.S))
    assert counts == {"confirmed": "1", "amended": "0", "disputed": "0", "answered": "0", "none": "0", "quiet": "1"}
    heshe = page(as_role("heshe"), "/admin/review/")
    assert dict(re.findall(r'<div data-count="(\w+)">.*?<dd>(\d+)</dd>', heshe, re.S))["quiet"] == "1"
    assert dict(re.findall(r'<div data-count="(\w+)">.*?<dd>(\d+)</dd>', heshe, re.S))["confirmed"] == "0"


def test_the_statement_pdf_opens_inline_for_those_who_see_the_household(app, goods, sold, officer):
    response = officer.client.get(month_url(goods["wang"]) + "/statement.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("inline")
    assert f"{this_month()}_DB001.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_correction_dated_last_month_is_last_months_and_opens_this_month(app, goods, sold, officer, as_role):
    from shop.models import Role, User
    from shop.oversight import adjustments
    from shop.staff import accounts

    last_day = month_start(business_today()) - timedelta(days=1)
    with app.app_context():
        accounts.create_user("admin2", "correct horse battery", Role.ADMIN)
        proposer = db.session.scalar(sa.select(User).where(User.username == "officer"))
        proposed = adjustments.propose(
            household_id=goods["wang"], amount_fen=1000, entry_date=last_day, reason="漏记一笔", by=proposer
        )
        approver = db.session.scalar(sa.select(User).where(User.username == "admin2"))
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=approver)
    last = page(english(officer), month_url(goods["wang"], f"{last_day:%Y-%m}"))
    assert "Correction: 漏记一笔" in last and 'data-figure="closing">¥10.00' in last
    assert 'data-figure="opening">¥10.00' in page(officer, month_url(goods["wang"]))


def test_a_second_tap_on_confirm_records_nothing_more_and_the_button_goes(app, goods, sold, officer):
    url = month_url(goods["wang"])
    digest = seen_digest(page(officer, url))
    assert send(officer, url, outcome="confirmed", note="", digest=digest).status_code == 302
    html = page(english(officer), url)
    assert "rv-confirm-button" not in html and 'data-confirmed="1"' in html
    # The same form sent again (a double tap, a reload): a redirect to the month, and still one review.
    again = send(officer, url, outcome="confirmed", note="", digest=digest)
    assert again.status_code == 302 and again.headers["Location"].endswith(url)
    assert "already confirmed" in page(officer, url)
    assert reviews(app) == [(goods["wang"], "confirmed", "")]


def test_a_dispute_after_a_confirmation_is_still_recorded(app, goods, sold, officer):
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    assert review(officer, goods["wang"], "disputed", note="少了一笔").status_code == 302
    assert [r[1] for r in reviews(app)] == ["confirmed", "disputed"]
    # Disputed, the month may be confirmed again.
    assert "rv-confirm-button" in page(officer, month_url(goods["wang"]))
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    assert [r[1] for r in reviews(app)] == ["confirmed", "disputed", "confirmed"]


def test_after_an_amendment_the_confirm_button_comes_back(app, goods, sold, officer, clerk):
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    refund(clerk, sold)
    assert "rv-confirm-button" in page(officer, month_url(goods["wang"]))
