"""The household pages: who sees which household, the figures and the trail, payouts and corrections."""

import re
from datetime import timedelta
from io import BytesIO
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop.clock import business_today
from shop.extensions import db
from shop.ledger import entries
from shop.models import Adjustment, AdjustmentStatus, LedgerEntry, Payout, Role, SaleLine
from shop.money import format_fen
from shop.staff import accounts
from tests.concurrency import run_together
from tests.factories import receive

#: 王's balance after the `sold` fixture: 90 % of ¥68.00 credited, 100 g of it refunded.
WANG_CREDITED, WANG_REVERSED = 6120, 1224
WANG_BALANCE = WANG_CREDITED - WANG_REVERSED


def send(user, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def html_of(user, url: str, status: int = 200) -> str:
    response = user.client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def figure(html: str, name: str) -> str:
    """The text of one of the period's figures, found by its data-figure name."""
    match = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert match, f"no figure {name}"
    return match.group(1)


def ledger_rows(app, household_id=None) -> list[tuple[str, int]]:
    with app.app_context():
        query = sa.select(LedgerEntry).order_by(LedgerEntry.seq)
        if household_id:
            query = query.where(LedgerEntry.household_id == household_id)
        return [(e.kind.value, e.amount_fen) for e in db.session.scalars(query)]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def chain_is_sound(app) -> bool:
    with app.app_context():
        _count, fault = entries.verify()
        return fault is None


@pytest.fixture
def sold(app, goods, as_role):
    """王's shrimp on consignment at 90 %, 符's paste bought for ¥120.00; 500 g and 2 jars sold, 100 g refunded."""
    clerk = as_role("clerk")
    shrimp_lot = receive(clerk, goods["shrimp"], goods["wang"], 1000)
    paste_lot = receive(clerk, goods["paste"], goods["fu"], 10, mode="purchase", purchase_price_fen=12000)
    sale = {
        "idempotency_key": "household-pages-1",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}],
    }
    response = clerk.post("/api/counter/sales", json=sale)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    refund = {
        "idempotency_key": "household-refund-1",
        "lines": [{"line_id": body["lines"][0]["id"], "quantity": 100}],
        "restock": True,
    }
    assert clerk.post(f"/api/counter/sales/{body['id']}/refunds", json=refund).status_code == 201
    return {"sale": body["id"], "shrimp_lot": shrimp_lot, "paste_lot": paste_lot}


def url_of(household_id: int, rest: str = "") -> str:
    return f"/admin/households/{household_id}{rest}"


# Who sees which household.


def test_an_officer_lists_only_their_own_households(goods, officer):
    html = html_of(officer, "/admin/households/")
    assert 'data-household="DB001"' in html and 'data-household="CT001"' not in html
    assert "王亦明" in html and "王**" not in html  # their own household's head, in full (logged)


@pytest.mark.parametrize(
    ("who", "listed"),
    [("heshe", ["CT001"]), ("county", ["CT001", "DB001"]), ("admin", ["CT001", "DB001"]), ("officer2", ["CT001"])],
)
def test_supervisors_see_their_town_and_the_county_sees_all(goods, as_role, who, listed):
    html = html_of(as_role(who), "/admin/households/")
    assert re.findall(r'data-household="([^"]+)"', html) == listed


@pytest.mark.parametrize(
    ("who", "status"),
    [("officer", 200), ("officer2", 404), ("heshe", 404), ("county", 200), ("admin", 200), ("clerk", 403)],
)
def test_only_those_responsible_open_a_household(goods, as_role, who, status):
    assert as_role(who).client.get(url_of(goods["wang"])).status_code == status


def test_a_clerk_has_no_household_pages(goods, as_role):
    clerk = as_role("clerk")
    for url in ("/admin/households/", "/admin/households/adjustments", url_of(goods["wang"], "/payouts/new")):
        assert clerk.client.get(url).status_code == 403


def test_strangers_are_sent_to_sign_in(goods, client):
    for url in ("/admin/households/", url_of(goods["wang"]), "/admin/households/adjustments"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("bad", ["999999", "0", "99999999999999999999999", "abc", "-1"])
def test_a_household_that_is_not_there_is_404(goods, admin, bad):
    assert admin.client.get(f"/admin/households/{bad}").status_code == 404


def test_the_list_searches_by_code_and_by_name(goods, admin):
    def listed(query: str) -> list[str]:
        url = "/admin/households/?" + urlencode({"q": query})
        return re.findall(r'data-household="([^"]+)"', html_of(admin, url))

    assert listed("db0") == ["DB001"]
    assert listed("符海") == ["CT001"]
    assert listed("%") == [] and listed("_") == []  # typed literally, not as SQL wildcards
    assert listed("DB\x00") == ["DB001"]  # a NUL is dropped, not sent to the database
    assert listed("") == ["CT001", "DB001"]


def test_a_search_cannot_reach_another_officers_household(goods, officer):
    assert 'data-household="CT001"' not in html_of(officer, "/admin/households/?q=CT001")


def test_the_list_shows_each_balance_and_this_months_income(goods, sold, officer):
    html = html_of(officer, "/admin/households/")
    assert f'data-balance="{WANG_BALANCE}"' in html and f'data-month-income="{WANG_BALANCE}"' in html
    assert format_fen(WANG_BALANCE) in html


def test_the_manager_sees_what_waits_for_them_and_officers_do_not(goods, admin, officer):
    html = html_of(admin, "/admin/households/")
    assert 'href="/admin/households/adjustments" data-count="pending-adjustments"' in html
    assert 'href="/admin/review/disputes" data-count="open-disputes"' in html
    propose(officer, goods["wang"])
    html = html_of(admin, "/admin/households/")
    assert re.search(r'data-count="pending-adjustments">\s*<span class="review-count">1<', html)
    assert "data-count" not in html_of(officer, "/admin/households/")


# One household: the figures, the evidence and the trail.


def test_the_household_page_shows_the_figures_of_the_ledger(app, goods, sold, officer):
    html = html_of(officer, url_of(goods["wang"]))
    with app.app_context():
        today = business_today()
        statement = entries.household_ledger(goods["wang"], today.replace(day=1), today)
    assert (statement.credited_fen, statement.reversed_fen, statement.balance_fen) == (
        WANG_CREDITED,
        WANG_REVERSED,
        WANG_BALANCE,
    )
    assert figure(html, "credited") == format_fen(statement.credited_fen)
    assert figure(html, "reversed") == format_fen(statement.reversed_fen)
    assert figure(html, "paid-out") == "¥0.00"
    assert figure(html, "net") == format_fen(WANG_BALANCE)
    assert figure(html, "per-capita") == format_fen(WANG_BALANCE // 4)  # four people
    assert figure(html, "balance") == format_fen(statement.balance_fen)
    assert "DB001" in html and "王亦明" in html  # the officer's own household, in full (logged)


def test_the_trail_names_each_entrys_sale_and_lot_and_only_the_manager_gets_links(app, goods, sold, admin, officer):
    sale_number = f"S{sold['sale']:06d}"
    lot_code = f"P{sold['shrimp_lot']:06d}"
    manager_view = html_of(admin, url_of(goods["wang"]))
    assert f'href="/admin/counter/sales/{sold["sale"]}">{sale_number}</a>' in manager_view
    assert f'href="/admin/stock/lots/{sold["shrimp_lot"]}">{lot_code}</a>' in manager_view
    assert "+¥61.20" in manager_view and "-¥12.24" in manager_view
    # Newest first: the refund's reversal comes before the sale's credit.
    assert manager_view.index('class="entry-reversal"') < manager_view.index('class="entry-credit"')
    officer_view = html_of(officer, url_of(goods["wang"]))
    assert sale_number in officer_view and lot_code in officer_view
    assert "/admin/counter/sales/" not in officer_view and "/admin/stock/lots/" not in officer_view


def test_a_purchased_lot_is_named_as_the_cause_of_its_credit(goods, sold, admin):
    html = html_of(admin, url_of(goods["fu"]))
    assert f'href="/admin/stock/lots/{sold["paste_lot"]}"' in html and "+¥120.00" in html


def test_the_period_form_narrows_the_figures(goods, sold, officer):
    html = html_of(officer, url_of(goods["wang"], "?from=2000-01-01&to=2000-12-31"))
    assert figure(html, "credited") == "¥0.00" and figure(html, "balance") == "¥0.00"
    assert 'class="entry-credit"' not in html
    today = business_today()
    html = html_of(officer, url_of(goods["wang"], f"?from={today - timedelta(days=40)}&to={today}"))
    assert figure(html, "credited") == format_fen(WANG_CREDITED)


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "to=2026-13-01", "from=2026-02-01&to=2026-01-01", "from=%00", "to=" + "9" * 50],
)
def test_a_bad_period_is_422_with_the_form_showing_the_error(goods, sold, officer, query):
    response = officer.client.get(url_of(goods["wang"], "?" + query))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error period-error"' in html and 'aria-invalid="true"' in html
    assert 'data-figure="credited"' not in html  # no figures for a period that is not one
    assert "DB001" in html  # the rest of the page is still there


def test_the_page_shows_the_evidence_not_a_verdict(goods, sold, officer):
    officer.client.get("/lang/en")
    html = html_of(officer, url_of(goods["wang"]))
    assert "not a verdict" in html and "Only the income earned through this counter is counted" in html
    # Listed today: no complete month is known, so the evidence is marked incomplete.
    assert 'data-known="0"' in html and 'data-required="6"' in html and "Incomplete" in html
    assert "Monitoring line 2026" in html and "¥7,500.00" in html  # the line's year and its yuan a year
    assert html.count('class="bars"') == 2  # one chart for wide screens, one for phones


def test_the_months_link_to_their_review_pages(app, goods, sold, officer):
    html = html_of(officer, url_of(goods["wang"]))
    month = business_today().replace(day=1)
    assert f'href="/admin/review/households/{goods["wang"]}/{month:%Y-%m}"' in html
    assert len(re.findall(rf'href="/admin/review/households/{goods["wang"]}/\d{{4}}-\d{{2}}"', html)) == 13


def test_english_chart_labels_name_the_month(goods, officer):
    officer.client.get("/lang/en")
    html = html_of(officer, url_of(goods["wang"]))
    month = business_today().strftime("%b")
    assert f">{month}</text>" in html and "月</text>" not in html


# Payouts.


def pay(admin, household_id: int, **fields):
    body = {"amount": "20", "method": "cash", "reference": "", "note": "", **fields}
    return send(admin, url_of(household_id, "/payouts/new"), **body)


def test_a_payout_through_the_form_lowers_the_balance(app, goods, sold, admin):
    form = html_of(admin, url_of(goods["wang"], "/payouts/new"))
    assert f'data-balance-now="{WANG_BALANCE}"' in form
    response = pay(admin, goods["wang"], amount="20.00", note="十一月收益")
    assert response.status_code == 302
    with app.app_context():
        payout = db.session.scalars(sa.select(Payout)).one()
        assert (payout.amount_fen, payout.balance_before_fen, payout.method.value) == (2000, WANG_BALANCE, "cash")
        payout_id, number = payout.id, payout.number
    assert response.headers["Location"] == url_of(goods["wang"], f"?paid={payout_id}")
    assert ledger_rows(app, goods["wang"])[-1] == ("payout", 2000)
    assert chain_is_sound(app)
    page = html_of(admin, response.headers["Location"])
    assert f'data-paid="{number}"' in page and f"/admin/households/payouts/{payout_id}/receipt.pdf" in page
    assert f'data-balance-now="{WANG_BALANCE - 2000}"' in page and figure(page, "paid-out") == "¥20.00"
    assert f'data-payout="{number}"' in page


def test_a_refund_after_the_whole_balance_was_paid_shows_the_household_owing_the_counter(
    app, goods, sold, admin, as_role
):
    assert pay(admin, goods["wang"], amount=f"{WANG_BALANCE // 100}.{WANG_BALANCE % 100:02d}").status_code == 302
    clerk = as_role("clerk")
    with app.app_context():
        line_id = db.session.scalar(
            sa.select(SaleLine.id).where(SaleLine.sale_id == sold["sale"]).order_by(SaleLine.id)
        )
    refund = {
        "idempotency_key": "household-refund-2",
        "lines": [{"line_id": line_id, "quantity": 100}],
        "restock": True,
    }
    assert clerk.post(f"/api/counter/sales/{sold['sale']}/refunds", json=refund).status_code == 201
    owed = -sum(amount if kind == "credit" else -amount for kind, amount in ledger_rows(app, goods["wang"]))
    assert owed > 0
    admin.client.get("/lang/en")
    page = html_of(admin, url_of(goods["wang"]))
    assert "The household owes the counter" in page and f'data-balance-now="{-owed}"' in page
    assert format_fen(owed) in page


@pytest.mark.parametrize("paid", ["abc", "-1", "0", "99999999999999999999", "424242"])
def test_a_paid_link_naming_no_payout_of_the_household_shows_no_receipt(goods, sold, admin, paid):
    html = html_of(admin, url_of(goods["wang"], f"?paid={paid}"))
    assert "data-paid=" not in html


def test_a_paid_link_to_another_households_payout_shows_no_receipt(app, goods, sold, admin):
    pay(admin, goods["fu"], amount="1")
    with app.app_context():
        payout_id = db.session.scalars(sa.select(Payout.id)).one()
    assert "data-paid=" not in html_of(admin, url_of(goods["wang"], f"?paid={payout_id}"))
    assert "data-paid=" in html_of(admin, url_of(goods["fu"], f"?paid={payout_id}"))


def test_a_bank_transfer_keeps_its_reference(app, goods, sold, admin):
    assert pay(admin, goods["wang"], method="bank_transfer", reference="ABC-123").status_code == 302
    with app.app_context():
        payout = db.session.scalars(sa.select(Payout)).one()
        assert (payout.method.value, payout.reference) == ("bank_transfer", "ABC-123")


def test_a_payout_over_the_balance_is_409_records_nothing_and_shows_the_balance(app, goods, sold, admin):
    response = pay(admin, goods["wang"], amount=format_fen(WANG_BALANCE + 1))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert format_fen(WANG_BALANCE) in html and 'class="field-error"' in html
    assert count(app, Payout) == 0 and ("payout", WANG_BALANCE + 1) not in ledger_rows(app)


def test_a_bank_transfer_without_its_reference_is_422(app, goods, sold, admin):
    response = pay(admin, goods["wang"], method="bank_transfer", reference="  ")
    assert response.status_code == 422
    assert count(app, Payout) == 0


@pytest.mark.parametrize(
    "amount", ["abc", "-5", "0", "0.00", "1.234", "", "1e3", "999999999999", "100000000.01", "１０\x00"]
)
def test_a_bad_amount_is_422_and_records_nothing(app, goods, sold, admin, amount):
    response = pay(admin, goods["wang"], amount=amount)
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert count(app, Payout) == 0 and len(ledger_rows(app)) == 3


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"method": "cheque"}, 422), ({"reference": "x" * 65, "method": "bank_transfer"}, 422), ({"note": "a\x00b"}, 422)],
)
def test_a_bad_method_reference_or_note_is_refused(app, goods, sold, admin, fields, status):
    assert pay(admin, goods["wang"], **fields).status_code == status
    assert count(app, Payout) == 0


def test_the_whole_balance_paid_twice_at_once_is_paid_once(app, goods, sold, as_role):
    tills = [as_role("admin"), as_role("admin")]
    for till in tills:
        till.refresh_token()
    amount = format_fen(WANG_BALANCE)
    responses = run_together([lambda t=t: pay(t, goods["wang"], amount=amount) for t in tills])
    assert sorted(r.status_code for r in responses) == [302, 409]
    assert count(app, Payout) == 1
    with app.app_context():
        assert entries.balance_of(db.session, goods["wang"]) == 0
    assert chain_is_sound(app)


def test_the_same_payout_form_sent_twice_pays_once(app, goods, sold, admin):
    fields = {"amount": "10", "seen_balance": str(WANG_BALANCE)}
    assert pay(admin, goods["wang"], **fields).status_code == 302
    again = pay(admin, goods["wang"], **fields)
    assert again.status_code == 409
    assert format_fen(WANG_BALANCE - 1000) in again.get_data(as_text=True)
    assert count(app, Payout) == 1


@pytest.mark.parametrize("who", ["officer", "officer2", "heshe", "county", "clerk"])
def test_only_the_manager_pays_out(app, goods, sold, as_role, who):
    user = as_role(who)
    assert user.client.get(url_of(goods["wang"], "/payouts/new")).status_code == 403
    assert pay(user, goods["wang"]).status_code == 403
    assert count(app, Payout) == 0


def test_the_receipt_is_a_pdf_with_the_amount_the_number_and_the_payees_full_name(app, goods, sold, admin):
    pay(admin, goods["wang"], amount="20", method="bank_transfer", reference="TX-0042")
    with app.app_context():
        payout = db.session.scalars(sa.select(Payout)).one()
        payout_id, number = payout.id, payout.number
    response = admin.client.get(f"/admin/households/payouts/{payout_id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert "¥20.00" in text and number in text and "TX-0042" in text
    assert "王亦明" in text  # the head signs under their full name
    assert format_fen(WANG_BALANCE) in text and format_fen(WANG_BALANCE - 2000) in text
    assert "贰拾元整" in text and "银行转账" in text


@pytest.mark.parametrize("who", ["officer", "officer2", "county", "clerk"])
def test_only_the_manager_opens_a_receipt(app, goods, sold, admin, as_role, who):
    pay(admin, goods["wang"])
    with app.app_context():
        payout_id = db.session.scalars(sa.select(Payout.id)).one()
    assert as_role(who).client.get(f"/admin/households/payouts/{payout_id}/receipt.pdf").status_code == 403


def test_a_receipt_that_does_not_exist_is_404(goods, admin):
    assert admin.client.get("/admin/households/payouts/424242/receipt.pdf").status_code == 404


# Corrections.


def propose(user, household_id: int, **fields):
    body = {
        "direction": "add",
        "amount": "12.50",
        "entry_date": business_today().isoformat(),
        "reason": "A sale of 王's shrimp was rung up under another lot.",
        **fields,
    }
    return send(user, url_of(household_id, "/adjustments"), **body)


def pending_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Adjustment.id).where(Adjustment.status == AdjustmentStatus.PENDING)))


def decide(user, adjustment_id: int, decision: str = "approve", note: str = ""):
    return send(user, f"/admin/households/adjustments/{adjustment_id}/decision", decision=decision, note=note)


@pytest.fixture
def second_admin(staff, as_role):
    """Another manager, so that a manager's own proposal can be approved by someone else."""
    from tests.conftest import PASSWORD

    with staff.app_context():
        accounts.create_user("admin2", PASSWORD, Role.ADMIN)
    return as_role("admin2")


def test_a_correction_by_the_officer_approved_by_the_manager_enters_the_ledger(app, goods, sold, officer, admin):
    response = propose(officer, goods["wang"])
    assert response.status_code == 302
    [adjustment_id] = pending_ids(app)
    assert ledger_rows(app, goods["wang"]) == [("credit", WANG_CREDITED), ("reversal", WANG_REVERSED)]
    # The officer sees it waiting on the household's page; the manager sees it with the buttons.
    assert f'data-adjustment="{adjustment_id}"' in html_of(officer, url_of(goods["wang"]))
    listing = html_of(admin, "/admin/households/adjustments")
    assert f'action="/admin/households/adjustments/{adjustment_id}/decision"' in listing
    assert decide(admin, adjustment_id, note="Checked against the till roll").status_code == 302
    assert ledger_rows(app, goods["wang"])[-1] == ("adjustment", 1250)
    assert chain_is_sound(app)
    page = html_of(officer, url_of(goods["wang"]))
    assert figure(page, "adjusted") == "+¥12.50" and figure(page, "net") == format_fen(WANG_BALANCE + 1250)
    assert f'data-balance-now="{WANG_BALANCE + 1250}"' in page
    assert 'class="adjustment approved"' in page and "Checked against the till roll" in page


def test_taking_income_back_is_a_negative_correction(app, goods, sold, officer, admin):
    assert propose(officer, goods["wang"], direction="take_back", amount="5").status_code == 302
    [adjustment_id] = pending_ids(app)
    assert decide(admin, adjustment_id).status_code == 302
    assert ledger_rows(app, goods["wang"])[-1] == ("adjustment", -500)
    assert chain_is_sound(app)
    with app.app_context():
        assert entries.balance_of(db.session, goods["wang"]) == WANG_BALANCE - 500


def test_the_proposer_cannot_approve_their_own_correction(app, goods, sold, admin, second_admin):
    assert propose(admin, goods["wang"]).status_code == 302
    [adjustment_id] = pending_ids(app)
    listing = html_of(admin, "/admin/households/adjustments")
    assert f'data-adjustment="{adjustment_id}"' in listing
    assert f"/adjustments/{adjustment_id}/decision" not in listing  # waiting for a second person, no buttons
    assert decide(admin, adjustment_id).status_code == 403
    assert pending_ids(app) == [adjustment_id] and ("adjustment", 1250) not in ledger_rows(app)
    assert decide(second_admin, adjustment_id).status_code == 302
    assert ledger_rows(app)[-1] == ("adjustment", 1250)


def test_a_rejected_correction_writes_nothing(app, goods, sold, officer, admin):
    propose(officer, goods["wang"])
    [adjustment_id] = pending_ids(app)
    before = ledger_rows(app)
    assert decide(admin, adjustment_id, "reject", note="The sale was right").status_code == 302
    assert ledger_rows(app) == before
    with app.app_context():
        assert db.session.get(Adjustment, adjustment_id).status is AdjustmentStatus.REJECTED
    assert 'class="adjustment rejected"' in html_of(officer, url_of(goods["wang"]))


def test_a_correction_decided_twice_is_409(app, goods, sold, officer, admin):
    propose(officer, goods["wang"])
    [adjustment_id] = pending_ids(app)
    assert decide(admin, adjustment_id).status_code == 302
    assert decide(admin, adjustment_id).status_code == 409
    assert decide(admin, adjustment_id, "reject").status_code == 409
    assert [kind for kind, _ in ledger_rows(app)].count("adjustment") == 1


@pytest.mark.parametrize("decision", ["", "maybe", "APPROVE"])
def test_a_decision_that_is_neither_approve_nor_reject_is_422(app, goods, sold, officer, admin, decision):
    propose(officer, goods["wang"])
    [adjustment_id] = pending_ids(app)
    assert decide(admin, adjustment_id, decision).status_code == 422
    assert pending_ids(app) == [adjustment_id]


def test_a_correction_that_does_not_exist_is_404(goods, admin):
    assert decide(admin, 424242).status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": "abc"},
        {"amount": "0"},
        {"amount": "-5"},
        {"amount": "1.234"},
        {"amount": "999999999999"},
        {"amount": ""},
        {"direction": "sideways"},
        {"entry_date": "tomorrow"},
        {"entry_date": (business_today() + timedelta(days=1)).isoformat()},
        {"entry_date": (business_today() - timedelta(days=500)).isoformat()},
        {"reason": "   "},
        {"reason": "x" * 501},
    ],
)
def test_a_bad_correction_is_422_and_records_nothing(app, goods, sold, officer, fields):
    response = propose(officer, goods["wang"], **fields)
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert count(app, Adjustment) == 0


def test_an_officer_cannot_propose_for_another_officers_household(app, goods, sold, as_role):
    assert propose(as_role("officer2"), goods["wang"]).status_code == 404
    assert count(app, Adjustment) == 0


@pytest.mark.parametrize("who", ["county", "heshe", "clerk"])
def test_supervisors_and_clerks_cannot_propose(app, goods, sold, as_role, who):
    assert propose(as_role(who), goods["fu"]).status_code == 403
    assert count(app, Adjustment) == 0


@pytest.mark.parametrize("who", ["officer", "county", "clerk"])
def test_only_the_manager_reviews_and_decides_corrections(app, goods, sold, officer, as_role, who):
    propose(officer, goods["wang"])
    [adjustment_id] = pending_ids(app)
    user = as_role(who)
    assert user.client.get("/admin/households/adjustments").status_code == 403
    assert decide(user, adjustment_id).status_code == 403
    assert pending_ids(app) == [adjustment_id]


def test_supervisors_read_the_page_without_forms(goods, sold, as_role):
    html = html_of(as_role("county"), url_of(goods["wang"]))
    assert "/adjustments" not in html and "/payouts/new" not in html
    assert [action for action in re.findall(r'<form method="post" action="([^"]+)"', html)] == ["/logout"]


# CSRF.


def test_every_form_needs_its_csrf_token(app, goods, sold, admin, officer):
    wang = goods["wang"]
    no_token = {"amount": "10", "method": "cash"}
    assert admin.client.post(url_of(wang, "/payouts/new"), data=no_token).status_code == 400
    correction = {"direction": "add", "amount": "1", "entry_date": business_today().isoformat(), "reason": "r"}
    assert officer.client.post(url_of(wang, "/adjustments"), data=correction).status_code == 400
    assert count(app, Payout) == 0 and count(app, Adjustment) == 0
    propose(officer, wang)
    [adjustment_id] = pending_ids(app)
    decision = f"/admin/households/adjustments/{adjustment_id}/decision"
    assert admin.client.post(decision, data={"decision": "approve"}).status_code == 400
    assert pending_ids(app) == [adjustment_id]
