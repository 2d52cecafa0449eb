"""Allocation and reversal of stock: pure functions over plain values, no Flask, no database.

A sale line draws its quantity from lots, the earliest best-before first and
then the oldest receipt; the line's amount is split over the draws so that
the parts add up exactly, and each draw credits its household its share. A
refund undoes draws, the last drawn first, with amounts that add back up to
the whole when everything is refunded.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from shop.errors import Conflict
from shop.money import price_for, share_of, split_fen


class OutOfStock(Conflict):
    """There is less of a product on the shelf than a sale asks for."""

    code = "out_of_stock"

    def __init__(self, wanted: int, available: int, message: str | None = None, field: str | None = None):
        super().__init__(message or f"wanted {wanted}, only {available} available", field)
        self.wanted = wanted
        self.available = available


@dataclass(frozen=True)
class LotStock:
    """What allocation needs to know about one lot."""

    lot_id: int
    household_id: int
    qty_on_hand: int
    best_before: date
    received_at: datetime
    #: None for a purchased lot: its household was paid at intake.
    share_bp: int | None


@dataclass(frozen=True)
class Allocation:
    """A quantity to take from one lot."""

    lot: LotStock
    quantity: int


@dataclass(frozen=True)
class PricedDraw:
    """A draw with its part of the line amount and its household's credit."""

    lot: LotStock
    quantity: int
    amount_fen: int
    credit_fen: int


def sale_order(lot: LotStock) -> tuple:
    """The order lots are sold in: earliest best-before, then oldest receipt, then first recorded."""
    return (lot.best_before, lot.received_at, lot.lot_id)


def allocate(quantity: int, lots: Sequence[LotStock]) -> list[Allocation]:
    """Draw `quantity` from `lots` in sale order; raise OutOfStock when they hold too little."""
    if quantity <= 0:
        raise ValueError("a draw is of a positive quantity")
    available = sum(lot.qty_on_hand for lot in lots if lot.qty_on_hand > 0)
    if available < quantity:
        raise OutOfStock(quantity, available)
    allocations, wanted = [], quantity
    for lot in sorted(lots, key=sale_order):
        if wanted == 0:
            break
        take = min(wanted, lot.qty_on_hand)
        if take > 0:
            allocations.append(Allocation(lot, take))
            wanted -= take
    return allocations


def price_draws(allocations: Sequence[Allocation], price_fen: int, price_per: int) -> tuple[int, list[PricedDraw]]:
    """The line amount for the allocated quantity, split over the draws by quantity, with each credit."""
    quantity = sum(a.quantity for a in allocations)
    amount = price_for(quantity, price_fen, price_per)
    parts = split_fen(amount, [a.quantity for a in allocations])
    draws = [
        PricedDraw(a.lot, a.quantity, part, 0 if a.lot.share_bp is None else share_of(part, a.lot.share_bp))
        for a, part in zip(allocations, parts, strict=True)
    ]
    return amount, draws


@dataclass(frozen=True)
class DrawState:
    """A past draw and how much of it earlier refunds already gave back."""

    draw_id: int
    quantity: int
    amount_fen: int
    credit_fen: int
    reversed_qty: int = 0
    reversed_amount_fen: int = 0
    reversed_credit_fen: int = 0


@dataclass(frozen=True)
class Reversal:
    """The part of a draw one refund gives back."""

    draw_id: int
    quantity: int
    amount_fen: int
    credit_fen: int


class RefundTooLarge(Conflict):
    """A refund asks to give back more than is left of a sale line."""

    code = "refund_too_large"


def _cumulative(whole: int, part_qty: int, of_qty: int) -> int:
    """whole × part/of, rounded half up: the running total of a proportional give-back."""
    return (2 * whole * part_qty + of_qty) // (2 * of_qty)


def reverse_draws(draws: Sequence[DrawState], quantity: int) -> list[Reversal]:
    """Give back `quantity` of a line, undoing its draws last drawn first.

    Amounts are computed as running totals, so that refunding a line in
    several parts gives back exactly its amount and credit, never a fen more.
    """
    if quantity <= 0:
        raise ValueError("a refund is of a positive quantity")
    left = sum(d.quantity - d.reversed_qty for d in draws)
    if quantity > left:
        raise RefundTooLarge(f"only {left} left to refund")
    reversals, wanted = [], quantity
    for draw in reversed(draws):
        take = min(wanted, draw.quantity - draw.reversed_qty)
        if take <= 0:
            continue
        done = draw.reversed_qty + take
        amount = _cumulative(draw.amount_fen, done, draw.quantity) - draw.reversed_amount_fen
        credit = _cumulative(draw.credit_fen, done, draw.quantity) - draw.reversed_credit_fen
        reversals.append(Reversal(draw.draw_id, take, amount, credit))
        wanted -= take
        if wanted == 0:
            break
    return reversals
