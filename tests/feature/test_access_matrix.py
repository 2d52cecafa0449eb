"""Every route, asked by every role, answers as its `allowed_roles` says: the role gate, route by route.

The routes come from the app's URL map, not from a list here, so a route added tomorrow is
checked too; one that declares no `allowed_roles`, or takes an argument the matrix cannot fill,
fails with its endpoint named. Each route is asked with real objects (a lot, a sale and its
refund, an order, a payout, a correction, a disputed month…) visible to the account asking, and
with its first method (GET when it has one; a write goes with a valid CSRF token and an empty
body, since the point is who gets past the gate, not what the body says).
"""

import io
import json
import re
from datetime import timedelta
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
from shop.web.access import PUBLIC
from shop.worklog import incomes, proposals
from tests.conftest import WANG, Api
from tests.feature.hostile_corpus import picture

#: Who asks: the account of each role (None is a stranger) and the role its answers are judged by.
ACCOUNTS = {
    "anonymous": ("anonymous", None),
    "clerk": (Role.CLERK, "clerk"),
    "officer": (Role.OFFICER, "officer"),
    "supervisor": (Role.SUPERVISOR, "county"),
    "admin": (Role.ADMIN, "admin"),
    "inspector": (Role.INSPECTOR, "inspector"),
    # Another officer, whose role passes the gate but who may not see the officer's household.
    "officer2": (Role.OFFICER, "officer2"),
}

#: The arguments naming objects an account may not see: there the scoping answer is 404, never the object.
OUT_OF_SCOPE = {"officer2": {"household_id", "measure_id", "proposal_id", "visit_id", "income_id"}}

REDIRECTS = {301, 302, 303, 307, 308}


def this_month() -> str:
    return f"{business_today():%Y-%m}"


def send(user: Api, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token, **fields})


def created(user: Api, url: str, body: dict) -> dict:
    response = user.post(url, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sell_and_refund(clerk: Api, product_id: int, household_id: int) -> tuple[int, dict, dict]:
    """A lot of 2 kg received, 500 g of it sold and 100 g refunded; the lot's id, the sale and the refund."""
    lot = {"product_id": product_id, "household_id": household_id, "quantity": 2000, "mode": "consignment"}
    lot["best_before"] = (business_today() + timedelta(days=90)).isoformat()
    lot_id = created(clerk, "/api/lots", lot)["id"]
    lines = [{"product_id": product_id, "quantity": 500}]
    body = {"idempotency_key": "matrix-0001", "payment_method": "cash", "lines": lines}
    sale = created(clerk, "/api/counter/sales", body)
    back = {
        "idempotency_key": "matrix-refund-1",
        "lines": [{"line_id": sale["lines"][0]["id"], "quantity": 100}],
        "restock": True,
    }
    return lot_id, sale, created(clerk, f"/api/counter/sales/{sale['id']}/refunds", back)


def order(app, product_id: int) -> dict:
    """An online order of 250 g to pay at pickup, placed by a stranger."""
    body = {
        "lines": [{"product_id": product_id, "quantity": 250}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    return created(Api(app.test_client()), "/api/orders", body)


def pay_correct_and_dispute(admin: Api, officer: Api, household_id: int) -> None:
    """A payout of ¥1, a correction waiting for approval and this month disputed by the officer."""
    payout = {"amount": "1", "method": "cash", "reference": "", "note": ""}
    assert send(admin, f"/admin/households/{household_id}/payouts/new", **payout).status_code == 302
    today = business_today().isoformat()
    correction = {"direction": "add", "amount": "1", "entry_date": today, "reason": "Rung up under another lot."}
    assert send(officer, f"/admin/households/{household_id}/adjustments", **correction).status_code == 302
    month_url = f"/admin/review/households/{household_id}/{this_month()}"
    html = officer.client.get(month_url).get_data(as_text=True)
    digest = re.search(r'name="digest" value="([0-9a-f]*)"', html).group(1)
    review = {"outcome": "disputed", "note": "Short by one jin", "digest": digest}
    assert send(officer, month_url, **review).status_code == 302


def declared(app, household_id: int) -> int:
    """A month's wages declared for the household by its officer (the work ledger has no API for it)."""
    with app.test_request_context():
        officer = db.session.scalars(sa.select(User).where(User.username == "officer")).one()
        today = business_today()
        line = incomes.IncomeLine("wages", 150000, today - timedelta(days=30), today, "工资条")
        return incomes.declare_income(household_id, [line], by=officer)[0].id


@pytest.fixture
def objects(app, goods, as_role) -> dict[str, dict[str, object]]:
    """One of each thing a route can name, visible to `officer`, `clerk`, `county` and `admin`; {argument: value}."""
    admin, clerk, officer = as_role("admin"), as_role("clerk"), as_role("officer")
    # The officer's household, with a phone number so that the manager's full view of it has one to show.
    wang = created(admin, "/api/households", {**WANG, "code": "DB002", "phone": "13812345678"})["id"]
    lot, sale, refund = sell_and_refund(clerk, goods["shrimp"], wang)
    placed = order(app, goods["shrimp"])
    pay_correct_and_dispute(admin, officer, wang)
    photo = {"csrf_token": admin.token, "image": (io.BytesIO(picture()), "photo.jpg", "image/jpeg")}
    assert admin.client.post(f"/admin/products/{goods['shrimp']}/picture", data=photo).status_code == 302
    # A roster kept for its preview (another household, so the confirmation has something to add).
    roster = "户编号,户主姓名,乡镇,村,家庭人口,户类别,帮扶责任人\nDB900,黎明,临城镇,大波村,3,脱贫户,officer\n"
    sent = {"csrf_token": admin.token, "roster": (io.BytesIO(roster.encode()), "roster.csv", "text/csv")}
    kept = admin.client.post("/admin/households/import/", data=sent, content_type="multipart/form-data")
    assert kept.status_code == 302, kept.get_data(as_text=True)[:300]
    # The officer's work ledger: a measure of the plan.
    measure = {"kind": "industry", "title": "通过专柜销售虾干", "due_on": f"{business_today() + timedelta(days=30)}"}
    measure_id = created(officer, f"/api/households/{wang}/measures", measure)["id"]
    # A visit and a declared figure, which the work ledger's page corrects.
    visit = {"visited_on": f"{business_today()}", "kind": "home", "findings": "家中生产正常", "risk_found": False}
    visit_id = created(officer, f"/api/households/{wang}/visits", visit)["id"]
    income_id = declared(app, wang)
    own_token = created(admin, f"/api/households/{wang}/link", {})["url"].rsplit("/", 1)[1]
    with app.app_context():
        # A risk-elimination proposal, written directly: meeting its criteria takes six months of history.
        officer_id = db.session.scalars(sa.select(User.id).where(User.username == "officer")).one()
        evidence = proposals.gather(db.session.get(Household, wang), business_today()).evidence
        db.session.add(RiskProposal(household_id=wang, evidence=json.dumps(evidence), proposed_by_id=officer_id))
        db.session.commit()
        one = lambda model: db.session.scalars(sa.select(model.id)).one()  # noqa: E731
        values = {
            "household_id": wang,
            "product_id": goods["shrimp"],
            "lot_id": lot,
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
            "year": f"{business_today():%Y}",
            "code": "en",
            "upload": kept.headers["Location"].rstrip("/").rsplit("/", 1)[1],
            "measure_id": measure_id,
            "proposal_id": one(RiskProposal),
            "visit_id": visit_id,
            "income_id": income_id,
        }
        # The household's own page: DB002's link, and a dispute of its payout raised from it.
        link = db.session.scalars(sa.select(HouseholdLink)).one()
        dispute_id = disputes.raise_dispute(link, values["payout_id"], "")[0].id
        values["dispute_id"] = dispute_id
        own_page = {"token": own_token}
        own_seq = db.session.scalar(
            sa.select(sa.func.min(LedgerEntry.seq)).where(LedgerEntry.household_id == link.household_id)
        )
        # Issuing and revoking links work on DB001, so that DB002's page stays open for the routes after them.
        links = {"household_id": goods["wang"]}
        trace = {"token": db.session.get(Lot, lot).trace_token}
        photo_name = {"name": db.session.get(Product, goods["shrimp"]).image}
        digest = month_statement(db.session.get(Household, wang), parse_month(this_month())).digest
        # A signed checkpoint of the ledger, for its proofs.
        app.config["LEDGER_SIGNING_KEYS"] = ["33" * 32]
        ledger_checkpoint = checkpoints.take_checkpoint().seq
    return {
        "*": values,
        "catalog.trace": trace,
        "catalog.product_picture": photo_name,
        "verify.statement": {"digest": digest},
        "transparency.proof": {"seq": 1},
        "transparency.consistency": {"old": ledger_checkpoint, "new": ledger_checkpoint},
        "household_page.page": own_page,
        "household_page.dispute": own_page,
        "household_page.proof": own_page | {"seq": own_seq},
        "admin_households.issue_link": links,
        "admin_households.revoke_link": links,
        "admin_households.link_qr": links,
        "admin_households.link_card": links,
        "api.issue_household_link": links,
        "api.revoke_household_link": links,
    }


def rules(app):
    """Every route but static files, in a fixed order."""
    found = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    return sorted(found, key=lambda rule: (rule.rule, rule.endpoint))


def url_for_rule(rule, objects) -> tuple[str | None, str | None]:
    """The rule's address filled with real objects, or why it cannot be."""
    values = {**objects["*"], **objects.get(rule.endpoint, {})}
    missing = sorted(rule.arguments - values.keys())
    if missing:
        return None, f"no object for argument(s) {missing}: add one to the `objects` fixture"
    _, path = rule.build({name: values[name] for name in rule.arguments})
    return path, None


def method_of(rule) -> str:
    """GET when the route has it, else its first other method."""
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    return "GET" if "GET" in methods else methods[0]


def ask(user: Api, method: str, url: str):
    """Call the route as its client would: JSON with the CSRF header for the API, a form with the token for pages."""
    if method == "GET":
        return user.client.get(url)
    # A fresh token each time: an earlier route (DELETE /api/session) may have ended the session.
    token = user.refresh_token()
    headers = {"X-CSRFToken": token}
    if url.startswith("/api/"):
        return user.client.open(url, method=method, json={}, headers=headers)
    return user.client.open(url, method=method, data={"csrf_token": token}, headers=headers)


def expected(view, role, account: str, rule) -> str:
    """What the answer must be: 'pass', 'login', '401', '403' or '404'."""
    if role not in view.allowed_roles:
        if role == "anonymous":
            return "401" if rule.rule.startswith("/api/") else "login"
        return "403"
    if view.allowed_roles != PUBLIC and rule.arguments & OUT_OF_SCOPE.get(account, set()):
        return "404"
    return "pass"


def verdict(response, want: str) -> bool:
    """Whether the answer is the one wanted."""
    status = response.status_code
    to_login = status in REDIRECTS and urlparse(response.headers.get("Location", "")).path == "/login"
    if want == "login":
        return to_login
    if want == "401":
        return status == 401 and response.get_json()["error"]["code"] == "unauthenticated"
    if want in ("403", "404"):
        return status == int(want)
    # Past the gate: refused neither as a stranger nor for the role, not lost, not broken. A 400 is
    # the body's fault (a webhook without Stripe's signature), unless the CSRF token was refused.
    refused_token = status == 400 and (b"csrf_failed" in response.data or b"The form expired" in response.data)
    return status not in (401, 403, 404) and status < 500 and not to_login and not refused_token


def still_signed_in(user: Api) -> bool:
    with user.client.session_transaction() as session:
        return "_user_id" in session


@pytest.mark.parametrize("account", list(ACCOUNTS))
def test_every_route_answers_each_role_as_its_allowed_roles_say(app, objects, account):
    role, username = ACCOUNTS[account]
    user = Api(app.test_client())
    user.client.get("/lang/en")  # pages in English, so that a refused CSRF token can be recognised
    if username:
        assert user.login(username).status_code == 200
    mismatches = []
    for rule in rules(app):
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "allowed_roles"):
            mismatches.append(f"{rule.endpoint} ({rule.rule}): declares no allowed_roles")
            continue
        url, why = url_for_rule(rule, objects)
        if url is None:
            mismatches.append(f"{rule.endpoint} ({rule.rule}): {why}")
            continue
        method, want = method_of(rule), expected(view, role, account, rule)
        try:
            response = ask(user, method, url)
        except Exception as error:  # a crash is a mismatch too, named with its route
            mismatches.append(f"{rule.endpoint}: {method} {url} as {account} raised {error!r}")
            continue
        if not verdict(response, want):
            where = response.headers.get("Location", "")
            mismatches.append(
                f"{rule.endpoint}: {method} {url} as {account} answered {response.status_code} {where}, wanted {want}"
            )
        if username and not still_signed_in(user):
            # Signing out (DELETE /api/session, POST /logout) is a pass; sign in again for the next route.
            user.token = None  # the session, and its CSRF token, went with the sign-out
            assert user.login(username).status_code == 200
    assert not mismatches, "\n".join(mismatches)


def test_strangers_are_let_in_only_where_everyone_is(app):
    # The matrix's premise: every role is one of the five, and "anonymous" appears only in PUBLIC.
    assert {role for role, _ in ACCOUNTS.values()} == {"anonymous", *Role}
    for rule in rules(app):
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", PUBLIC)
        assert roles == PUBLIC or "anonymous" not in roles, rule.endpoint
