"""The audit trail: staff actions recorded with who and what, no secrets or personal data, append-only, searchable."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import audit
from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Product, User
from shop.transaction import atomic
from tests.factories import receive

from .test_order_pages import MASKED, PHONE, place

RAW_NAME = "王亦明"
HOUSEHOLD_PHONE = "13912345678"


# ---------------------------------------------------------------- helpers


def events(app, **where) -> list[dict]:
    """The trail's rows, oldest first, with the actor's username and the values parsed."""
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return [
            {
                "actor": event.actor.username if event.actor else None,
                "action": event.action,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "before": json.loads(event.before) if event.before else None,
                "after": json.loads(event.after) if event.after else None,
            }
            for event in db.session.scalars(query)
        ]


def trail_text(app) -> str:
    """Everything the trail stores, as one text to search for what must not be there."""
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.entity_id, AuditEvent.before, AuditEvent.after))
        return "\n".join("|".join(row) for row in rows)


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def send(staff, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return staff.client.post(url, data={"csrf_token": staff.token, **fields})


@pytest.fixture
def phoned(goods, admin) -> int:
    """A household listed with a phone number."""
    body = {
        "code": "DB002",
        "head_name": "陈美玲",
        "town": "临城镇",
        "village": "大波村",
        "members": 3,
        "category": "yiban",
        "officer": "officer",
        "phone": HOUSEHOLD_PHONE,
    }
    response = admin.post("/api/households", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def sold(goods, clerk) -> dict:
    """王's shrimp received by the clerk, and 500 g of it sold at the till."""
    lot = receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90)
    body = {
        "idempotency_key": "audit-sale-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()
    return {"lot": lot, "sale": response.get_json()}


# ---------------------------------------------------------------- what is captured


def test_creating_a_product_and_a_household_records_the_manager_and_the_masked_values(app, goods):
    product = events(app, entity="product", entity_id=str(goods["shrimp"]))
    assert [(e["actor"], e["action"]) for e in product] == [("admin", "insert")]
    assert product[0]["after"]["price_fen"] == 6800 and product[0]["after"]["sku"] == "LG-XG"
    household = events(app, entity="household", entity_id=str(goods["wang"]))
    assert [(e["actor"], e["action"]) for e in household] == [("admin", "insert")]
    assert household[0]["after"]["head_name"] == "王**" and household[0]["after"]["code"] == "DB001"
    status = events(app, entity="household_status")
    assert {e["actor"] for e in status} == {"admin"} and status[0]["after"]["household_id"] == goods["wang"]


def test_a_price_change_records_only_the_changed_columns_before_and_after(app, goods):
    with app.app_context(), atomic() as session:
        session.get(Product, goods["shrimp"]).price_fen = 7200
    [change] = events(app, entity="product", action="update")
    assert change == {
        "actor": None,  # made outside a request: the system
        "action": "update",
        "entity": "product",
        "entity_id": str(goods["shrimp"]),
        "before": {"price_fen": 6800},
        "after": {"price_fen": 7200},
    }


def test_receiving_writing_off_and_counting_stock_are_recorded_with_the_clerk_but_sales_are_not(
    app, goods, sold, clerk
):
    lot = sold["lot"]
    assert clerk.post(f"/api/lots/{lot}/write-offs", json={"quantity": 50, "reason": "spoiled"}).status_code == 201
    response = clerk.post("/api/stocktakes", json={"counts": [{"lot_id": lot, "counted": 440}]})
    assert response.status_code == 201, response.get_json()
    [received] = events(app, entity="lot")
    assert received["actor"] == "clerk" and received["action"] == "insert" and received["entity_id"] == str(lot)
    assert received["after"]["qty_received"] == 1000 and received["after"]["share_bp"] is not None
    movements = [
        (e["actor"], e["after"]["kind"], e["after"]["qty_delta"]) for e in events(app, entity="stock_movement")
    ]
    assert movements == [("clerk", "receipt", 1000), ("clerk", "write_off", -50), ("clerk", "stocktake", -10)]
    assert not events(app, entity="sale") and not events(app, entity="draw")


def test_a_refund_is_recorded_with_the_clerk_and_its_amount(app, goods, sold, clerk):
    sale = sold["sale"]
    body = {
        "idempotency_key": "audit-refund-1",
        "lines": [{"line_id": sale["lines"][0]["id"], "quantity": 100}],
        "restock": True,
    }
    assert clerk.post(f"/api/counter/sales/{sale['id']}/refunds", json=body).status_code == 201
    refund = events(app, entity="refund")
    # Inserted first (its lines need its id), then given its total: both steps are on the trail.
    assert [(e["actor"], e["action"]) for e in refund] == [("clerk", "insert"), ("clerk", "update")]
    assert refund[0]["after"]["restock"] is True and refund[-1]["after"] == {"amount_fen": 1360}
    assert [e["after"]["kind"] for e in events(app, entity="stock_movement")][-1] == "restock"


def test_a_payout_through_the_page_is_recorded_with_the_manager(app, goods, sold, admin):
    response = send(admin, f"/admin/households/{goods['wang']}/payouts/new", amount="10.00", method="cash")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    [payout] = events(app, entity="payout")
    assert payout["actor"] == "admin" and payout["action"] == "insert"
    assert payout["after"]["amount_fen"] == 1000 and payout["after"]["household_id"] == goods["wang"]


def test_a_correction_is_recorded_when_proposed_and_again_when_approved(app, goods, sold, officer, admin):
    fields = {
        "direction": "take_back",
        "amount": "3.00",
        "entry_date": business_today().isoformat(),
        "reason": "称重多算",
    }
    assert send(officer, f"/admin/households/{goods['wang']}/adjustments", **fields).status_code == 302
    [proposed] = events(app, entity="adjustment")
    assert proposed["actor"] == "officer" and proposed["after"]["amount_fen"] == -300
    adjustment_id = proposed["entity_id"]
    response = send(admin, f"/admin/households/adjustments/{adjustment_id}/decision", decision="approve", note="核实")
    assert response.status_code == 302
    decided = events(app, entity="adjustment", action="update")
    assert [(e["actor"], e["before"]["status"], e["after"]["status"]) for e in decided] == [
        ("admin", "pending", "approved")
    ]
    assert decided[0]["after"]["decision_note"] == "核实"
    assert not events(app, entity="household_ledger")


def test_an_officers_month_review_is_recorded(app, goods, sold, officer):
    from .test_review_pages import review

    assert review(officer, goods["wang"], "confirmed").status_code == 302
    [done] = events(app, entity="month_review")
    assert done["actor"] == "officer" and done["after"]["outcome"] == "confirmed"
    assert done["after"]["household_id"] == goods["wang"]


def test_a_refused_request_records_nothing(app, goods, admin, clerk):
    before = count(app)
    assert admin.post("/api/products", json={"sku": "X", "name": "", "unit": "kg"}).status_code == 422
    assert (
        admin.post(
            "/api/products", json={**dict(sku="LG-XG", name="又一个"), "unit": "g", "price_fen": 1, "price_per": 1}
        ).status_code
        == 409
    )
    assert clerk.post("/api/lots/999/write-offs", json={"quantity": 5, "reason": "spoiled"}).status_code in (404, 422)
    assert clerk.post("/api/lots", json={"product_id": goods["shrimp"], "household_id": 999}).status_code == 422
    assert count(app) == before


def test_a_change_rolled_back_leaves_no_audit_row(app, goods):
    before = count(app)
    with app.app_context(), pytest.raises(RuntimeError), atomic() as session:
        session.get(Product, goods["shrimp"]).price_fen = 1
        session.flush()  # the audit row is written here, in the same transaction
        raise RuntimeError("changed my mind")
    assert count(app) == before


def test_no_audit_row_holds_a_password_hash_or_a_heads_full_name_or_phone(app, goods, phoned, admin):
    assert admin.get(f"/admin/households/{phoned}/phone").status_code == 200
    with app.app_context():
        hashes = list(db.session.scalars(sa.select(User.password_hash)))
    text = trail_text(app)
    assert events(app, entity="app_user", action="insert")  # the accounts were audited…
    assert all(h not in text for h in hashes)  # …without their hashes
    assert all(e["after"]["password_hash"] == audit.SECRET for e in events(app, entity="app_user", action="insert"))
    for raw in (RAW_NAME, "符海成", "陈美玲", HOUSEHOLD_PHONE):
        assert raw not in text
    assert "139****5678" in text


# ---------------------------------------------------------------- full views of personal data


def test_showing_an_orders_full_phone_writes_a_view_event_without_the_number(app, goods, clerk, admin):
    receive(clerk, goods["shrimp"], goods["wang"], 2000, days=90)
    receive(clerk, goods["paste"], goods["wang"], 10, days=90)
    order = place(app, goods, fulfilment="delivery")
    page = admin.get(f"/admin/orders/{order}").get_data(as_text=True)
    assert MASKED in page and not events(app, action="view_personal_data")
    assert PHONE in admin.get(f"/admin/orders/{order}?phone=full").get_data(as_text=True)
    assert events(app, action="view_personal_data") == [
        {
            "actor": "admin",
            "action": "view_personal_data",
            "entity": "shop_order",
            "entity_id": str(order),
            "before": None,
            "after": {"field": "contact_phone"},
        }
    ]
    assert PHONE not in trail_text(app)


def test_showing_a_households_full_phone_is_for_the_manager_and_writes_a_view_event(app, goods, phoned, admin, officer):
    page = admin.get(f"/admin/households/{phoned}").get_data(as_text=True)
    assert "139****5678" in page and HOUSEHOLD_PHONE not in page
    assert f"/admin/households/{phoned}/phone" in page
    assert officer.get(f"/admin/households/{phoned}/phone").status_code == 403
    assert admin.get(f"/admin/households/{goods['wang']}/phone").status_code == 404  # no phone on file
    assert not events(app, action="view_personal_data")
    response = admin.get(f"/admin/households/{phoned}/phone")
    assert response.status_code == 200 and HOUSEHOLD_PHONE in response.get_data(as_text=True)
    [seen] = events(app, action="view_personal_data")
    assert (seen["actor"], seen["entity"], seen["entity_id"], seen["after"]) == (
        "admin",
        "household",
        str(phoned),
        {"field": "phone"},
    )


# ---------------------------------------------------------------- sign-in events (called by auth)


def test_sign_in_events_name_the_account_by_id_and_a_failure_names_only_an_existing_account(app, staff):
    with app.test_request_context():
        clerk = db.session.scalar(sa.select(User).where(User.username == "clerk"))
        audit.signed_in(clerk)
        audit.signed_out(clerk)
        audit.sign_in_failed(" Clerk ")
        audit.sign_in_failed("nobody-here")
        clerk_id = str(clerk.id)
    rows = [
        (e["actor"], e["action"], e["entity_id"]) for e in events(app, entity="app_user") if e["action"] != "insert"
    ]
    assert rows == [
        ("clerk", "sign_in", clerk_id),
        ("clerk", "sign_out", clerk_id),
        (None, "sign_in_failed", clerk_id),
        (None, "sign_in_failed", ""),
    ]
    assert "nobody-here" not in trail_text(app)


# ---------------------------------------------------------------- append-only


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'nothing'", "DELETE FROM audit_event"])
def test_the_database_refuses_to_change_or_remove_audit_rows(app, goods, statement):
    assert count(app) > 0
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert count(app) > 0 and not events(app, action="nothing")


# ---------------------------------------------------------------- the page


def test_the_audit_page_is_for_the_manager_only(app, staff, as_role, client):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for name in ("clerk", "officer", "heshe", "county"):
        assert as_role(name).get("/admin/audit/").status_code == 403
    assert as_role("admin").get("/admin/audit/").status_code == 200


def test_the_audit_page_shows_the_changes_and_searches_by_actor_entity_action_and_date(app, goods, sold, admin):
    admin.client.get("/lang/en")
    page = admin.get("/admin/audit/?actor=clerk").get_data(as_text=True)
    assert 'data-entity="lot"' in page and 'data-entity="product"' not in page
    page = admin.get("/admin/audit/?entity=product&action=insert").get_data(as_text=True)
    assert page.count('data-entity="product"') == 2 and "LG-XG" in page and "6800" in page
    assert 'data-entity="lot"' not in page and 'data-total="2"' in page
    today = business_today()
    assert 'data-total="2"' in admin.get(f"/admin/audit/?entity=product&start={today}&end={today}").get_data(
        as_text=True
    )
    tomorrow = today + timedelta(days=1)
    page = admin.get(f"/admin/audit/?entity=product&start={tomorrow}").get_data(as_text=True)
    assert 'data-total="0"' in page and "No event matches" in page
    assert 'data-total="0"' in admin.get("/admin/audit/?actor=nobody").get_data(as_text=True)


def test_the_trail_pages_fifty_events_newest_first(app, staff, admin):
    with app.test_request_context(), atomic():
        for n in range(60):
            audit.record("view_personal_data", "household", n + 1, actor=None)
    with app.app_context():
        first, total = audit.search(action="view_personal_data")
        second, _ = audit.search(action="view_personal_data", page=2)
    assert total == 60 and len(first) == 50 and len(second) == 10
    assert first[0].entity_id == "60" and second[-1].entity_id == "1"
    page = admin.get("/admin/audit/?action=view_personal_data&page=2").get_data(as_text=True)
    assert page.count('data-action="view_personal_data"') == 10 and "page=1" in page


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=0",
        "page=abc",
        "page=99999999999999999999",
        "start=2026-13-01",
        "end=not-a-date",
        "start=2026-05-02&end=2026-05-01",
        "entity=%27%3B+DROP+TABLE+audit_event%3B--",
        "action=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "actor=%27+OR+1%3D1--",
        "actor=" + "a" * 200,
        "actor=%00",
    ],
)
def test_hostile_filters_are_refused_with_422_and_never_reach_the_database(app, goods, admin, query):
    response = admin.get(f"/admin/audit/?{query}")
    assert response.status_code == 422
    assert "<script>alert" not in response.get_data(as_text=True)
    assert count(app) > 0


@pytest.mark.parametrize("query", ["actor=ADMIN", "actor=admin&entity=household", "page=999", "entity=&action="])
def test_odd_but_harmless_filters_give_a_page_or_an_empty_one(app, goods, admin, query):
    assert admin.get(f"/admin/audit/?{query}").status_code == 200


def test_a_clerks_cancelling_an_order_is_recorded_without_the_buyers_contact(app, goods, clerk):
    receive(clerk, goods["shrimp"], goods["wang"], 2000, days=90)
    receive(clerk, goods["paste"], goods["wang"], 10, days=90)
    order = place(app, goods, fulfilment="delivery", name="李女士")
    assert not events(app, entity="shop_order")  # placed by a buyer, not staff
    assert send(clerk, f"/admin/orders/{order}/cancel").status_code == 302
    [cancelled] = events(app, entity="shop_order")
    assert cancelled["actor"] == "clerk" and cancelled["entity_id"] == str(order)
    assert (cancelled["before"], cancelled["after"]) == ({"status": "awaiting_payment"}, {"status": "cancelled"})
    assert "李女士" not in trail_text(app) and PHONE not in trail_text(app) and "江南路" not in trail_text(app)


def test_every_action_and_record_the_trail_can_hold_has_a_name_on_the_page():
    from admin.audit import ACTION_LABELS, ENTITY_LABELS
    from shop import audit

    assert set(audit.ACTIONS) <= set(ACTION_LABELS)
    assert set(audit.ENTITIES) <= set(ENTITY_LABELS)
