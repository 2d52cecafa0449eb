"""Hostile input at every write: each is refused with a 4xx (never a 5xx), changes nothing, and echoes nothing raw.

The write routes are found by walking the app's URL map, so a new POST, PUT, PATCH or
DELETE route fails `test_every_write_route_has_hostile_input_coverage` until COVERAGE
says how to attack it. Each route is attacked signed in as a role it admits, so the
corpus reaches the validation and not just the role gate; the public routes are
attacked anonymously.
"""

import hashlib
import hmac
import io
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import (
    Adjustment,
    Counter,
    Household,
    MonthReview,
    Order,
    PayoutMethod,
    RiskProposal,
    RiskStep,
    SaleLine,
    Town,
    User,
)
from shop.oversight import disputes, household_pages, payouts
from shop.worklog import incomes, proposals
from tests.factories import receive

from ..conftest import PASSWORD
from . import hostile_corpus as hc

WEBHOOK_SECRET = "whsec_hostile_test"
#: A product photo's size limit in this test, so an oversized upload is quick to send.
PHOTO_LIMIT = 256 * 1024
#: A roster's size limit in this test, likewise.
ROSTER_LIMIT = 256 * 1024
#: A good roster row for the scene's world (a new household of the officer's).
ROSTER_ROW = "NEW900,陈明,临城镇,大波村,3,监测户,边缘易致贫户,officer,13712345678"
READ_ONLY = {"GET", "HEAD", "OPTIONS"}
#: A failed sign-in may be written to the audit trail and count against the account.
SIGN_IN_TABLES = {"audit_event", "app_user"}


@pytest.fixture
def config_overrides() -> dict:
    """The webhook gets a secret, so hostile events reach the signature check and past it; photos a small limit."""
    return {
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PRODUCT_IMAGE_MAX_BYTES": PHOTO_LIMIT,
        "ROSTER_UPLOAD_MAX_BYTES": ROSTER_LIMIT,
    }


# ---------------------------------------------------------------- the scene every route is attacked in


def in_days(days: int) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


def send_form(user, url: str, **fields):
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def one(app, query):
    with app.app_context():
        return db.session.scalar(query)


#: What each part of the scene provides, so a route's test builds only what it names.
PARTS = {
    "lot": ("lot",),
    "sale": ("sale", "line"),
    "orders": ("order", "order_number", "token", "paid_order", "paid_line"),
    "adjustment": ("adjustment",),
    "review": ("review", "month", "digest"),
    "user": ("user",),
    "places": ("counter", "town"),
    "upload": ("upload",),
    "measure": ("measure",),
    "proposal": ("proposal",),
    "visit": ("visit",),
    "income": ("income",),
    "own_page": ("own_token", "wang_payout", "payout_dispute"),
}


def build_scene(app, goods, as_role, api, needs: set[str]) -> dict:
    """The rows a route's attack needs: a lot, a till sale, pickup orders, a pending correction, a dispute."""
    scene = {**goods, "soon": in_days(60), "today": business_today().isoformat(), "month": f"{business_today():%Y-%m}"}
    scene["month_ago"] = in_days(-30)
    # The clerk's counter and the other one, which stock may be moved to and the manager may sell at.
    scene["counter1"] = one(app, sa.select(Counter.id).where(Counter.code == "LC-JN"))
    scene["counter2"] = one(app, sa.select(Counter.id).where(Counter.code == "BL-01"))
    wanted = {part for part, names in PARTS.items() if needs & set(names)}
    clerk = as_role("clerk")
    if wanted & {"lot", "sale", "orders"}:
        scene["lot"] = receive(clerk, goods["shrimp"], goods["wang"], 20_000)
    if "sale" in wanted:
        sale = {"idempotency_key": "hostile-sale-1", "payment_method": "cash", "lines": [{**LINE, "quantity": 1000}]}
        sold = clerk.post("/api/counter/sales", json=fill(sale, scene)).get_json()
        scene.update(sale=sold["id"], line=sold["lines"][0]["id"])
    if "orders" in wanted:
        scene.update(pickup_orders(app, as_role("admin"), api, scene))
    if "adjustment" in wanted:
        officer = as_role("officer")
        fields = {"direction": "add", "amount": "1", "entry_date": scene["today"], "reason": "missed"}
        assert send_form(officer, f"/admin/households/{goods['wang']}/adjustments", **fields).status_code == 302
        scene["adjustment"] = one(app, sa.select(sa.func.max(Adjustment.id)))
    if wanted & {"review"}:
        scene.update(dispute(app, as_role("officer"), goods["wang"], scene["month"]))
    if "user" in wanted:
        scene["user"] = one(app, sa.select(User.id).where(User.username == "clerk2"))
    if "places" in wanted:
        scene["counter"] = one(app, sa.select(Counter.id).where(Counter.code == "BL-01"))
        scene["town"] = one(app, sa.select(Town.id).where(Town.name_zh == "临城镇"))
    if "upload" in wanted:
        scene["upload"] = kept_roster(as_role("admin"))
    if "measure" in wanted:
        body = {"kind": "industry", "title": "通过专柜销售虾干", "due_on": in_days(30)}
        added = as_role("officer").post(f"/api/households/{goods['wang']}/measures", json=body)
        assert added.status_code == 201, added.get_json()
        scene["measure"] = added.get_json()["id"]
    if "proposal" in wanted:
        scene["proposal"] = agreed_proposal(app, goods["wang"])
    if "visit" in wanted:
        body = {"visited_on": scene["today"], "kind": "home", "findings": "生产正常", "risk_found": False}
        added = as_role("officer").post(f"/api/households/{goods['wang']}/visits", json=body)
        assert added.status_code == 201, added.get_json()
        scene["visit"] = added.get_json()["id"]
    if "income" in wanted:
        with app.test_request_context():
            officer = db.session.scalars(sa.select(User).where(User.username == "officer")).one()
            line = incomes.IncomeLine(
                "wages", 150000, business_today() - timedelta(days=30), business_today(), "工资条"
            )
            scene["income"] = incomes.declare_income(goods["wang"], [line], by=officer)[0].id
    if "own_page" in wanted:
        scene.update(own_page(app, as_role("admin"), clerk, goods))
    return scene


def own_page(app, admin, clerk, goods) -> dict:
    """王's own page: a purchase credited, two payouts, a link, and a dispute of the first payout."""
    receive(clerk, goods["paste"], goods["wang"], 10, mode="purchase", purchase_price_fen=12000)
    url = admin.post(f"/api/households/{goods['wang']}/link", json={}).get_json()["url"]
    with app.test_request_context():
        by = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        paid = [
            payouts.pay_household(payouts.PayoutRequest(goods["wang"], 1000, PayoutMethod.CASH), by).id
            for _ in range(2)
        ]
        link = household_pages.link_by_token(url.rsplit("/", 1)[1])
        dispute_id = disputes.raise_dispute(link, paid[0], "")[0].id
    return {"own_token": url.rsplit("/", 1)[1], "wang_payout": paid[1], "payout_dispute": dispute_id}


def agreed_proposal(app, household_id: int) -> int:
    """A risk-elimination proposal the town agreed to, waiting for the county (written directly: its
    criteria take six months of history)."""
    with app.app_context():
        officer, county = (
            db.session.scalar(sa.select(User.id).where(User.username == u)) for u in ("officer", "county")
        )
        evidence = proposals.gather(db.session.get(Household, household_id), business_today()).evidence
        proposal = RiskProposal(household_id=household_id, evidence=json.dumps(evidence), proposed_by_id=officer)
        db.session.add(proposal)
        db.session.flush()
        db.session.add(RiskStep(proposal_id=proposal.id, step="town_agreed", by_id=county))
        db.session.commit()
        return proposal.id


def kept_roster(admin) -> str:
    """The token of a roster the manager uploaded and has not confirmed yet."""
    sent = {
        "csrf_token": admin.token or admin.refresh_token(),
        "roster": (io.BytesIO(hc.roster_file(ROSTER_ROW)), "r.csv"),
    }
    kept = admin.client.post("/admin/households/import/", data=sent, content_type="multipart/form-data")
    assert kept.status_code == 302, kept.get_data(as_text=True)[:500]
    return kept.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def pickup_orders(app, admin, api, scene: dict) -> dict:
    """Two pay-at-pickup orders, the second paid at the counter."""
    placed = []
    for _ in range(2):
        body = {**fill(ORDER, scene), "contact": {"name": "李四", "phone": "13812345678"}}
        response = api.post("/api/orders", json=body)
        assert response.status_code == 201, response.get_json()
        placed.append(response.get_json())
    paid = send_form(admin, f"/admin/orders/{placed[1]['id']}/collect", method="cash", tendered="")
    assert paid.status_code == 302, paid.get_data(as_text=True)[:500]
    sale_id = one(app, sa.select(Order.sale_id).where(Order.id == placed[1]["id"]))
    return {
        "order": placed[0]["id"],
        "order_number": placed[0]["number"],
        "token": placed[0]["token"],
        "paid_order": placed[1]["id"],
        "paid_line": one(app, sa.select(SaleLine.id).where(SaleLine.sale_id == sale_id)),
    }


def dispute(app, officer, household_id: int, month: str) -> dict:
    """The officer disputes the household's month; the review and the digest it was made against."""
    url = f"/admin/review/households/{household_id}/{month}"
    digest = re.search(r'name="digest" value="([0-9a-f]*)"', officer.get(url).get_data(as_text=True))[1]
    assert send_form(officer, url, outcome="disputed", note="wrong", digest=digest).status_code == 302
    return {"review": one(app, sa.select(sa.func.max(MonthReview.id))), "digest": digest}


# ---------------------------------------------------------------- how each write route is attacked


@dataclass(frozen=True)
class Route:
    """How to attack one write route: who, where, a baseline request, and the fields to spoil."""

    role: str | None
    url: str  # formatted with the scene
    body: dict = field(default_factory=dict)  # formatted with the scene where a value is a str
    fields: dict = field(default_factory=dict)
    kind: str = "json"  # "json", "form", "upload" (a form with a file) or "webhook"
    #: The file field of an upload, and what the corpus sends it: "photo" or "roster".
    upload_field: str = "image"
    corpus: str = "photo"
    method: str = "POST"
    cart: bool = False  # the anonymous buyer has shrimp in the cart first
    ids: tuple = ()  # the URL's parameters that are row ids or tokens, attacked through the path
    tables_may_change: frozenset = frozenset()
    #: A row id that names nothing sends the buyer back to the cart instead of a 404 (nothing changes).
    unknown_id_redirects: bool = False


def fill(value, scene: dict):
    """A baseline value with {scene} placeholders filled in, recursively."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        return scene[whole[1]] if whole else value.format(**scene)
    if isinstance(value, dict):
        return {fill(k, scene): fill(v, scene) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, scene) for v in value]
    return value


NEW_PRODUCT = {"sku": "LG-NEW", "name": "鱿鱼干", "unit": "g", "price_fen": 9000, "price_per": 500}
NEW_HOUSEHOLD = {
    "code": "NEW001",
    "head_name": "陈",
    "town": "临城镇",
    "village": "大波村",
    "members": 3,
    "category": "jiance",
    "officer": "officer",
}
LINE = {"product_id": "{shrimp}", "quantity": 100}
ORDER = {
    "lines": [LINE],
    "contact": {"name": "张三", "phone": "13912345678"},
    "fulfilment": "pickup",
    "address": "",
    "payment": "pay_at_pickup",
}
PRODUCT_FORM = {
    "name_zh": "虾干",
    "name_en": "",
    "category": "seafood",
    "price": "68",
    "per": "500",
    "description_zh": "",
    "description_en": "",
    "cert_no": "",
    "cert_issuer": "",
    "cert_expires_on": "",
    "active": "y",
}
PRODUCT_FIELDS = {
    "name_zh": "text_req",
    "name_en": "text",
    "category": "choice",
    "price": "money",
    "per": "choice",
    "description_zh": "text",
    "cert_no": "text",
    "cert_expires_on": "date_opt",
}
REFUND_FORM = {"qty-{line}": "", "unit-{line}": "g", "restock": "yes", "note": ""}

COVERAGE: dict[str, Route] = {
    "api.post_session": Route(
        None,
        "/api/session",
        {"username": "nobody", "password": "wrong"},
        {("username",): ("text", True), ("password",): ("text", True)},
        tables_may_change=frozenset(SIGN_IN_TABLES),
    ),
    "api.delete_session": Route("clerk", "/api/session", method="DELETE"),
    "api.create_product": Route(
        "admin",
        "/api/products",
        {**NEW_PRODUCT, "description_zh": "", "cert_expires_on": None},
        {
            ("sku",): ("text", True),
            ("name",): ("text", True),
            ("unit",): ("choice", True),
            ("price_fen",): ("int", True),
            ("price_per",): ("int", True),
            ("description_zh",): ("text", False),
            ("cert_expires_on",): ("date", False),
        },
    ),
    "api.edit_product": Route(
        "admin",
        "/api/products/{shrimp}",
        {"name": "虾干", "price_fen": 7000, "price_per": 500, "active": True},
        {
            ("name",): ("text", False),
            ("price_fen",): ("int", False),
            ("price_per",): ("int", False),
            ("active",): ("bool", False),
        },
        method="PATCH",
        ids=("shrimp",),
    ),
    "api.create_household": Route(
        "admin",
        "/api/households",
        {**NEW_HOUSEHOLD, "phone": "13712345678"},
        {
            ("code",): ("text", True),
            ("head_name",): ("text", True),
            ("town",): ("text", True),
            ("members",): ("int", True),
            ("category",): ("choice", True),
            ("officer",): ("text", True),
            ("phone",): ("code", False),
        },
    ),
    "api.edit_household": Route(
        "admin",
        "/api/households/{wang}",
        {"members": 5, "phone": "13712345678", "village": "大波村", "officer": "officer", "reason": "moved"},
        {
            ("members",): ("int", False),
            ("phone",): ("code", False),
            ("village",): ("text", False),
            ("officer",): ("text", False),
            ("reason",): ("text", False),
        },
        method="PATCH",
        ids=("wang",),
    ),
    "worklog_api.add_measure": Route(
        "officer",
        "/api/households/{wang}/measures",
        {"kind": "employment", "title": "推荐务工", "due_on": "{soon}", "sells_through_counter": False},
        {
            ("kind",): ("choice", True),
            ("title",): ("text", True),
            ("due_on",): ("date", True),
            ("sells_through_counter",): ("bool", False),
        },
        ids=("wang",),
    ),
    "worklog_api.tick_off": Route(
        "officer",
        "/api/measures/{measure}/done",
        {"done_on": "{today}", "evidence": "已签合同"},
        {("done_on",): ("date", True), ("evidence",): ("text", True)},
        ids=("measure",),
    ),
    "worklog_api.record_visit": Route(
        "officer",
        "/api/households/{wang}/visits",
        {
            "visited_on": "{today}",
            "kind": "home",
            "findings": "生产正常",
            "risk_found": False,
            "client_key": "hostile-visit-1",
            "device_recorded_at": "2026-12-01T09:30:00+08:00",
            "income": [
                {
                    "source": "wages",
                    "amount_fen": 120000,
                    "period_start": "{today}",
                    "period_end": "{today}",
                    "how_checked": "工资条",
                }
            ],
        },
        {
            ("visited_on",): ("date", True),
            ("kind",): ("choice", True),
            ("findings",): ("text", True),
            ("risk_found",): ("bool", True),
            ("client_key",): ("code", False),
            ("device_recorded_at",): ("date", False),
            # The income list itself may be empty ([] is no visit without income): its lines are attacked.
            ("income", 0, "source"): ("choice", True),
            ("income", 0, "amount_fen"): ("int", True),
            ("income", 0, "period_start"): ("date", True),
            ("income", 0, "period_end"): ("date", True),
            ("income", 0, "how_checked"): ("text", True),
        },
        ids=("wang",),
    ),
    "api.record_household_status": Route(
        "admin",
        "/api/households/{wang}/status",
        {"category": "jiance", "monitoring_status": "risk_eliminated", "effective_on": "{today}", "reason": "met"},
        {
            ("category",): ("choice", True),
            ("monitoring_status",): ("choice", False),
            ("effective_on",): ("date", True),
            ("reason",): ("text", True),
        },
        ids=("wang",),
    ),
    "api.receive_lot": Route(
        "clerk",
        "/api/lots",
        {
            "product_id": "{shrimp}",
            "household_id": "{wang}",
            "quantity": 1000,
            "best_before": "{soon}",
            "mode": "consignment",
            "share_bp": 9000,
        },
        {
            ("product_id",): ("id", True),
            ("household_id",): ("id", True),
            ("quantity",): ("int", True),
            ("best_before",): ("date", True),
            ("mode",): ("choice", True),
            ("share_bp",): ("int", False),
        },
    ),
    "api.write_off": Route(
        "clerk",
        "/api/lots/{lot}/write-offs",
        {"quantity": 10, "reason": "spoiled", "note": ""},
        {("quantity",): ("int", True), ("reason",): ("choice", True), ("note",): ("text", False)},
        ids=("lot",),
    ),
    "api.return_goods": Route(
        "clerk",
        "/api/lots/{lot}/returns",
        {"quantity": 10, "note": ""},
        {("quantity",): ("int", True), ("note",): ("text", False)},
        ids=("lot",),
    ),
    "api.transfer_stock": Route(
        "clerk",
        "/api/lots/{lot}/transfers",
        {"to_counter_id": "{counter2}", "quantity": 10, "note": ""},
        {("to_counter_id",): ("id", True), ("quantity",): ("int", True), ("note",): ("text", False)},
        ids=("lot",),
    ),
    "api.stocktake": Route(
        "clerk",
        "/api/stocktakes",
        {"counts": [{"lot_id": "{lot}", "counted": 18000, "expected": 18000}], "note": ""},
        {
            ("counts",): ("list", True),
            ("counts", 0, "lot_id"): ("id", True),
            ("counts", 0, "counted"): ("int", True),
            ("counts", 0, "expected"): ("int", False),
            ("note",): ("text", False),
        },
    ),
    "api.record_sale": Route(
        "clerk",
        "/api/counter/sales",
        {
            "idempotency_key": "hostile-sale-2",
            "payment_method": "cash",
            "lines": [LINE],
            "tendered_fen": 5000,
            "counter_id": "{counter1}",
        },
        {
            ("idempotency_key",): ("code", True),
            ("payment_method",): ("choice", True),
            ("lines",): ("list", True),
            ("lines", 0, "product_id"): ("id", True),
            ("lines", 0, "quantity"): ("int", True),
            ("tendered_fen",): ("int", False),
            ("counter_id",): ("id", False),
            ("sold_at",): ("date", False),
        },
    ),
    "api.refund_sale": Route(
        "clerk",
        "/api/counter/sales/{sale}/refunds",
        {
            "idempotency_key": "hostile-refund-1",
            "lines": [{"line_id": "{line}", "quantity": 10}],
            "restock": True,
            "note": "",
        },
        {
            ("idempotency_key",): ("code", True),
            ("lines",): ("list", True),
            ("lines", 0, "line_id"): ("id", True),
            ("lines", 0, "quantity"): ("int", True),
            ("restock",): ("bool", True),
            ("note",): ("text", False),
        },
        ids=("sale",),
    ),
    "api.settle_refused_sale": Route(
        "clerk",
        "/api/counter/refused-sales",
        {
            "idempotency_key": "hostile-refused-1",
            "lines": [LINE],
            "payment_method": "cash",
            "taken_fen": 1360,
            "tendered_fen": 2000,
            "refused_error": "Only 0 g on sale here.",
            "rung_up_at": "2026-01-02T03:04:05.678Z",
            "outcome": "returned",
            "note": "",
            "counter_id": "{counter1}",
        },
        {
            ("idempotency_key",): ("code", True),
            ("lines",): ("list", True),
            ("lines", 0, "product_id"): ("id", True),
            ("lines", 0, "quantity"): ("int", True),
            ("payment_method",): ("choice", True),
            ("taken_fen",): ("int", True),
            ("tendered_fen",): ("int", False),
            ("refused_error",): ("text", True),
            ("rung_up_at",): ("date", True),
            ("outcome",): ("choice", True),
            ("resold_key",): ("code", False),
            ("note",): ("text", False),
            ("counter_id",): ("id", False),
        },
    ),
    "api.place_order": Route(
        None,
        "/api/orders",
        {**ORDER, "counter_id": "{counter1}"},
        {
            ("counter_id",): ("id", False),
            ("lines",): ("list", True),
            ("lines", 0, "quantity"): ("int", True),
            ("contact",): ("object", True),
            ("contact", "name"): ("text", True),
            ("contact", "phone"): ("code", True),
            ("fulfilment",): ("choice", True),
            ("address",): ("text", False),
            ("payment",): ("choice", True),
        },
    ),
    "webhooks.stripe_webhook": Route(None, "/stripe/webhook", kind="webhook"),
    "auth.login": Route(
        None,
        "/login",
        {"username": "nobody", "password": "wrong", "next": ""},
        {"username": "text_req", "password": "text_req", "next": "text"},
        kind="form",
        tables_may_change=frozenset(SIGN_IN_TABLES),
    ),
    "auth.logout": Route("clerk", "/logout", kind="form"),
    "checkout.add_to_cart": Route(
        None,
        "/cart/add/{shrimp}",
        {"quantity": "1", "unit": "jin"},
        {"quantity": "qty", "unit": "choice"},
        kind="form",
        ids=("shrimp",),
    ),
    "checkout.update_line": Route(
        None,
        "/cart/{shrimp}",
        {"quantity": "1", "unit": "jin"},
        {"quantity": "qty", "unit": "choice"},
        kind="form",
        cart=True,
        ids=("shrimp",),
        unknown_id_redirects=True,
    ),
    "checkout.remove_line": Route(
        None, "/cart/{shrimp}/remove", kind="form", cart=True, ids=("shrimp",), unknown_id_redirects=True
    ),
    "checkout.checkout": Route(
        None,
        "/checkout",
        {
            "name": "张三",
            "phone": "13912345678",
            "fulfilment": "pickup",
            "address": "",
            "payment": "pay_at_pickup",
            "counter": "{counter1}",
        },
        {
            "name": "text_req",
            "phone": "phone",
            "fulfilment": "choice",
            "address": "text",
            "payment": "choice",
            "counter": "choice_opt",
        },
        kind="form",
        cart=True,
    ),
    "checkout.cancel": Route(None, "/orders/{token}/cancel", kind="form", ids=("token",)),
    "checkout.lookup": Route(
        None,
        "/orders/lookup",
        {"number": "{order_number}", "phone": "13700000000"},
        {"number": "token", "phone": "phone"},
        kind="form",
    ),
    "admin_counter.refund": Route(
        "clerk",
        "/admin/counter/sales/{sale}/refund",
        {**REFUND_FORM, "qty-{line}": "10"},
        {"qty-{line}": "qty_opt", "unit-{line}": "lenient_choice", "restock": "choice", "note": "text"},
        kind="form",
        ids=("sale",),
    ),
    "admin_stock.receive": Route(
        "clerk",
        "/admin/stock/receive",
        {
            "product": "{shrimp}",
            "household": "{wang}",
            "quantity": "1",
            "unit": "jin",
            "best_before": "{soon}",
            "mode": "consignment",
            "share": "",
            "price": "",
            "household_search": "",
        },
        {
            "product": "id",
            "household": "id",
            "household_search": "text",
            "quantity": "qty",
            "unit": "choice",
            "best_before": "date",
            "mode": "choice",
            "share": "money_opt",
            "price": "money_opt",
        },
        kind="form",
    ),
    "admin_stock.write_off": Route(
        "clerk",
        "/admin/stock/lots/{lot}/write-off",
        {"quantity": "10", "unit": "g", "reason": "spoiled", "note": ""},
        {"quantity": "qty", "unit": "choice", "reason": "choice", "note": "text"},
        kind="form",
        ids=("lot",),
    ),
    "admin_stock.give_back": Route(
        "clerk",
        "/admin/stock/lots/{lot}/return",
        {"quantity": "10", "unit": "g", "note": ""},
        {"quantity": "qty", "unit": "choice", "note": "text"},
        kind="form",
        ids=("lot",),
    ),
    "admin_stock.transfer": Route(
        "clerk",
        "/admin/stock/lots/{lot}/transfer",
        {"transfer-to_counter": "{counter2}", "transfer-quantity": "10", "transfer-unit": "g", "transfer-note": ""},
        {
            "transfer-to_counter": "choice",
            "transfer-quantity": "qty",
            "transfer-unit": "choice",
            "transfer-note": "text",
        },
        kind="form",
        ids=("lot",),
    ),
    "admin_stock.stocktake": Route(
        "clerk",
        "/admin/stock/stocktake",
        {"count_{lot}": "18000", "unit_{lot}": "g", "expected_{lot}": "18000", "note": ""},
        {"count_{lot}": "qty_opt", "unit_{lot}": "choice", "expected_{lot}": "int_opt", "note": "text"},
        kind="form",
    ),
    "admin_orders.advance": Route(
        "admin", "/admin/orders/{order}/advance", {"to": "packed"}, {"to": "choice"}, kind="form", ids=("order",)
    ),
    "admin_orders.cancel": Route("admin", "/admin/orders/{order}/cancel", kind="form", ids=("order",)),
    "admin_orders.refund": Route(
        "admin",
        "/admin/orders/{paid_order}/refund",
        {"qty-{paid_line}": "10", "unit-{paid_line}": "g", "restock": "yes"},
        {"qty-{paid_line}": "qty_opt", "unit-{paid_line}": "lenient_choice", "restock": "choice"},
        kind="form",
        ids=("paid_order",),
    ),
    "admin_orders.take_payment": Route(
        "admin",
        "/admin/orders/{order}/collect",
        {"method": "cash", "tendered": "100"},
        {"method": "choice", "tendered": "money_opt"},
        kind="form",
        ids=("order",),
    ),
    "admin_households.new_payout": Route(
        "admin",
        "/admin/households/{wang}/payouts/new",
        {"amount": "1", "method": "cash", "reference": "", "note": "", "seen_balance": ""},
        {"amount": "money", "method": "choice", "reference": "text", "note": "text", "seen_balance": "int_opt"},
        kind="form",
        ids=("wang",),
    ),
    "admin_worklog.add_measure": Route(
        "officer",
        "/admin/worklog/households/{wang}/measures",
        {"add-kind": "industry", "add-title": "养殖生蚝", "add-due_on": "{soon}", "add-sells_through_counter": "y"},
        {"add-kind": "choice", "add-title": "text_req", "add-due_on": "date"},
        kind="form",
        ids=("wang",),
    ),
    "admin_worklog.tick_off": Route(
        "officer",
        "/admin/worklog/measures/{measure}/done",
        {"done-{measure}-done_on": "{today}", "done-{measure}-evidence": "已签合同"},
        {"done-{measure}-done_on": "date", "done-{measure}-evidence": "text_req"},
        kind="form",
        ids=("measure",),
    ),
    "admin_worklog.correct_measure": Route(
        "officer",
        "/admin/worklog/measures/{measure}/correction",
        {
            "fix-m{measure}-kind": "industry",
            "fix-m{measure}-title": "养殖生蚝",
            "fix-m{measure}-due_on": "{soon}",
            "fix-m{measure}-reason": "数量改了",
        },
        {
            "fix-m{measure}-kind": "choice",
            "fix-m{measure}-title": "text_req",
            "fix-m{measure}-due_on": "date",
            "fix-m{measure}-reason": "text_req",
        },
        kind="form",
        ids=("measure",),
    ),
    "admin_worklog.correct_visit": Route(
        "officer",
        "/admin/worklog/visits/{visit}/correction",
        {
            "fix-v{visit}-visited_on": "{today}",
            "fix-v{visit}-kind": "phone",
            "fix-v{visit}-findings": "户主住院",
            "fix-v{visit}-risk_found": "y",
            "fix-v{visit}-reason": "记错了",
        },
        {
            "fix-v{visit}-visited_on": "date",
            "fix-v{visit}-kind": "choice",
            "fix-v{visit}-findings": "text_req",
            "fix-v{visit}-reason": "text_req",
        },
        kind="form",
        ids=("visit",),
    ),
    "admin_worklog.correct_income": Route(
        "officer",
        "/admin/worklog/incomes/{income}/correction",
        {
            "fix-i{income}-source": "wages",
            "fix-i{income}-amount": "1200.50",
            "fix-i{income}-period_start": "{month_ago}",
            "fix-i{income}-period_end": "{today}",
            "fix-i{income}-how_checked": "银行流水",
            "fix-i{income}-reason": "多算了",
        },
        {
            "fix-i{income}-source": "choice",
            "fix-i{income}-amount": "money",
            "fix-i{income}-period_start": "date",
            "fix-i{income}-period_end": "date",
            "fix-i{income}-how_checked": "text_req",
            "fix-i{income}-reason": "text_req",
        },
        kind="form",
        ids=("income",),
    ),
    "admin_households.propose_adjustment": Route(
        "officer",
        "/admin/households/{wang}/adjustments",
        {"direction": "add", "amount": "1", "entry_date": "{today}", "reason": "missed"},
        {"direction": "choice", "amount": "money", "entry_date": "date", "reason": "text_req"},
        kind="form",
        ids=("wang",),
    ),
    "admin_households.edit_record": Route(
        "admin",
        "/admin/households/{wang}/record",
        {"members": "5", "town": "临城镇", "village": "大波村", "head_name": "", "phone": "", "reason": ""},
        {
            "members": "qty",
            "town": "choice",
            "village": "text_req",
            "head_name": "text",
            "phone": "text",
            "reason": "text",
        },
        kind="form",
        ids=("wang",),
    ),
    "admin_households.hand_over": Route(
        "admin",
        "/admin/households/{wang}/officer",
        {"officer": "officer2", "reason": ""},
        {"officer": "choice", "reason": "text"},
        kind="form",
        ids=("wang",),
    ),
    "admin_households.record_standing": Route(
        "admin",
        "/admin/households/{wang}/status",
        {
            "category": "jiance",
            "monitor_subtype": "",
            "monitoring_status": "risk_eliminated",
            "effective_on": "{today}",
            "reason": "met",
        },
        {
            "category": "choice",
            "monitor_subtype": "choice_opt",
            "monitoring_status": "choice_opt",
            "effective_on": "date",
            "reason": "text_req",
        },
        kind="form",
        ids=("wang",),
    ),
    "admin_households.decide_adjustment": Route(
        "admin",
        "/admin/households/adjustments/{adjustment}/decision",
        {"decision": "reject", "note": ""},
        {"decision": "choice", "note": "text"},
        kind="form",
        ids=("adjustment",),
    ),
    "admin_review.review": Route(
        "officer",
        "/admin/review/households/{wang}/{month}",
        {"outcome": "confirmed", "note": "", "digest": "{digest}"},
        {"outcome": "choice", "note": "text", "digest": "token"},
        kind="form",
        ids=("wang", "month"),
    ),
    "admin_proposals.propose": Route(
        "officer",
        "/admin/proposals/new/{wang}",
        {"note": "收入稳定"},
        {"note": "text"},
        kind="form",
        ids=("wang",),
    ),
    "admin_proposals.step": Route(
        "county",
        "/admin/proposals/{proposal}/steps",
        {"step": "returned", "reason": "证据不足"},
        {"step": "choice", "reason": "text_req"},
        kind="form",
        ids=("proposal",),
    ),
    "admin_review.resolve": Route(
        "admin",
        "/admin/review/disputes/{review}/resolve",
        {"resolution": "checked"},
        {"resolution": "text_req"},
        kind="form",
        ids=("review",),
    ),
    "auth.change_password": Route(
        "clerk",
        "/account/password",
        {"current": "wrong", "password": "a new long passphrase 42", "confirm": "a new long passphrase 42"},
        {"current": "text_req", "password": "text_req", "confirm": "text_req"},
        kind="form",
        tables_may_change=frozenset(SIGN_IN_TABLES),
    ),
    "admin_users.new": Route(
        "admin",
        "/admin/users/new",
        {
            "username": "newbie",
            "display_name": "",
            "role": "clerk",
            "town": "",
            "counter": "",
            "households": "",
            "password": "a long first passphrase 7",
        },
        {
            "username": "text_req",
            "display_name": "text",
            "role": "choice",
            "town": "choice_opt",
            "households": "text",
            "password": "text_req",
        },
        kind="form",
    ),
    "admin_users.edit": Route(
        "admin",
        "/admin/users/{user}",
        {"display_name": "", "role": "clerk", "town": "", "counter": "", "households": ""},
        {"display_name": "text", "role": "choice", "town": "choice_opt", "counter": "choice_opt", "households": "text"},
        kind="form",
        ids=("user",),
    ),
    "admin_users.set_active": Route(
        "admin", "/admin/users/{user}/active", {"active": "1"}, {"active": "choice"}, kind="form", ids=("user",)
    ),
    "admin_users.reset_password": Route(
        "admin", "/admin/users/{user}/password", {"password": ""}, {"password": "text_req"}, kind="form", ids=("user",)
    ),
    "admin_products.new": Route(
        "admin",
        "/admin/products/new",
        {**PRODUCT_FORM, "sku": "LG-NEW", "unit": "g"},
        {"sku": "text_req", "unit": "choice", **PRODUCT_FIELDS},
        kind="form",
    ),
    "admin_products.edit": Route(
        "admin", "/admin/products/{shrimp}", PRODUCT_FORM, PRODUCT_FIELDS, kind="form", ids=("shrimp",)
    ),
    "admin_products.picture": Route("admin", "/admin/products/{shrimp}/picture", kind="upload", ids=("shrimp",)),
    "admin_products.remove_picture": Route(
        "admin", "/admin/products/{shrimp}/picture/remove", kind="form", ids=("shrimp",)
    ),
    "admin_places.new_counter": Route(
        "admin",
        "/admin/places/counters/new",
        {"code": "NEW-1", "name": "新专柜", "address": "", "opening_hours": "", "phone": ""},
        {"code": "text_req", "name": "text_req", "address": "text", "opening_hours": "text", "phone": "text"},
        kind="form",
    ),
    "admin_places.edit_counter": Route(
        "admin",
        "/admin/places/counters/{counter}",
        {"name": "波莲镇墟专柜", "address": "", "opening_hours": "", "phone": ""},
        {"name": "text_req", "address": "text", "opening_hours": "text", "phone": "text"},
        kind="form",
        ids=("counter",),
    ),
    "admin_places.set_counter_open": Route(
        "admin",
        "/admin/places/counters/{counter}/open",
        {"active": "1"},
        {"active": "choice"},
        kind="form",
        ids=("counter",),
    ),
    # A draw writes only its own audit record; a refused one writes nothing.
    "admin_inspections.draw": Route(
        "inspector",
        "/admin/inspections/samples",
        {"size": "2", "town": "", "village": "", "category": ""},
        {"size": "qty", "town": "choice_opt", "village": "choice_opt", "category": "choice_opt"},
        kind="form",
    ),
    "admin_places.new_town": Route(
        "admin",
        "/admin/places/towns/new",
        {"name_zh": "新镇", "name_en": ""},
        {"name_zh": "text_req", "name_en": "text"},
        kind="form",
    ),
    "admin_places.add_village": Route(
        "admin",
        "/admin/places/towns/{town}/villages",
        {"name_zh": "新村", "name_en": ""},
        {"name_zh": "text_req", "name_en": "text"},
        kind="form",
        ids=("town",),
    ),
    "admin_roster.upload": Route(
        "admin", "/admin/households/import/", kind="upload", upload_field="roster", corpus="roster"
    ),
    "admin_roster.confirm": Route("admin", "/admin/households/import/{upload}", kind="form", ids=("upload",)),
    # The public proof check only reads: a proof that is not one is a 422 and changes nothing.
    "transparency.check": Route(
        None,
        "/ledger/check",
        {"proof": "[]", "checkpoints": ""},
        {"proof": "text_req", "checkpoints": "text"},
        kind="form",
    ),
    # A household's own page: its link, and "I did not receive this money" on a payout.
    "household_page.dispute": Route(
        None,
        "/h/{own_token}/payouts/{wang_payout}/dispute",
        {"note": ""},
        {"note": "text"},
        kind="form",
        ids=("own_token", "wang_payout"),
    ),
    "admin_households.issue_link": Route("admin", "/admin/households/{wang}/link", kind="form", ids=("wang",)),
    "admin_households.revoke_link": Route("admin", "/admin/households/{wang}/link/revoke", kind="form", ids=("wang",)),
    "api.issue_household_link": Route("admin", "/api/households/{wang}/link", {}, ids=("wang",)),
    "api.revoke_household_link": Route("admin", "/api/households/{wang}/link", method="DELETE", ids=("wang",)),
    "admin_payout_disputes.answer": Route(
        "admin",
        "/admin/disputes/{payout_dispute}/answer",
        {"answer": "checked"},
        {"answer": "text_req"},
        kind="form",
        ids=("payout_dispute",),
    ),
}

#: Bugs found and reported to the files' owners, by endpoint: the labels of the cases they fail.
#: The test xfails while each still fails, and fails once one is fixed so that it is taken out.
BOTH, PG = frozenset({"sqlite", "postgresql"}), frozenset({"postgresql"})
KNOWN_BUGS: dict[str, dict[str, frozenset]] = {}

#: What a route parameter is replaced with to attack the path itself.
HOSTILE_SEGMENTS = (
    "0",
    "-1",
    str(2**63),
    "99999",
    quote(hc.SCRIPT, safe=""),
    "..%2f..%2fetc%2fpasswd",
    quote(hc.SQL_OR, safe=""),
    "%00",
)


# ---------------------------------------------------------------- running the cases


def write_routes(app) -> dict[str, set[str]]:
    """Every endpoint that accepts a method other than GET, HEAD or OPTIONS, with those methods."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if writes := set(rule.methods) - READ_ONLY:
            found.setdefault(rule.endpoint, set()).update(writes)
    return found


#: Tables whose rows a write may UPDATE: read in full, where the others are counted.
UPDATED_IN_PLACE = (
    "lot",
    "shop_order",
    "reservation",
    "adjustment",
    "month_review",
    "app_user",
    "product",
    "counter",
    "household",
)


def snapshot(app) -> dict[str, object]:
    """Every table's row count and the ledger's head in one statement, and the tables updated in place in full."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    ledger = tables["household_ledger"]
    head = sa.select(ledger.c.hash).order_by(ledger.c.seq.desc()).limit(1).scalar_subquery()
    counts = [sa.select(sa.func.count()).select_from(t).scalar_subquery().label(name) for name, t in tables.items()]
    with app.app_context(), db.engine.connect() as conn:
        state = dict(conn.execute(sa.select(*counts, head.label("ledger_head"))).one()._mapping)
        for name in UPDATED_IN_PLACE:
            table = tables[name]
            state[f"{name} rows"] = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
    return state


def changed(before: dict, after: dict, allowed: frozenset) -> list[str]:
    return sorted(name for name in before if before[name] != after[name] and name.split()[0] not in allowed)


def signature(payload: bytes) -> str:
    """A valid Stripe-Signature header for `payload`."""
    stamp = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def webhook_cases() -> list[hc.Case]:
    """Unsigned, badly signed and signed-but-hostile events."""
    event = {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}
    raw = json.dumps(event).encode()
    cases = [
        hc.Case("no signature", True, raw=raw, content_type="application/json"),
        hc.Case("a forged signature", True, raw=raw, headers={"Stripe-Signature": "t=1,v1=" + "0" * 64}),
        hc.Case(
            "a stale signature", True, raw=raw, headers={"Stripe-Signature": signature(raw).replace("t=", "t=1", 1)}
        ),
        hc.Case("a 2 MiB body", True, raw=b"a" * hc.TWO_MIB, headers={"Stripe-Signature": "t=1,v1=0"}),
        hc.Case("a huge signature header", True, raw=raw, headers={"Stripe-Signature": "t=1,v1=" + "0" * 100_000}),
        hc.Case("a signature header of markup", True, raw=raw, headers={"Stripe-Signature": hc.SCRIPT}),
    ]
    signed_bodies = {
        "signed malformed JSON": raw[:-2],
        "signed 10,000 nested arrays": hc.nested(10_000),
        "signed JSON array": b"[1, 2]",
        "signed event without an id": json.dumps({"object": "event", "type": "x.y"}).encode(),
    }
    for label, body in signed_bodies.items():
        cases.append(hc.Case(label, True, raw=body, headers={"Stripe-Signature": signature(body)}))
    hostile_events = {
        "signed event id with NUL": {**event, "id": "evt_\u0000", "type": "customer.created"},
        "signed event id of 100 kB": {**event, "id": "evt_" + "a" * 100_000, "type": "customer.created"},
        "signed event id of markup": {**event, "id": hc.SCRIPT, "type": hc.SCRIPT},
        "signed event id not a string": {**event, "id": ["evt"], "type": "customer.created"},
    }
    for label, body in hostile_events.items():
        data = json.dumps(body).encode()
        cases.append(hc.Case(label, False, raw=data, headers={"Stripe-Signature": signature(data)}))
    return cases


def cases_for(route: Route, scene: dict) -> list[hc.Case]:
    """The corpus aimed at one route: whole-body attacks, then field by field, then the path."""
    body = fill(route.body, scene)
    if route.kind == "webhook":
        cases = webhook_cases()
    elif route.kind == "upload" and route.corpus == "roster":
        cases = hc.roster_upload_cases(body, route.upload_field, ROSTER_LIMIT, ROSTER_ROW)
    elif route.kind == "upload":
        cases = hc.upload_cases(body, route.upload_field, PHOTO_LIMIT)
    elif route.kind == "json":
        fields = {tuple(fill(list(k), scene)): v for k, v in route.fields.items()}
        first = next((k[0] for k in fields if len(k) == 1), None)
        cases = hc.json_body_cases(body, first) + hc.json_field_cases(body, fields)
        if route.method == "DELETE":  # the body is not read: only the CSRF token can make it fail
            cases = [c if c.csrf != "good" else replace(c, must_refuse=False) for c in cases]
    else:
        fields = {fill(k, scene): v for k, v in route.fields.items()}
        cases = hc.form_body_cases(body) + hc.form_field_cases(body, fields)
        if not fields:  # a form with nothing but the token: only the token can make it fail
            cases = [c if c.csrf != "good" or "2 MiB" in c.label else replace(c, must_refuse=False) for c in cases]
    for name in route.ids:
        for segment in HOSTILE_SEGMENTS:
            url = route.url.format(**{**scene, name: segment})
            refuse = not (route.unknown_id_redirects and segment == "99999")
            if route.kind == "json":
                cases.append(hc.Case(f"path {name}={segment[:20]}", refuse, json=body, path=url))
            else:
                cases.append(hc.Case(f"path {name}={segment[:20]}", refuse, form=body, path=url))
    # Refusals first: a case the server may take changes the scene for those after it.
    return sorted(cases, key=lambda c: not c.must_refuse)


def send(client, route: Route, case: hc.Case, url: str, token: str):
    """Send one case through the test client."""
    headers = dict(case.headers)
    csrf = {"good": token, "bad": "ImJhZCI.bad.token", "missing": None}[case.csrf]
    kwargs: dict = {"headers": headers}
    if route.kind == "json" and csrf:
        headers["X-CSRFToken"] = csrf
    if case.json is not None or (route.kind == "json" and case.raw is None and case.form is None):
        kwargs["json"] = case.json
    elif case.raw is not None:
        kwargs["data"] = case.raw.replace(b"@CSRF@", token.encode())
        kwargs["content_type"] = case.content_type or ("application/json" if route.kind != "form" else hc.FORM)
    else:
        form = [(k, str(v)) for k, v in (case.form.items() if isinstance(case.form, dict) else case.form)]
        if route.kind in ("form", "upload") and csrf:
            form.append(("csrf_token", csrf))
        form += [(name, (io.BytesIO(data), filename, kind)) for name, (data, filename, kind) in case.files.items()]
        kwargs["data"] = _multi(form)
        if route.kind == "upload":
            kwargs["content_type"] = "multipart/form-data"
    return client.open(case.path or url, method=route.method, **kwargs)


def _multi(pairs):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def problem_with(response, case: hc.Case, before: dict, after: dict, allowed: frozenset) -> str | None:
    """What is wrong with the answer to one case, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.get_data(as_text=True)[:200]}"
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html" and any(raw in body for raw in hc.RAW_MARKUP):
        return f"{status} echoes markup unescaped"
    location = response.headers.get("Location", "")
    if location and urlsplit(location).netloc not in ("", "localhost"):
        return f"{status} redirects off-site to {location}"
    refused = 400 <= status < 500
    if case.must_refuse and not refused:
        return f"{status} instead of a refusal"
    if refused and (diff := changed(before, after, allowed)):
        return f"{status} but changed {diff}"
    return None


def fill_cart(user, scene: dict) -> None:
    """Put a jin of shrimp in the buyer's cart."""
    form = {"csrf_token": user.token or user.refresh_token(), "quantity": "1", "unit": "jin"}
    added = user.client.post(f"/cart/add/{scene['shrimp']}", data=form)
    assert added.status_code in (302, 303), added.get_data(as_text=True)[:300]


# ---------------------------------------------------------------- the tests


def test_every_write_route_has_hostile_input_coverage(app):
    routes = write_routes(app)
    missing = sorted(set(routes) - set(COVERAGE))
    assert not missing, f"write routes with no hostile-input coverage: add them to COVERAGE in {__name__}: {missing}"
    stale = sorted(set(COVERAGE) - set(routes))
    assert not stale, f"COVERAGE names routes that no longer exist: {stale}"
    for endpoint, methods in routes.items():
        assert COVERAGE[endpoint].method in methods, f"{endpoint} takes {methods}, not {COVERAGE[endpoint].method}"


def placeholders(route: Route) -> set[str]:
    """The scene's names a route's URL, body and fields use."""
    text = route.url + json.dumps(route.body, ensure_ascii=False) + json.dumps([str(k) for k in route.fields])
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("endpoint", sorted(COVERAGE))
def test_hostile_input_is_refused_with_a_4xx_and_changes_nothing(app, goods, api, as_role, endpoint):
    route = COVERAGE[endpoint]
    scene = build_scene(app, goods, as_role, api, placeholders(route))
    user = as_role(route.role) if route.role else api
    if route.cart:
        fill_cart(user, scene)
    problems = attack(app, user, route, scene)
    backend = "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"
    known = [label for label, where in KNOWN_BUGS.get(endpoint, {}).items() if backend in where]
    unexplained = [p for p in problems if not any(p.startswith(label) for label in known)]
    assert not unexplained, f"{endpoint}:\n" + "\n".join(unexplained)
    gone = [label for label in known if not any(p.startswith(label) for p in problems)]
    assert not gone, f"{endpoint}: fixed, take them out of KNOWN_BUGS: {gone}"
    if problems:
        pytest.xfail(f"{endpoint} has known bugs: " + "; ".join(problems))


def attack(app, user, route: Route, scene: dict) -> list[str]:
    """Send every case to the route; what went wrong, one line per case."""
    token = user.token or user.refresh_token()
    url = route.url.format(**scene)
    problems = []
    before = snapshot(app)
    for case in cases_for(route, scene):
        try:
            response = send(user.client, route, case, url, token)
        except Exception as error:  # an unhandled error is what a 500 would be
            problems.append(f"{case.label}: raised {error.__class__.__name__}: {str(error)[:150]}")
            with app.app_context():
                db.session.remove()
            before = snapshot(app)
            continue
        after = snapshot(app)
        if problem := problem_with(response, case, before, after, route.tables_may_change):
            problems.append(f"{case.label}: {problem}")
        before = after
    return problems


OFF_SITE = (
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "http:evil.example",
    "/%2f%2fevil.example",
    " //evil.example",
    "javascript:alert(1)",
    "\t//evil.example",
)


@pytest.mark.parametrize("target", OFF_SITE)
def test_signing_in_never_redirects_off_site_whatever_next_says(app, staff, client, target):
    token = client.get("/api/session").get_json()["csrf_token"]
    form = {"csrf_token": token, "username": "clerk", "password": PASSWORD, "next": target}
    response = client.post(f"/login?next={quote(target)}", data=form)
    assert response.status_code in (302, 303)
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost") and location.scheme in ("", "http"), location
    assert not location.path.startswith(("//", "/\\")), location
    again = client.get(f"/login?next={quote(target)}")
    assert urlsplit(again.headers.get("Location", "")).netloc in ("", "localhost")


PICKERS = (
    "/admin/reports/month/{bad}",
    "/admin/reports/month/{bad}.csv",
    "/admin/reports/year/{bad}",
    "/admin/reports/?month={bad}&counter={bad}",
    "/admin/reports/month/2026-01?counter={bad}",
    "/admin/orders/collect?q={bad}",
    "/admin/orders/?status={bad}",
    "/admin/households/?q={bad}&from={bad}&to={bad}",
    "/api/households/search?q={bad}&limit={bad}",
    "/admin/stock/?counter={bad}",
    "/admin/counter/sales?day={bad}",
    "/orders/{bad}",
    "/orders/{bad}/pay",
    "/api/orders/{bad}",
    "/orders/lookup?number={bad}",
    "/login?next={bad}",
)
BAD_PICKS = (
    hc.SCRIPT,
    hc.IMG,
    hc.SQL_DROP,
    "..%2f..%2fetc%2fpasswd",
    "%00",
    "9" * 30,
    "２０２６-０１",
    hc.HUGE_TEXT[:3000],
)


@pytest.mark.parametrize("picker", PICKERS)
def test_hostile_picks_in_report_and_search_pickers_are_refused_or_ignored_never_a_500(app, staff, as_role, picker):
    admin = as_role("admin")
    for bad in BAD_PICKS:
        url = picker.format(bad=bad if bad.startswith(("..", "%")) else quote(bad, safe=""))
        response = admin.get(url)
        assert response.status_code < 500, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert not any(raw in body for raw in hc.RAW_MARKUP), url
