"""Probes: what the database holds, read straight from it, for tests to compare before and after."""

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Draw, Lot, Sale, SaleLine, StockMovement


def on_hand(app, lot_id: int) -> int:
    """Grams or pieces left in a lot."""
    with app.app_context():
        return db.session.get(Lot, lot_id).qty_on_hand


def count(app, model) -> int:
    """How many rows a table holds."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def counts(app) -> tuple:
    """How many sales, lines, draws and movements are recorded."""
    with app.app_context():
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Sale, SaleLine, Draw, StockMovement)
        )


def movements_explain_stock(app) -> bool:
    """Whether every lot's stock on hand is the sum of its movements."""
    with app.app_context():
        sums = dict(
            db.session.execute(
                sa.select(StockMovement.lot_id, sa.func.sum(StockMovement.qty_delta)).group_by(StockMovement.lot_id)
            ).all()
        )
        return all(sums.get(lot.id, 0) == lot.qty_on_hand for lot in db.session.scalars(sa.select(Lot)))
