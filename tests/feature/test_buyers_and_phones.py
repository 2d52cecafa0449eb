"""What buyers and officers on phones ran into: delivery without online payment, the header's order lookup
and cart count, a counter's opening hours and phone, the stock shown after a refused add, the household
chart's labels and year, and wide tables that scroll."""

# The buyer's and the reports' fixtures are imported from their own test modules, so pytest finds them here.
# ruff: noqa: F811

import re

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, Order
from shop.selling import orders
from tests.feature.test_checkout_pages import PHONE, Buyer, buyer, shelf, stripe  # noqa: F401 (fixtures)
from tests.feature.test_online_orders import body
from tests.feature.test_reports import trade  # noqa: F401 (fixture)

HOURS = "每天 8:00-18:00"
COUNTER_PHONE = "0898-28281234"


def send(user, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def counter(app, code: str = "LC-JN") -> Counter:
    with app.app_context():
        found = db.session.scalar(sa.select(Counter).where(Counter.code == code))
        db.session.expunge_all()
        return found


def footer(html: str) -> str:
    return html[html.index('<footer class="site-footer">') :]


# Delivery is offered only when it can be paid for.


def test_without_online_payment_checkout_offers_no_delivery_and_refuses_one_clearly(app, shelf, buyer):
    buyer.add(shelf["shrimp"], "1", "jin")
    html = buyer.page("/checkout")
    assert 'value="delivery"' not in html and 'name="address"' not in html
    assert 'value="pickup"' in html and 'value="stripe"' not in html
    response = buyer.check_out(fulfilment="delivery", address="临城镇江南路 8 号")
    assert response.status_code == 422
    assert "Delivery is paid online, and online payment is not available now. Choose pickup." in response.get_data(
        as_text=True
    )
    assert order_count(app) == 0


def test_with_online_payment_delivery_is_offered_and_said_to_be_paid_online(app, shelf, buyer, stripe):
    buyer.add(shelf["shrimp"], "1", "jin")
    html = buyer.page("/checkout")
    assert 'value="delivery"' in html and 'name="address"' in html
    assert "A delivery is paid online; paying at the counter is only for pickup." in html


def test_the_api_refuses_delivery_paid_at_pickup_with_a_clear_reason(app, api, goods, shelf, monkeypatch):
    api.client.set_cookie("lang", "en")
    order = body(goods, fulfilment="delivery", address="海口市", payment="pay_at_pickup")
    refused = api.post("/api/orders", json=order)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["fields"] == {"fulfilment": error["message"]} and "online payment is not available" in error["message"]
    from shop.selling import payments

    monkeypatch.setattr(payments, "configured", lambda: True)
    refused = api.post("/api/orders", json=order)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["payment"].startswith("A delivery is paid online")
    assert order_count(app) == 0


# The header: finding an order, and the cart's count.


def test_the_header_links_to_the_order_lookup_and_counts_the_carts_products(app, shelf, buyer):
    html = buyer.page("/")
    assert 'href="/orders/lookup"' in html and "cart-count" not in html
    buyer.add(shelf["shrimp"], "1", "jin")
    buyer.add(shelf["paste"], "2", "piece")
    buyer.add(shelf["shrimp"], "1", "jin")  # the same product again is still one line
    for page in ("/", f"/products/{shelf['paste']}", "/cart", "/orders/lookup"):
        assert re.search(r'class="cart-count">2<span class="visually-hidden"> products</span>', buyer.page(page))
    buyer.post(f"/cart/{shelf['paste']}/remove")
    assert 'class="cart-count">1<span class="visually-hidden"> product</span>' in buyer.page("/")


def test_the_header_lookup_finds_an_order_and_refuses_wrong_details_alike(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    token = buyer.place_order()
    with app.app_context():
        number = orders.order_by_token(token).number
    lookup = buyer.page("/orders/lookup")
    assert 'name="number"' in lookup and 'name="phone"' in lookup
    found = buyer.post("/orders/lookup", number=number, phone=PHONE)
    assert found.status_code == 302 and found.headers["Location"] == f"/orders/{token}"
    refusals = [
        buyer.post("/orders/lookup", number=number, phone="13900000000"),
        buyer.post("/orders/lookup", number="W999999", phone=PHONE),
    ]
    pages = [re.sub(r'value="[^"]*"', "", r.get_data(as_text=True)) for r in refusals]
    assert [r.status_code for r in refusals] == [404, 404]
    assert pages[0] == pages[1] and token not in pages[0]  # nothing tells a wrong number from a wrong phone


class TestLookupIsThrottled:
    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True}

    def test_the_eleventh_try_in_a_minute_is_refused(self, app, shelf, buyer):
        for n in range(10):
            assert buyer.post("/orders/lookup", number=f"W{n:06d}", phone=PHONE).status_code == 404
        assert buyer.post("/orders/lookup", number="W000001", phone=PHONE).status_code == 429


# A counter's opening hours and phone.


def test_no_hours_or_phone_are_shown_for_a_counter_that_has_none(app, shelf, buyer):
    buyer.add(shelf["paste"], "1", "piece")
    pages = buyer.page("/") + buyer.page("/checkout")
    token = buyer.place_order()
    pages += buyer.page(f"/orders/{token}")
    assert "Opening hours" not in pages and "tel:" not in pages and "counter-contact" not in pages
    assert "临城江南市场对面专柜" in footer(buyer.page("/"))


def test_hours_and_phone_set_on_the_counters_page_are_shown_to_buyers(app, shelf, buyer, admin):
    lc = counter(app)
    response = send(admin, f"/admin/places/counters/{lc.id}", name=lc.name, address="临高县临城镇江南市场正对面",
                    opening_hours=HOURS, phone=COUNTER_PHONE)  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (counter(app).opening_hours, counter(app).phone) == (HOURS, COUNTER_PHONE)
    edit_page = admin.client.get(f"/admin/places/counters/{lc.id}").get_data(as_text=True)
    assert f'value="{HOURS}"' in edit_page and f'value="{COUNTER_PHONE}"' in edit_page
    shown = f"Opening hours: {HOURS}"
    called = f'href="tel:{COUNTER_PHONE}">Phone: {COUNTER_PHONE}</a>'
    assert shown in footer(buyer.page("/")) and called in footer(buyer.page("/"))
    buyer.add(shelf["paste"], "1", "piece")
    checkout = buyer.page("/checkout")
    pickup = checkout[checkout.index('name="counter"') :]  # two counters: the pickup choice names each one's
    assert shown in pickup and called in pickup
    token = buyer.place_order(counter=str(lc.id))
    details = buyer.page(f"/orders/{token}")
    details = details[details.index("buyer-details") :]
    assert shown in details and called in details
    # The other counter has none: nothing is made up for it.
    assert footer(buyer.page("/")).count("Opening hours") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opening_hours", "八" * 101),
        ("opening_hours", "8:00\x00-18:00"),
        ("opening_hours", "8:00\n18:00"),
        ("phone", "1" * 21),
        ("phone", "call us"),
        ("phone", "0898\x0728281234"),
        ("phone", "<script>"),
    ],
)
def test_hostile_hours_or_phone_are_refused_and_nothing_changes(app, staff, admin, field, value):
    lc = counter(app)
    fields = {"name": lc.name, "address": "", "opening_hours": HOURS, "phone": COUNTER_PHONE, field: value}
    response = send(admin, f"/admin/places/counters/{lc.id}", **fields)
    assert response.status_code == 422
    assert (counter(app).opening_hours, counter(app).phone) == ("", "")


def test_hours_and_phone_from_the_command_line(app):
    added = run(app, "counters", "add", "LC-JN", "--name", "临城专柜", "--hours", HOURS, "--phone", COUNTER_PHONE)
    assert added.exit_code == 0, added.output
    assert (counter(app).opening_hours, counter(app).phone) == (HOURS, COUNTER_PHONE)
    edited = run(app, "counters", "edit", "lc-jn", "--hours", "周一至周六 9:00-17:00")
    assert edited.exit_code == 0, edited.output
    assert (counter(app).name, counter(app).opening_hours, counter(app).phone) == (
        "临城专柜",
        "周一至周六 9:00-17:00",
        COUNTER_PHONE,
    )
    assert run(app, "counters", "edit", "LC-JN", "--phone", "").exit_code == 0
    assert counter(app).phone == ""
    for args in (["--hours", "八" * 101], ["--hours", "a\x00b"], ["--phone", "call us"]):
        refused = run(app, "counters", "edit", "LC-JN", *args)
        assert refused.exit_code == 1 and "Error" in refused.output
    refused = run(app, "counters", "add", "BL-01", "--name", "波莲", "--phone", "abc")
    assert refused.exit_code == 1
    assert counter(app, "BL-01") is None
    assert run(app, "counters", "edit", "NOPE", "--hours", "x").exit_code == 1


# The stock shown after a refused add.


def test_a_refused_add_shows_what_is_on_sale_not_what_is_on_hand(app, shelf, buyer):
    other = Buyer(app.test_client())
    other.add(shelf["shrimp"], "1.2", "jin")  # 600 g of the 1000 g on hand held by an unpaid order
    other.place_order()
    assert "In stock: 0.4 kg" in buyer.page(f"/products/{shelf['shrimp']}")
    refused = buyer.add(shelf["shrimp"], "11", "jin")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "At most 5 kg of one product." in html
    assert "In stock: 0.4 kg" in html and "In stock: 1 kg" not in html


def test_a_refused_add_when_everything_is_held_still_says_why(app, shelf, buyer):
    other = Buyer(app.test_client())
    other.add(shelf["shrimp"], "2", "jin")
    other.place_order()
    refused = buyer.add(shelf["shrimp"], "0", "jin")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Sold out for now" in html
    assert "The quantity must be more than zero." in html and "In stock" not in html


# The household's chart on a phone.


def test_the_household_chart_shows_the_year_and_phone_sized_labels(app, goods, officer):
    officer.client.set_cookie("lang", "zh_CN")
    html = officer.client.get(f"/admin/households/{goods['wang']}").get_data(as_text=True)
    phone = html[html.index('class="chart-phone"') :]
    phone = phone[: phone.index("</svg>")]
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', phone).group(1))
    sizes = {int(size) for size in re.findall(r'font-size="(\d+)"', phone)}
    # At 360 px the chart is about 300 px wide (page and panel padding): every label at least 12 px.
    assert min(sizes) * 300 / width >= 12, sizes
    year = business_today().year
    assert f">{year}年</text>" in phone
    wide = html[html.index('class="chart-wide"') :]
    assert f">{year}年</text>" in wide[: wide.index("</svg>")]


# Wide tables.


def test_the_officers_home_links_each_household_in_a_scrollable_table(app, goods, officer):
    html = officer.client.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/households/{goods["wang"]}"' in html
    assert re.search(r'<div class="table-scroll wide-scroll\s*" tabindex="0" role="region" aria-label="[^"]+">', html)
    assert '<th scope="row" class="sticky">' in html and 'class="scroll-hint"' in html
    assert f'href="/admin/households/{goods["fu"]}"' not in html  # another officer's household


@pytest.mark.parametrize("report", ["month", "year"])
def test_the_reports_household_tables_keep_their_key_column_and_take_the_keyboard(app, goods, trade, admin, report):
    today = business_today()
    url = f"/admin/reports/month/{today:%Y-%m}" if report == "month" else f"/admin/reports/year/{today.year}"
    response = admin.client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    opening = r'<div class="table-scroll wide-scroll[^"]*" tabindex="0" role="region" aria-label="[^"]+">'
    table = page[re.search(opening, page).start() :]
    table = table[: table.index("</table>")]
    assert '<th scope="row" class="sticky"><span class="report-who"><span class="report-code">DB001' in table
    assert '<th class="sticky">' in table  # the heading and the total stay put too
    assert 'class="scroll-hint"' in page
