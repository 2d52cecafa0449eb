"""A sale's page prints its receipt with its own small script (print.js), not the till's."""

from tests.browser.conftest import sign_in
from tests.conftest import Api


def test_the_print_button_prints_the_receipt_without_loading_the_till(context, server, shop):
    clerk = Api(shop.app.test_client())
    assert clerk.login("clerk").status_code == 200
    products = {p["sku"]: p["id"] for p in clerk.get("/api/products").get_json()}
    body = {"idempotency_key": "print-0001", "payment_method": "cash"}
    body["lines"] = [{"product_id": products["LG-XG"], "quantity": 250}]
    sale = clerk.post("/api/counter/sales", json=body).get_json()
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server)
    page.add_init_script("window.printed = 0; window.print = () => { window.printed += 1; };")
    scripts = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    page.goto(f"{server}/admin/counter/sales/{sale['id']}")
    page.click("[data-print]")
    assert page.evaluate("window.printed") == 1
    assert [url.rsplit("/", 1)[1] for url in scripts] == ["print.js"]
