"""Queued sales the server refused for good, and how the clerk settled each: one record, never edited.

The till keeps a sale it could not record in its "needs attention" list. Dismissing it there
used to leave no trace; now the till first sends how it was settled (sold again as a new sale,
money returned to the buyer, or written off), with what was sold and the money taken, and drops
the entry only once the server has kept this record. The record is keyed by the refused sale's
idempotency key, so a settlement sent twice is recorded once.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from shop.clock import BUSINESS_TZ, now_utc
from shop.errors import Conflict, Invalid
from shop.extensions import db
from shop.models import Counter, PaymentMethod, Product, RefusedOutcome, RefusedSale, Role, Sale, User
from shop.selling.sales import LineRequest
from shop.stock.counters import UnknownCounter, working_counter
from shop.transaction import atomic

#: A till's clock may run a little fast; a sale rung up later than this ahead of the server is a mistake.
CLOCK_SLACK_S = 15 * 60


class SettlementKeyReused(Conflict):
    """The refused sale's key was already settled, with a different record."""

    code = "idempotency_key_reused"


class SaleWasRecorded(Conflict):
    """The key names a sale the server did record: there is nothing to settle."""

    code = "sale_recorded"


class BadSettlement(Invalid):
    """The settlement does not hang together (a resale without its new sale, a time in the future)."""


@dataclass(frozen=True)
class Settlement:
    """What the till sends when a clerk settles a refused sale."""

    idempotency_key: str
    lines: Sequence[LineRequest]
    payment_method: PaymentMethod
    taken_fen: int
    tendered_fen: int | None
    refused_error: str
    rung_up_at: datetime  # aware
    outcome: RefusedOutcome
    resold_key: str | None
    note: str
    counter_id: int | None

    def digest(self) -> str:
        """A fingerprint of the settlement as sent, to tell a replay from a reused key."""
        body = [
            [[line.product_id, line.quantity] for line in self.lines],
            self.payment_method.value,
            self.taken_fen,
            self.tendered_fen,
            self.refused_error,
            rung_up_utc(self.rung_up_at).isoformat(),
            self.outcome.value,
            self.resold_key,
            self.note,
            self.counter_id,
        ]
        return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


def rung_up_utc(moment: datetime) -> datetime:
    """An aware instant as naive UTC, the form every timestamp column holds."""
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # 9999-12-31T23:00-12:00 lies past the last instant a datetime can hold
        raise BadSettlement(_("The sale cannot have been rung up in the future."), "rung_up_at") from None


def _by_key(key: str) -> RefusedSale | None:
    return db.session.scalars(sa.select(RefusedSale).where(RefusedSale.idempotency_key == key)).first()


def _replay(record: RefusedSale, digest: str) -> RefusedSale:
    if record.request_digest != digest:
        raise SettlementKeyReused(_("This sale was already settled differently."), "idempotency_key")
    return record


def settle_refused_sale(settlement: Settlement, by: User) -> tuple[RefusedSale, bool]:
    """Record how a refused sale was settled; return the record and whether it is new."""
    rung_up = rung_up_utc(settlement.rung_up_at)
    digest = settlement.digest()
    if (existing := _by_key(settlement.idempotency_key)) is not None:
        return _replay(existing, digest), False
    _check(settlement)
    counter = _counter(by, settlement.counter_id)
    try:
        with atomic() as session:
            record = RefusedSale(
                idempotency_key=settlement.idempotency_key,
                request_digest=digest,
                counter_id=counter.id,
                lines=json.dumps([{"product_id": li.product_id, "quantity": li.quantity} for li in settlement.lines]),
                payment_method=settlement.payment_method,
                taken_fen=settlement.taken_fen,
                tendered_fen=settlement.tendered_fen,
                refused_error=settlement.refused_error,
                rung_up_at=rung_up,
                rung_up_on=rung_up.replace(tzinfo=UTC).astimezone(BUSINESS_TZ).date(),
                outcome=settlement.outcome,
                resold_key=settlement.resold_key,
                note=settlement.note,
                settled_by_id=by.id,
            )
            session.add(record)
    except IntegrityError:
        # The same settlement won a race on another connection: that record is the answer.
        db.session.rollback()
        if (existing := _by_key(settlement.idempotency_key)) is None:
            raise
        return _replay(existing, digest), False
    return record, True


def _check(settlement: Settlement) -> None:
    resold = settlement.outcome is RefusedOutcome.RESOLD
    if resold != (settlement.resold_key is not None):
        message = _("A sale sold again names its new sale, and only then.")
        raise BadSettlement(message, "resold_key")
    if settlement.resold_key == settlement.idempotency_key:
        raise BadSettlement(_("The new sale needs a key of its own."), "resold_key")
    if settlement.tendered_fen is not None and settlement.payment_method is not PaymentMethod.CASH:
        raise BadSettlement(_("Only cash is handed over."), "tendered_fen")
    ahead = (rung_up_utc(settlement.rung_up_at) - now_utc()).total_seconds()
    if ahead > CLOCK_SLACK_S:
        raise BadSettlement(_("The sale cannot have been rung up in the future."), "rung_up_at")
    # A key the server recorded a sale under was never refused: settling it would count the money twice.
    if db.session.scalar(sa.select(Sale.id).where(Sale.idempotency_key == settlement.idempotency_key)):
        raise SaleWasRecorded(_("This sale was recorded: there is nothing to settle."), "idempotency_key")


def _counter(user: User, counter_id: int | None) -> Counter:
    """The counter the sale was rung up at: a clerk's own; for the manager, any counter, closed ones too."""
    if user.role is Role.CLERK or counter_id is None:
        return working_counter(user, counter_id)
    # A sale refused because its counter closed is still settled there.
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        raise UnknownCounter(_("No counter has id %(id)s.", id=counter_id), "counter_id")
    return counter


# ---------------------------------------------------------------- the manager's list


@dataclass(frozen=True)
class RefusedLine:
    """One line of a refused sale, named by its product where it still exists."""

    product_id: int
    product: Product | None
    quantity: int


@dataclass(frozen=True)
class RefusedEntry:
    """A settled refused sale with its lines named and, when sold again, the new sale if it arrived."""

    record: RefusedSale
    lines: list[RefusedLine]
    resale: Sale | None


def refused_on(counter_id: int, on: date) -> list[RefusedEntry]:
    """The refused sales rung up on a business day at a counter, in the order they were rung up."""
    records = list(
        db.session.scalars(
            sa.select(RefusedSale)
            .where(RefusedSale.counter_id == counter_id, RefusedSale.rung_up_on == on)
            .options(joinedload(RefusedSale.settled_by))
            .order_by(RefusedSale.rung_up_at, RefusedSale.id)
        )
    )
    parsed = {r.id: json.loads(r.lines) for r in records}
    ids = {line["product_id"] for lines in parsed.values() for line in lines}
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(ids)))} if ids else {}
    keys = [r.resold_key for r in records if r.resold_key]
    resales = {s.idempotency_key: s for s in db.session.scalars(sa.select(Sale).where(Sale.idempotency_key.in_(keys)))}
    return [
        RefusedEntry(
            record=r,
            lines=[_line(products.get(line["product_id"]), line) for line in parsed[r.id]],
            resale=resales.get(r.resold_key) if r.resold_key else None,
        )
        for r in records
    ]


def _line(product: Product | None, line: dict) -> RefusedLine:
    return RefusedLine(product_id=line["product_id"], product=product, quantity=line["quantity"])


def count_on(counter_id: int, on: date) -> int:
    """How many refused sales rung up on a business day at a counter were settled."""
    query = sa.select(sa.func.count()).where(RefusedSale.counter_id == counter_id, RefusedSale.rung_up_on == on)
    return db.session.scalar(query.select_from(RefusedSale)) or 0


def settled_days(counter_id: int, limit: int = 30) -> list[tuple[date, int]]:
    """The latest business days with refused sales at a counter, newest first, with how many."""
    return [
        (day, count)
        for day, count in db.session.execute(
            sa.select(RefusedSale.rung_up_on, sa.func.count())
            .where(RefusedSale.counter_id == counter_id)
            .group_by(RefusedSale.rung_up_on)
            .order_by(RefusedSale.rung_up_on.desc())
            .limit(limit)
        )
    ]
