"""Online orders: placing one reserves stock, paying turns it into a sale, staff hand it over.

One use case, one transaction. Stripe is never called from here: payments.py
calls Stripe first (or after), outside any lock, and then one of these.
"""

import hashlib
import hmac
import re
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from shop.clock import now_utc
from shop.errors import Invalid, NotFound, TooMany
from shop.extensions import db, limiter
from shop.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderPayment,
    OrderRefund,
    PaymentMethod,
    Reservation,
    Sale,
    SaleChannel,
    User,
)
from shop.money import MAX_FEN, format_fen, price_for
from shop.selling.order_flow import OrderStatus, move
from shop.selling.sales import MAX_LINES, LineRequest, LineToSell, allocate_line, draw_lines, line_to_sell, products_for
from shop.stock import lots as stock
from shop.stock.counters import default_counter, find_counter
from shop.transaction import atomic
from shop.units import Unit
from shop.wording import quantity_text

#: An order link's token as new_order_token makes it (url-safe base64, 32 characters), with room to spare.
ORDER_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UnknownOrder(NotFound):
    """No order has that token or number (or it is not the caller's to see)."""


class LineTooLarge(Invalid):
    """An order line asks for more of one product than one buyer may hold."""


class UnpaidLimitReached(TooMany):
    """The client (an address or a phone number) already holds as many unpaid orders, or as much money, as allowed."""


# ---------------------------------------------------------------- one client's bounds


def order_limit() -> str:
    """Orders one client address may place, the API and the checkout page together."""
    return current_app.config["ORDER_RATE_LIMIT"]


#: The throttle on placing orders, shared by POST /api/orders and the checkout page.
order_throttle = limiter.shared_limit(order_limit, scope="orders", methods=["POST"])


def line_cap(unit: Unit) -> int:
    """The most one cart line or order line may ask for, in grams or pieces."""
    return current_app.config["ORDER_LINE_MAX_PIECES" if unit == Unit.PIECE else "ORDER_LINE_MAX_GRAMS"]


def line_cap_message(unit: Unit) -> str:
    """Why a line asking for more than its cap is refused."""
    return _("At most %(qty)s of one product.", qty=quantity_text(line_cap(unit), unit))


def client_digest(address: str | None) -> str | None:
    """The client address as an order keeps it: an HMAC under SECRET_KEY, so that no address is stored."""
    if not address:
        return None
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _lock_client(session, digest: str | None, phone: str) -> None:
    """Queue two orders from the same client, so that both cannot slip past the bounds at once.

    SQLite's IMMEDIATE transaction already lets one writer in at a time; PostgreSQL takes a
    transaction-scoped advisory lock per address and per phone, in a fixed order (no deadlock).
    """
    if session.connection().dialect.name != "postgresql":
        return
    names = [f"order-phone:{phone}"] + ([f"order-address:{digest}"] if digest else [])
    keys = sorted(int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big", signed=True) for n in names)
    for key in keys:
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def unpaid_of_client(session, digest: str | None, phone: str, now: datetime) -> tuple[list[Order], list[Order]]:
    """The unpaid orders within their hold placed from this address, and those placed with this phone."""
    who = [Order.contact_phone_last4 == phone[-4:]]
    if digest:
        who.append(Order.client_address_digest == digest)
    unpaid = list(
        session.scalars(
            sa.select(Order).where(Order.status == OrderStatus.AWAITING_PAYMENT, Order.expires_at > now, sa.or_(*who))
        )
    )
    by_address = [o for o in unpaid if digest and o.client_address_digest == digest]
    # The phone is sealed: its last four digits narrow the search, the number is compared here.
    by_phone = [o for o in unpaid if hmac.compare_digest(o.contact_phone.encode(), phone.encode())]
    return by_address, by_phone


def _check_client_count(held: Sequence[list[Order]]) -> None:
    most = current_app.config["UNPAID_ORDERS_PER_CLIENT"]
    if any(len(orders) >= most for orders in held):
        raise UnpaidLimitReached(
            _(
                "You already have %(n)d orders waiting for payment. Pay for or collect them, "
                "or wait until their reservation lapses, before placing another.",
                n=most,
            )
        )


def _check_client_money(held: Sequence[list[Order]], total_fen: int) -> None:
    most = current_app.config["UNPAID_FEN_PER_CLIENT"]
    if any(sum(o.total_fen for o in orders) + total_fen > most for orders in held):
        raise UnpaidLimitReached(
            _(
                "Unpaid orders may hold at most %(most)s of goods together. Make this order smaller, "
                "or pay for the ones you have first.",
                most=format_fen(most),
            ),
            "lines",
        )


def hold(payment: OrderPayment) -> timedelta:
    """How long an unpaid order keeps its stock: minutes to pay online, or until the buyer can reach the counter."""
    minutes = "PICKUP_HOLD_MINUTES" if payment == OrderPayment.PAY_AT_PICKUP else "ORDER_HOLD_MINUTES"
    return timedelta(minutes=current_app.config[minutes])


def place_order(
    *,
    lines: Sequence[LineRequest],
    name: str,
    phone: str,
    fulfilment: Fulfilment,
    address: str,
    payment: OrderPayment,
    today: date,
    now: datetime | None = None,
    counter_id: int | None = None,
    client_address: str | None = None,
) -> Order:
    """Price a basket on the server and reserve its stock at the chosen counter until the hold lapses.

    A pickup is held at the counter the buyer chose (the first one when none is named); a
    delivery with no counter named ships from the first counter that holds the whole basket.
    One client (the address the order comes from, and the phone) holds a bounded number of
    unpaid orders and money: past either bound UnpaidLimitReached, and nothing is reserved.
    """
    now = now or now_utc()
    _check(lines, Fulfilment(fulfilment), address)
    digest = client_digest(client_address)
    with atomic() as session:
        _lock_client(session, digest, phone)
        held = unpaid_of_client(session, digest, phone, now)
        _check_client_count(held)
        if counter_id is not None:
            counter = find_counter(counter_id)
        elif fulfilment == Fulfilment.DELIVERY:
            counter = shipping_counter(lines, today)
        else:
            counter = default_counter()
        order = Order(
            fulfilment=fulfilment,
            payment=payment,
            counter_id=counter.id,
            contact_name=name,
            contact_phone=phone,
            address=address if fulfilment == Fulfilment.DELIVERY else "",
            total_fen=0,
            expires_at=now + hold(OrderPayment(payment)),
            client_address_digest=digest,
        )
        session.add(order)
        session.flush()
        products = products_for(session, lines)
        to_sell = [line_to_sell(products[r.product_id], r.quantity) for r in lines]
        _check_line_caps(to_sell)
        _reserve(session, order, to_sell, today, now)
        _check_client_money(held, order.total_fen)
        if payment == OrderPayment.STRIPE:
            # Saved before Stripe is ever called: a retried create returns the same PaymentIntent.
            order.stripe_idempotency_key = f"order-{order.id}-payment-intent"
    return order


def shipping_counter(lines: Sequence[LineRequest], today: date):
    """The counter a delivery ships from: the first open one holding the whole basket, else the first.

    Read before the stock is locked: if a sale takes the stock meanwhile, reserving refuses
    the order as out of stock, as it would at any counter.
    """
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    counters = stock.open_counters()
    for counter in counters:
        available = stock.available_at_counter(counter.id, today)
        if all(available.get(product_id, 0) >= quantity for product_id, quantity in wanted.items()):
            return counter
    return default_counter()


def _check(lines: Sequence[LineRequest], fulfilment: Fulfilment, address: str) -> None:
    if not lines:
        raise Invalid(_("The cart is empty."), "lines")
    if len(lines) > MAX_LINES:
        raise Invalid(_("An order has at most %(n)d lines.", n=MAX_LINES), "lines")
    if fulfilment is Fulfilment.DELIVERY and not address.strip():
        raise Invalid(_("Give the delivery address."), "address")


def _check_line_caps(lines: Sequence[LineToSell]) -> None:
    """No line asks for more than one buyer may hold of a product."""
    for index, line in enumerate(lines):
        if line.quantity > line_cap(line.unit):
            raise LineTooLarge(line_cap_message(line.unit), f"lines.{index}.quantity")


def _reserve(session, order: Order, lines: Sequence[LineToSell], today: date, now: datetime) -> None:
    """Hold each line's quantity in the counter's lots, the soonest best-before first."""
    lots = stock.lock_sellable_lots(session, {line.product_id for line in lines}, order.counter_id, today)
    held = stock.held_for_orders(session, {lot.id for lot in lots}, now)
    for index, request in enumerate(lines):
        allocations = allocate_line(lots, held, request, index)
        amount = price_for(request.quantity, request.price_fen, request.price_per)
        line = OrderLine(order=order, **request.columns(amount))
        session.add(line)
        for a in allocations:
            session.add(Reservation(line=line, lot_id=a.lot.lot_id, quantity=a.quantity))
            # A later line of the same product must not count this stock again.
            held[a.lot.lot_id] = held.get(a.lot.lot_id, 0) + a.quantity
        order.total_fen += amount
    if order.total_fen > MAX_FEN:
        raise Invalid(_("The total is too large for one order."), "lines")


def _load(query) -> Order:
    order = db.session.scalars(
        query.options(selectinload(Order.lines).selectinload(OrderLine.reservations), selectinload(Order.sale))
    ).first()
    if order is None:
        raise UnknownOrder(_("There is no such order."))
    return order


def order_by_token(token: str) -> Order:
    """The order behind a buyer's link."""
    return _load(sa.select(Order).where(Order.token == token))


def find_order(order_id: int) -> Order:
    """An order by its id, for staff."""
    return _load(sa.select(Order).where(Order.id == order_id))


def find_by_number(number: str, phone: str) -> Order:
    """A buyer's order by its number (W000123) and the phone it was placed with."""
    digits = number.strip().upper().removeprefix("W")
    if not digits.isdigit() or not 0 < int(digits) < 2**31:
        raise UnknownOrder(_("There is no such order."))
    order = _load(sa.select(Order).where(Order.id == int(digits)))
    # The phone is sealed, so it is compared here, not in SQL; in constant time, as a password would be.
    if not hmac.compare_digest(order.contact_phone.encode(), phone.strip().encode()):
        raise UnknownOrder(_("There is no such order."))
    return order


def effective_status(order: Order, now: datetime | None = None) -> OrderStatus:
    """The order's status as of now: an unpaid order past its hold has expired, even before anyone records it."""
    lapsed = order.status is OrderStatus.AWAITING_PAYMENT and order.expires_at <= (now or now_utc())
    return OrderStatus.EXPIRED if lapsed else order.status


def expire_due(now: datetime | None = None) -> list[int]:
    """Record as expired every unpaid order past its hold; their stock was already free. Returns their ids."""
    now = now or now_utc()
    with atomic() as session:
        due = list(
            session.scalars(
                sa.select(Order)
                .where(Order.status == OrderStatus.AWAITING_PAYMENT, Order.expires_at <= now)
                .order_by(Order.id)
                .with_for_update()
            )
        )
        for order in due:
            order.status = move(order.status, OrderStatus.EXPIRED)
    return [order.id for order in due]


def locked_order(session, order_id: int) -> Order:
    """The order, locked until the transaction ends."""
    order = session.scalars(sa.select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None:
        raise UnknownOrder(_("There is no such order."))
    return order


def cancel_order(order_id: int) -> Order:
    """Cancel an unpaid order and free its stock (its reservations stop counting at once)."""
    with atomic() as session:
        order = locked_order(session, order_id)
        order.status = move(order.status, OrderStatus.CANCELLED)
    return order


def advance(order_id: int, target: OrderStatus) -> Order:
    """Move a paid order on: packed, shipped or collected."""
    if target not in (OrderStatus.PACKED, OrderStatus.SHIPPED, OrderStatus.COLLECTED):
        raise Invalid(_("Staff only pack, ship or hand over orders here."), "status")
    with atomic() as session:
        order = locked_order(session, order_id)
        if target is OrderStatus.SHIPPED and order.fulfilment is not Fulfilment.DELIVERY:
            raise Invalid(_("A pickup order is handed over, not shipped."), "status")
        if target is OrderStatus.COLLECTED and order.sale_id is None:
            raise Invalid(_("Take the payment first."), "status")
        order.status = move(order.status, target)
    return order


def pay_order(
    *,
    order_id: int,
    method: PaymentMethod,
    today: date,
    by: User | None = None,
    tendered_fen: int | None = None,
    collected: bool = False,
) -> Sale:
    """Turn an order into a sale once its money is in: its reserved stock becomes draws, crediting the households.

    Stripe's confirmation (by=None) or a clerk taking the money at pickup
    (collected=True) both end here; whichever comes second finds the sale
    already made and gets it back, so an order is fulfilled exactly once.
    Raises OutOfStock if a lapsed order's stock has meanwhile been sold.
    """
    with atomic() as session:
        order = locked_order(session, order_id)
        if order.sale_id is not None:
            return order.sale
        target = OrderStatus.COLLECTED if collected else OrderStatus.PAID
        move(order.status, target)
        sale = Sale(
            idempotency_key=f"order-{order.id}",
            request_digest=f"order-{order.id}",
            counter_id=order.counter_id,
            channel=SaleChannel.ONLINE,
            clerk_id=by.id if by else None,
            payment_method=method,
            total_fen=0,
            tendered_fen=tendered_fen,
            sold_on=today,
        )
        session.add(sale)
        session.flush()
        lines = [
            LineToSell(line.product_id, line.product_name, line.unit, line.price_fen, line.price_per, line.quantity)
            for line in order.lines
        ]
        draw_lines(session, sale, lines, today, by, except_order_id=order.id)
        order.sale = sale
        order.status = target
        order.paid_at = now_utc()
    return sale


def orders_to_collect(counter_id: int, now: datetime | None = None) -> list[Order]:
    """Pay-at-pickup orders a counter is holding stock for, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(
                Order.counter_id == counter_id,
                Order.payment == OrderPayment.PAY_AT_PICKUP,
                Order.status == OrderStatus.AWAITING_PAYMENT,
                Order.expires_at > (now or now_utc()),
            )
            .options(selectinload(Order.lines))
            .order_by(Order.id)
        )
    )


# ---------------------------------------------------------------- staff lists (read-only)

#: An order number as staff type it: W000123, w123 or 123.
_ORDER_NUMBER = re.compile(r"[Ww]?0*(\d{1,9})")


def staff_orders(
    *,
    counter_id: int | None,
    statuses: Collection[OrderStatus] | None = None,
    fulfilment: Fulfilment | None = None,
    limit: int = 200,
) -> list[Order]:
    """Orders for the staff list, newest first: at one counter (None: every counter), in these statuses."""
    query = sa.select(Order).options(selectinload(Order.sale)).order_by(Order.id.desc()).limit(limit)
    if counter_id is not None:
        query = query.where(Order.counter_id == counter_id)
    if statuses is not None:
        query = query.where(Order.status.in_(list(statuses)))
    if fulfilment is not None:
        query = query.where(Order.fulfilment == fulfilment)
    return list(db.session.scalars(query))


def order_counts(counter_id: int | None) -> dict[tuple[OrderStatus, Fulfilment], int]:
    """How many orders stand in each status and fulfilment, for the staff list's filters."""
    query = sa.select(Order.status, Order.fulfilment, sa.func.count()).group_by(Order.status, Order.fulfilment)
    if counter_id is not None:
        query = query.where(Order.counter_id == counter_id)
    return {(status, fulfilment): n for status, fulfilment, n in db.session.execute(query)}


def search_pickups(counter_id: int, text: str, limit: int = 20) -> list[Order]:
    """Unpaid pay-at-pickup orders at a counter, held or lapsed, by number (W000123) or the phone's last four digits."""
    text = text.strip()
    matches = []
    if number := _ORDER_NUMBER.fullmatch(text):
        matches.append(Order.id == int(number[1]))
    if len(text) == 4 and text.isdigit():
        matches.append(Order.contact_phone_last4 == text)
    if not matches:
        return []
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(
                Order.counter_id == counter_id,
                Order.payment == OrderPayment.PAY_AT_PICKUP,
                Order.status.in_([OrderStatus.AWAITING_PAYMENT, OrderStatus.EXPIRED]),
                sa.or_(*matches),
            )
            .options(selectinload(Order.lines))
            .order_by(Order.id.desc())
            .limit(limit)
        )
    )


def order_refunds(order_id: int) -> list[OrderRefund]:
    """An order's refunds, pending, succeeded or failed, oldest first."""
    return list(
        db.session.scalars(sa.select(OrderRefund).where(OrderRefund.order_id == order_id).order_by(OrderRefund.id))
    )


def order_of_sale(sale_id: int) -> Order | None:
    """The online order a sale fulfilled, if it was one."""
    return db.session.scalars(sa.select(Order).where(Order.sale_id == sale_id)).first()
