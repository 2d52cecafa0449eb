"""Online orders for staff: the list, one order with its handing-over steps and refunds, and payment at pickup.

Clerks see only their own counter's orders (403 otherwise); the counter manager sees every
counter's. Handing over goes through shop.selling.orders; cancelling and refunding go through
shop.selling.payments, imported in the view because Stripe is its business. A refused step shows
the page again with the reason and the HTTP status of its kind, and records nothing.

Phones are masked everywhere. The full number of a delivery order is shown only to the
manager, who arranges the courier, on request, and each such view is written to the audit trail
(who saw which order's number; never the number itself).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from shop import audit
from shop.clock import business_today, local_time
from shop.errors import Conflict, DomainError, Forbidden, Invalid
from shop.models import (
    COUNTER_METHODS,
    Counter,
    Fulfilment,
    Order,
    OrderPayment,
    OrderRefund,
    PaymentMethod,
    RefundStatus,
    Role,
    Sale,
    User,
)
from shop.money import InvalidAmount, format_fen, parse_yuan
from shop.selling import orders, sales
from shop.selling.order_flow import PAID_STATUSES, OrderStatus, staff_moves
from shop.stock import lots
from shop.stock.counters import UnknownCounter, counter_for, working_counter
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import refund_requests
from shop.web.responses import status_of
from shop.web.templating import label, staff_quantity_text, unit_price_text

bp = Blueprint("admin_orders", __name__, url_prefix="/admin/orders")

#: Who handles online orders: clerks at their own counter, and the counter manager.
order_staff = roles_required(Role.ADMIN, Role.CLERK)

#: The list shows this many orders, newest first.
ORDERS_SHOWN = 200

S = OrderStatus


class NotPayAtPickup(Conflict):
    """Money is taken at the counter only for orders the buyer chose to pay at pickup."""


# ---------------------------------------------------------------- words


def order_label(value) -> str:
    """The words for an order's status, fulfilment or payment, or a sale's payment method."""
    # Looked up apart: OrderPayment.STRIPE and PaymentMethod.STRIPE are equal strings, so one dict cannot hold both.
    if isinstance(value, OrderPayment):
        return _("Pay at pickup") if value is OrderPayment.PAY_AT_PICKUP else _("Pay online")
    return {
        S.AWAITING_PAYMENT: _("Awaiting payment"),
        S.PAID: _("Paid"),
        S.PACKED: _("Packed"),
        S.SHIPPED: _("Shipped"),
        S.COLLECTED: _("Collected"),
        S.CANCELLED: _("Cancelled"),
        S.EXPIRED: _("Expired"),
        S.REFUNDED: _("Refunded"),
        S.PARTIALLY_REFUNDED: _("Partly refunded"),
        Fulfilment.PICKUP: _("Pickup"),
        Fulfilment.DELIVERY: _("Delivery"),
    }.get(value) or label(value)


def refund_status_label(status: RefundStatus) -> str:
    """The words for an order refund's status."""
    return {
        RefundStatus.PENDING: _("Pending"),
        RefundStatus.SUCCEEDED: _("Succeeded"),
        RefundStatus.FAILED: _("Failed"),
    }[status]


def when(utc_naive) -> str:
    """A stored instant as the counter's wall-clock time: 2026-05-01 14:05."""
    return local_time(utc_naive).strftime("%Y-%m-%d %H:%M") if utc_naive else ""


@bp.context_processor
def _helpers() -> dict:
    """What the order templates call."""
    return {
        "order_label": order_label,
        "refund_status_label": refund_status_label,
        "when": when,
        "line_text": staff_quantity_text,
        "unit_price_text": unit_price_text,
        "effective_status": orders.effective_status,
    }


# ---------------------------------------------------------------- who sees what


def scope(user: User) -> int | None:
    """The counter whose orders the user sees: a clerk's own, or None (every counter) for the manager."""
    return counter_for(user).id if user.role is Role.CLERK else None


def order_for(user: User, order_id: int) -> Order:
    """An order the user may handle: 404 if there is none, 403 for a clerk of another counter."""
    order = orders.find_order(order_id)
    if user.role is Role.CLERK and order.counter_id != counter_for(user).id:
        raise Forbidden(_("Clerks see only the orders of their own counter."))
    return order


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class Filter:
    """One chip of the list: the statuses (and fulfilment) it shows."""

    key: str
    label: str
    statuses: frozenset[OrderStatus] | None
    fulfilment: Fulfilment | None = None

    def count(self, counts: Mapping[tuple[OrderStatus, Fulfilment], int]) -> int:
        """How many of the counted orders this chip shows."""
        return sum(
            n
            for (status, fulfilment), n in counts.items()
            if (self.statuses is None or status in self.statuses) and self.fulfilment in (None, fulfilment)
        )


#: The chips: all, then in the order of an order's life. "Unpaid" is exact because the list expires lapsed orders first.
FILTERS = (
    Filter("all", _l("All"), None),
    Filter("unpaid", _l("Unpaid"), frozenset({S.AWAITING_PAYMENT})),
    Filter("paid", _l("Paid"), PAID_STATUSES),
    Filter("to_pack", _l("To pack"), frozenset({S.PAID})),
    Filter("ready", _l("Ready for pickup"), frozenset({S.PACKED}), Fulfilment.PICKUP),
    Filter("shipped", _l("Shipped"), frozenset({S.SHIPPED})),
    Filter("collected", _l("Collected"), frozenset({S.COLLECTED})),
    Filter("cancelled", _l("Cancelled"), frozenset({S.CANCELLED, S.EXPIRED})),
    Filter("refunded", _l("Refunded"), frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED})),
)
FILTER_BY_KEY = {f.key: f for f in FILTERS}


@bp.route("/")
@order_staff
def index():
    """Online orders, newest first, filtered by where they stand (?show=to_pack)."""
    user = signed_in_user()
    # Lapsed orders are recorded as expired first, so each lands under the right chip.
    orders.expire_due()
    chosen = FILTER_BY_KEY.get(request.args.get("show", "all"), FILTER_BY_KEY["all"])
    counter_id = scope(user)
    shown = orders.staff_orders(
        counter_id=counter_id, statuses=chosen.statuses, fulfilment=chosen.fulfilment, limit=ORDERS_SHOWN
    )
    return render_template(
        "admin/orders/index.html",
        orders=shown,
        filters=FILTERS,
        chosen=chosen,
        counts=orders.order_counts(counter_id),
        counter=counter_for(user) if counter_id else None,
        waiting=len(orders.orders_to_collect(counter_for(user).id)),
        limit=ORDERS_SHOWN,
    )


# ---------------------------------------------------------------- one order


class OrderRefundForm(FlaskForm):
    """A refund's choice of restocking; the quantity of each sale line is read from `qty-<line id>` fields."""

    restock = RadioField(
        _l("The goods"),
        choices=[SelectChoice("yes", _l("Back on the shelf")), SelectChoice("no", _l("Written off as damaged"))],
        default="yes",
    )


@bp.get("/<id:order_id>")
@order_staff
def order_page(order_id: int):
    """An order: lines, totals, contact, the sale it became, the next steps and its refunds."""
    user = signed_in_user()
    order = order_for(user, order_id)
    return render_order(order, user, OrderRefundForm(), full_phone=_full_phone(order, user))


def _full_phone(order: Order, user: User) -> str | None:
    """The buyer's full number, for the manager arranging a delivery who asked for it (?phone=full); audited."""
    if (
        request.args.get("phone") != "full"
        or user.role is not Role.ADMIN
        or order.fulfilment is not Fulfilment.DELIVERY
    ):
        return None
    # PIPL: every full view is recorded (who, which order), never the number itself.
    audit.personal_data_shown(Order.__tablename__, order.id, "contact_phone")
    return order.contact_phone


def render_order(
    order: Order,
    user: User,
    form: OrderRefundForm,
    *,
    error: str | None = None,
    line_errors: Mapping[int, str] | None = None,
    full_phone: str | None = None,
    question: str | None = None,
):
    """The order page, with the refund form as it was filled in and, before a refund, the question that confirms it."""
    status = orders.effective_status(order)
    sale = sales.sale_for(order.sale_id, user) if order.sale_id else None
    refunds = orders.order_refunds(order.id)
    return render_template(
        "admin/orders/order.html",
        order=order,
        status=status,
        sale=sale,
        refunds=refunds,
        refund_lines=_refund_lines(refunds),
        sale_lines={line.id: line for line in sale.lines} if sale else {},
        left=_left_to_refund(sale, refunds) if sale else {},
        moves=_moves(order, status),
        can_cancel=status is S.AWAITING_PAYMENT,
        can_collect=_can_collect(order, status),
        can_refund=sale is not None and status in PAID_STATUSES,
        refund_waiting=any(r.status is RefundStatus.PENDING for r in refunds),
        form=form,
        error=error,
        line_errors=line_errors or {},
        full_phone=full_phone,
        question=question,
        cancel_question=cancel_question(order),
    )


def _moves(order: Order, status: OrderStatus) -> list[OrderStatus]:
    """The handing-over steps to offer: none before payment, nor for a pay-at-pickup order (handed over when paid)."""
    if order.sale_id is None or order.payment is OrderPayment.PAY_AT_PICKUP:
        return []
    return staff_moves(status, order.fulfilment is Fulfilment.DELIVERY)


def _can_collect(order: Order, status: OrderStatus) -> bool:
    """Whether the buyer may still pay at the counter: a pay-at-pickup order not yet paid, held or lapsed."""
    return (
        order.payment is OrderPayment.PAY_AT_PICKUP
        and order.sale_id is None
        and status in (S.AWAITING_PAYMENT, S.EXPIRED)
    )


def _refund_lines(refunds: list[OrderRefund]) -> dict[int, list[tuple[int, int]]]:
    """Each refund's (sale line id, quantity) pairs, read from what it was asked for."""
    return {r.id: [(int(line_id), int(qty)) for line_id, qty in json.loads(r.lines_json)] for r in refunds}


def _left_to_refund(sale: Sale, refunds: list[OrderRefund]) -> dict[int, int]:
    """Grams or pieces of each sale line still refundable: neither given back nor waiting on a pending refund."""
    given = sales.refunded_quantities(sale)
    for r in refunds:
        if r.status is RefundStatus.PENDING:
            for line_id, qty in _refund_lines([r])[r.id]:
                given[line_id] = given.get(line_id, 0) + qty
    return {line.id: max(line.quantity - given.get(line.id, 0), 0) for line in sale.lines}


def _step_done(target: OrderStatus, number: str) -> str:
    """What staff are told after a handing-over step."""
    return {
        S.PACKED: _("Order %(number)s is packed.", number=number),
        S.SHIPPED: _("Order %(number)s is shipped.", number=number),
        S.COLLECTED: _("Order %(number)s is handed over.", number=number),
    }[target]


@bp.post("/<id:order_id>/advance")
@order_staff
def advance(order_id: int):
    """Take the next handing-over step (?to=packed|shipped|collected); a step the order cannot take is 409."""
    user = signed_in_user()
    order = order_for(user, order_id)
    try:
        target = OrderStatus(request.form.get("to", ""))
        orders.advance(order.id, target)
    except ValueError:
        return render_order(order, user, OrderRefundForm(), error=_("Choose a step to take.")), 422
    except DomainError as error:
        return render_order(orders.find_order(order_id), user, OrderRefundForm(), error=error.message), status_of(error)
    flash(_step_done(target, order.number), "info")
    return redirect(url_for(".order_page", order_id=order_id))


@bp.post("/<id:order_id>/cancel")
@order_staff
def cancel(order_id: int):
    """Cancel an unpaid order; its stock is free again at once."""
    from shop.selling import payments

    user = signed_in_user()
    order = order_for(user, order_id)
    try:
        payments.cancel_order(order.id)
    except DomainError as error:
        return render_order(orders.find_order(order_id), user, OrderRefundForm(), error=error.message), status_of(error)
    flash(_("Order %(number)s is cancelled and its goods are back on sale.", number=order.number), "info")
    return redirect(url_for(".order_page", order_id=order_id))


@bp.post("/<id:order_id>/refund")
@order_staff
def refund(order_id: int):
    """Refund part of a paid order; Stripe orders are refunded through Stripe, counter payments at once."""
    from shop.selling import payments

    user = signed_in_user()
    order = order_for(user, order_id)
    form = OrderRefundForm()
    if order.sale_id is None:
        return render_order(order, user, form, error=_("Only a paid order can be refunded.")), 409
    if not form.validate_on_submit():
        return render_order(order, user, form), 422
    requests, errors = refund_requests(sales.sale_for(order.sale_id, user), request.form)
    if errors:
        return render_order(order, user, form, line_errors=errors), 422
    if not requests:
        return render_order(order, user, form, error=_("Choose at least one line to refund.")), 422
    try:
        if request.form.get("confirmed") != "yes":
            # One tap gives money away: ask first, with the amount, and record nothing yet.
            sale = sales.sale_for(order.sale_id, user)
            amount = sales.refund_preview(sale.id, requests)
            online = order.payment is OrderPayment.STRIPE
            question = sales.refund_question(sale, requests, amount, form.restock.data == "yes", online=online)
            return render_order(order, user, form, question=question), 200
        done = payments.refund_order(
            order_id=order.id,
            lines=[(r.line_id, r.quantity) for r in requests],
            restock=form.restock.data == "yes",
            by=user,
        )
    except DomainError as error:
        fresh = orders.find_order(order_id)
        if (line_id := _line_at_fault(error, requests)) is not None:
            return render_order(fresh, user, form, line_errors={line_id: error.message}), status_of(error)
        return render_order(fresh, user, form, error=error.message), status_of(error)
    _say_refunded(order, done)
    return redirect(url_for(".order_page", order_id=order_id))


def _line_at_fault(error: DomainError, requests: list[sales.RefundRequest]) -> int | None:
    """The sale line a refund error names by its place in the request ("lines.0.quantity"), if any."""
    match = re.fullmatch(r"lines\.(\d+)\.\w+", error.field or "")
    index = int(match[1]) if match else -1
    return requests[index].line_id if 0 <= index < len(requests) else None


def _say_refunded(order: Order, done: OrderRefund) -> None:
    """Tell staff what became of a refund: money to hand back, money on its way, or a failure."""
    amount = format_fen(done.amount_fen)
    if done.status is RefundStatus.FAILED:
        flash(_("The refund of %(amount)s failed: nothing was given back.", amount=amount), "error")
    elif done.status is RefundStatus.PENDING:
        flash(
            _("Refund of %(amount)s asked of the payment provider; it is applied once they confirm.", amount=amount),
            "info",
        )
    elif order.payment is OrderPayment.STRIPE:
        flash(_("Refund of %(amount)s sent back to the buyer's online payment.", amount=amount), "info")
    else:
        flash(_("Refund recorded: hand %(amount)s back to the buyer.", amount=amount), "info")


# ---------------------------------------------------------------- payment at pickup


@bp.get("/collect")
@order_staff
def collect():
    """Pay-at-pickup orders waiting at this counter; search by order number or the phone's last four digits."""
    user = signed_in_user()
    return render_collect(collect_counter(user), request.args.get("q", ""), user=user)


def collect_counter(user: User) -> Counter:
    """The counter whose pickups are listed: a clerk's own; for the manager the one chosen with ?counter=."""
    chosen = request.args.get("counter", type=int)
    if chosen is not None and not 0 < chosen < 2**31:
        raise UnknownCounter(_("No open counter has id %(id)s.", id=chosen), "counter")
    return working_counter(user, chosen)


def goods_text(order: Order) -> str:
    """An order's goods in a sentence: 虾干 500 克（1 斤）, 虾酱 2 件."""
    return _(", ").join(f"{line.product_name} {staff_quantity_text(line.quantity, line.unit)}" for line in order.lines)


def collect_question(order: Order) -> str:
    """What staff are asked before taking a pickup order's money (static/js/confirm.js asks it)."""
    return _(
        "Take %(amount)s for order %(number)s and hand over %(goods)s?",
        amount=format_fen(order.total_fen),
        number=order.number,
        goods=goods_text(order),
    )


def cancel_question(order: Order) -> str:
    """What the cancel step of an order says will happen."""
    return _(
        "Cancel order %(number)s? The buyer has not paid its %(amount)s; %(goods)s go back on sale.",
        number=order.number,
        amount=format_fen(order.total_fen),
        goods=goods_text(order),
    )


def render_collect(
    counter: Counter, q: str, *, error: str | None = None, failed: int | None = None, user: User | None = None
):
    """The pickup page: orders held for the counter, or those a search finds (lapsed ones too)."""
    q = q.strip()[:20]
    found = orders.search_pickups(counter.id, q) if q else orders.orders_to_collect(counter.id)
    counters = lots.open_counters() if user is not None and user.role is Role.ADMIN else []
    return render_template(
        "admin/orders/collect.html",
        counter=counter,
        counters=counters if len(counters) > 1 else [],
        q=q,
        found=found,
        methods=[(m.value, label(m)) for m in COUNTER_METHODS],
        error=error,
        failed=failed,
        collect_question=collect_question,
    )


@bp.post("/<id:order_id>/collect")
@order_staff
def take_payment(order_id: int):
    """Take a pay-at-pickup order's money: it becomes a sale (crediting the households) and is handed over."""
    user = signed_in_user()
    order = order_for(user, order_id)
    if order.sale_id is not None:
        # Sent twice (a double tap, a reload): the sale is already made; never sell again.
        flash(_("Order %(number)s was already paid.", number=order.number), "info")
        return redirect(url_for("admin_counter.sale_page", sale_id=order.sale_id))
    try:
        method, tendered_fen = read_payment(request.form)
        if order.payment is not OrderPayment.PAY_AT_PICKUP:
            raise NotPayAtPickup(_("This order is paid online; it cannot be paid at the counter."))
        sale = orders.pay_order(
            order_id=order.id,
            method=method,
            today=business_today(),
            by=user,
            tendered_fen=tendered_fen,
            collected=True,
        )
    except DomainError as error:
        counter = orders.find_order(order_id).counter
        return render_collect(counter, order.number, error=error.message, failed=order_id), status_of(error)
    flash(_paid_message(order, sale), "info")
    return redirect(url_for("admin_counter.sale_page", sale_id=sale.id))


def read_payment(form: Mapping) -> tuple[PaymentMethod, int | None]:
    """The payment method and the cash handed over (fen, or None) from the pickup form."""
    chosen = form.get("method", "")
    if chosen not in {m.value for m in COUNTER_METHODS}:
        raise Invalid(_("Choose how the buyer paid."), "method")
    method = PaymentMethod(chosen)
    typed = (form.get("tendered") or "").strip()
    if not typed:
        return method, None
    if method is not PaymentMethod.CASH:
        raise Invalid(_("Only cash is handed over."), "tendered")
    try:
        return method, parse_yuan(typed)
    except InvalidAmount:
        raise Invalid(_("Write the cash handed over in yuan, such as 100 or 68.50."), "tendered") from None


def _paid_message(order: Order, sale: Sale) -> str:
    """What the clerk is told once the money is in: the sale, and the change to give."""
    if sale.tendered_fen is not None:
        change = format_fen(sale.tendered_fen - sale.total_fen)
        return _("Order %(number)s paid and handed over. Give %(change)s change.", number=order.number, change=change)
    return _("Order %(number)s paid and handed over.", number=order.number)
