"""Stripe: PaymentIntents for online orders, their webhooks, and refunds.

Every call to Stripe happens outside a database transaction, so no lock is
held while the network is slow; what Stripe answers is then applied by one
use case in one transaction. Each create or refund is sent with an
idempotency key saved beforehand, and what an event says is re-read from
Stripe before anything is done with it: events can come twice, late or out
of order, and the PaymentIntent itself is the truth.
"""

import json
import logging
import re

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from shop.clock import business_today
from shop.errors import Conflict, Invalid
from shop.extensions import db
from shop.models import Order, OrderPayment, OrderRefund, PaymentMethod, RefundStatus, StripeEvent, User
from shop.selling import orders, sales
from shop.selling.order_flow import PAID_STATUSES, OrderStatus, TransitionNotAllowed, after_refund, move
from shop.stock.allocation import OutOfStock
from shop.transaction import atomic, release_before_calling_out

log = logging.getLogger(__name__)

#: Stripe's CNY amounts are in fen, like ours.
CURRENCY = "cny"


class PaymentUnavailable(Conflict):
    """Stripe could not be reached, or is not configured here (409: the order stands; try again later)."""

    code = "payment_unavailable"


class MalformedEvent(Invalid):
    """A signed body that is not a Stripe event: only a leaked secret makes one, but it must not crash."""

    code = "malformed_event"


class BadSignature(Invalid):
    """A webhook whose signature or timestamp does not check out."""

    code = "bad_signature"


def configured() -> bool:
    """Whether online payment is set up; without keys, buyers pay at pickup."""
    return bool(current_app.config["STRIPE_SECRET_KEY"])


def publishable_key() -> str:
    """The key Stripe.js uses in the buyer's browser."""
    return current_app.config["STRIPE_PUBLISHABLE_KEY"]


def client():
    """This app's Stripe client (v1 API), made once per app from its config, never at import."""
    cached = current_app.extensions.get("stripe_client")
    if cached is None:
        if not configured():
            raise PaymentUnavailable(_("Online payment is not available; choose to pay at pickup."))
        import stripe  # here, not at import: the SDK (and aiohttp) weighs ~20 MiB in every worker

        base = current_app.config["STRIPE_API_BASE"]
        kwargs = {"base_addresses": {"api": base}} if base else {}
        # Two tries: one network blip should not fail a checkout, and the idempotency key makes a retry safe.
        cached = stripe.StripeClient(current_app.config["STRIPE_SECRET_KEY"], max_network_retries=2, **kwargs).v1
        current_app.extensions["stripe_client"] = cached
    return cached


def _stripe_call(call, *args, **kwargs):
    """Call Stripe; its failures become a domain error the views can show."""
    import stripe

    try:
        return call(*args, **kwargs)
    except stripe.StripeError as error:
        log.warning("Stripe call failed: %s", type(error).__name__)
        raise PaymentUnavailable(_("The payment service did not answer. Please try again.")) from error


def start_payment(order_id: int) -> tuple[str, str]:
    """The order's PaymentIntent (id, client secret), created on first use with the key saved at checkout."""
    order = orders.find_order(order_id)
    if order.payment is not OrderPayment.STRIPE:
        raise Invalid(_("This order is paid at the counter."))
    if order.stripe_payment_intent_id and order.stripe_client_secret:
        return order.stripe_payment_intent_id, order.stripe_client_secret
    if orders.effective_status(order) is not OrderStatus.AWAITING_PAYMENT:
        raise Conflict(_("This order is no longer waiting for payment."))
    params = {
        "amount": order.total_fen,
        "currency": CURRENCY,
        "payment_method_types": list(current_app.config["STRIPE_PAYMENT_METHOD_TYPES"]),
        "metadata": {"order_id": str(order.id), "order_number": order.number},
    }
    options = {"idempotency_key": order.stripe_idempotency_key}
    release_before_calling_out()
    intent = _stripe_call(client().payment_intents.create, params=params, options=options)
    with atomic() as session:
        order = session.get(Order, order_id)
        order.stripe_payment_intent_id = intent.id
        order.stripe_client_secret = intent.client_secret
    return intent.id, intent.client_secret


def sync_payment(order_id: int) -> None:
    """Read the order's PaymentIntent from Stripe and act on what it says (safe to repeat)."""
    order = orders.find_order(order_id)
    if not (intent_id := order.stripe_payment_intent_id):
        return
    release_before_calling_out()
    intent = _stripe_call(client().payment_intents.retrieve, intent_id)
    apply_intent(intent)


def apply_intent(intent) -> None:
    """Act on a PaymentIntent's state as Stripe reports it: fulfil once on success, free the stock on cancel."""
    order_id = _order_id_of(intent)
    if order_id is None:
        return
    if intent.status == "succeeded":
        _fulfil(order_id, intent)
    elif intent.status == "canceled":
        try:
            orders.cancel_order(order_id)
        except TransitionNotAllowed:
            pass  # already paid, expired or cancelled: a late cancel changes nothing
    # Any other state (a declined card leaves it requiring a payment method) waits for the buyer.


def _order_id_of(intent) -> int | None:
    order_id = db.session.scalar(sa.select(Order.id).where(Order.stripe_payment_intent_id == intent.id))
    if order_id is None:
        # An intent the order never heard of (its create answer was lost): the metadata names the order.
        metadata = intent.metadata.to_dict() if getattr(intent, "metadata", None) else {}
        raw = str(metadata.get("order_id", ""))
        order_id = int(raw) if raw.isdigit() else None
        if order_id is not None and not db.session.get(Order, order_id):
            order_id = None
    return order_id


def _fulfil(order_id: int, intent) -> None:
    """Turn the paid order into a sale, or give the money back if that can no longer be done."""
    order = orders.find_order(order_id)
    if order.status is OrderStatus.REFUNDED:
        return  # a payment already given back (its event came again): nothing more to do
    if intent.amount != order.total_fen or intent.currency != CURRENCY:
        log.error("PaymentIntent amount does not match order %s; not fulfilled", order_id)
        return
    try:
        orders.pay_order(order_id=order_id, method=PaymentMethod.STRIPE, today=business_today())
    except (OutOfStock, TransitionNotAllowed):
        # Money came for an order that lapsed (its stock since sold) or was cancelled: it goes back.
        _refund_unfulfilled(order_id, intent)


def _refund_unfulfilled(order_id: int, intent) -> None:
    """Return a payment the counter cannot fulfil; no sale was made, so there are no credits to reverse."""
    key = f"order-{order_id}-unfulfilled-refund"
    _stripe_call(client().refunds.create, params={"payment_intent": intent.id}, options={"idempotency_key": key})
    with atomic() as session:
        order = orders.locked_order(session, order_id)
        if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT):
            if order.status is OrderStatus.AWAITING_PAYMENT:
                order.status = move(order.status, OrderStatus.EXPIRED)
            order.status = move(order.status, OrderStatus.REFUNDED)
            order.refunded_fen = order.total_fen


def cancel_order(order_id: int) -> Order:
    """Cancel an unpaid order, then its PaymentIntent, so it can no longer be paid."""
    order = orders.cancel_order(order_id)
    if order.stripe_payment_intent_id and configured():
        try:
            _stripe_call(client().payment_intents.cancel, order.stripe_payment_intent_id)
        except PaymentUnavailable:
            # If the buyer still manages to pay, the success event finds the order cancelled and refunds it.
            log.warning("could not cancel the PaymentIntent of order %s", order_id)
    return order


def expire_lapsed() -> list[int]:
    """Record lapsed orders as expired and cancel their PaymentIntents (the `orders expire` command)."""
    expired = orders.expire_due()
    for order_id in expired:
        intent_id = db.session.scalar(sa.select(Order.stripe_payment_intent_id).where(Order.id == order_id))
        if intent_id and configured():
            try:
                _stripe_call(client().payment_intents.cancel, intent_id)
            except PaymentUnavailable:
                log.warning("could not cancel the PaymentIntent of order %s", order_id)
    return expired


# Webhooks.

HANDLED = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
}


def handle_event(payload: bytes, signature: str) -> str:
    """Verify a webhook and act on it at most once; return what was done ("handled", "duplicate", "ignored")."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:
        raise BadSignature(_("Webhooks are not configured."))
    import stripe

    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise BadSignature(_("The signature does not match.")) from error
    except (AttributeError, TypeError, RecursionError) as error:  # signed, but not an event (or nested absurdly)
        raise MalformedEvent(_("The event is not one Stripe sends.")) from error
    _check_shape(json.loads(payload))
    if db.session.scalar(sa.select(StripeEvent.id).where(StripeEvent.event_id == event.id)):
        return "duplicate"
    if event.type not in HANDLED:
        _remember(event)
        return "ignored"
    obj = event.data.object
    if event.type.startswith("payment_intent."):
        sync_intent(obj.id)
    else:
        intent_id = getattr(obj, "payment_intent", None)
        if isinstance(intent_id, str) and intent_id:
            sync_refunds(intent_id)
    _remember(event)
    return "handled"


#: Stripe's event ids ("evt_…") are short; the column holds 80 characters.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,76}")


def _check_shape(event) -> None:
    """Refuse a correctly signed body (plain JSON) that is not an event as Stripe makes them."""
    try:
        event_id, event_type, obj = event.get("id"), event.get("type"), event["data"]["object"]
    except (AttributeError, KeyError, TypeError) as error:
        raise MalformedEvent(_("The event is not one Stripe sends.")) from error
    if not (isinstance(event_id, str) and EVENT_ID.fullmatch(event_id)) or not isinstance(event_type, str):
        raise MalformedEvent(_("The event is not one Stripe sends."))
    if not isinstance(obj, dict) or not isinstance(obj.get("id", ""), str):
        raise MalformedEvent(_("The event is not one Stripe sends."))


def _remember(event) -> None:
    """Record an event as processed; a concurrent delivery of the same event may have beaten us to it."""
    try:
        with atomic() as session:
            session.add(StripeEvent(event_id=event.id, event_type=event.type))
    except IntegrityError:
        db.session.rollback()


def sync_intent(intent_id: str) -> None:
    """Re-read a PaymentIntent from Stripe and apply its state."""
    release_before_calling_out()
    intent = _stripe_call(client().payment_intents.retrieve, intent_id)
    apply_intent(intent)


# Refunds.


def refund_order(*, order_id: int, lines: list[tuple[int, int]], restock: bool, by: User) -> OrderRefund:
    """Refund part or all of a paid order: through Stripe for online payments, at the counter otherwise.

    The request is saved first with its idempotency key; the households'
    credits are reversed only when the refund has gone through.
    """
    pending = _request_refund(order_id, lines, restock, by)
    order = orders.find_order(order_id)
    if order.payment is OrderPayment.STRIPE:
        params = {"payment_intent": order.stripe_payment_intent_id, "amount": pending.amount_fen}
        options = {"idempotency_key": pending.idempotency_key}
        release_before_calling_out()
        refund = _stripe_call(client().refunds.create, params=params, options=options)
        _record_stripe_refund(pending.id, refund.id)
        if refund.status != "succeeded":
            return db.session.get(OrderRefund, pending.id)
    return apply_refund(pending.id)


def _request_refund(order_id: int, lines: list[tuple[int, int]], restock: bool, by: User) -> OrderRefund:
    with atomic() as session:
        order = orders.locked_order(session, order_id)
        if order.status not in PAID_STATUSES or order.sale_id is None:
            raise Conflict(_("Only a paid order can be refunded."))
        waiting = session.scalar(
            sa.select(OrderRefund.id).where(
                OrderRefund.order_id == order.id, OrderRefund.status == RefundStatus.PENDING
            )
        )
        if waiting:
            raise Conflict(_("A refund of this order is still waiting for the payment service."))
        amount = sales.refund_amount(session, order.sale_id, [sales.RefundRequest(*line) for line in lines])
        pending = OrderRefund(
            order_id=order.id,
            amount_fen=amount,
            restock=restock,
            lines_json=json.dumps([list(line) for line in lines]),
            idempotency_key="",
            requested_by_id=by.id,
        )
        session.add(pending)
        session.flush()
        pending.idempotency_key = f"order-{order.id}-refund-{pending.id}"
    return pending


def _record_stripe_refund(pending_id: int, stripe_refund_id: str) -> None:
    with atomic() as session:
        pending = session.get(OrderRefund, pending_id)
        pending.stripe_refund_id = stripe_refund_id


def apply_refund(pending_id: int) -> OrderRefund:
    """Reverse the credits of a refund that went through, exactly once."""
    with atomic() as session:
        pending = session.scalars(sa.select(OrderRefund).where(OrderRefund.id == pending_id).with_for_update()).one()
        if pending.refund_id is not None:
            return pending
        order = orders.locked_order(session, pending.order_id)
        lines = [sales.RefundRequest(*line) for line in json.loads(pending.lines_json)]
        # The refund is booked in the name of the staff member who asked for it.
        by = session.get(User, pending.requested_by_id)
        sale = sales.locked_sale(session, order.sale_id)
        refund = sales.refund_in(session, sale, lines, pending.restock, _("Online order refund"), by)
        pending.refund_id = refund.id
        pending.status = RefundStatus.SUCCEEDED
        order.refunded_fen += refund.amount_fen
        order.status = move(order.status, after_refund(order.refunded_fen, order.total_fen))
    return pending


def sync_refunds(intent_id: str) -> None:
    """Re-read an intent's refunds from Stripe and apply those that succeeded, mark those that failed."""
    release_before_calling_out()
    listed = _stripe_call(client().refunds.list, params={"payment_intent": intent_id, "limit": 100})
    for refund in listed.data:
        pending_id = db.session.scalar(sa.select(OrderRefund.id).where(OrderRefund.stripe_refund_id == refund.id))
        if pending_id is None:
            continue
        if refund.status == "succeeded":
            apply_refund(pending_id)
        elif refund.status in ("failed", "canceled"):
            _mark_failed(pending_id)


def _mark_failed(pending_id: int) -> None:
    with atomic() as session:
        pending = session.get(OrderRefund, pending_id)
        if pending.refund_id is None:
            pending.status = RefundStatus.FAILED
