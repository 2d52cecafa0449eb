"""The strict Content-Security-Policy holds in a real browser: no page the shop serves trips over it.

Chromium reports every blocked script, style or frame as a `securitypolicyviolation` event and a
console message; both are collected from before the first byte of each page.
"""

import re
from datetime import date, timedelta

import pytest

from shop.clock import business_today
from tests.browser.test_checkout import FAKE_STRIPE_JS, stripe_online  # noqa: F401
from tests.conftest import PASSWORD, Api

#: Runs in every page before its own scripts: keeps each violation the page reports.
LISTEN = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  var where = event.sourceFile + ":" + event.lineNumber;
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + where);
});
"""


class Watcher:
    """A page that remembers the CSP violations and the CSP console messages of everything it opened."""

    def __init__(self, page):
        self.page = page
        self.seen: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.seen.append(f"{self.page.url}: {message.text}")

    def visit(self, url: str, ready: str = "main") -> None:
        """Open a page, let its scripts run, and keep what it reported."""
        self.page.goto(url)
        self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        self.collect()

    def collect(self) -> None:
        for violation in self.page.evaluate("window.cspViolations || []"):
            self.seen.append(f"{self.page.url}: {violation}")


@pytest.fixture
def watched(context):
    page = context.new_page()
    page.set_default_timeout(15_000)
    return Watcher(page)


def sign_in_as(watcher: Watcher, server: str, username: str) -> None:
    watcher.visit(f"{server}/login")
    watcher.page.fill("input[name=username]", username)
    watcher.page.fill("input[name=password]", PASSWORD)
    watcher.page.click("button[type=submit]")
    watcher.page.wait_for_url(re.compile(r".*/admin/.*"))
    watcher.collect()


def ids(app) -> dict:
    """A sale, an order and the two households, made through the API; their ids and the order's token."""
    clerk, buyer = Api(app.test_client()), Api(app.test_client())
    assert clerk.login("clerk").status_code == 200
    products = {p["sku"]: p["id"] for p in buyer.get("/api/products").get_json()}
    sale = {
        "idempotency_key": "csp-sale-1",
        "payment_method": "cash",
        "lines": [{"product_id": products["LG-XG"], "quantity": 250}],
    }
    sale_id = clerk.post("/api/counter/sales", json=sale).get_json()["id"]
    order = {
        "lines": [{"product_id": products["LG-XJ"], "quantity": 1}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    placed = buyer.post("/api/orders", json=order).get_json()
    households = {h["code"]: h["id"] for h in clerk.get("/api/households").get_json()}
    return {
        "product": products["LG-XG"],
        "sale": sale_id,
        "order": placed["id"],
        "token": placed["token"],
        **households,
    }


def test_the_buyers_pages_break_no_rule(watched, server, shop):
    made = ids(shop.app)
    watched.visit(f"{server}/")
    watched.visit(f"{server}/products/{made['product']}")
    watched.page.fill("#qty-cart", "250")
    watched.page.select_option(".add-to-cart select[name=unit]", "g")
    watched.page.click(".add-to-cart button[type=submit]")
    watched.page.wait_for_url("**/cart")
    watched.collect()
    for path in ("/cart", "/checkout", f"/orders/{made['token']}", "/orders/lookup", "/login"):
        watched.visit(server + path)
    assert watched.seen == []


def test_the_stripe_pay_page_loads_stripe_js_under_the_policy(watched, server, shop, stripe_online):  # noqa: F811
    made = ids(shop.app)
    watched.page.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(content_type="application/javascript", body=FAKE_STRIPE_JS),
    )
    buyer = Api(shop.app.test_client())
    order = {
        "lines": [{"product_id": made["product"], "quantity": 250}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "stripe",
    }
    token = buyer.post("/api/orders", json=order).get_json()["token"]
    watched.visit(f"{server}/orders/{token}/pay", ready="#pay-submit:enabled")
    assert watched.page.evaluate("stripeCalls.length") == 4  # Stripe.js ran: the policy let it in
    assert watched.seen == []


def test_the_clerks_pages_break_no_rule(watched, server, shop):
    made = ids(shop.app)
    sign_in_as(watched, server, "clerk")
    watched.visit(f"{server}/admin/counter/", ready="#grid .product")
    for path in (
        "/admin/",
        f"/admin/counter/sales/{made['sale']}",
        "/admin/counter/sales",
        "/admin/stock/",
        f"/admin/stock/lots/{shop.lots['shrimp']}",
        "/admin/stock/receive",
        "/admin/stock/stocktake",
        "/admin/orders/",
        f"/admin/orders/{made['order']}",
        "/admin/orders/collect",
    ):
        watched.visit(server + path)
    assert watched.seen == []


def test_the_officers_pages_and_the_households_chart_break_no_rule(watched, server, shop):
    made = ids(shop.app)
    sign_in_as(watched, server, "officer")
    month = f"{business_today():%Y-%m}"
    for path in (
        "/admin/",
        "/admin/households/",
        f"/admin/households/{made['DB001']}",
        "/admin/review/",
        "/admin/review/disputes",
        f"/admin/review/households/{made['DB001']}/{month}",
    ):
        watched.visit(server + path)
    # The chart's colours are SVG presentation attributes, which style-src does not govern: the bars keep them.
    watched.visit(f"{server}/admin/households/{made['DB001']}")
    fills = watched.page.eval_on_selector_all("svg rect", "rects => rects.map(r => getComputedStyle(r).fill)")
    assert fills and all(fill.startswith("rgb(") and fill != "rgb(0, 0, 0)" for fill in fills)
    assert watched.seen == []


def test_the_managers_pages_break_no_rule(watched, server, shop):
    made = ids(shop.app)
    sign_in_as(watched, server, "admin")
    last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    for path in (
        "/admin/",
        "/admin/reports/",
        f"/admin/reports/month/{last_month}",
        f"/admin/reports/year/{business_today():%Y}",
        "/admin/households/adjustments",
        f"/admin/households/{made['DB001']}/payouts/new",
        "/admin/users/",
        "/admin/users/new",
        "/admin/audit/",
        "/account/password",
    ):
        watched.visit(server + path)
    assert watched.seen == []


def test_the_watcher_would_see_an_inline_style_or_script(watched, server, shop):
    # Proof that the checks above can fail: markup that breaks the policy is reported.
    watched.visit(f"{server}/")
    watched.page.evaluate(
        'document.body.insertAdjacentHTML(\'beforeend\', \'<p style="color:red">x</p><img src="x" onerror="1">\')'
    )
    watched.page.wait_for_function("() => window.cspViolations.join().includes('script-src')")
    watched.collect()
    assert any("style-src" in line for line in watched.seen), watched.seen
    assert any("script-src" in line for line in watched.seen), watched.seen
