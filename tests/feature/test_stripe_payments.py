"""Paying online through Stripe (localstripe here): PaymentIntents, webhooks and refunds, each exactly once."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
import stripe

from shop.clock import now_utc
from shop.extensions import db
from shop.models import Draw, DrawReversal, Order, OrderRefund, Sale, StripeEvent
from tests.conftest import WEBHOOK_SECRET
from tests.factories import receive
from tests.probes import on_hand


@pytest.fixture
def config_overrides(stripe_settings):
    return stripe_settings


@pytest.fixture
def stripe_api(localstripe_url):
    """The Stripe library pointed at localstripe, acting as the buyer's browser would through Stripe.js."""
    return stripe.StripeClient("sk_test_bangfu", base_addresses={"api": localstripe_url}).v1


@pytest.fixture
def shelf(app, goods, as_role):
    clerk = as_role("clerk")
    return {"clerk": clerk, "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000)}


def order_body(goods, quantity=500, payment="stripe"):
    return {
        "lines": [{"product_id": goods["shrimp"], "quantity": quantity}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": payment,
    }


def place(api, goods, **kwargs):
    response = api.post("/api/orders", json=order_body(goods, **kwargs))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pay(stripe_api, intent_id, card="4242424242424242"):
    """Confirm the intent with a test card, as the Payment Element would."""
    method = stripe_api.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    stripe_api.payment_intents.update(intent_id, params={"payment_method": method.id})
    try:
        return stripe_api.payment_intents.confirm(intent_id)
    except stripe.CardError:
        return stripe_api.payment_intents.retrieve(intent_id)


def event(kind, obj, event_id=None):
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "type": kind, "data": {"object": obj}}


def deliver(client, body, secret=WEBHOOK_SECRET, timestamp=None):
    """Post an event to the webhook signed as Stripe signs it."""
    payload = json.dumps(body)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return client.post(
        "/stripe/webhook", data=payload, headers={"Stripe-Signature": header}, content_type="application/json"
    )


def intent_event(kind, intent_id, event_id=None):
    return event(kind, {"id": intent_id, "object": "payment_intent"}, event_id)


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Sale, Draw, StripeEvent))


def order_of(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


def test_an_order_paid_by_card_becomes_one_sale_crediting_its_household(app, api, goods, shelf, stripe_api):
    placed = place(api, goods)
    assert placed["status"] == "awaiting_payment" and placed["total_fen"] == 6800
    intent_id = placed["stripe"]["payment_intent_id"]
    assert placed["stripe"]["client_secret"].startswith(intent_id)
    assert pay(stripe_api, intent_id).status == "succeeded"
    assert deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id)).status_code == 200
    order = order_of(app, placed["id"])
    assert order.status.value == "paid" and order.sale_id is not None
    with app.app_context():
        sale = db.session.get(Sale, order.sale_id)
        assert (sale.channel.value, sale.payment_method.value, sale.total_fen) == ("online", "stripe", 6800)
        assert [(d.household_id, d.credit_fen) for d in sale.lines[0].draws] == [(goods["wang"], 6120)]
    assert on_hand(app, shelf["shrimp"]) == 500
    assert api.get(f"/api/orders/{placed['token']}").get_json()["status"] == "paid"


def test_the_same_event_delivered_twice_fulfils_once(app, api, goods, shelf, stripe_api):
    intent_id = place(api, goods)["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    body = intent_event("payment_intent.succeeded", intent_id, "evt_twice")
    first, second = deliver(app.test_client(), body), deliver(app.test_client(), body)
    assert (first.get_json()["outcome"], second.get_json()["outcome"]) == ("handled", "duplicate")
    assert counts(app) == (1, 1, 1)
    assert on_hand(app, shelf["shrimp"]) == 500


def test_concurrent_deliveries_and_the_return_page_fulfil_once(app, api, goods, shelf, stripe_api):
    placed = place(api, goods)
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    barrier = threading.Barrier(4)
    statuses = []

    def webhook(event_id):
        barrier.wait()
        statuses.append(deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id, event_id)))

    def return_page():
        barrier.wait()
        with app.app_context():
            from shop.selling import payments

            payments.sync_payment(placed["id"])

    threads = [threading.Thread(target=webhook, args=(e,)) for e in ("evt_a", "evt_a", "evt_b")]
    threads.append(threading.Thread(target=return_page))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(s.status_code == 200 for s in statuses)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Sale.id))) == 1
    assert on_hand(app, shelf["shrimp"]) == 500


def test_an_event_is_checked_against_stripe_not_trusted(app, api, goods, shelf, stripe_api):
    intent_id = place(api, goods)["stripe"]["payment_intent_id"]
    # A forged "succeeded" for an intent nobody paid: Stripe says otherwise, so nothing happens.
    assert deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id)).status_code == 200
    assert counts(app)[:2] == (0, 0)
    assert on_hand(app, shelf["shrimp"]) == 1000


def test_a_declined_card_leaves_the_order_waiting_for_another_try(app, api, goods, shelf, stripe_api):
    placed = place(api, goods)
    intent_id = placed["stripe"]["payment_intent_id"]
    assert pay(stripe_api, intent_id, card="4000000000000341").status != "succeeded"
    deliver(app.test_client(), intent_event("payment_intent.payment_failed", intent_id))
    # (localstripe cannot confirm an intent again after a decline, so the second try is not played here.)
    assert order_of(app, placed["id"]).status.value == "awaiting_payment"
    assert counts(app)[:2] == (0, 0)
    shrimp = next(p for p in api.get("/api/products").get_json() if p["id"] == goods["shrimp"])
    assert shrimp["available"] == 500  # still held for the buyer's next try


def test_a_late_failure_event_never_unpays_a_paid_order(app, api, goods, shelf, stripe_api):
    placed = place(api, goods)
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id))
    for kind in ("payment_intent.payment_failed", "payment_intent.canceled"):
        assert deliver(app.test_client(), intent_event(kind, intent_id)).status_code == 200
    assert order_of(app, placed["id"]).status.value == "paid"
    assert counts(app)[0] == 1


@pytest.mark.parametrize(
    "secret, age_s, header",
    [("whsec_wrong", 0, None), (WEBHOOK_SECRET, 3600, None), (WEBHOOK_SECRET, 0, ""), (WEBHOOK_SECRET, 0, "t=1,v1=00")],
)
def test_a_bad_or_stale_signature_is_400_and_changes_nothing(app, api, goods, shelf, stripe_api, secret, age_s, header):
    intent_id = place(api, goods)["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    body = json.dumps(intent_event("payment_intent.succeeded", intent_id))
    if header is None:
        header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=int(time.time()) - age_s)
    response = app.test_client().post(
        "/stripe/webhook", data=body, headers={"Stripe-Signature": header}, content_type="application/json"
    )
    assert response.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_money_for_an_order_whose_stock_was_sold_after_its_hold_goes_back(app, api, goods, shelf, stripe_api):
    placed = place(api, goods, quantity=1000)
    with app.app_context():
        db.session.get(Order, placed["id"]).expires_at = now_utc() - timedelta(minutes=1)
        db.session.commit()
    sale = {
        "idempotency_key": "counter-took-it",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 1000}],
    }
    assert shelf["clerk"].post("/api/counter/sales", json=sale).status_code == 201
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id))
    order = order_of(app, placed["id"])
    assert (order.status.value, order.refunded_fen, order.sale_id) == ("refunded", 13600, None)
    refunds = stripe_api.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [13600]
    # The same news again (another event, or the buyer's return page) gives nothing back twice.
    assert deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id)).status_code == 200
    assert len(stripe_api.refunds.list(params={"payment_intent": intent_id}).data) == 1


def test_a_late_payment_is_fulfilled_when_the_stock_is_still_there(app, api, goods, shelf, stripe_api):
    placed = place(api, goods)
    with app.app_context():
        db.session.get(Order, placed["id"]).expires_at = now_utc() - timedelta(minutes=1)
        db.session.commit()
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id))
    assert order_of(app, placed["id"]).status.value == "paid"


def paid_order(app, api, goods, stripe_api):
    placed = place(api, goods)
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id))
    return placed, intent_id


def test_a_refund_goes_through_stripe_before_the_credits_are_reversed_once(app, api, goods, shelf, stripe_api):
    from shop.models import SaleLine, User
    from shop.selling import payments

    placed, intent_id = paid_order(app, api, goods, stripe_api)
    with app.app_context():
        line_id = db.session.scalar(sa.select(SaleLine.id).join(Sale).join(Order, Order.sale_id == Sale.id))
        admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        pending = payments.refund_order(order_id=placed["id"], lines=[(line_id, 250)], restock=True, by=admin)
        assert (pending.status, pending.amount_fen) == ("succeeded", 3400)
    assert [r.amount for r in stripe_api.refunds.list(params={"payment_intent": intent_id}).data] == [3400]
    # Stripe's own events about that refund arrive afterwards, twice: nothing is reversed again.
    for _ in range(2):
        deliver(
            app.test_client(), event("charge.refunded", {"id": "ch_x", "object": "charge", "payment_intent": intent_id})
        )
    order = order_of(app, placed["id"])
    assert (order.status.value, order.refunded_fen) == ("partially_refunded", 3400)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(DrawReversal.credit_fen))) == 3060
        assert db.session.scalar(sa.select(sa.func.count(OrderRefund.id))) == 1
    assert on_hand(app, shelf["shrimp"]) == 750


def test_cancelling_an_unpaid_order_cancels_its_payment_and_frees_the_stock(app, api, goods, shelf, stripe_api):
    from shop.selling import payments

    placed = place(api, goods)
    with app.app_context():
        payments.cancel_order(placed["id"])
    assert stripe_api.payment_intents.retrieve(placed["stripe"]["payment_intent_id"]).status == "canceled"
    shrimp = next(p for p in api.get("/api/products").get_json() if p["id"] == goods["shrimp"])
    assert shrimp["available"] == 1000


def test_the_receipt_of_an_order_paid_online_prints_without_a_clerk(app, api, goods, shelf, stripe_api, as_role):
    from io import BytesIO

    from pypdf import PdfReader

    placed, _intent = paid_order(app, api, goods, stripe_api)
    sale_id = order_of(app, placed["id"]).sale_id
    response = as_role("admin").client.get(f"/admin/counter/sales/{sale_id}/receipt.pdf")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert "在线支付" in text and "在线订单" in text


def test_a_refund_stripe_has_not_confirmed_reverses_nothing_until_its_webhook_says_so(
    app, api, goods, shelf, stripe_api, monkeypatch
):
    from shop.models import SaleLine, User
    from shop.selling import payments

    placed, intent_id = paid_order(app, api, goods, stripe_api)

    class Pending:
        """Stripe answering "pending" to the refund, as it does for some methods; localstripe never does."""

        def __init__(self, inner):
            self.inner = inner

        def create(self, params, options):
            refund = self.inner.create(params=params, options=options)
            refund.status = "pending"
            return refund

    with app.app_context():
        real_client = payments.client()
        monkeypatch.setattr(real_client, "refunds", Pending(real_client.refunds), raising=False)
        line_id = db.session.scalar(sa.select(SaleLine.id))
        admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        pending = payments.refund_order(order_id=placed["id"], lines=[(line_id, 500)], restock=False, by=admin)
        assert pending.status == "pending"
        assert db.session.scalar(sa.select(sa.func.count(DrawReversal.id))) == 0
        monkeypatch.undo()
    assert order_of(app, placed["id"]).status.value == "paid"
    charge = {"id": "ch_y", "object": "charge", "payment_intent": intent_id}
    assert deliver(app.test_client(), event("charge.refunded", charge)).status_code == 200
    order = order_of(app, placed["id"])
    assert (order.status.value, order.refunded_fen) == ("refunded", 6800)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(DrawReversal.credit_fen))) == 6120


def test_no_database_transaction_is_open_while_stripe_answers(app, api, client, goods, shelf, stripe_api, monkeypatch):
    """Each call to Stripe waits on the network: no read may stay open (holding its locks) meanwhile."""
    from shop.models import SaleLine, User
    from shop.selling import payments

    calls = []
    real_call = payments._stripe_call

    def watched(call, *args, **kwargs):
        calls.append((call.__name__, db.session().in_transaction()))
        return real_call(call, *args, **kwargs)

    monkeypatch.setattr(payments, "_stripe_call", watched)
    placed = place(api, goods)  # creates the PaymentIntent
    intent_id = placed["stripe"]["payment_intent_id"]
    pay(stripe_api, intent_id)
    back = {"payment_intent": intent_id, "redirect_status": "succeeded"}
    assert client.get(f"/orders/{placed['token']}", query_string=back).status_code == 200  # the return page syncs
    deliver(app.test_client(), intent_event("payment_intent.succeeded", intent_id))
    with app.app_context():
        line_id = db.session.scalar(sa.select(SaleLine.id))
        admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
        payments.refund_order(order_id=placed["id"], lines=[(line_id, 250)], restock=True, by=admin)
    charge = {"id": "ch_z", "object": "charge", "payment_intent": intent_id}
    deliver(app.test_client(), event("charge.refunded", charge))
    # (what was called, whether a transaction was open): intent, return page, webhook, refund, refund webhook.
    names = ["create", "retrieve", "retrieve", "create", "list"]
    assert calls == [(name, False) for name in names]
