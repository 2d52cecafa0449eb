"""Statements: the PDF (page, API and CLI), and the public page that checks a printed statement against the ledger."""

import re
import shutil
import subprocess
from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop.clock import business_today
from shop.extensions import db
from shop.models import Household, PayoutMethod, Role, User
from shop.money import format_fen
from shop.oversight import adjustments, payouts
from shop.oversight.monitoring import add_months, month_start
from shop.oversight.statements import MonthStatement, digest_of, month_statement
from shop.pdf.statement import signed_fen
from shop.staff import accounts
from tests.conftest import PASSWORD
from tests.factories import receive

from .test_review_pages import month_url, refund, review, this_month


def pdf_text(document: bytes) -> str:
    """The PDF's text, laid out as printed: pdftotext when installed, pypdf otherwise."""
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=document, capture_output=True, check=True)
        return done.stdout.decode()
    return "\n".join(page.extract_text(extraction_mode="layout") for page in PdfReader(BytesIO(document)).pages)


def printed_row(text: str, line) -> bool:
    """Whether one printed line carries the entry's date, number, signed amount and balance after it."""
    entry = line.entry
    pattern = rf"{entry.entry_date.isoformat()}\s+{entry.seq}\s.*\s{re.escape(signed_fen(line.signed_fen))}\s+"
    return re.search(pattern + re.escape(format_fen(line.balance_fen)) + r"\s*$", text, re.M) is not None


def statement_of(app, household_id: int, month=None) -> MonthStatement:
    """The month's statement computed in the test, with what the checks read loaded."""
    with app.app_context():
        statement = month_statement(db.session.get(Household, household_id), month or month_start(business_today()))
        for line in statement.lines:
            _ = line.entry.seq, line.entry.hash
        db.session.expunge_all()
        return statement


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


@pytest.fixture
def busy_month(app, goods, clerk):
    """王's month: a correction dated last month (the opening balance), a sale, a refund and a cash payout;
    符 sells nothing this month. Returns the sale's body."""
    receive(clerk, goods["shrimp"], goods["wang"], 1000)
    last_day = month_start(business_today()) - timedelta(days=1)
    with app.app_context():
        accounts.create_user("admin2", PASSWORD, Role.ADMIN)
        proposed = adjustments.propose(
            household_id=goods["wang"], amount_fen=1000, entry_date=last_day, reason="上月漏记", by=user("officer")
        )
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=user("admin2"))
    body = {
        "idempotency_key": "statement-sale-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 750}],
    }
    sale = clerk.post("/api/counter/sales", json=body).get_json()
    refund(clerk, sale, 250)
    with app.app_context():
        request = payouts.PayoutRequest(household_id=goods["wang"], amount_fen=3000, method=PayoutMethod.CASH)
        payouts.pay_household(request, by=user("admin"))
    return sale


def test_the_pdf_shows_the_balances_and_every_line_as_the_ledger_has_them(app, goods, busy_month, officer):
    response = officer.client.get(month_url(goods["wang"]) + "/statement.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    statement = statement_of(app, goods["wang"])
    assert statement.opening_balance_fen == 1000 and len(statement.lines) == 3
    assert format_fen(statement.opening_balance_fen) in text
    assert format_fen(statement.closing_balance_fen) in text
    assert format_fen(statement.income_fen) in text and format_fen(statement.per_capita_fen) in text
    for line in statement.lines:
        assert printed_row(text, line), line.entry.seq
    payout = next(line.cause.payout for line in statement.lines if line.cause.payout)
    assert f"销售 #{busy_month['id']}" in text and "退款 #" in text and f"支付 {payout.number} · 现金" in text
    assert "DB001" in text and "王**" in text and "王亦明" not in text
    assert statement.digest in text and "尚未审核" in text


def test_the_pdf_embeds_the_shipped_truetype_font(app, goods, busy_month, officer, monkeypatch):
    from shop.pdf import embeds_truetype
    from shop.pdf.fonts import FONT_ENV, SHIPPED_FONT, cjk_font
    from tests.unit.test_pdf import font_programs

    monkeypatch.delenv(FONT_ENV, raising=False)
    document = officer.client.get(month_url(goods["wang"]) + "/statement.pdf").data
    assert cjk_font() == cjk_font(str(SHIPPED_FONT)) and embeds_truetype()
    assert "/FontFile2" in font_programs(document)


def test_the_pdf_keeps_its_minus_signs_and_middle_dots(app, goods, busy_month, officer):
    from tests.unit.test_pdf import readings

    document = officer.client.get(month_url(goods["wang"]) + "/statement.pdf").data
    payout = next(line.cause.payout for line in statement_of(app, goods["wang"]).lines if line.cause.payout)
    for text in readings(document):
        squeezed = "".join(text.split())
        assert "期末余额=期初余额+本月入账−退款冲减+调整−本月支付" in squeezed
        assert f"支付{payout.number}·现金" in squeezed and "王**" in squeezed


def test_the_pdf_marks_an_amendment_and_says_who_confirmed(app, goods, busy_month, officer, clerk):
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    refund(clerk, busy_month, 100)
    text = pdf_text(officer.client.get(month_url(goods["wang"]) + "/statement.pdf").data)
    amendment = statement_of(app, goods["wang"]).amendments
    assert len(amendment) == 1
    assert printed_row(text, amendment[0]) and "更正" in text
    assert re.search(r"已由 officer 于 \d{4}-\d{2}-\d{2} 审核确认；确认后补记更正 1 笔", text)


def test_the_pdf_of_a_disputed_month_carries_the_note(app, goods, busy_month, officer):
    assert review(officer, goods["wang"], "disputed", note="少记了一斤").status_code == 302
    text = pdf_text(officer.client.get(month_url(goods["wang"]) + "/statement.pdf").data)
    assert "有异议：少记了一斤" in text


# The API


def api_pdf(client, household_id, query="?month=" + "{month}"):
    return client.get(f"/api/households/{household_id}/statement.pdf" + query.format(month=this_month()))


@pytest.mark.parametrize("who", ["officer", "admin", "county"])
def test_the_api_gives_the_statement_to_those_who_see_the_household(app, goods, busy_month, as_role, who):
    response = api_pdf(as_role(who).client, goods["wang"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert format_fen(statement_of(app, goods["wang"]).closing_balance_fen) in pdf_text(response.data)


@pytest.mark.parametrize(
    "who, status, code", [(None, 401, "unauthenticated"), ("clerk", 403, "forbidden"), ("officer2", 404, "not_found")]
)
def test_the_api_turns_away_strangers_clerks_and_other_officers(
    app, goods, busy_month, as_role, api, who, status, code
):
    client = as_role(who).client if who else api.client
    response = api_pdf(client, goods["wang"])
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert api_pdf(as_role("heshe").client, goods["wang"]).status_code == 404


@pytest.mark.parametrize("query", ["", "?month=", "?month=2026-13", "?month=abc", "?month=2026-1", "?month=next"])
def test_the_api_wants_a_month_that_has_begun(app, goods, busy_month, officer, query):
    if query == "?month=next":
        query = f"?month={add_months(month_start(business_today()), 1):%Y-%m}"
    response = api_pdf(officer.client, goods["wang"], query)
    assert response.status_code == 422
    assert "month" in response.get_json()["error"]["fields"]


def test_the_api_says_404_for_a_household_that_does_not_exist(app, goods, as_role):
    response = api_pdf(as_role("admin").client, 999999)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


# The command line


def test_the_cli_writes_one_pdf_per_household_with_activity(app, goods, busy_month, tmp_path, monkeypatch):
    from shop.oversight import statement_pdf

    links = []
    render = statement_pdf.render

    def recording(statement, url, *own, **kw):
        links.append(url)
        return render(statement, url, *own, **kw)

    monkeypatch.setattr(statement_pdf, "render", recording)
    out = tmp_path / "statements" / "nested"
    result = app.test_cli_runner().invoke(args=["statements", "--month", this_month(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    digest = statement_of(app, goods["wang"]).digest
    assert links == [f"http://127.0.0.1:5000/verify/statement/{goods['wang']}/{this_month()}/{digest}"]
    # 王 has entries this month; 符 has none, and the correction is last month's.
    assert sorted(p.name for p in out.iterdir()) == [f"{this_month()}_DB001.pdf"]
    assert f"Wrote 1 statements for {this_month()}" in result.output and str(out) in result.output
    assert "PUBLIC_BASE_URL" in result.output  # the warning, on stderr (mixed in by the runner)
    text = pdf_text((out / f"{this_month()}_DB001.pdf").read_bytes())
    assert format_fen(statement_of(app, goods["wang"]).closing_balance_fen) in text
    last = f"{add_months(month_start(business_today()), -1):%Y-%m}"
    result = app.test_cli_runner().invoke(args=["statements", "--month", last, "--out", str(out)])
    assert result.exit_code == 0 and (out / f"{last}_DB001.pdf").is_file()
    assert not (out / f"{last}_CT001.pdf").exists()


def test_the_cli_writes_nothing_for_a_quiet_month(app, goods, tmp_path):
    result = app.test_cli_runner().invoke(args=["statements", "--month", "2001-01", "--out", str(tmp_path / "q")])
    assert result.exit_code == 0 and "Wrote 0 statements" in result.output
    assert list((tmp_path / "q").iterdir()) == []


@pytest.mark.parametrize("month", ["2026-13", "abc", "26-11", "next"])
def test_the_cli_refuses_a_bad_month(app, goods, tmp_path, month):
    if month == "next":
        month = f"{add_months(month_start(business_today()), 1):%Y-%m}"
    result = app.test_cli_runner().invoke(args=["statements", "--month", month, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--month" in result.output
    assert not (tmp_path / "out").exists()


def test_the_cli_help_names_public_base_url(app):
    result = app.test_cli_runner().invoke(args=["statements", "--help"])
    assert result.exit_code == 0 and "PUBLIC_BASE_URL" in result.output


class TestPublicBaseUrl:
    @pytest.fixture
    def config_overrides(self):
        return {"PUBLIC_BASE_URL": "https://bangfu.example.cn/"}

    def test_qr_links_use_the_public_address(self, app, goods):
        from shop.web.urls import statement_url

        with app.test_request_context("/"):
            url = statement_url(goods["wang"], month_start(business_today()), "0123456789abcdef")
        assert url == f"https://bangfu.example.cn/verify/statement/{goods['wang']}/{this_month()}/0123456789abcdef"


# The public check


def verify_url(household_id: int, digest: str, month: str | None = None) -> str:
    return f"/verify/statement/{household_id}/{month or this_month()}/{digest}"


def test_a_statement_that_matches_the_ledger_says_so_with_the_months_figures(app, goods, busy_month, client):
    statement = statement_of(app, goods["wang"])
    response = client.get(verify_url(goods["wang"], statement.digest))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-verdict="match"' in html
    assert f'data-figure="closing"><strong>{format_fen(statement.closing_balance_fen)}' in html
    assert f'data-figure="entries">{len(statement.lines)}<' in html
    assert 'data-review="none"' in html
    assert "王**" in html and "王亦明" not in html and "DB001" not in html
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_statement_printed_before_later_entries_says_how_many(app, goods, busy_month, client, officer, clerk):
    printed = statement_of(app, goods["wang"])
    assert review(officer, goods["wang"], "confirmed").status_code == 302
    refund(clerk, busy_month, 100)
    refund(clerk, busy_month, 100)
    html = client.get(verify_url(goods["wang"], printed.digest)).get_data(as_text=True)
    assert 'data-verdict="earlier"' in html and 'data-later="2"' in html
    now = statement_of(app, goods["wang"])
    assert f'data-figure="closing"><strong>{format_fen(now.closing_balance_fen)}' in html
    assert 'data-review="confirmed"' in html
    # The digest of an empty month, printed before the first entry, is a prefix too.
    empty = digest_of(goods["wang"], month_start(business_today()), [])
    assert 'data-later="5"' in client.get(verify_url(goods["wang"], empty)).get_data(as_text=True)


@pytest.mark.parametrize(
    "case",
    ["altered", "other-household", "other-month", "unknown-household", "short", "not-hex", "bad-month", "future"],
)
def test_anything_else_does_not_match_and_is_404_without_personal_data(app, goods, busy_month, client, case):
    digest = statement_of(app, goods["wang"]).digest
    last = f"{add_months(month_start(business_today()), -1):%Y-%m}"
    following = f"{add_months(month_start(business_today()), 1):%Y-%m}"
    url = {
        "altered": verify_url(goods["wang"], digest[:-1] + ("0" if digest[-1] != "0" else "1")),
        "other-household": verify_url(goods["fu"], digest),
        "other-month": verify_url(goods["wang"], digest, last),
        "unknown-household": verify_url(999999, digest),
        "short": verify_url(goods["wang"], digest[:8]),
        "not-hex": verify_url(goods["wang"], "zzzzzzzzzzzzzzzz"),
        "bad-month": verify_url(goods["wang"], digest, "2026-13"),
        "future": verify_url(goods["wang"], digest, following),
    }[case]
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html
    assert "王" not in html.split("<main", 1)[1] and "¥" not in html


def test_the_digest_may_be_typed_in_capitals(app, goods, busy_month, client):
    digest = statement_of(app, goods["wang"]).digest
    assert client.get(verify_url(goods["wang"], digest.upper())).status_code == 200
