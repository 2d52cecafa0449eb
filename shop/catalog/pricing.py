"""The prices a product was given over time, and the one in force at an instant.

Every price set (a product's creation, each change) is a product_price row valid from that
instant on. A sale is priced at the row in force when the till rang it up, so a sale queued
offline while the manager changed a price is charged what the buyer was asked to pay.
"""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from shop.clock import now_utc
from shop.extensions import db
from shop.models import Product, ProductPrice, User

P = TypeVar("P")


def price_in_force(history: Sequence[tuple[datetime, P]], at: datetime) -> P:
    """The price whose valid_from is the latest not after `at`; of two from the same instant, the later listed.

    Before the first price, the first applies: nobody was ever asked anything else, and a sale
    stamped a moment before its product existed can only come from a tablet's clock running slow.
    """
    if not history:
        raise ValueError("a product without a price has no price in force")
    started = [(valid_from, n) for n, (valid_from, _price) in enumerate(history) if valid_from <= at]
    if not started:
        return min(enumerate(history), key=lambda item: (item[1][0], item[0]))[1][1]
    return history[max(started)[1]][1]


def record_price(session, product: Product, by: User | None, at: datetime | None = None) -> ProductPrice:
    """Add the product's price as it now stands to its history, from `at` (now by default)."""
    session.flush()  # a new product needs its id
    row = ProductPrice(
        product_id=product.id,
        price_fen=product.price_fen,
        price_per=product.price_per,
        valid_from=at or now_utc(),
        set_by_id=by.id if by else None,
    )
    session.add(row)
    return row


def prices_at(session, product_ids: Collection[int], at: datetime) -> dict[int, tuple[int, int]]:
    """Each product's (price_fen, price_per) in force at `at`; a product with no history is left out."""
    rows = session.execute(
        sa.select(ProductPrice.product_id, ProductPrice.valid_from, ProductPrice.price_fen, ProductPrice.price_per)
        .where(ProductPrice.product_id.in_(set(product_ids)))
        .order_by(ProductPrice.product_id, ProductPrice.id)
    )
    histories: dict[int, list[tuple[datetime, tuple[int, int]]]] = {}
    for product_id, valid_from, price_fen, price_per in rows:
        histories.setdefault(product_id, []).append((valid_from, (price_fen, price_per)))
    return {product_id: price_in_force(history, at) for product_id, history in histories.items()}


def history_of(product_id: int) -> list[ProductPrice]:
    """A product's prices, newest first, with who set them."""
    return list(
        db.session.scalars(
            sa.select(ProductPrice)
            .where(ProductPrice.product_id == product_id)
            .options(joinedload(ProductPrice.set_by))
            .order_by(ProductPrice.valid_from.desc(), ProductPrice.id.desc())
        )
    )
