"""Reports for supervisors and the manager: the month and the year as pages, CSV for the bureau and a PDF."""

import csv
import io
import re
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop.clock import business_today
from shop.extensions import db
from shop.models import PayoutMethod, Role, User
from shop.money import format_fen
from shop.oversight import adjustments, payouts, report_exports, report_queries
from shop.oversight.monitoring import add_months, month_end, month_start, per_capita
from shop.staff import accounts
from tests.conftest import PASSWORD
from tests.factories import receive, sale
from tests.unit.test_pdf import font_programs

TODAY = business_today()
THIS_MONTH = month_start(TODAY)
LAST_MONTH = add_months(THIS_MONTH, -1)
MONTH = f"{THIS_MONTH:%Y-%m}"
#: 王 (DB001) lives in 临城镇, 符 (CT001) in 和舍镇, where the supervisor "heshe" looks after.
TOWN_OF = {"DB001": "临城镇", "CT001": "和舍镇"}
MEMBERS = {"DB001": 4, "CT001": 2}


def page(user, url) -> str:
    response = user.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def read_csv(response) -> list[dict]:
    """A CSV download's rows as dicts, after checking it opens in Excel as UTF-8."""
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def yuan(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def sale_lines(clerk, sale_id: int) -> dict:
    """A sale as the API returns it, with its lines and draws."""
    response = clerk.get(f"/api/counter/sales/{sale_id}")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def trade(app, goods, as_role):
    """A month of trade through the API: two counter sales, a refund, an order paid at pickup, a purchased lot.

    Returns what the responses said, so that tests compute the expected figures rather than trust constants.
    """
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 2000)
    receive(clerk, goods["shrimp"], goods["fu"], 600, days=30, share_bp=8000)
    receive(clerk, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=12000)
    first = clerk.post("/api/counter/sales", json=sale(goods, key="report-sale-1"))
    second = clerk.post(
        "/api/counter/sales",
        json=sale(
            goods,
            key="report-sale-2",
            payment_method="wechat_qr",
            lines=[{"product_id": goods["shrimp"], "quantity": 750}],
        ),
    )
    assert first.status_code == second.status_code == 201
    first, second = first.get_json(), second.get_json()
    shrimp_line = first["lines"][0]
    refund = clerk.post(
        f"/api/counter/sales/{first['id']}/refunds",
        json={
            "idempotency_key": "report-refund-1",
            "lines": [{"line_id": shrimp_line["id"], "quantity": 250}],
            "restock": True,
        },
    )
    assert refund.status_code == 201, refund.get_json()
    online = place_and_collect(clerk, goods)
    return {
        "counter": [first, second],
        "online": [online],
        "refund": refund.get_json(),
        "purchases": {goods["wang"]: 12000},
        "clerk": clerk,
    }


def place_and_collect(clerk, goods) -> dict:
    """An online order paid at pickup, taken at the counter: a sale on the online channel."""
    order = clerk.post(
        "/api/orders",
        json={
            "lines": [{"product_id": goods["shrimp"], "quantity": 300}, {"product_id": goods["paste"], "quantity": 1}],
            "contact": {"name": "李女士", "phone": "13812345678"},
            "fulfilment": "pickup",
            "payment": "pay_at_pickup",
        },
    )
    assert order.status_code == 201, order.get_json()
    paid = clerk.client.post(
        f"/admin/orders/{order.get_json()['id']}/collect",
        data={"csrf_token": clerk.token, "method": "cash", "tendered": ""},
    )
    assert paid.status_code == 302, paid.status_code
    sale_id = int(paid.headers["Location"].rsplit("/", 1)[1])
    return sale_lines(clerk, sale_id)


def expected(trade, goods) -> dict:
    """The month's figures as the API responses add up."""
    sales = trade["counter"] + trade["online"]
    products, towns, credited, reversed_ = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]), {}, {}
    code_of = {goods["wang"]: "DB001", goods["fu"]: "CT001"}
    for s in sales:
        for line in s["lines"]:
            products[line["product_id"]][0] += line["quantity"]
            products[line["product_id"]][1] += line["amount_fen"]
            for d in line["draws"]:
                code = code_of[d["household_id"]]
                towns[TOWN_OF[code]][0] += d["amount_fen"]
                towns[TOWN_OF[code]][1] += d["credit_fen"]
                credited[code] = credited.get(code, 0) + d["credit_fen"]
    for household_id, price in trade["purchases"].items():
        credited[code_of[household_id]] += price
    for line in trade["refund"]["lines"]:
        for r in line["reversals"]:
            code = code_of[r["household_id"]]
            reversed_[code] = reversed_.get(code, 0) + r["credit_fen"]
    return {
        "counter": (
            len(trade["counter"]),
            sum(s["total_fen"] for s in trade["counter"]),
            trade["refund"]["amount_fen"],
        ),
        "online": (1, trade["online"][0]["total_fen"], 0),
        "sales_fen": sum(s["total_fen"] for s in sales),
        "products": dict(products),
        "towns": dict(towns),
        "credited": credited,
        "reversed": reversed_,
        "net": {code: credited[code] - reversed_.get(code, 0) for code in credited},
    }


def rows_by_code(html: str) -> dict[str, list[str]]:
    """The household table's rows on a page: code → its cells' texts."""
    rows = {}
    for code, body in re.findall(r'<tr data-household="([^"]+)">(.*?)</tr>', html, re.S):
        rows[code] = [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S)
        ]
    return rows


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html)[1]


# ---------------------------------------------------------------- the month page


def test_the_month_page_adds_up_the_sales_refunds_and_credits_the_api_reported(app, goods, trade, as_role):
    want = expected(trade, goods)
    html = page(as_role("admin"), f"/admin/reports/month/{MONTH}")
    for channel in ("counter", "online"):
        count, total, refunded = want[channel]
        row = re.search(rf'<tr data-channel="{channel}">(.*?)</tr>', html, re.S)[1]
        assert re.findall(r'<td class="num">([^<]*)</td>', row) == [str(count), format_fen(total), format_fen(refunded)]
    assert figure(html, "sales") == str(want["counter"][0] + 1)
    assert figure(html, "sales_fen") == format_fen(want["sales_fen"])
    assert figure(html, "refunded_fen") == format_fen(trade["refund"]["amount_fen"])
    assert figure(html, "credited_fen") == format_fen(sum(want["credited"].values()))
    assert figure(html, "income_fen") == format_fen(sum(want["net"].values()))
    for product_id, (_qty, amount) in want["products"].items():
        assert re.search(rf'data-product="{product_id}">.*?{re.escape(format_fen(amount))}', html, re.S)
    for town, (amount, credit) in want["towns"].items():
        row = re.search(rf'<tr data-town="{town}">(.*?)</tr>', html, re.S)[1]
        assert re.findall(r'<td class="num">([^<]*)</td>', row) == [format_fen(amount), format_fen(credit)]


def test_each_household_row_shows_its_credits_reversals_net_per_person_and_balance(app, goods, trade, as_role):
    want = expected(trade, goods)
    rows = rows_by_code(page(as_role("admin"), f"/admin/reports/month/{MONTH}"))
    assert set(rows) == {"DB001", "CT001"}
    for code, cells in rows.items():
        net = want["net"][code]
        assert cells[2:] == [
            format_fen(want["credited"][code]),
            format_fen(want["reversed"].get(code, 0)),
            format_fen(0),
            format_fen(net),
            format_fen(per_capita(net, MEMBERS[code])),
            format_fen(0),
            format_fen(net),
        ]
    assert "王**" in rows["DB001"][0] and "王亦明" not in rows["DB001"][0]


def test_a_payout_shows_as_paid_out_and_lowers_the_balance_at_the_months_end(app, goods, trade, as_role):
    want = expected(trade, goods)
    with app.app_context():
        admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        payouts.pay_household(payouts.PayoutRequest(goods["fu"], 1000, PayoutMethod.CASH), admin)
    html = page(as_role("county"), f"/admin/reports/month/{MONTH}")
    cells = rows_by_code(html)["CT001"]
    assert cells[-2:] == [format_fen(1000), format_fen(want["net"]["CT001"] - 1000)]
    assert figure(html, "paid_out_fen") == format_fen(1000)


def test_the_counter_filter_limits_the_sales_to_that_counter(app, goods, trade, as_role):
    with app.app_context():
        from shop.models import Counter

        other = db.session.scalars(sa.select(Counter.id).where(Counter.code == "BL-01")).one()
    admin = as_role("admin")
    html = page(admin, f"/admin/reports/month/{MONTH}?counter={other}")
    assert figure(html, "sales") == "0" and figure(html, "sales_fen") == format_fen(0)
    assert rows_by_code(html) == {}  # the households earned nothing through that counter
    assert admin.get(f"/admin/reports/month/{MONTH}?counter=99999").status_code == 404
    assert admin.get(f"/admin/reports/month/{MONTH}?counter=abc").status_code == 404


# ---------------------------------------------------------------- who may read


def test_a_town_supervisor_sees_only_their_towns_households_on_the_page_and_in_the_csv(app, goods, trade, as_role):
    heshe = as_role("heshe")
    assert set(rows_by_code(page(heshe, f"/admin/reports/month/{MONTH}"))) == {"CT001"}
    rows = read_csv(heshe.get(f"/admin/reports/month/{MONTH}.csv"))
    assert [r["户编号"] for r in rows] == ["CT001"]
    assert "DB001" not in heshe.get(f"/admin/reports/month/{MONTH}.csv").get_data(as_text=True)
    year = heshe.get(f"/admin/reports/year/{TODAY.year}.csv").get_data(as_text=True)
    assert "CT001" in year and "DB001" not in year
    assert set(rows_by_code(page(heshe, f"/admin/reports/year/{TODAY.year}"))) == {"CT001"}


def test_the_county_bureau_and_the_manager_see_every_household(app, goods, trade, as_role):
    for who in ("county", "admin"):
        rows = read_csv(as_role(who).get(f"/admin/reports/month/{MONTH}.csv"))
        assert {r["户编号"] for r in rows} == {"DB001", "CT001"}


URLS = [
    "/admin/reports/",
    f"/admin/reports/month/{MONTH}",
    f"/admin/reports/month/{MONTH}.pdf",
    f"/admin/reports/month/{MONTH}.csv",
    f"/admin/reports/year/{TODAY.year}",
    f"/admin/reports/year/{TODAY.year}.csv",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("who", ["officer", "clerk"])
def test_officers_and_clerks_are_refused(app, goods, as_role, who, url):
    assert as_role(who).get(url).status_code == 403


@pytest.mark.parametrize("url", URLS)
def test_a_stranger_is_sent_to_sign_in(app, client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_use_cases_refuse_a_clerk_even_without_the_view(app, goods):
    from shop.errors import Forbidden

    with app.app_context():
        clerk = db.session.scalars(sa.select(User).where(User.username == "clerk")).one()
        with pytest.raises(Forbidden):
            report_queries.month_report(THIS_MONTH, clerk)
        with pytest.raises(Forbidden):
            report_queries.household_year(TODAY.year, clerk)


# ---------------------------------------------------------------- bad addresses


@pytest.mark.parametrize(
    "url",
    [
        "/admin/reports/month/2026-13",
        "/admin/reports/month/2026-00",
        "/admin/reports/month/abc",
        "/admin/reports/month/1999-12",
        "/admin/reports/month/2100-01",
        f"/admin/reports/month/{add_months(THIS_MONTH, 1):%Y-%m}",
        "/admin/reports/month/2026-1",
        "/admin/reports/month/2026-13.pdf",
        "/admin/reports/month/abc.csv",
        f"/admin/reports/month/{MONTH}.csv?table=secrets",
        f"/admin/reports/month/{MONTH}.xls",
        "/admin/reports/year/1999",
        "/admin/reports/year/abc",
        "/admin/reports/year/20265",
        f"/admin/reports/year/{TODAY.year + 1}",
        f"/admin/reports/year/{TODAY.year + 1}.csv",
        "/admin/reports/?month=2026-13",
        "/admin/reports/?year=１９９９",
    ],
)
def test_a_month_or_year_that_is_not_one_or_not_yet_is_404(app, staff, as_role, url):
    assert as_role("admin").get(url).status_code == 404


def test_the_pickers_on_the_index_go_to_the_report_asked_for(app, staff, as_role):
    admin = as_role("admin")
    html = page(admin, "/admin/reports/")
    assert f'href="/admin/reports/month/{LAST_MONTH:%Y-%m}"' in html
    assert f'href="/admin/reports/year/{TODAY.year}"' in html
    assert admin.get(f"/admin/reports/?month={MONTH}").headers["Location"] == f"/admin/reports/month/{MONTH}"
    assert admin.get("/admin/reports/?year=2025").headers["Location"] == "/admin/reports/year/2025"


def test_a_quiet_month_is_an_empty_report_not_an_error(app, goods, as_role):
    admin = as_role("admin")
    html = page(admin, "/admin/reports/month/2020-02")
    assert figure(html, "sales") == "0" and rows_by_code(html) == {}
    assert read_csv(admin.get("/admin/reports/month/2020-02.csv")) == []
    assert admin.get("/admin/reports/month/2020-02.pdf").status_code == 200


# ---------------------------------------------------------------- the CSV


def test_the_month_csv_is_an_attachment_with_chinese_headers_and_yuan_amounts(app, goods, trade, as_role):
    want = expected(trade, goods)
    response = as_role("admin").get(f"/admin/reports/month/{MONTH}.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f"attachment; filename=bangfu-{MONTH}.csv"
    rows = {r["户编号"]: r for r in read_csv(response)}
    for code, net in want["net"].items():
        row = rows[code]
        assert row["镇"] == TOWN_OF[code]
        assert row["入账（元）"] == yuan(want["credited"][code])
        assert row["冲回（元）"] == yuan(want["reversed"].get(code, 0))
        assert row["净收入（元）"] == yuan(net)
        assert row["人均（元）"] == yuan(per_capita(net, MEMBERS[code]))
        assert row["月末余额（元）"] == yuan(net)
    assert rows["DB001"]["类别"] == "监测户" and rows["CT001"]["类别"] == "脱贫户"


def test_the_product_and_town_csvs_carry_the_same_sums(app, goods, trade, as_role):
    want = expected(trade, goods)
    admin = as_role("admin")
    products = read_csv(admin.get(f"/admin/reports/month/{MONTH}.csv?table=products"))
    assert sorted(r["销售额（元）"] for r in products) == sorted(yuan(a) for _q, a in want["products"].values())
    shrimp = next(r for r in products if r["产品"] == "虾干")
    assert (shrimp["数量"], shrimp["单位"]) == (
        str(want["products"][goods["shrimp"]][0] / 500).rstrip("0").rstrip("."),
        "斤",
    )
    towns = {r["镇"]: r for r in read_csv(admin.get(f"/admin/reports/month/{MONTH}.csv?table=towns"))}
    assert {t: (r["销售额（元）"], r["农户入账（元）"]) for t, r in towns.items()} == {
        t: (yuan(a), yuan(c)) for t, (a, c) in want["towns"].items()
    }


def test_names_that_would_start_a_spreadsheet_formula_are_written_as_text(app, goods, as_role):
    admin, clerk = as_role("admin"), as_role("clerk")
    body = {"code": "EVIL01", "head_name": "=HYPERLINK(\"http://x\")", "town": "临城镇", "village": "大波村",
            "members": 1, "category": "yiban", "officer": "officer"}  # fmt: skip
    evil = admin.post("/api/households", json=body)
    assert evil.status_code == 201, evil.get_json()
    product = admin.post(
        "/api/products", json={"sku": "EVIL", "name": "+SUM(A1:A9)", "unit": "piece", "price_fen": 500, "price_per": 1}
    )
    assert product.status_code == 201, product.get_json()
    receive(clerk, product.get_json()["id"], evil.get_json()["id"], 5)
    lines = [{"product_id": product.get_json()["id"], "quantity": 2}]
    assert clerk.post("/api/counter/sales", json=sale(goods, key="evil-sale-1", lines=lines)).status_code == 201
    households = {r["户编号"]: r for r in read_csv(admin.get(f"/admin/reports/month/{MONTH}.csv"))}
    assert households["EVIL01"]["户主"].startswith("'=")
    products = read_csv(admin.get(f"/admin/reports/month/{MONTH}.csv?table=products"))
    assert [r["产品"] for r in products] == ["'+SUM(A1:A9)"]
    year = {r["户编号"]: r for r in read_csv(admin.get(f"/admin/reports/year/{TODAY.year}.csv"))}
    assert year["EVIL01"]["户主"].startswith("'=")
    # Amounts are ours, not typed: a negative amount stays a number.
    assert report_exports.yuan(-1250) == "-12.50" and report_exports.safe("-12.50") == "'-12.50"


# ---------------------------------------------------------------- the PDF


def test_the_month_pdf_embeds_a_truetype_font_and_prints_the_totals(app, goods, trade, as_role):
    want = expected(trade, goods)
    response = as_role("admin").get(f"/admin/reports/month/{MONTH}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"inline; filename=bangfu-{MONTH}.pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    text = "".join("".join(p.extract_text().split()) for p in reader.pages)
    for total in (want["sales_fen"], sum(want["credited"].values()), sum(want["net"].values())):
        assert format_fen(total) in text
    assert "DB001" in text and "CT001" in text and "王亦明" not in text
    assert "/FontFile2" in font_programs(response.get_data())  # TrueType, embedded


def test_the_pdf_is_chinese_even_when_the_page_is_english(app, goods, trade, as_role):
    admin = as_role("admin")
    admin.client.set_cookie("lang", "en")
    reader = PdfReader(io.BytesIO(admin.get(f"/admin/reports/month/{MONTH}.pdf").get_data()))
    assert "月度帮扶销售报表" in "".join(reader.pages[0].extract_text().split())


# ---------------------------------------------------------------- the year


@pytest.fixture
def second_admin(app, staff):
    with app.app_context():
        accounts.create_user("admin2", PASSWORD, Role.ADMIN)


def correct(app, household_id: int, amount_fen: int, on: date) -> None:
    """A correction proposed by one manager and approved by the other: an adjustment entry dated `on`."""
    with app.app_context():
        first, second = (
            db.session.scalars(sa.select(User).where(User.username == u)).one() for u in ("admin", "admin2")
        )
        proposed = adjustments.propose(
            household_id=household_id, amount_fen=amount_fen, entry_date=on, reason="补录", by=first
        )
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="", by=second)


@pytest.fixture
def month_ends(app, goods, second_admin):
    """王's corrections on the last day of last month and the first of this one; one taking back income too."""
    entries = [(LAST_MONTH.replace(day=1), 700), (month_end(LAST_MONTH), 2500), (THIS_MONTH, 4100), (THIS_MONTH, -600)]
    for on, amount in entries:
        correct(app, goods["wang"], amount, on)
    return entries


def test_the_year_puts_entries_at_a_month_boundary_in_their_own_months(app, goods, month_ends, as_role):
    buckets = defaultdict(int)
    for on, amount in month_ends:
        buckets[(on.year, on.month)] += amount
    with app.app_context():
        county = db.session.scalars(sa.select(User).where(User.username == "county")).one()
        for year in {on.year for on, _ in month_ends}:
            figures = report_queries.household_year(year, county)
            (wang,) = figures.households
            assert wang.code == "DB001"
            assert list(wang.months) == [buckets[(year, m)] for m in range(1, 13)]
            assert wang.total_fen == sum(wang.months)
            assert wang.per_capita_fen == per_capita(wang.total_fen, 4)
            assert wang.at_or_above_line == (wang.per_capita_fen >= figures.line.annual_fen)
    rows = {r["户编号"]: r for r in read_csv(as_role("admin").get(f"/admin/reports/year/{TODAY.year}.csv"))}
    assert rows["DB001"][f"{THIS_MONTH.month}月（元）"] == yuan(buckets[(TODAY.year, THIS_MONTH.month)])
    if LAST_MONTH.year == TODAY.year:
        assert rows["DB001"][f"{LAST_MONTH.month}月（元）"] == yuan(buckets[(LAST_MONTH.year, LAST_MONTH.month)])


def test_last_months_report_ends_with_last_months_balance(app, goods, month_ends, as_role):
    last = sum(a for on, a in month_ends if month_start(on) == LAST_MONTH)
    rows = rows_by_code(page(as_role("admin"), f"/admin/reports/month/{LAST_MONTH:%Y-%m}"))
    assert rows["DB001"][4] == format_fen(last)  # corrected
    assert rows["DB001"][-1] == format_fen(last)  # balance at the month's end, before this month's entries


@pytest.mark.parametrize("config_overrides", [{"MONITORING_LINE_FEN": 1000, "MONITORING_LINE_YEAR": 2019}])
def test_the_year_says_whether_each_household_reached_the_line_and_which_years_line_it_is(
    app, goods, trade, as_role, config_overrides
):
    want = expected(trade, goods)
    admin = as_role("admin")
    admin.client.set_cookie("lang", "en")
    html = page(admin, f"/admin/reports/year/{TODAY.year}")
    assert "2019" in html and format_fen(1000) in html
    rows = {r["户编号"]: r for r in read_csv(admin.get(f"/admin/reports/year/{TODAY.year}.csv"))}
    (line_column,) = [c for c in rows["DB001"] if c.startswith("是否达到监测线")]
    assert "2019" in line_column
    for code, net in want["net"].items():
        assert rows[code]["全年（元）"] == yuan(net)
        assert rows[code][line_column] == ("是" if per_capita(net, MEMBERS[code]) >= 1000 else "否")


def test_a_report_is_a_few_grouped_queries_however_many_households_earned(app, goods, trade):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            month = report_queries.month_report(THIS_MONTH, admin)
            year = report_queries.household_year(TODAY.year, admin)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(month.households) == len(year.households) == 2
    # channels, refunds, products, towns, households; the year: its latest closing (none), sums, households
    assert len(statements) == 8
    assert all("GROUP BY" in s for s in statements[:5] + statements[6:7])
