"""Every page the app serves, opened in Chromium as each role that may see it: axe-core finds no serious
fault on it, and its first load weighs at most PAGE_BUDGET on a phone.

The pages come from the app's URL map, not from a list here: a GET route is either visited or
named in NOT_PAGES with what it answers instead of a page (JSON, a PDF, a CSV, a redirect), so a
page added tomorrow is checked too, or the test fails naming it. The world is built once for the
module through the API and the pages' own forms: a sale with a refund, online orders (one to pay
by Stripe, stood in for), a payout, a correction, a disputed month, a product photo and a roster
kept for its preview. Each page is opened in a fresh browser profile, so its first load is
measured with nothing cached: every request, as the app sends it (gzipped, as over the counter's
plain HTTP) and as it is (uncompressed). Stripe.js, on the pay page, is not the app's and is not counted.
"""

import io
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.ledger import checkpoints
from shop.models import (
    Adjustment,
    Counter,
    Household,
    HouseholdLink,
    LedgerEntry,
    Lot,
    MonthReview,
    Payout,
    Product,
    RiskProposal,
    Role,
    Town,
    User,
)
from shop.oversight import disputes
from shop.oversight.monitoring import parse_month
from shop.oversight.statements import month_statement
from shop.staff import accounts
from shop.web.access import PUBLIC
from shop.worklog.proposals import gather
from tests.browser.conftest import _seed
from tests.browser.test_checkout import FAKE_STRIPE_JS
from tests.conftest import PASSWORD, Api, empty_database
from tests.feature.hostile_corpus import picture
from tests.feature.test_access_matrix import order, pay_correct_and_dispute, sell_and_refund, this_month

#: The most a page may weigh on its first load on a phone, everything it loads counted as sent.
PAGE_BUDGET = 150 * 1024

#: axe-core's findings that fail the test; "moderate" and "minor" ones are reported, not failed.
FAILING_IMPACTS = {"serious", "critical"}

#: GET routes that answer something other than a page, and what they answer instead.
NOT_PAGES = {
    "admin_counter.receipt_pdf": "PDF",
    "admin_counter.service_worker": "the till's service worker (JavaScript)",
    "admin_households.payout_receipt": "PDF",
    "admin_inspections.evidence_file": "PDF",
    "admin_reports.month_csv": "CSV",
    "admin_reports.month_pdf": "PDF",
    "admin_reports.year_csv": "CSV",
    "admin_review.statement_pdf": "PDF",
    "admin_stock.labels": "PDF",
    "admin_stock.slip": "PDF",
    "admin_visits.service_worker": "the visit form's service worker (JavaScript)",
    "catalog.product_picture": "JPEG",
    "catalog.switch_language": "a redirect back to the page the language was switched on",
    "health.healthz": "JSON for a monitor",
    "transparency.checkpoints_json": "JSON: the signed checkpoints",
    "transparency.consistency": "JSON: a consistency proof",
    "transparency.key": "JSON: the public key",
    "transparency.keys_json": "JSON: every public key",
    "transparency.proof": "JSON: an inclusion proof",
    "household_page.proof": "JSON: an entry's inclusion proof, from the household's page",
    "admin_households.link_qr": "the QR code of the household's page (SVG)",
    "admin_households.link_card": "PDF",
}
#: Blueprints whose every route answers JSON (or a PDF) for programs, never a page.
NOT_PAGE_BLUEPRINTS = {"api": "JSON API", "worklog_api": "the work ledger's JSON API", "webhooks": "Stripe's webhooks"}

#: Who visits the staff pages: one account of each role.
ACCOUNTS = {Role.ADMIN: "admin", Role.CLERK: "clerk", Role.OFFICER: "officer", Role.SUPERVISOR: "county"}
PHONE = {"width": 360, "height": 800}

#: The smallest a link or control standing on its own may be, in CSS pixels (WCAG 2.2's 2.5.8 asks 24).
SMALLEST_TARGET = 24

#: Runs in the page: every visible link or control under SMALLEST_TARGET px tall or wide, but for the
#: exceptions of WCAG 2.5.8: a link inside a sentence, and a box or radio whose label is its target.
SMALL_TARGETS = """(smallest) => {
  const controls = document.querySelectorAll('a[href], button, summary, select, input:not([type=hidden]), textarea');
  const small = [];
  for (const el of controls) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (box.height >= smallest && box.width >= smallest) continue;
    if (el.closest('label') && (el.type === 'checkbox' || el.type === 'radio')) continue;
    const inline = getComputedStyle(el).display === 'inline';
    const sentence = el.parentElement && el.parentElement.textContent.trim().length > el.textContent.trim().length + 2;
    if (el.tagName === 'A' && inline && sentence) continue;
    const name = [el.tagName.toLowerCase(), ...el.classList].join('.');
    small.push(`${name} "${el.textContent.trim().slice(0, 24)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}"""
DESKTOP = {"width": 1280, "height": 800}


def axe_script() -> str:
    """axe-core's source, as axe-playwright-python ships it."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI runs the accessibility checks: axe-playwright-python is not installed")
        pytest.skip("axe-playwright-python is not installed")
    return Axe().axe_script


def build_world(app) -> dict[str, dict[str, object]]:
    """An emptied database with one of everything a page can show; the URL values naming them."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            empty_database(conn)
        lots = _seed(app)
        db.session.add(Counter(code="BL-01", name="波莲镇专柜", address="波莲镇墟上"))
        db.session.commit()
        accounts.create_user("county", PASSWORD, Role.SUPERVISOR)
        db.session.remove()
    admin, clerk, officer = (signed_in(app, name) for name in ("admin", "clerk", "officer"))
    products = {p["sku"]: p["id"] for p in admin.get("/api/products").get_json()}
    households = {h["code"]: h["id"] for h in admin.get("/api/households").get_json()}
    shrimp, wang = products["LG-XG"], households["DB001"]
    lot, sale, refund = sell_and_refund(clerk, shrimp, wang)
    placed = order(app, shrimp)
    by_stripe = Api(app.test_client()).post("/api/orders", json=stripe_order(shrimp)).get_json()
    pay_correct_and_dispute(admin, officer, wang)
    # Wang's phone number, so that the manager's one-at-a-time view of it has a number to show.
    record = {"csrf_token": admin.token, "members": 4, "phone": "13812345678", "town": "临城镇", "village": "大波村"}
    assert admin.client.post(f"/admin/households/{wang}/record", data=record).status_code == 302
    photo = {"csrf_token": admin.token, "image": (io.BytesIO(picture()), "photo.jpg", "image/jpeg")}
    assert admin.client.post(f"/admin/products/{shrimp}/picture", data=photo).status_code == 302
    roster = "户编号,户主姓名,乡镇,村,家庭人口,户类别,帮扶责任人\nDB900,黎明,临城镇,大波村,3,脱贫户,officer\n"
    sent = {"csrf_token": admin.token, "roster": (io.BytesIO(roster.encode()), "roster.csv", "text/csv")}
    kept = admin.client.post("/admin/households/import/", data=sent, content_type="multipart/form-data")
    assert kept.status_code == 302, kept.get_data(as_text=True)[:300]
    # Wang's own page, and a payout he says he did not receive.
    own_token = admin.post(f"/api/households/{wang}/link", json={}).get_json()["url"].rsplit("/", 1)[1]
    with app.app_context():
        # A risk-elimination proposal, written directly: meeting its criteria takes six months of history.
        # Its evidence is what the checklist gathers today, criteria unmet and all.
        officer_id = db.session.scalars(sa.select(User.id).where(User.username == "officer")).one()
        evidence = gather(db.session.get(Household, wang), business_today()).evidence
        db.session.add(RiskProposal(household_id=wang, evidence=json.dumps(evidence), proposed_by_id=officer_id))
        db.session.commit()
        one = lambda model: db.session.scalars(sa.select(model.id)).one()  # noqa: E731
        values = {
            "household_id": wang,
            "proposal_id": one(RiskProposal),
            "product_id": shrimp,
            "lot_id": lots["shrimp"],
            "sale_id": sale["id"],
            "refund_id": refund["id"],
            "order_id": placed["id"],
            "token": placed["token"],
            "payout_id": one(Payout),
            "adjustment_id": one(Adjustment),
            "review_id": one(MonthReview),
            "user_id": db.session.scalars(sa.select(User.id).where(User.username == "officer")).one(),
            "counter_id": db.session.scalars(sa.select(Counter.id).where(Counter.code == "BL-01")).one(),
            "town_id": db.session.scalars(sa.select(Town.id).where(Town.name_zh == "临城镇")).one(),
            "month": this_month(),
            "year": this_month()[:4],
            "code": "en",
            "upload": kept.headers["Location"].rstrip("/").rsplit("/", 1)[1],
        }
        digest = month_statement(db.session.get(Household, wang), parse_month(this_month())).digest
        link = db.session.scalars(sa.select(HouseholdLink)).one()
        disputes.raise_dispute(link, values["payout_id"], "没收到")
        own_seq = db.session.scalar(sa.select(sa.func.min(LedgerEntry.seq)).where(LedgerEntry.household_id == wang))
        # A signed checkpoint, so that the published checkpoint, key and proofs have something to show.
        app.config["LEDGER_SIGNING_KEYS"] = ["44" * 32]
        signed = checkpoints.take_checkpoint().seq
        named = {
            "catalog.trace": {"token": db.session.get(Lot, lot).trace_token},
            "catalog.product_picture": {"name": db.session.get(Product, shrimp).image},
            "checkout.pay": {"token": by_stripe["token"]},
            "verify.statement": {"digest": digest},
            "household_page.page": {"token": own_token},
            "household_page.proof": {"token": own_token, "seq": own_seq},
            "transparency.proof": {"seq": own_seq},
            "transparency.consistency": {"old": signed, "new": signed},
        }
        db.session.remove()
    return {"*": values, **named}


def signed_in(app, username: str) -> Api:
    api = Api(app.test_client())
    assert api.login(username).status_code == 200
    return api


def stripe_order(product_id: int) -> dict:
    return {
        "lines": [{"product_id": product_id, "quantity": 250}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "stripe",
    }


@contextmanager
def stripe_stood_in_for(app):
    """shop.selling.payments answering as if Stripe were configured, as tests/browser/test_checkout.py does."""
    from shop.selling import payments

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(payments, "configured", lambda: True)
        patch.setattr(payments, "publishable_key", lambda: "pk_test_fake")
        patch.setattr(payments, "start_payment", lambda order_id: ("pi_fake", "pi_fake_secret_1"))
        yield


def not_a_page(endpoint: str) -> str | None:
    """What a route answers instead of a page, if it is listed as not one."""
    blueprint = endpoint.split(".", 1)[0]
    return NOT_PAGES.get(endpoint) or NOT_PAGE_BLUEPRINTS.get(blueprint)


def page_routes(app) -> list:
    """Every GET route that is not listed as answering something else, in a fixed order."""
    found = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static" and not not_a_page(rule.endpoint)
    ]
    return sorted(found, key=lambda rule: rule.rule)


def visitors(app, rule) -> list[str]:
    """Who opens the page: a stranger for a public page, else one account of each role allowed."""
    roles = app.view_functions[rule.endpoint].allowed_roles
    if roles == PUBLIC:
        return ["anonymous"]
    return [username for role, username in ACCOUNTS.items() if role in roles]


def address(rule, world) -> str:
    values = {**world["*"], **world.get(rule.endpoint, {})}
    missing = sorted(rule.arguments - values.keys())
    assert not missing, f"{rule.endpoint}: no value for {missing} in build_world"
    _, path = rule.build({name: values[name] for name in rule.arguments})
    return path


@dataclass
class Visit:
    """One page opened by one visitor: what axe found and what the first load weighed."""

    who: str
    endpoint: str
    path: str
    landed: str = ""
    status: int = 0
    faults: list[str] = field(default_factory=list)
    small_targets: list[str] = field(default_factory=list)
    lesser: list[str] = field(default_factory=list)
    sent: int = 0
    unpacked: int = 0
    requests: int = 0


def profile(browser, server: str, who: str) -> dict | None:
    """The cookies of a visitor: a stranger with something in the cart, or an account signed in."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", service_workers="block")
    page = context.new_page()
    page.set_default_timeout(15_000)
    if who == "anonymous":
        page.goto(f"{server}/")
        page.click(".card a")
        page.fill("#qty-cart", "250")
        page.select_option(".add-to-cart select[name=unit]", "g")
        page.click(".add-to-cart button[type=submit]")
        page.wait_for_url("**/cart")
    else:
        page.goto(f"{server}/login")
        page.fill("input[name=username]", who)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/.*"))
    state = context.storage_state()
    context.close()
    return state


def faults_of(results: dict, width: int) -> tuple[list[str], list[str]]:
    """axe's violations as lines naming the rule, its impact and the first elements; serious ones first."""
    serious, lesser = [], []
    for violation in results["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        line = f"{violation['id']} ({violation['impact']}, {width} px): {violation['help']} at {targets}"
        (serious if violation["impact"] in FAILING_IMPACTS else lesser).append(line)
    return serious, lesser


def open_page(browser, server: str, state, visit: Visit, axe: str, look=None) -> None:
    """Open the page in a fresh profile at phone width: weigh its first load, run axe there and at 1280 px."""
    # Chromium offers brotli to 127.0.0.1, but a tablet on the counter's network over plain HTTP offers gzip at best.
    plain_http = {"Accept-Encoding": "gzip, deflate"}
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", service_workers="block", storage_state=state, extra_http_headers=plain_http
    )
    context.add_cookies([{"name": "lang", "value": "zh_CN", "url": server}])
    context.route("https://js.stripe.com/**", lambda route: route.fulfill(body=FAKE_STRIPE_JS))
    page = context.new_page()
    page.set_default_timeout(15_000)
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    visit.status = page.goto(server + visit.path).status
    page.wait_for_load_state("networkidle")
    visit.landed = urlparse(page.url).path
    for request in finished:
        if not request.url.startswith(server):
            continue  # Stripe.js, stood in for here, is Stripe's weight
        sizes = request.sizes()
        visit.sent += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        visit.unpacked += len(request.response().body()) + sizes["responseHeadersSize"]
        visit.requests += 1
    visit.small_targets = page.evaluate(SMALL_TARGETS, SMALLEST_TARGET)
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        if look:
            look(page, visit, viewport)
        page.evaluate(axe)
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious, lesser = faults_of(results, viewport["width"])
        visit.faults += [f for f in serious if f not in visit.faults]
        visit.lesser += [f for f in lesser if f not in visit.lesser]
    context.close()


@dataclass
class Walk:
    """Every page's visits, and what each route listed as not a page answered the manager."""

    visits: list[Visit]
    not_pages: dict[str, tuple[int, str]]


def walk(browser, server: str, app, look=None) -> Walk:
    """Build the world, open every page as each of its visitors and ask for each listed non-page."""
    axe = axe_script()
    with stripe_stood_in_for(app):
        world = build_world(app)
        states = {}
        visits = []
        for rule in page_routes(app):
            path = address(rule, world)
            for who in visitors(app, rule):
                if who not in states:
                    states[who] = profile(browser, server, who)
                visit = Visit(who, rule.endpoint, path)
                open_page(browser, server, states[who], visit, axe, look)
                visits.append(visit)
        manager = signed_in(app, "admin").client
        answers = {}
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint in NOT_PAGES:
                response = manager.get(address(rule, world))
                answers[rule.endpoint] = (response.status_code, response.mimetype)
                response.close()
    return Walk(visits, answers)


@pytest.fixture(scope="module")
def walked(browser, live_app, server) -> Walk:
    walked = walk(browser, server, live_app)
    print("\npage weights at 360 px (first load; sent / uncompressed; requests):")
    for v in walked.visits:
        print(f"  {v.sent / 1024:6.1f} KB {v.unpacked / 1024:6.1f} KB {v.requests:3d}  {v.who:9} {v.path}")
    lesser = sorted({f"{fault.split(' at ')[0]}: {v.endpoint}" for v in walked.visits for fault in v.lesser})
    print("moderate and minor findings (not failed):", *lesser, sep="\n  ")
    return walked


@pytest.fixture
def visits(walked) -> list[Visit]:
    return walked.visits


def test_every_get_route_is_a_page_visited_or_listed_as_not_a_page(live_app, visits):
    visited = {visit.endpoint for visit in visits}
    unchecked = [
        f"{rule.endpoint} ({rule.rule}): visit it, or list it in NOT_PAGES"
        for rule in live_app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static"
        if rule.endpoint not in visited and not not_a_page(rule.endpoint)
    ]
    assert not unchecked, "\n".join(unchecked)
    # Each page was seen itself, not a sign-in page or another page it redirected to.
    wrong = [f"{v.who} {v.path} landed on {v.landed}" for v in visits if v.landed != urlparse(v.path).path]
    assert not wrong, "\n".join(wrong)
    failing = [f"{v.who} {v.path} answered {v.status}" for v in visits if v.status != 200]
    assert not failing, "\n".join(failing)


def test_what_is_listed_as_not_a_page_answers_no_page(walked):
    # The list cannot hide a page: each listed route exists and answers its reader something other than HTML.
    assert set(walked.not_pages) == set(NOT_PAGES)
    # A redirect's short body is HTML too: it is the 200 that would be a page.
    pages = {
        name: (status, kind)
        for name, (status, kind) in walked.not_pages.items()
        if status != 302 and (status >= 400 or kind == "text/html")
    }
    assert not pages, pages


def test_axe_finds_no_serious_fault_on_any_page(visits):
    faults = [f"{v.who} {v.path}: {fault}" for v in visits for fault in v.faults]
    assert not faults, "\n".join(faults)


def test_every_page_weighs_at_most_the_budget_on_its_first_load(visits):
    heavy = [f"{v.who} {v.path}: {v.sent / 1024:.1f} KB" for v in visits if v.sent > PAGE_BUDGET]
    assert not heavy, "\n".join(heavy)
    bare = [f"{v.who} {v.path}: {v.requests} request(s)" for v in visits if v.requests < 2]
    assert not bare, "every page loads at least itself and a stylesheet:\n" + "\n".join(bare)


def test_every_link_and_control_standing_alone_is_a_target_a_finger_can_hit(visits):
    small = [f"{v.who} {v.path}: {target}" for v in visits for target in v.small_targets]
    assert not small, "\n".join(small)
