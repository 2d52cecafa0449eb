"""Counter sales and their refunds: one use case each, one transaction each.

A sale is recorded whole or not at all. Its idempotency key, made by the till,
means a sale sent again (the network dropped, the tablet reloaded) returns
the sale already recorded instead of selling twice. A sale carries the moment
the till rang it up (sold_at): it is priced at the prices in force then and
belongs to that moment's business day, however late it synced.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from shop.catalog import pricing
from shop.clock import business_day, business_today, day_bounds, now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.ledger import entries
from shop.models import (
    COUNTER_METHODS,
    Draw,
    DrawReversal,
    PaymentMethod,
    Product,
    Refund,
    RefundLine,
    Role,
    Sale,
    SaleChannel,
    SaleLine,
    User,
)
from shop.money import MAX_FEN, format_fen, price_for
from shop.stock import lots as stock
from shop.stock.allocation import (
    DrawState,
    OutOfStock,
    RefundTooLarge,
    Reversal,
    allocate,
    price_draws,
    reverse_draws,
)
from shop.stock.counters import counter_for, working_counter
from shop.stock.lots import UnknownProduct
from shop.transaction import atomic
from shop.units import Unit
from shop.wording import staff_quantity_text

#: A basket longer than this is a mistake at the till, not a purchase.
MAX_LINES = 50
#: How far ahead of the server's clock a till's clock may run before its sold_at is refused.
CLOCK_SKEW = timedelta(minutes=5)


class KeyReused(Conflict):
    """An idempotency key already recorded a different sale."""

    code = "idempotency_key_reused"


class NotEnoughTendered(Invalid):
    """The cash handed over does not cover the total."""


class SoldAtOutOfBounds(Invalid):
    """A sale's sold_at lies in the future or further back than a queued sale may wait."""


@dataclass(frozen=True)
class LineRequest:
    """One product and quantity (grams or pieces) the buyer takes."""

    product_id: int
    quantity: int


def request_digest(
    payment_method: str, lines: Sequence[LineRequest], tendered_fen: int | None, sold_at: datetime | None = None
) -> str:
    """A fingerprint of what a sale asked for, to tell a true replay from a reused key.

    sold_at (naive UTC) counts only when given, so the digests of sales sent without it stay as they were.
    """
    body = [payment_method, [[line.product_id, line.quantity] for line in lines], tendered_fen]
    if sold_at is not None:
        body.append(sold_at.isoformat())
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """An instant as naive UTC, the form stored: an aware one converted, a naive one taken as UTC already."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def check_sold_at(sold_at: datetime, now: datetime, max_age: timedelta) -> None:
    """Refuse a sale rung up in the future (beyond clock skew) or longer ago than a queued sale may wait."""
    if sold_at > now + CLOCK_SKEW:
        message = _("The sale's time is in the future: check the date and time on the tablet.")
        raise SoldAtOutOfBounds(message, "sold_at")
    if sold_at < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        message = _(
            "This sale was rung up more than %(hours)d hours ago, too long ago to record it now: "
            "the manager settles it by hand.",
            hours=hours,
        )
        raise SoldAtOutOfBounds(message, "sold_at")


def sale_by_key(idempotency_key: str) -> sa.Row | None:
    """The id, request digest and counter of the sale recorded under this key, if any."""
    # Core, not the ORM: every new sale asks this first, and is almost always answered "none".
    return db.session.execute(_SALE_BY_KEY, {"key": idempotency_key}).first()


#: sale_by_key's statement, built once.
_SALE_BY_KEY = sa.select(Sale.id, Sale.request_digest, Sale.counter_id).where(
    Sale.idempotency_key == sa.bindparam("key")
)


def _replay(sale: sa.Row, digest: str, counter_id: int | None = None) -> sa.Row:
    # The counter is checked beside the digest, which stays what it was before counters could be named.
    if sale.request_digest != digest or counter_id not in (None, sale.counter_id):
        raise KeyReused(_("This key was already used for a different sale."), "idempotency_key")
    return sale


@dataclass(frozen=True)
class DrawRecord:
    """What one draw of a recorded sale took from a lot and credited to its household."""

    lot_id: int
    household_id: int
    quantity: int
    amount_fen: int
    credit_fen: int


@dataclass(frozen=True)
class LineRecord:
    """A recorded sale line and its draws."""

    id: int
    product_id: int
    quantity: int
    amount_fen: int
    draws: tuple[DrawRecord, ...]


@dataclass(frozen=True)
class SaleRecord:
    """A recorded counter sale as its till is answered: made from the rows just written, or read for a replay."""

    id: int
    counter_id: int
    payment_method: PaymentMethod
    total_fen: int
    tendered_fen: int | None
    sold_on: date
    sold_at: datetime
    lines: tuple[LineRecord, ...]

    @property
    def number(self) -> str:
        """The sale number printed on receipts (as Sale.number)."""
        return Sale.number.fget(self)

    @classmethod
    def of(cls, sale: Sale) -> "SaleRecord":
        """The record of a stored sale, its lines and draws loaded."""
        lines = tuple(
            LineRecord(
                line.id,
                line.product_id,
                line.quantity,
                line.amount_fen,
                tuple(DrawRecord(d.lot_id, d.household_id, d.quantity, d.amount_fen, d.credit_fen) for d in line.draws),
            )
            for line in sale.lines
        )
        return cls(
            sale.id,
            sale.counter_id,
            sale.payment_method,
            sale.total_fen,
            sale.tendered_fen,
            sale.sold_on,
            sale.sold_at,
            lines,
        )


def record_sale(
    *,
    idempotency_key: str,
    payment_method: PaymentMethod,
    lines: Sequence[LineRequest],
    clerk: User,
    today: date,
    tendered_fen: int | None = None,
    counter_id: int | None = None,
    sold_at: datetime | None = None,
) -> tuple[SaleRecord, bool]:
    """Sell the lines at the clerk's counter (or the manager's chosen one); return the sale and whether it is new.

    With `sold_at` (when the till rang it up) the sale is priced at the prices in force then and
    dated by its business day; without it, it is priced now and dated `today`. A replay answers
    the sale recorded, as the clerk may see it (sale_for).
    """
    sold_at = as_utc(sold_at) if sold_at is not None else None
    digest = request_digest(payment_method, lines, tendered_fen, sold_at)
    # A clerk naming another counter is refused, even on a replay.
    counter = working_counter(clerk, counter_id) if clerk.role is Role.CLERK else None
    if (existing := sale_by_key(idempotency_key)) is not None:
        # A true replay is answered whatever its age: the sale is recorded, only its answer was lost.
        return SaleRecord.of(sale_for(_replay(existing, digest, counter_id).id, clerk)), False
    _check_basket(lines, payment_method, tendered_fen)
    if sold_at is not None:
        check_sold_at(sold_at, now_utc(), timedelta(hours=current_app.config["SOLD_AT_MAX_AGE_HOURS"]))
    moment = Moment(sold_at or now_utc(), business_day(sold_at) if sold_at else today, priced=sold_at is not None)
    counter = counter or working_counter(clerk, counter_id)
    # Priced in the read that loaded the clerk, before the write transaction: on SQLite every other
    # till waits while a sale holds the write lock, so what need not be under it is not. The price
    # read is the one in force at the sale's instant, which is taken before it too.
    to_sell = _priced_lines(db.session.connection(), lines, moment)
    try:
        # The counter's id, read before the transaction: atomic() ends the read that loaded it.
        sale = _sell(
            idempotency_key, digest, PaymentMethod(payment_method), to_sell, clerk.id, moment, tendered_fen, counter.id
        )
    except IntegrityError:
        # The same key won a race on another connection: that sale is the answer.
        db.session.rollback()
        if (existing := sale_by_key(idempotency_key)) is None:
            raise
        return SaleRecord.of(sale_for(_replay(existing, digest, counter_id).id, clerk)), False
    return sale, True


def _check_basket(lines: Sequence[LineRequest], method: PaymentMethod, tendered_fen: int | None) -> None:
    if not lines:
        raise Invalid(_("The basket is empty."), "lines")
    if len(lines) > MAX_LINES:
        raise Invalid(_("A sale has at most %(n)d lines.", n=MAX_LINES), "lines")
    if method not in COUNTER_METHODS:
        raise Invalid(_("The counter takes cash, QR codes or cards; online payment is for orders."), "payment_method")
    if tendered_fen is not None and method != PaymentMethod.CASH:
        raise Invalid(_("Only cash is handed over."), "tendered_fen")


@dataclass(frozen=True)
class Moment:
    """When a sale happened: its instant (naive UTC), its business day, and whether to price it from the history."""

    at: datetime
    day: date
    #: False: the shelf's price now (a sale without sold_at); True: the price history's at `at`.
    priced: bool


def _priced_lines(connection, lines: Sequence[LineRequest], moment: Moment) -> list["LineToSell"]:
    """Each requested line with its product's name, unit and price at the sale's moment; unknown products refused."""
    products = shelf_products(connection, lines)
    prices = pricing.prices_at(connection, products, moment.at) if moment.priced else {}
    return [line_to_sell(products[r.product_id], r.quantity, prices.get(r.product_id)) for r in lines]


def _sell(key, digest, method, to_sell, clerk_id: int, moment: Moment, tendered_fen, counter_id) -> SaleRecord:
    """Write a counter sale with Core statements, a few multi-row, and answer from what was written.

    About a dozen statements whatever the basket's size: the sale, the locked lots,
    what orders hold, one UPDATE of the lots, the lines, the draws, the movements, the chain's
    head and the credits. The session tracks no object, so committing flushes nothing.
    """
    with atomic() as session:
        connection = session.connection()
        # A line's amount is its quantity at its price, however it is split over lots: known before the stock is.
        amounts = [price_for(line.quantity, line.price_fen, line.price_per) for line in to_sell]
        total = sum(amounts)
        if (refusal := _total_refusal(total, tendered_fen)) is None:
            sale = {
                "idempotency_key": key,
                "request_digest": digest,
                "counter_id": counter_id,
                "clerk_id": clerk_id,
                "payment_method": method,
                "total_fen": total,
                "tendered_fen": tendered_fen,
                "sold_on": moment.day,
                "sold_at": moment.at,
            }
            # Claim the key first: a concurrent duplicate stops here, before it locks any stock.
            sale_id = connection.execute(_INSERT_SALE, sale).scalar_one()
            # The lines too, before the lock: the fewer statements under it, the sooner the next sale has the stock.
            line_rows = [{"sale_id": sale_id, **r.columns(a)} for r, a in zip(to_sell, amounts, strict=True)]
            line_ids = _insert_all(connection, SaleLine.__table__, line_rows)
        lots = stock.lock_lots_to_sell(session, {line.product_id for line in to_sell}, counter_id, moment.day)
        held = stock.held_for_orders(session, {lot.id for lot in lots}, now_utc())
        planned = _plan_draws(lots, held, to_sell)
        if refusal is not None:
            # Said after the stock, as before the total was known up front: too little stock is said first.
            raise refusal
        recorded = _write_draws(session, lots, line_ids, line_rows, planned, clerk_id, moment.day)
    return SaleRecord(sale_id, counter_id, method, total, tendered_fen, moment.day, moment.at, recorded)


#: The sale's INSERT, built once.
_INSERT_SALE = Sale.__table__.insert().returning(Sale.__table__.c.id)


def _total_refusal(total: int, tendered_fen: int | None) -> Invalid | None:
    """Why a sale of this total cannot be recorded, if it cannot."""
    if total > MAX_FEN:
        return Invalid(_("The total is too large for one sale."), "lines")
    if tendered_fen is not None and tendered_fen < total:
        return NotEnoughTendered(_("The cash handed over is less than the total."), "tendered_fen")
    return None


def _plan_draws(lots, held: dict[int, int], to_sell: Sequence["LineToSell"]) -> list[tuple[int, list]]:
    """Each line's amount and priced draws; a later line of the same product sees what earlier ones drew."""
    taken = dict(held)
    planned = []
    for index, request in enumerate(to_sell):
        allocations = allocate_line(lots, taken, request, index)
        amount, priced = price_draws(allocations, request.price_fen, request.price_per)
        for d in priced:
            taken[d.lot.lot_id] = taken.get(d.lot.lot_id, 0) + d.quantity
        planned.append((amount, priced))
    return planned


def _insert_all(connection, table: sa.Table, rows: list[dict]) -> list[int]:
    """Insert the rows in one statement and return their new ids, in the rows' order."""
    if connection.dialect.name == "sqlite":
        # SQLAlchemy cannot pair RETURNING rows with parameters on SQLite, so it would send one INSERT per row.
        # Under the write lock, one INSERT numbers its rows max(id)+1, +2, … in the order of its VALUES.
        return sorted(connection.scalars(table.insert().returning(table.c.id), rows))
    return list(connection.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows))


def _write_draws(session, lots, line_ids, line_rows, planned, clerk_id: int, day: date) -> tuple[LineRecord, ...]:
    """Insert the draws (in one statement), take the stock, credit the households; the lines as recorded."""
    by_id = {lot.id: lot for lot in lots}
    draw_rows = [
        {
            "sale_line_id": line_id,
            "lot_id": d.lot.lot_id,
            "household_id": d.lot.household_id,
            "mode": by_id[d.lot.lot_id].mode,
            "share_bp": d.lot.share_bp,
            "quantity": d.quantity,
            "amount_fen": d.amount_fen,
            "credit_fen": d.credit_fen,
        }
        for line_id, (_amount, priced) in zip(line_ids, planned, strict=True)
        for d in priced
    ]
    draw_ids = _insert_all(session.connection(), Draw.__table__, draw_rows)
    stock.take_for_sale_draws(
        session, [stock.Take(r["lot_id"], r["quantity"], i) for r, i in zip(draw_rows, draw_ids, strict=True)], clerk_id
    )
    # In the sale's own transaction: a credit exists exactly when its draw does.
    credits = []
    for row, draw_id in zip(draw_rows, draw_ids, strict=True):
        lot = by_id[row["lot_id"]]
        credits.append(
            entries.DrawCredit(draw_id, row["credit_fen"], lot.household_id, lot.category, lot.monitoring_status)
        )
    entries.credit_sale(session, credits, day, clerk_id)
    draws = iter(zip(draw_rows, draw_ids, strict=True))
    recorded = []
    for line_id, row, (_amount, priced) in zip(line_ids, line_rows, planned, strict=True):
        mine = [next(draws)[0] for _ in priced]
        recorded.append(
            LineRecord(
                line_id,
                row["product_id"],
                row["quantity"],
                row["amount_fen"],
                tuple(
                    DrawRecord(d["lot_id"], d["household_id"], d["quantity"], d["amount_fen"], d["credit_fen"])
                    for d in mine
                ),
            )
        )
    return tuple(recorded)


@dataclass(frozen=True)
class LineToSell:
    """A quantity of a product at a price: the shelf's now, or the one an order was placed at."""

    product_id: int
    product_name: str
    unit: Unit
    price_fen: int
    price_per: int
    quantity: int

    def columns(self, amount_fen: int) -> dict:
        """The frozen facts a sale line or order line keeps, with the amount charged."""
        return {
            "product_id": self.product_id,
            "product_name": self.product_name,
            "unit": self.unit,
            "price_fen": self.price_fen,
            "price_per": self.price_per,
            "quantity": self.quantity,
            "amount_fen": amount_fen,
        }


def line_to_sell(product: Product, quantity: int, price: tuple[int, int] | None = None) -> LineToSell:
    """A line at `price` (price_fen, price_per) from the price history, or else the product's current shelf price."""
    price_fen, price_per = price or (product.price_fen, product.price_per)
    return LineToSell(product.id, product.name_zh, product.unit, price_fen, price_per, quantity)


def allocate_line(lots, held: dict[int, int], request: LineToSell, index: int) -> list:
    """Allocate line `index` from locked lots, less what orders hold; too little is OutOfStock on that line."""
    candidates = [stock.lot_stock(lot, held.get(lot.id, 0)) for lot in lots if lot.product_id == request.product_id]
    try:
        return allocate(request.quantity, candidates)
    except OutOfStock as short:
        left = staff_quantity_text(short.available, request.unit)
        message = _("Only %(qty)s left of %(name)s.", qty=left, name=request.product_name)
        raise OutOfStock(short.wanted, short.available, message, f"lines.{index}.quantity") from None


def draw_lines(
    session, sale: Sale, lines: Sequence[LineToSell], today: date, by: User | None, except_order_id: int | None = None
) -> None:
    """Draw each line from the sale's counter's lots and add the lines, their draws and the total to the sale.

    Stock that live orders hold is not for sale, except what `except_order_id`
    holds: that order is the one being paid for.
    """
    lots = stock.lock_sellable_lots(session, {line.product_id for line in lines}, sale.counter_id, today)
    held = stock.held_for_orders(session, {lot.id for lot in lots}, now_utc(), except_order_id)
    by_id = {lot.id: lot for lot in lots}
    made: list[Draw] = []
    for index, request in enumerate(lines):
        allocations = allocate_line(lots, held, request, index)
        amount, priced = price_draws(allocations, request.price_fen, request.price_per)
        line = SaleLine(sale=sale, **request.columns(amount))
        session.add(line)
        for d in priced:
            lot = by_id[d.lot.lot_id]
            draw = Draw(
                line=line,
                lot_id=lot.id,
                household_id=lot.household_id,
                mode=lot.mode,
                share_bp=d.lot.share_bp,
                quantity=d.quantity,
                amount_fen=d.amount_fen,
                credit_fen=d.credit_fen,
            )
            session.add(draw)
            made.append(draw)
            stock.take_for_sale(session, lot, d.quantity, draw, by)
        sale.total_fen += amount
    if sale.total_fen > MAX_FEN:
        raise Invalid(_("The total is too large for one sale."), "lines")
    if sale.tendered_fen is not None and sale.tendered_fen < sale.total_fen:
        raise NotEnoughTendered(_("The cash handed over is less than the total."), "tendered_fen")
    # In the sale's own transaction: a credit exists exactly when its draw does.
    entries.credit_draws(session, made, sale.sold_on, by)


def products_for(session, lines: Sequence[LineRequest]) -> dict[int, Product]:
    ids = {line.product_id for line in lines}
    found = {p.id: p for p in session.scalars(sa.select(Product).where(Product.id.in_(ids), Product.active))}
    for index, line in enumerate(lines):
        if line.product_id not in found:
            message = _("No product on sale has id %(id)s.", id=line.product_id)
            raise UnknownProduct(message, f"lines.{index}.product_id")
    return found


#: What a counter sale reads of its products, built once.
_SHELF_PRODUCTS = sa.select(
    *(Product.__table__.c[name] for name in ("id", "name_zh", "unit", "price_fen", "price_per"))
).where(Product.__table__.c.id.in_(sa.bindparam("ids", expanding=True)), Product.__table__.c.active)


def shelf_products(connection, lines: Sequence[LineRequest]) -> dict[int, sa.Row]:
    """What a counter sale needs of each product (id, name, unit, shelf price), as plain rows; unknown ones refused."""
    ids = list({line.product_id for line in lines})
    found = {row.id: row for row in connection.execute(_SHELF_PRODUCTS, {"ids": ids})}
    for index, line in enumerate(lines):
        if line.product_id not in found:
            message = _("No product on sale has id %(id)s.", id=line.product_id)
            raise UnknownProduct(message, f"lines.{index}.product_id")
    return found


def sale_for(sale_id: int, user: User) -> Sale:
    """A sale with its lines, draws and refunds, if the user may see it."""
    sale = db.session.scalars(
        sa.select(Sale)
        .where(Sale.id == sale_id)
        .options(
            selectinload(Sale.lines).selectinload(SaleLine.draws).joinedload(Draw.household),
            selectinload(Sale.refunds).selectinload(Refund.lines).selectinload(RefundLine.reversals),
            joinedload(Sale.counter),
            joinedload(Sale.clerk),
        )
    ).first()
    if sale is None:
        raise NotFound(_("No sale has id %(id)s.", id=sale_id))
    if user.role is Role.CLERK and sale.counter_id != counter_for(user).id:
        raise Forbidden(_("Clerks see only the sales of their own counter."))
    return sale


def recent_sales(counter_id: int, on: date, limit: int = 200) -> list[Sale]:
    """The sales of a day at a counter, newest first."""
    return list(
        db.session.scalars(
            sa.select(Sale)
            .where(Sale.counter_id == counter_id, Sale.sold_on == on)
            .options(selectinload(Sale.lines), selectinload(Sale.refunds))
            .order_by(Sale.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class RefundRequest:
    """How much of one sale line to give back."""

    line_id: int
    quantity: int


@dataclass(frozen=True)
class RefundPlan:
    """How one line of a refund gives its quantity back: the sale line and the reversal of each draw."""

    sale_line: SaleLine
    quantity: int
    reversals: list[Reversal]
    #: The sale line's draws by id, for the reversals to name.
    draws: dict[int, Draw]

    @property
    def amount_fen(self) -> int:
        """What this line gives back."""
        return sum(rv.amount_fen for rv in self.reversals)


class RefundKeyReused(Conflict):
    """An idempotency key already recorded a different refund."""

    code = "idempotency_key_reused"


def refund_digest(sale_id: int, lines: Sequence[RefundRequest], restock: bool, note: str) -> str:
    """A fingerprint of what a refund asked for, to tell a true replay from a reused key."""
    body = [sale_id, [[r.line_id, r.quantity] for r in lines], restock, note]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def refund_sale(
    *,
    sale_id: int,
    lines: Sequence[RefundRequest],
    restock: bool,
    note: str,
    by: User,
    idempotency_key: str | None = None,
) -> tuple[Refund, bool]:
    """Give money back for part or all of a sale, restocking the goods or writing them off.

    Returns the refund and whether it is new: a key already used for the same request replays its refund.
    """
    digest = refund_digest(sale_id, lines, restock, note)
    try:
        with atomic() as session:
            sale = locked_sale(session, sale_id)
            if by.role is Role.CLERK and sale.counter_id != counter_for(by).id:
                raise Forbidden(_("Clerks refund only the sales of their own counter."))
            if sale.channel is SaleChannel.ONLINE:
                # The money went through the order (and maybe Stripe): it must come back the same way.
                raise Conflict(_("Refund an online order from the order's page."))
            # Looked up under the sale's lock: a duplicate of the same sale waits here for the first to commit.
            if idempotency_key is not None and (existing := refund_by_key(session, idempotency_key)) is not None:
                return _replay_refund(existing, digest), False
            refund = refund_in(session, sale, lines, restock, note, by, idempotency_key, digest)
    except IntegrityError:
        # The key won a race on another sale's lock: that refund is the answer (or the key is reused).
        db.session.rollback()
        if idempotency_key is None or (existing := refund_by_key(db.session, idempotency_key)) is None:
            raise
        return _replay_refund(existing, digest), False
    return refund, True


def refund_by_key(session, idempotency_key: str) -> Refund | None:
    """The refund recorded under this key, if any."""
    return session.scalars(sa.select(Refund).where(Refund.idempotency_key == idempotency_key)).first()


def _replay_refund(refund: Refund, digest: str) -> Refund:
    if refund.request_digest != digest:
        raise RefundKeyReused(_("This key was already used for a different refund."), "idempotency_key")
    return refund


def locked_sale(session, sale_id: int) -> Sale:
    """The sale, locked until the transaction ends."""
    # Locking the sale makes two refunds of it take turns, so neither gives back too much.
    sale = session.scalars(sa.select(Sale).where(Sale.id == sale_id).with_for_update()).first()
    if sale is None:
        raise NotFound(_("No sale has id %(id)s.", id=sale_id))
    return sale


def _check_refund_lines(lines: Sequence[RefundRequest]) -> None:
    if not lines:
        raise Invalid(_("Choose at least one line to refund."), "lines")
    if len({r.line_id for r in lines}) != len(lines):
        raise Invalid(_("Each line may appear once in a refund."), "lines")


def refund_amount(session, sale_id: int, lines: Sequence[RefundRequest]) -> int:
    """What refunding these lines would give back, without recording anything (to ask Stripe for it first)."""
    _check_refund_lines(lines)
    sale = locked_sale(session, sale_id)
    return sum(plan.amount_fen for plan in _plans(session, sale, lines))


def refund_preview(sale_id: int, lines: Sequence[RefundRequest]) -> int:
    """Use case: what a refund of these lines would give back, recording nothing, so staff confirm the amount first."""
    with atomic() as session:
        return refund_amount(session, sale_id, lines)


def refund_question(
    sale: Sale, lines: Sequence[RefundRequest], amount_fen: int, restock: bool, *, online: bool = False
) -> str:
    """What staff are asked before a refund: the money, to whom, and what becomes of the goods."""
    by_id = {line.id: line for line in sale.lines}
    goods = _(", ").join(
        f"{by_id[r.line_id].product_name} {staff_quantity_text(r.quantity, by_id[r.line_id].unit)}"
        for r in lines
        if r.line_id in by_id
    )
    amount = format_fen(amount_fen)
    if online:
        if restock:
            return _(
                "Refund %(amount)s to the buyer's online payment, and put %(goods)s back on the shelf?",
                amount=amount,
                goods=goods,
            )
        return _(
            "Refund %(amount)s to the buyer's online payment, and write off %(goods)s as damaged?",
            amount=amount,
            goods=goods,
        )
    if restock:
        return _("Refund %(amount)s to the buyer, and put %(goods)s back on the shelf?", amount=amount, goods=goods)
    return _("Refund %(amount)s to the buyer, and write off %(goods)s as damaged?", amount=amount, goods=goods)


def refund_in(
    session,
    sale: Sale,
    lines: Sequence[RefundRequest],
    restock: bool,
    note: str,
    by: User,
    idempotency_key: str | None = None,
    digest: str | None = None,
) -> Refund:
    """Record a refund of a sale the caller has locked, in the caller's transaction: reversals, and restocking."""
    _check_refund_lines(lines)
    refund = Refund(
        sale=sale,
        restock=restock,
        amount_fen=0,
        note=note,
        refunded_by_id=by.id,
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    session.add(refund)
    # Claim the key first: a duplicate on another connection stops here, before it locks any stock.
    session.flush()
    plans = _plans(session, sale, lines)
    lots = stock.lock_lots(session, {plan.draws[rv.draw_id].lot_id for plan in plans for rv in plan.reversals})
    undone: list[DrawReversal] = []
    for plan in plans:
        refund_line = RefundLine(refund=refund, sale_line=plan.sale_line, quantity=plan.quantity, amount_fen=0)
        session.add(refund_line)
        for rv in plan.reversals:
            draw = plan.draws[rv.draw_id]
            reversal = DrawReversal(
                draw=draw,
                household_id=draw.household_id,
                quantity=rv.quantity,
                amount_fen=rv.amount_fen,
                credit_fen=rv.credit_fen,
            )
            refund_line.reversals.append(reversal)
            undone.append(reversal)
            refund_line.amount_fen += rv.amount_fen
            if restock:
                stock.restock(session, lots[draw.lot_id], rv.quantity, draw, refund, by)
        refund.amount_fen += refund_line.amount_fen
    entries.reverse(session, undone, business_today(), by)
    return refund


def _plans(session, sale: Sale, lines: Sequence[RefundRequest]) -> list[RefundPlan]:
    return [_plan_line(session, sale, r, index) for index, r in enumerate(lines)]


def _plan_line(session, sale: Sale, request: RefundRequest, index: int) -> RefundPlan:
    """The sale line a refund request names, and the reversals that give its quantity back."""
    line = session.get(SaleLine, request.line_id)
    if line is None or line.sale_id != sale.id:
        raise Invalid(_("Line %(id)s is not part of this sale.", id=request.line_id), f"lines.{index}.line_id")
    states = _draw_states(session, line)
    try:
        reversals = reverse_draws(states, request.quantity)
    except RefundTooLarge:
        left = sum(s.quantity - s.reversed_qty for s in states)
        message = _("Only %(qty)s of this line is left to refund.", qty=staff_quantity_text(left, line.unit))
        raise RefundTooLarge(message, f"lines.{index}.quantity") from None
    return RefundPlan(line, request.quantity, reversals, {d.id: d for d in line.draws})


def _draw_states(session, line: SaleLine) -> list[DrawState]:
    """Each draw of a line with what earlier refunds already gave back."""
    done = {
        draw_id: (qty, amount, credit)
        for draw_id, qty, amount, credit in session.execute(
            sa.select(
                DrawReversal.draw_id,
                sa.func.sum(DrawReversal.quantity),
                sa.func.sum(DrawReversal.amount_fen),
                sa.func.sum(DrawReversal.credit_fen),
            )
            .join(Draw, DrawReversal.draw_id == Draw.id)
            .where(Draw.sale_line_id == line.id)
            .group_by(DrawReversal.draw_id)
        )
    }
    return [
        DrawState(d.id, d.quantity, d.amount_fen, d.credit_fen, *(int(v) for v in done.get(d.id, (0, 0, 0))))
        for d in line.draws
    ]


def day_totals(counter_id: int, on: date) -> dict[PaymentMethod, tuple[int, int, int]]:
    """A day's takings at a counter by payment method: (sales, total_fen, refunded_fen), for cashing up.

    A refund counts on the day the money went back, whatever day its sale was made, so a day's
    figures stay as they were cashed up.
    """
    sold = {
        method: (count, int(total))
        for method, count, total in db.session.execute(
            sa.select(Sale.payment_method, sa.func.count(), sa.func.sum(Sale.total_fen))
            .where(Sale.counter_id == counter_id, Sale.sold_on == on)
            .group_by(Sale.payment_method)
        )
    }
    start, end = day_bounds(on)
    refunded = dict(
        db.session.execute(
            sa.select(Sale.payment_method, sa.func.sum(Refund.amount_fen))
            .join(Refund, Refund.sale_id == Sale.id)
            .where(Sale.counter_id == counter_id, Refund.created_at >= start, Refund.created_at < end)
            .group_by(Sale.payment_method)
        ).all()
    )
    return {
        method: (*sold.get(method, (0, 0)), int(refunded.get(method) or 0))
        for method in PaymentMethod
        if method in sold or method in refunded
    }


def refunds_of_earlier_sales(counter_id: int, on: date) -> list[Refund]:
    """Refunds made on a day of sales made on another day at a counter, oldest first.

    The day's sales list shows them as rows of their own, so that its refunds add up to the
    cash-up's (day_totals), which counts a refund on the day the money went back.
    """
    start, end = day_bounds(on)
    return list(
        db.session.scalars(
            sa.select(Refund)
            .join(Sale, Refund.sale_id == Sale.id)
            .where(
                Sale.counter_id == counter_id, Sale.sold_on != on, Refund.created_at >= start, Refund.created_at < end
            )
            .options(
                joinedload(Refund.sale),
                selectinload(Refund.lines).joinedload(RefundLine.sale_line),
            )
            .order_by(Refund.created_at, Refund.id)
        )
    )


def refunded_quantities(sale: Sale) -> dict[int, int]:
    """Grams or pieces of each sale line already given back."""
    given: dict[int, int] = {}
    for r in sale.refunds:
        for line in r.lines:
            given[line.sale_line_id] = given.get(line.sale_line_id, 0) + line.quantity
    return given
