"""The counter's pages: the till, today's sales, a sale with its receipt (HTML and PDF), and refunds."""

import json
import re
from datetime import UTC, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop.clock import business_today
from shop.extensions import db
from shop.models import EntryKind, LedgerEntry, PaymentMethod, Refund, Sale, StockMovement
from shop.selling import sales
from tests.factories import receive
from tests.probes import count, on_hand


def embedded_json(html: str, element_id: str):
    """The JSON a page embeds in <script type="application/json" id=...>."""
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def shelf(goods, clerk):
    """Shrimp from 王 (consignment, 90 %) and paste bought outright from 符."""
    return {
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90),
        "paste": receive(clerk, goods["paste"], goods["fu"], 10, days=90, mode="purchase", purchase_price_fen=9000),
    }


@pytest.fixture
def sale_id(goods, shelf, clerk):
    """A cash sale of 500 g of shrimp (¥68.00) and 2 jars of paste (¥36.00), ¥150.00 handed over."""
    body = {
        "idempotency_key": "page-test-0001",
        "payment_method": "cash",
        "tendered_fen": 15000,
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def line_ids(clerk, sale_id) -> list[int]:
    return [line["id"] for line in clerk.get(f"/api/counter/sales/{sale_id}").get_json()["lines"]]


# ---------------------------------------------------------------- the till


def test_the_till_embeds_the_counters_products_and_the_csrf_token(goods, shelf, clerk):
    response = clerk.get("/admin/counter/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<meta name="csrf-token" content="[^"]{20,}">', html)
    assert "css/pos.css" in html and "js/pos.js" in html
    products = {p["sku"]: p for p in embedded_json(html, "pos-products")}
    assert products["LG-XG"]["available"] == 1000 and products["LG-XG"]["price_fen"] == 6800
    assert products["LG-XG"]["price_per"] == 500 and products["LG-XG"]["unit"] == "g"
    assert products["LG-XJ"]["available"] == 10 and products["LG-XJ"]["unit"] == "piece"
    messages = embedded_json(html, "pos-messages")
    assert "%(qty)s" in messages["on_sale"]
    config = embedded_json(html, "pos-config")
    assert config["salesUrl"] == "/api/counter/sales" and config["sessionUrl"] == "/api/session"


def test_the_till_shows_only_what_is_on_sale_at_the_clerks_own_counter(goods, shelf, as_role):
    html = as_role("clerk2").get("/admin/counter/").get_data(as_text=True)
    assert {p["sku"]: p["available"] for p in embedded_json(html, "pos-products")} == {"LG-XG": 0, "LG-XJ": 0}


def test_the_till_is_for_clerks_and_the_manager_only(staff, as_role, client):
    assert as_role("admin").get("/admin/counter/").status_code == 200
    assert as_role("officer").get("/admin/counter/").status_code == 403
    assert as_role("county").get("/admin/counter/sales").status_code == 403
    response = client.get("/admin/counter/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_service_worker_is_served_from_the_tills_scope(staff, as_role):
    response = as_role("clerk").get("/admin/counter/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/admin/counter/"
    assert "no-store" in response.headers["Cache-Control"]


# ---------------------------------------------------------------- today's sales and one sale


def test_todays_sales_list_the_sale_with_its_total_and_a_link(sale_id, clerk, as_role):
    html = clerk.get("/admin/counter/sales").get_data(as_text=True)
    assert f"S{sale_id:06d}" in html
    assert f'href="/admin/counter/sales/{sale_id}"' in html
    assert "¥104.00" in html
    # Another counter's clerk does not see it.
    assert f"S{sale_id:06d}" not in as_role("clerk2").get("/admin/counter/sales").get_data(as_text=True)


def test_the_day_totals_count_each_payment_method_and_its_refunds(goods, sale_id, clerk):
    body = {
        "idempotency_key": "page-test-0002",
        "payment_method": "wechat_qr",
        "lines": [{"product_id": goods["paste"], "quantity": 1}],
    }
    assert clerk.post("/api/counter/sales", json=body).status_code == 201
    shrimp_line = line_ids(clerk, sale_id)[0]
    assert refund(clerk, sale_id, **{f"qty-{shrimp_line}": "250"}).status_code == 302
    html = clerk.get("/admin/counter/sales").get_data(as_text=True)
    totals = re.search(r'<ul class="day-totals">(.*?)</ul>', html, re.S).group(1)
    cash, wechat = re.findall(r"<li>(.*?)</li>", totals, re.S)
    assert "¥104.00" in cash and "¥34.00" in cash  # sold, refunded
    assert "¥18.00" in wechat and "¥34.00" not in wechat


def test_times_are_shown_on_the_counters_clock_not_utc(app, sale_id, clerk):
    with app.app_context():
        created = db.session.get(Sale, sale_id).created_at  # naive UTC
    shanghai = created.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shanghai.strftime("%H:%M") in clerk.get("/admin/counter/sales").get_data(as_text=True)
    assert shanghai.strftime("%Y-%m-%d %H:%M") in clerk.get(f"/admin/counter/sales/{sale_id}").get_data(as_text=True)


def test_the_sale_page_names_the_households_helped_masked_never_in_full(sale_id, clerk):
    response = clerk.get(f"/admin/counter/sales/{sale_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"S{sale_id:06d}" in html and "¥104.00" in html
    assert "¥150.00" in html and "¥46.00" in html  # handed over, change
    assert "王**" in html and "符**" in html
    assert "王亦明" not in html and "符海成" not in html
    # 王's consignment credit: 90 % of ¥68.00.
    assert "¥61.20" in html
    assert f"/admin/counter/sales/{sale_id}/receipt.pdf" in html


def test_the_receipt_pdf_has_the_products_and_the_total(sale_id, clerk):
    response = clerk.get(f"/admin/counter/sales/{sale_id}/receipt.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert "虾干" in text and "虾酱" in text
    assert "¥104.00" in text and "现金" in text and "¥46.00" in text
    assert "王**" in text and "王亦明" not in text
    # 符's paste was bought outright: the sale credits nothing, so the receipt does not list 符.
    assert "符**" not in text


def test_a_clerk_of_another_counter_gets_403_on_the_sale(sale_id, as_role):
    clerk2 = as_role("clerk2")
    assert clerk2.get(f"/admin/counter/sales/{sale_id}").status_code == 403
    assert clerk2.get(f"/admin/counter/sales/{sale_id}/receipt.pdf").status_code == 403
    response = clerk2.client.post(
        f"/admin/counter/sales/{sale_id}/refund", data={"restock": "yes"}, headers={"X-CSRFToken": clerk2.token}
    )
    assert response.status_code == 403


def test_an_unknown_sale_is_404(staff, as_role):
    assert as_role("clerk").get("/admin/counter/sales/999999").status_code == 404


# ---------------------------------------------------------------- refunds


def refund_form(clerk, sale_id, **fields) -> dict:
    """The refund form as the sale page draws it (CSRF token, key), filled in with `fields`."""
    page = clerk.get(f"/admin/counter/sales/{sale_id}").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
    # Sent as confirmed: the question asked before a refund is tested in test_confirmations.py.
    return {"csrf_token": form_token(page), "key": key, "restock": "yes", "note": "", "confirmed": "yes", **fields}


def refund(clerk, sale_id, **fields):
    """Post the refund form as the page would, with its CSRF token and key."""
    return clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data=refund_form(clerk, sale_id, **fields))


def test_a_refund_form_sent_twice_records_one_refund(app, sale_id, shelf, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    data = refund_form(clerk, sale_id, **{f"qty-{shrimp_line}": "400"})
    first = clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data=data)
    again = clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data=data)  # a double tap
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Refund) == 1
    assert on_hand(app, shelf["shrimp"]) == 900  # restocked once
    assert clerk.get(f"/api/counter/sales/{sale_id}").get_json()["refunded_fen"] == 5440
    # The next refund is drawn with a new key, so it is a refund of its own.
    assert refund(clerk, sale_id, **{f"qty-{shrimp_line}": "100"}).status_code == 302
    assert count(app, Refund) == 2


def test_a_form_key_reused_for_another_refund_records_nothing(app, sale_id, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    data = refund_form(clerk, sale_id, **{f"qty-{shrimp_line}": "100"})
    assert clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data=data).status_code == 302
    response = clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data={**data, f"qty-{shrimp_line}": "200"})
    assert response.status_code == 409
    assert count(app, Refund) == 1
    bad = refund_form(clerk, sale_id, **{f"qty-{shrimp_line}": "100"}, key="<script>")
    assert clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data=bad).status_code == 422
    assert count(app, Refund) == 1


def test_yesterdays_sale_refunded_today_counts_today_and_leaves_yesterday_alone(app, sale_id, clerk):
    today = business_today()
    yesterday = today - timedelta(days=1)
    with app.app_context():
        sale = db.session.get(Sale, sale_id)
        sale.sold_on, sale.created_at = yesterday, sale.created_at - timedelta(days=1)
        db.session.commit()
        counter_id = sale.counter_id
        before = sales.day_totals(counter_id, yesterday)
    assert before == {PaymentMethod.CASH: (1, 10400, 0)}
    shrimp_line, _paste = line_ids(clerk, sale_id)
    assert refund(clerk, sale_id, **{f"qty-{shrimp_line}": "250"}).status_code == 302
    with app.app_context():
        assert sales.day_totals(counter_id, yesterday) == before
        assert sales.day_totals(counter_id, today) == {PaymentMethod.CASH: (0, 0, 3400)}
        (refund_row,) = db.session.scalars(sa.select(Refund))
        dates = db.session.scalars(
            sa.select(LedgerEntry.entry_date).where(LedgerEntry.kind == EntryKind.REVERSAL)
        ).all()
    assert refund_row.amount_fen == 3400 and dates and set(dates) == {today}
    html = clerk.get("/admin/counter/sales").get_data(as_text=True)
    totals = re.search(r'<ul class="day-totals">(.*?)</ul>', html, re.S).group(1)
    assert "-¥34.00" in totals  # today's cash-up hands back what today's refund gave


def test_refunding_part_of_a_line_in_jin_restocks_it_and_says_what_to_hand_back(app, sale_id, shelf, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    assert on_hand(app, shelf["shrimp"]) == 500
    response = refund(clerk, sale_id, **{f"qty-{shrimp_line}": "0.2", f"unit-{shrimp_line}": "jin"})
    assert response.status_code == 302
    page = clerk.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "¥13.60" in page  # 100 g at ¥68.00 per jin, in the flash and the refund list
    assert on_hand(app, shelf["shrimp"]) == 600
    assert count(app, Refund) == 1
    assert clerk.get(f"/api/counter/sales/{sale_id}").get_json()["refunded_fen"] == 1360


def test_a_refund_without_restocking_leaves_the_shelf_as_it_was(app, sale_id, shelf, clerk):
    _shrimp, paste_line = line_ids(clerk, sale_id)
    movements = count(app, StockMovement)
    response = refund(clerk, sale_id, restock="no", note="罐子碎了", **{f"qty-{paste_line}": "1"})
    assert response.status_code == 302
    assert on_hand(app, shelf["paste"]) == 8
    assert count(app, StockMovement) == movements
    page = clerk.get(f"/admin/counter/sales/{sale_id}").get_data(as_text=True)
    assert "¥18.00" in page and "罐子碎了" in page


def test_refusing_too_much_shows_why_and_records_nothing(app, sale_id, shelf, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    response = refund(clerk, sale_id, **{f"qty-{shrimp_line}": "600"})
    assert response.status_code == 409
    assert "500" in response.get_data(as_text=True)  # only 500 g of the line is left to refund
    assert count(app, Refund) == 0
    assert on_hand(app, shelf["shrimp"]) == 500


def test_a_quantity_typed_wrong_is_a_422_and_records_nothing(app, sale_id, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    for typed, unit in (("0.125", "jin"), ("1.5", "g"), ("abc", "g")):
        response = refund(clerk, sale_id, **{f"qty-{shrimp_line}": typed, f"unit-{shrimp_line}": unit})
        assert response.status_code == 422, typed
    assert refund(clerk, sale_id).status_code == 422  # nothing chosen
    assert count(app, Refund) == 0


def test_the_refund_form_needs_its_csrf_token(app, sale_id, clerk):
    shrimp_line, _paste = line_ids(clerk, sale_id)
    response = clerk.client.post(f"/admin/counter/sales/{sale_id}/refund", data={f"qty-{shrimp_line}": "100"})
    assert response.status_code == 400
    assert count(app, Refund) == 0
