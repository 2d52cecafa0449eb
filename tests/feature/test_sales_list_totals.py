"""Today's sales list: a day total that equals the cash-up, and a row for a refund today of an earlier day's sale."""

import re
from datetime import timedelta

from shop.clock import business_today
from shop.extensions import db
from shop.models import Sale
from shop.money import format_fen
from shop.selling import sales

from .test_counter_pages import line_ids, refund, sale_id, shelf  # noqa: F401  (fixtures)


def grand_total(html: str) -> dict[str, str]:
    """The day total's overall row: sales, takings, refunded, net."""
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    cells = re.findall(r'<td class="num"[^>]*>(.*?)</td>', foot, re.S)
    return dict(zip(("count", "takings", "refunded", "net"), (c.strip() for c in cells), strict=True))


def test_the_day_total_equals_the_cash_up_and_the_rows_add_up_to_it(app, goods, sale_id, clerk):  # noqa: F811
    other = {
        "idempotency_key": "total-0002",
        "payment_method": "wechat_qr",
        "lines": [{"product_id": goods["paste"], "quantity": 1}],
    }
    assert clerk.post("/api/counter/sales", json=other).status_code == 201
    shrimp_line, _paste = line_ids(clerk, sale_id)
    assert refund(clerk, sale_id, **{f"qty-{shrimp_line}": "250"}).status_code == 302
    html = clerk.get("/admin/counter/sales").get_data(as_text=True)
    with app.app_context():
        counter_id = db.session.get(Sale, sale_id).counter_id
        cash_up = sales.day_totals(counter_id, business_today())
    count = sum(c for c, _t, _r in cash_up.values())
    takings = sum(t for _c, t, _r in cash_up.values())
    refunded = sum(r for _c, _t, r in cash_up.values())
    assert grand_total(html) == {
        "count": str(count),
        "takings": format_fen(takings),
        "refunded": format_fen(refunded),
        "net": format_fen(takings - refunded),
    }
    assert grand_total(html)["net"] == "¥88.00"  # 104 + 18 - 34
    # The per-method rows of the day total are the cash-up's figures too.
    body = re.search(r'<table class="day-grand">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert "¥70.00" in body and "¥18.00" in body  # cash net, WeChat net


def test_a_refund_today_of_yesterdays_sale_is_a_row_today_and_the_totals_agree(app, goods, sale_id, clerk, as_role):  # noqa: F811
    yesterday = business_today() - timedelta(days=1)
    with app.app_context():
        sale = db.session.get(Sale, sale_id)
        sale.sold_on, sale.created_at = yesterday, sale.created_at - timedelta(days=1)
        db.session.commit()
    clerk.get("/lang/en")
    before = clerk.get("/admin/counter/sales").get_data(as_text=True)
    assert "No sales yet today." in before and f"S{sale_id:06d}" not in before
    shrimp_line, _paste = line_ids(clerk, sale_id)
    assert refund(clerk, sale_id, **{f"qty-{shrimp_line}": "250"}).status_code == 302
    html = clerk.get("/admin/counter/sales").get_data(as_text=True)
    rows = re.search(r'<tbody class="earlier-refunds">(.*?)</tbody>', html, re.S).group(1)
    assert f"S{sale_id:06d}" in rows and "¥34.00" in rows and "Dried shrimp" not in rows
    assert "虾干" in rows and "Refund of a sale of" in rows
    assert grand_total(html) == {"count": "0", "takings": "¥0.00", "refunded": "¥34.00", "net": "-¥34.00"}
    # Yesterday's sale is still not today's: one row, the refund's.
    assert html.count(f"S{sale_id:06d}") == 1
    # Another counter's clerk sees neither the refund nor its money.
    assert f"S{sale_id:06d}" not in as_role("clerk2").get("/admin/counter/sales").get_data(as_text=True)
