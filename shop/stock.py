"""Stock: every change to what is on the shelf happens in this module.

Receiving a lot adds stock; later use cases (sales, refunds, write-offs) will
take it away here too, under row locks, so that stock never goes below zero.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .counters import counter_for, find_counter
from .errors import Forbidden, Invalid
from .extensions import db
from .households import UnknownHousehold
from .models import Household, Lot, Product, Role, SettlementMode, User, Village
from .money import MAX_FEN
from .transaction import atomic

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
        if not 0 < quantity <= MAX_LOT_QTY:
            raise Invalid(_("The quantity must be between 1 and %(max)d.", max=MAX_LOT_QTY), "quantity")
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
    return lot


def default_share_bp() -> int:
    """The consignment share a lot gets when the clerk names none."""
    return current_app.config["CONSIGNMENT_SHARE_BP"]


def _sellable(today: date):
    """Conditions of a lot whose goods may be sold today."""
    return [Lot.qty_on_hand > 0, Lot.best_before >= today]


def available_by_product(today: date) -> dict[int, int]:
    """Grams or pieces each product has on sale today, at all counters: on hand, within best-before."""
    rows = db.session.execute(
        sa.select(Lot.product_id, sa.func.sum(Lot.qty_on_hand))
        .where(*_sellable(today))
        .group_by(Lot.product_id)
    )
    return {product_id: int(total) for product_id, total in rows}


def supplying_villages(today: date) -> dict[int, list[Village]]:
    """The villages whose households' goods of each product are on sale today."""
    rows = db.session.execute(
        sa.select(Lot.product_id, Village)
        .join(Household, Lot.household_id == Household.id)
        .join(Village, Household.village_id == Village.id)
        .where(*_sellable(today))
        .distinct()
        .order_by(Lot.product_id, Village.name_zh)
    )
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
