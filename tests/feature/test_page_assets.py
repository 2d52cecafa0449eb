"""Each page links only the stylesheets and scripts of its area, in its head: the weight of a page is its own."""

import re
from datetime import timedelta

from shop.clock import business_today


def head_of(response) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:300]
    return html.split("</head>", 1)[0]


def sheets(response) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="/static/css/([\w.-]+)"', head_of(response))


def test_the_shop_front_links_the_base_and_shop_sheets_only(client, goods):
    for url in ("/", f"/products/{goods['shrimp']}", "/cart", "/orders/lookup"):
        assert sheets(client.get(url)) == ["app.css", "shop.css"], url


def test_sign_in_and_error_pages_need_the_base_sheet_alone(client):
    assert sheets(client.get("/login")) == ["app.css"]
    missing = client.get("/products/999999")
    assert missing.status_code == 404
    assert re.findall(r'css/([\w.-]+)"', missing.get_data(as_text=True)) == ["app.css"]


def test_staff_pages_link_the_staff_sheet_and_their_areas_own(as_role):
    admin = as_role("admin")
    assert sheets(admin.client.get("/admin/stock/")) == ["app.css", "staff.css"]
    assert sheets(admin.client.get("/admin/households/")) == ["app.css", "staff.css"]
    assert sheets(admin.client.get("/admin/reports/")) == ["app.css", "staff.css", "reports.css"]
    assert sheets(admin.client.get("/admin/counter/")) == ["app.css", "staff.css", "pos.css"]
    assert sheets(admin.client.get("/admin/orders/collect")) == ["app.css", "staff.css", "pos.css"]


def test_the_sale_page_loads_a_print_script_not_the_till(goods, as_role):
    clerk = as_role("clerk")
    lot = {"product_id": goods["shrimp"], "household_id": goods["wang"], "quantity": 1000, "mode": "consignment"}
    lot["best_before"] = (business_today() + timedelta(days=90)).isoformat()
    assert clerk.post("/api/lots", json=lot).status_code == 201
    body = {"idempotency_key": "assets-0001", "payment_method": "cash"}
    body["lines"] = [{"product_id": goods["shrimp"], "quantity": 500}]
    sale = clerk.post("/api/counter/sales", json=body).get_json()
    html = clerk.get(f"/admin/counter/sales/{sale['id']}").get_data(as_text=True)
    assert "js/print.js" in html and "js/pos.js" not in html and "data-print" in html
    assert "js/pos.js" in clerk.get("/admin/counter/").get_data(as_text=True)


def test_the_receive_page_title_is_words_only(as_role):
    html = as_role("clerk").client.get("/admin/stock/receive").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "<" not in title and "script" not in title
