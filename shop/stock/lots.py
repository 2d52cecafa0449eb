"""Stock: every change to what is on the shelf happens in this module.

Receiving adds a lot; sales, refunds, write-offs, stocktakes and returns move
its quantity. Each change is a StockMovement row beside a conditional UPDATE
of the lot, under row locks: on PostgreSQL the lots are locked FOR UPDATE in
id order, so two sales never wait on each other in a circle; on SQLite the
write transaction already holds the database lock (BEGIN IMMEDIATE). The
CHECK constraints on the lot table stop negative stock even if all that failed.

These functions run inside a use case's `atomic()` block and never commit.
"""

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from shop.clock import now_utc
from shop.errors import Conflict, Forbidden, Invalid
from shop.extensions import db
from shop.ledger import entries
from shop.models import (
    Counter,
    Household,
    Lot,
    MovementKind,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Reservation,
    Role,
    SettlementMode,
    StockMovement,
    User,
    Village,
    WriteOffReason,
)
from shop.money import MAX_FEN
from shop.stock.allocation import LotStock, OutOfStock
from shop.stock.counters import counter_for, find_counter
from shop.transaction import atomic
from shop.units import Unit
from shop.villages.households import UnknownHousehold
from shop.wording import staff_quantity_text

#: The most one lot may hold: ten tonnes in grams, or ten million pieces.
MAX_LOT_QTY = 10_000_000
#: Dried goods keep for months, not decades; a date further out is a typo.
MAX_SHELF_LIFE = timedelta(days=5 * 366)


class UnknownProduct(Invalid):
    """The product named does not exist or is no longer sold."""


class ExpiredOnArrival(Invalid):
    """Goods past their best-before date cannot be received for sale."""


@dataclass(frozen=True)
class SettlementTerms:
    """How the household of a lot is paid: a share of each sale, or a price at intake."""

    mode: SettlementMode
    share_bp: int | None = None
    purchase_price_fen: int | None = None


def settlement_terms(
    mode: SettlementMode, share_bp: int | None, purchase_price_fen: int | None, default_share_bp: int
) -> SettlementTerms:
    """Check a lot's terms: consignment takes a share (or the default), purchase a price."""
    mode = SettlementMode(mode)
    if mode is SettlementMode.CONSIGNMENT:
        if purchase_price_fen is not None:
            raise Invalid(_("A consignment lot has a share, not a purchase price."), "purchase_price_fen")
        share = default_share_bp if share_bp is None else share_bp
        if not 0 <= share <= 10_000:
            raise Invalid(_("A share is between 0 and 10000 basis points."), "share_bp")
        return SettlementTerms(mode, share_bp=share)
    if share_bp is not None:
        raise Invalid(_("A purchased lot has a price, not a share."), "share_bp")
    if purchase_price_fen is None or not 0 <= purchase_price_fen <= MAX_FEN:
        raise Invalid(_("Give the price agreed for the whole lot, in fen."), "purchase_price_fen")
    return SettlementTerms(mode, purchase_price_fen=purchase_price_fen)


def receive_lot(
    *,
    product_id: int,
    household_id: int,
    quantity: int,
    best_before: date,
    terms: SettlementTerms,
    received_by: User,
    today: date,
    counter_id: int | None = None,
) -> Lot:
    """Record a delivery from a household onto a counter's shelf."""
    with atomic() as session:
        product = session.get(Product, product_id)
        if product is None or not product.active:
            raise UnknownProduct(_("No product on sale has id %(id)s.", id=product_id), "product_id")
        if session.get(Household, household_id) is None:
            raise UnknownHousehold(_("No household has id %(id)s.", id=household_id), "household_id")
        own_counter = counter_for(received_by)
        counter = find_counter(counter_id) if counter_id is not None else own_counter
        if received_by.role is Role.CLERK and counter.id != own_counter.id:
            raise Forbidden(_("Clerks receive goods only at their own counter."), "counter_id")
        _positive(quantity, product.unit)
        if best_before < today:
            raise ExpiredOnArrival(_("These goods are past their best-before date."), "best_before")
        if best_before > today + MAX_SHELF_LIFE:
            raise Invalid(_("The best-before date is too far in the future."), "best_before")
        lot = Lot(
            product_id=product.id,
            household_id=household_id,
            counter_id=counter.id,
            qty_received=quantity,
            qty_on_hand=quantity,
            best_before=best_before,
            received_by_id=received_by.id,
            mode=terms.mode,
            share_bp=terms.share_bp,
            purchase_price_fen=terms.purchase_price_fen,
        )
        session.add(lot)
        session.add(StockMovement(lot=lot, kind=MovementKind.RECEIPT, qty_delta=quantity, by=received_by))
        entries.credit_purchase(session, lot, today, received_by)
    return lot


def default_share_bp() -> int:
    """The consignment share a lot gets when the clerk names none."""
    return current_app.config["CONSIGNMENT_SHARE_BP"]


def _sellable(today: date):
    """Conditions of a lot whose goods may be sold today."""
    return [Lot.qty_on_hand > 0, Lot.best_before >= today]


def live_reservations(now: datetime, except_order_id: int | None = None):
    """Grams or pieces held per lot by orders still awaiting payment within their hold, as a subquery."""
    query = (
        sa.select(Reservation.lot_id, sa.func.sum(Reservation.quantity).label("held"))
        .join(OrderLine, Reservation.order_line_id == OrderLine.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.status == OrderStatus.AWAITING_PAYMENT, Order.expires_at > now)
        .group_by(Reservation.lot_id)
    )
    if except_order_id is not None:
        query = query.where(Order.id != except_order_id)
    return query.subquery()


def _available_by_product(now: datetime, today: date, *where) -> dict[int, int]:
    held = live_reservations(now)
    rows = db.session.execute(
        sa.select(Lot.product_id, sa.func.sum(Lot.qty_on_hand - sa.func.coalesce(held.c.held, 0)))
        .outerjoin(held, held.c.lot_id == Lot.id)
        .where(*_sellable(today), *where)
        .group_by(Lot.product_id)
    )
    return {product_id: max(int(total), 0) for product_id, total in rows}


def available_by_product(today: date) -> dict[int, int]:
    """Grams or pieces of each product online buyers may order today: the most any one open counter can sell.

    An order is held at one counter (the buyer's pickup choice), so that is
    the stock the catalog, the cart and GET /api/products speak of; with one
    counter it is simply that counter's.
    """
    held = live_reservations(now_utc())
    free = sa.func.sum(Lot.qty_on_hand - sa.func.coalesce(held.c.held, 0))
    per_counter = (
        sa.select(Lot.product_id, free.label("free"))
        .outerjoin(held, held.c.lot_id == Lot.id)
        .join(Counter, Lot.counter_id == Counter.id)
        .where(*_sellable(today), Counter.active)
        .group_by(Lot.product_id, Lot.counter_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(per_counter.c.product_id, sa.func.max(per_counter.c.free)).group_by(per_counter.c.product_id)
    )
    return {product_id: max(int(total), 0) for product_id, total in rows}


def available_at_counter(counter_id: int, today: date) -> dict[int, int]:
    """Grams or pieces of each product a counter may sell today: on hand less what orders hold."""
    return _available_by_product(now_utc(), today, Lot.counter_id == counter_id)


def supplying_villages(today: date, product_ids: Collection[int] | None = None) -> dict[int, list[Village]]:
    """The villages whose households' goods of each product (or of just `product_ids`) are on sale today."""
    query = (
        sa.select(Lot.product_id, Village)
        .join(Household, Lot.household_id == Household.id)
        .join(Village, Household.village_id == Village.id)
        .where(*_sellable(today))
    )
    if product_ids is not None:
        query = query.where(Lot.product_id.in_(product_ids))
    rows = db.session.execute(query.distinct().order_by(Lot.product_id, Village.name_zh))
    villages: dict[int, list[Village]] = {}
    for product_id, village in rows:
        villages.setdefault(product_id, []).append(village)
    return villages


def lots_on_sale(product_id: int, today: date) -> list[Lot]:
    """A product's lots on sale today, in the order they will be sold."""
    return list(
        db.session.scalars(
            sa.select(Lot)
            .where(Lot.product_id == product_id, *_sellable(today))
            .options(joinedload(Lot.household).joinedload(Household.village).joinedload(Village.town))
            .order_by(Lot.best_before, Lot.received_at, Lot.id)
        )
    )


def shelf(counter_id: int) -> list[Lot]:
    """Every lot with goods on a counter's shelf, the next to sell first."""
    return list(
        db.session.scalars(
            sa.select(Lot)
            .where(Lot.counter_id == counter_id, Lot.qty_on_hand > 0)
            .options(
                joinedload(Lot.product),
                joinedload(Lot.household).joinedload(Household.village),
            )
            .order_by(Lot.product_id, Lot.best_before, Lot.received_at, Lot.id)
        )
    )


class UnknownLot(Invalid):
    """The lot named does not exist or is not at the caller's counter."""


class NotEnoughOnHand(Conflict):
    """A write-off or return asks for more than the lot holds."""

    code = "out_of_stock"


def lock_sellable_lots(session, product_ids: set[int], counter_id: int, today: date) -> list[Lot]:
    """Lock and return the lots these products may be sold from today at a counter."""
    query = (
        sa.select(Lot)
        .where(Lot.product_id.in_(product_ids), Lot.counter_id == counter_id, *_sellable(today))
        .order_by(Lot.id)
        .with_for_update()
    )
    return list(session.scalars(query))


def lock_lots_to_sell(session, product_ids: set[int], counter_id: int, today: date) -> list[sa.Row]:
    """Lock and read, in one statement, the lots a counter sale may draw from, with each household's ledger facts.

    Plain rows, not Lot objects: a sale reads them once and writes with Core statements, so the
    session has nothing to track. Each row has what allocation needs (lot_stock) and the household's
    category and monitoring status, which its credit records.
    """
    params = {"product_ids": list(product_ids), "counter_id": counter_id, "today": today}
    return list(session.connection().execute(_lots_to_sell(), params))


@functools.cache
def _lots_to_sell() -> sa.Select:
    """lock_lots_to_sell's statement, built once: it runs with the stock locked, where every millisecond counts."""
    lot, household = Lot.__table__, Household.__table__
    return (
        sa.select(
            lot.c.id,
            lot.c.product_id,
            lot.c.household_id,
            lot.c.qty_on_hand,
            lot.c.best_before,
            lot.c.received_at,
            lot.c.mode,
            lot.c.share_bp,
            household.c.category,
            household.c.monitoring_status,
        )
        .join_from(lot, household, lot.c.household_id == household.c.id)
        .where(
            lot.c.product_id.in_(sa.bindparam("product_ids", expanding=True)),
            lot.c.counter_id == sa.bindparam("counter_id"),
            lot.c.qty_on_hand > 0,
            lot.c.best_before >= sa.bindparam("today", type_=sa.Date),
        )
        .order_by(lot.c.id)
        .with_for_update(of=lot)
    )


@dataclass(frozen=True)
class Take:
    """A sale's draw to take off its locked lot: the lot, the quantity and the draw that names it."""

    lot_id: int
    quantity: int
    draw_id: int


def take_for_sale_draws(session, takes: list[Take], by_id: int | None) -> None:
    """Take a counter sale's draws off their locked lots: one conditional UPDATE for all, one INSERT of movements."""
    table = Lot.__table__
    per_lot: dict[int, int] = {}
    for take in takes:
        per_lot[take.lot_id] = per_lot.get(take.lot_id, 0) + take.quantity
    taken = sa.case(per_lot, value=table.c.id)
    connection = session.connection()
    result = connection.execute(
        table.update()
        .where(table.c.id.in_(per_lot), table.c.qty_on_hand >= taken)
        .values(qty_on_hand=table.c.qty_on_hand - taken)
    )
    if result.rowcount != len(per_lot):
        # Only reachable if the lock failed: the allocation was made on these very rows.
        short = next(lot for lot in lock_lots(session, set(per_lot)).values() if lot.qty_on_hand < per_lot[lot.id])
        error = not_enough_on_hand(short)
        raise OutOfStock(per_lot[short.id], short.qty_on_hand, error.message, "lines")
    movements = [
        {"lot_id": t.lot_id, "kind": MovementKind.SALE, "qty_delta": -t.quantity, "draw_id": t.draw_id, "by_id": by_id}
        for t in takes
    ]
    connection.execute(StockMovement.__table__.insert(), movements)


def lock_lots(session, lot_ids: set[int]) -> dict[int, Lot]:
    """Lock these lots, in id order, and return them by id."""
    lots = session.scalars(sa.select(Lot).where(Lot.id.in_(lot_ids)).order_by(Lot.id).with_for_update())
    return {lot.id: lot for lot in lots}


def held_for_orders(session, lot_ids: set[int], now: datetime, except_order_id: int | None = None) -> dict[int, int]:
    """What live orders (other than `except_order_id`) hold of each of these locked lots."""
    params = {"lot_ids": list(lot_ids), "now": now, "except_order_id": except_order_id}
    rows = session.connection().execute(_held_for_orders(except_order_id is not None), params)
    return {lot_id: int(quantity) for lot_id, quantity in rows}


@functools.cache
def _held_for_orders(excepting: bool) -> sa.Select:
    """held_for_orders' statement, built once (a sale runs it with the stock locked)."""
    held = live_reservations(
        sa.bindparam("now", type_=sa.DateTime), sa.bindparam("except_order_id") if excepting else None
    )
    return sa.select(held.c.lot_id, held.c.held).where(held.c.lot_id.in_(sa.bindparam("lot_ids", expanding=True)))


def lot_stock(lot: Lot, held: int = 0) -> LotStock:
    """The plain values allocation works on: what may be drawn is on hand less what orders hold."""
    share = lot.share_bp if lot.mode is SettlementMode.CONSIGNMENT else None
    free = max(lot.qty_on_hand - held, 0)
    return LotStock(lot.id, lot.household_id, free, lot.best_before, lot.received_at, share)


def not_enough_on_hand(lot: Lot) -> NotEnoughOnHand:
    """The refusal to take more off a lot than it holds, saying what it holds in its product's units."""
    held = staff_quantity_text(lot.qty_on_hand, lot.product.unit)
    return NotEnoughOnHand(_("Lot %(code)s holds only %(qty)s.", code=lot.code, qty=held), "quantity")


def _change(session, lot: Lot, delta: int, **movement) -> StockMovement:
    """Add `delta` to a lot's stock on hand, if it stays within 0..received, and record why."""
    table = Lot.__table__
    guard = table.c.qty_on_hand >= -delta if delta < 0 else table.c.qty_on_hand <= table.c.qty_received - delta
    # A Core UPDATE, not the ORM's bulk one, and no flush before it: the sale's new rows are
    # written together at commit. Together these took a third off the time of a sale.
    with session.no_autoflush:
        result = session.execute(
            table.update().where(table.c.id == lot.id, guard).values(qty_on_hand=table.c.qty_on_hand + delta)
        )
    if result.rowcount != 1:
        raise not_enough_on_hand(lot)
    # The row is locked, so the database now holds exactly this; tell the session without a reload.
    set_committed_value(lot, "qty_on_hand", lot.qty_on_hand + delta)
    row = StockMovement(lot_id=lot.id, qty_delta=delta, **movement)
    session.add(row)
    return row


def take_for_sale(session, lot: Lot, quantity: int, draw, by: User | None) -> None:
    """Take a sale's draw off a locked lot; `by` is None for an order paid online."""
    try:
        _change(session, lot, -quantity, kind=MovementKind.SALE, draw=draw, by_id=by.id if by else None)
    except NotEnoughOnHand as error:
        # Only reachable if the lock failed: the allocation was made on these very rows.
        raise OutOfStock(quantity, lot.qty_on_hand, error.message, "lines") from error


def restock(session, lot: Lot, quantity: int, draw, refund, by: User) -> None:
    """Put refunded goods back into the lot they were sold from."""
    _change(session, lot, quantity, kind=MovementKind.RESTOCK, draw=draw, refund=refund, by_id=by.id)


def _counter_lot(session, lot_id: int, user: User) -> Lot:
    """The locked lot `lot_id`, which a clerk may touch only at their own counter."""
    lot = lock_lots(session, {lot_id}).get(lot_id)
    if lot is None:
        raise UnknownLot(_("No lot has id %(id)s.", id=lot_id), "lot_id")
    if user.role is Role.CLERK and lot.counter_id != counter_for(user).id:
        raise Forbidden(_("Clerks handle only the lots at their own counter."), "lot_id")
    return lot


def _positive(quantity: int, unit: Unit) -> None:
    """Refuse a quantity outside 1..MAX_LOT_QTY, saying the bounds in the product's units."""
    if not 0 < quantity <= MAX_LOT_QTY:
        message = _(
            "The quantity must be between %(min)s and %(max)s.",
            min=staff_quantity_text(1, unit),
            max=staff_quantity_text(MAX_LOT_QTY, unit),
        )
        raise Invalid(message, "quantity")


def write_off(*, lot_id: int, quantity: int, reason: WriteOffReason, note: str, by: User) -> StockMovement:
    """Take spoiled, damaged or sample goods off the shelf (报损)."""
    with atomic() as session:
        lot = _counter_lot(session, lot_id, by)
        _positive(quantity, lot.product.unit)
        movement = _change(
            session, lot, -quantity, kind=MovementKind.WRITE_OFF, reason=WriteOffReason(reason), note=note, by_id=by.id
        )
    return movement


def return_to_household(*, lot_id: int, quantity: int, note: str, by: User) -> StockMovement:
    """Give unsold consignment goods back to the household that supplied them (退回农户)."""
    with atomic() as session:
        lot = _counter_lot(session, lot_id, by)
        _positive(quantity, lot.product.unit)
        if lot.mode is not SettlementMode.CONSIGNMENT:
            raise Invalid(_("A purchased lot belongs to the counter; write it off instead."), "lot_id")
        movement = _change(session, lot, -quantity, kind=MovementKind.RETURN, note=note, by_id=by.id)
    return movement


class SameCounter(Invalid):
    """A transfer names the counter the lot is already at."""


class StockHeldForOrders(Conflict):
    """A transfer asks for stock that online orders hold."""

    code = "out_of_stock"


def transfer(*, lot_id: int, to_counter_id: int, quantity: int, by: User, note: str = "") -> Lot:
    """Move part of a lot to another counter, where it becomes a lot of its own (调拨).

    The new lot keeps the household, the settlement terms, the best-before date and the
    receipt time (so allocation still sells it in its original order); it names its source
    lot, and it is never credited: a purchased lot's household was paid at intake, once.
    """
    with atomic() as session:
        target = find_counter(to_counter_id)
        # Only the source exists to lock: the new lot is invisible to others until commit.
        lot = _counter_lot(session, lot_id, by)
        _positive(quantity, lot.product.unit)
        if target.id == lot.counter_id:
            raise SameCounter(_("Lot %(code)s is already at that counter.", code=lot.code), "to_counter_id")
        held = held_for_orders(session, {lot.id}, now_utc()).get(lot.id, 0)
        if quantity > lot.qty_on_hand - held:
            if quantity > lot.qty_on_hand:
                raise not_enough_on_hand(lot)
            message = _(
                "Online orders hold %(held)s of lot %(code)s; at most %(free)s may move.",
                held=staff_quantity_text(held, lot.product.unit),
                code=lot.code,
                free=staff_quantity_text(max(lot.qty_on_hand - held, 0), lot.product.unit),
            )
            raise StockHeldForOrders(message, "quantity")
        _change(session, lot, -quantity, kind=MovementKind.TRANSFER_OUT, note=note, by_id=by.id)
        moved = Lot(
            product_id=lot.product_id,
            household_id=lot.household_id,
            counter_id=target.id,
            qty_received=quantity,
            qty_on_hand=quantity,
            best_before=lot.best_before,
            received_at=lot.received_at,
            received_by_id=by.id,
            mode=lot.mode,
            share_bp=lot.share_bp,
            purchase_price_fen=lot.purchase_price_fen,
            source_lot_id=lot.id,
        )
        session.add(moved)
        session.add(StockMovement(lot=moved, kind=MovementKind.TRANSFER_IN, qty_delta=quantity, note=note, by=by))
    return moved


def transfers_from(lot_id: int) -> list[Lot]:
    """The lots moved out of this one to other counters, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Lot).where(Lot.source_lot_id == lot_id).options(joinedload(Lot.counter)).order_by(Lot.id)
        )
    )


class StaleCount(Conflict):
    """A lot changed (a sale, say) between the clerk reading its stock and the count being booked."""

    code = "stale_count"


def stocktake(
    *, counts: dict[int, int], note: str, by: User, expected: dict[int, int] | None = None
) -> list[StockMovement]:
    """Record what was counted on the shelf (盘点) and book each lot's difference from the record.

    `expected` is what the clerk saw each lot hold when counting; if a lot holds something else
    now, a sale happened meanwhile and booking the count would undo it, so nothing is recorded.
    """
    if not counts:
        raise Invalid(_("Count at least one lot."), "counts")
    expected = expected or {}
    with atomic() as session:
        lots = {lot_id: _counter_lot(session, lot_id, by) for lot_id in sorted(counts)}
        movements = []
        for lot_id, counted in counts.items():
            lot = lots[lot_id]
            if not 0 <= counted <= lot.qty_received:
                message = _(
                    "A count of lot %(code)s is between 0 and %(qty)s.",
                    code=lot.code,
                    qty=staff_quantity_text(lot.qty_received, lot.product.unit),
                )
                raise Invalid(message, f"counts.{lot_id}")
            if lot_id in expected and expected[lot_id] != lot.qty_on_hand:
                message = _("Lot %(code)s changed while it was being counted. Count it again.", code=lot.code)
                raise StaleCount(message, f"counts.{lot_id}")
            movements.append(_book_count(session, lot, counted, note, by))
    return movements


def _book_count(session, lot: Lot, counted: int, note: str, by: User) -> StockMovement:
    """Set a lot's stock to what was counted; a matching count is recorded too, as evidence."""
    expected = lot.qty_on_hand
    if counted == expected:
        row = StockMovement(
            lot_id=lot.id, kind=MovementKind.STOCKTAKE, qty_delta=0, counted_qty=counted, note=note, by_id=by.id
        )
        session.add(row)
        return row
    return _change(
        session, lot, counted - expected, kind=MovementKind.STOCKTAKE, counted_qty=counted, note=note, by_id=by.id
    )


def movements_of(lot_id: int) -> list[StockMovement]:
    """A lot's history, oldest first."""
    return list(
        db.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.lot_id == lot_id)
            .options(joinedload(StockMovement.by))
            .order_by(StockMovement.id)
        )
    )


# Reads for the staff stock pages and the public trace page.


def counter_lots(counter_id: int, include_empty: bool = False) -> list[Lot]:
    """A counter's lots by product, the next to sell first; empty lots only when asked for."""
    query = (
        sa.select(Lot)
        .where(Lot.counter_id == counter_id)
        .options(joinedload(Lot.product), joinedload(Lot.household).joinedload(Household.village))
        .order_by(Lot.product_id, Lot.best_before, Lot.received_at, Lot.id)
    )
    if not include_empty:
        query = query.where(Lot.qty_on_hand > 0)
    return list(db.session.scalars(query))


def lot_details(lot_id: int) -> Lot | None:
    """A lot with its product, household, village, town, counter and receiver loaded."""
    return db.session.scalars(
        sa.select(Lot)
        .where(Lot.id == lot_id)
        .options(
            joinedload(Lot.product),
            joinedload(Lot.household).joinedload(Household.village).joinedload(Village.town),
            joinedload(Lot.counter),
            joinedload(Lot.received_by),
        )
    ).first()


def lot_by_trace_token(token: str) -> Lot | None:
    """The lot a package label's QR code names, with its product and village."""
    if not token or len(token) > 32:
        return None
    return db.session.scalars(
        sa.select(Lot)
        .where(Lot.trace_token == token)
        .options(
            joinedload(Lot.product),
            joinedload(Lot.household).joinedload(Household.village).joinedload(Village.town),
        )
    ).first()


def open_counters() -> list[Counter]:
    """Every open counter, the first (default) one first."""
    return list(db.session.scalars(sa.select(Counter).where(Counter.active).order_by(Counter.id)))
