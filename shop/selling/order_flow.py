"""The life of an online order, as a small explicit state machine: pure, no Flask, no database.

    awaiting_payment ──pay──▶ paid ──pack──▶ packed ──ship──▶ shipped
          │  │                 │              └──collect──▶ collected
          │  └─collect (paid at the counter)──────────────▶ collected
          ├─cancel──▶ cancelled          refunds from paid, packed, shipped, collected:
          └─lapse───▶ expired            ──▶ partially_refunded ──▶ refunded

Money that arrives for an expired or cancelled order is not lost: the order
is fulfilled if its stock is still there (expired → paid), or the money goes
back (→ refunded).
"""

from enum import StrEnum

from shop.errors import Conflict


class OrderStatus(StrEnum):
    """Where an online order stands (these values are part of the public API)."""

    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    PACKED = "packed"
    SHIPPED = "shipped"
    COLLECTED = "collected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


S = OrderStatus
_HANDED_ON = {S.PACKED, S.SHIPPED, S.COLLECTED}
_REFUNDS = {S.PARTIALLY_REFUNDED, S.REFUNDED}

#: Every move an order may make; anything else is refused.
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.COLLECTED, S.CANCELLED, S.EXPIRED}),
    # A late payment: online (paid) or a pay-at-pickup buyer arriving after the hold (collected).
    S.EXPIRED: frozenset({S.PAID, S.COLLECTED, S.REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED}),
    S.PAID: frozenset(_HANDED_ON | _REFUNDS),
    S.PACKED: frozenset({S.SHIPPED, S.COLLECTED} | _REFUNDS),
    S.SHIPPED: frozenset(_REFUNDS),
    S.COLLECTED: frozenset(_REFUNDS),
    # A partly refunded order still goes on to be packed and handed over.
    S.PARTIALLY_REFUNDED: frozenset(_HANDED_ON | _REFUNDS),
    S.REFUNDED: frozenset(),
}

#: Statuses in which the buyer has paid and the goods are the counter's to hand over.
PAID_STATUSES = frozenset({S.PAID, S.PACKED, S.SHIPPED, S.COLLECTED, S.PARTIALLY_REFUNDED})


class TransitionNotAllowed(Conflict):
    """An order was asked to move somewhere its status does not lead."""

    code = "transition_not_allowed"


def move(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """The new status, if an order in `current` may move to `target`."""
    if target not in ALLOWED[current]:
        raise TransitionNotAllowed(f"an order {current.value} cannot become {target.value}")
    return target


def staff_moves(current: OrderStatus, delivery: bool) -> list[OrderStatus]:
    """The handing-over steps staff may take next: pack, then ship a delivery or hand over a pickup."""
    steps = [S.PACKED, S.SHIPPED if delivery else S.COLLECTED]
    return [step for step in steps if step in ALLOWED[current] and not (step is S.PACKED and current is S.PACKED)]


def after_refund(refunded_fen: int, total_fen: int) -> OrderStatus:
    """The status refunds leave an order in."""
    return S.REFUNDED if refunded_fen >= total_fen else S.PARTIALLY_REFUNDED
