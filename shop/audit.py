"""The audit trail: who changed what, when, from which values to which, and who saw full personal data.

State-changing staff actions are captured automatically by one session listener (`install`),
for the models in AUDITED: products, households and their status history, lots (received),
stock movements other than sales, refunds, order refunds, payouts, corrections, month reviews,
the officers' work ledger (measures, tick-offs, visits, declared income, risk proposals and their steps),
staff accounts, counters, towns and villages, and order status changes made by staff. Explicit
events (sign-in, sign-out, a failed sign-in, a view of a full phone number) are written with
`record` or the small use cases below.

Not audited, on purpose: the household ledger, sales, sale lines, draws and their reversals,
and stock quantities (changed by Core UPDATEs, each beside a StockMovement that is audited or is
a sale's). The ledger is append-only and hash-chained, and a sale is its own evidence: copying
them here would add volume, not proof.

Nothing secret or personal is stored: a password hash is never written (only that it was
set or changed), household heads' names and phones are masked, and buyers' contact details
are left out. The rows are append-only: database triggers refuse UPDATE and DELETE.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user
from sqlalchemy.orm import Session, selectinload

from shop.clock import midnight_utc, now_utc
from shop.extensions import db
from shop.models import (
    Adjustment,
    AuditEvent,
    Counter,
    DeclaredIncome,
    Household,
    HouseholdLink,
    HouseholdStatus,
    Lot,
    Measure,
    MeasureDone,
    MonthReview,
    MovementKind,
    Order,
    OrderRefund,
    Payout,
    PayoutDispute,
    Product,
    Refund,
    RiskProposal,
    RiskStep,
    StockMovement,
    Town,
    User,
    Village,
    Visit,
    normalise_username,
)
from shop.privacy import mask_name, mask_phone
from shop.transaction import atomic

#: Events a page of the trail shows.
PAGE_SIZE = 50

INSERT, UPDATE, DELETE = "insert", "update", "delete"
VIEW_PERSONAL_DATA = "view_personal_data"
SIGN_IN, SIGN_IN_FAILED, SIGN_OUT = "sign_in", "sign_in_failed", "sign_out"
#: An inspection's random sample was drawn; a household's evidence file (一户一档) was printed.
SAMPLE_DRAWN, EVIDENCE_FILE = "sample_drawn", "evidence_file"
#: Every action the trail knows, in the order the search form offers them.
ACTIONS = (INSERT, UPDATE, DELETE, VIEW_PERSONAL_DATA, SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, SAMPLE_DRAWN, EVIDENCE_FILE)

_ALL = frozenset({INSERT, UPDATE, DELETE})
#: Written instead of a password hash: the trail says a password was set, never what it hashes to.
SECRET = "***"


def _secret(_value) -> str:
    return SECRET


@dataclass(frozen=True)
class Audited:
    """How one model is audited: which actions, which columns left out, masked or kept alone."""

    actions: frozenset[str] = _ALL
    omit: frozenset[str] = frozenset()
    masked: Mapping[str, Callable] = field(default_factory=dict)
    #: When set, only these columns are kept (the rest may hold a buyer's personal data).
    only: frozenset[str] | None = None
    #: Whether a particular row is audited at all.
    when: Callable[[object], bool] = lambda _obj: True
    #: Whether the change must have a signed-in actor (staff), not the system.
    staff_only: bool = False


AUDITED: dict[type, Audited] = {
    Product: Audited(),
    Household: Audited(masked={"head_name": mask_name, "phone": mask_phone}),
    HouseholdStatus: Audited(),
    # Stock on hand changes through Core UPDATEs beside a StockMovement; the receipt is the insert.
    Lot: Audited(actions=frozenset({INSERT})),
    StockMovement: Audited(when=lambda m: m.kind is not MovementKind.SALE),
    Refund: Audited(),
    OrderRefund: Audited(),
    Payout: Audited(),
    Adjustment: Audited(),
    MonthReview: Audited(),
    User: Audited(masked={"password_hash": _secret}),
    # Where goods are sold and where households live: set up once, changed rarely, and worth tracing when they are.
    Counter: Audited(),
    Town: Audited(),
    Village: Audited(),
    # The officers' work ledger: who wrote what when, for the inspectors (the rows are append-only too).
    Measure: Audited(actions=frozenset({INSERT})),
    MeasureDone: Audited(actions=frozenset({INSERT})),
    Visit: Audited(actions=frozenset({INSERT})),
    DeclaredIncome: Audited(actions=frozenset({INSERT})),
    RiskProposal: Audited(actions=frozenset({INSERT})),
    RiskStep: Audited(actions=frozenset({INSERT})),
    # The buyer's name, phone and address stay out: only the order's progress is kept.
    Order: Audited(actions=frozenset({UPDATE}), only=frozenset({"status", "refunded_fen", "paid_at"}), staff_only=True),
    # A household's own page: who issued, replaced or revoked its link (never the token), its disputes and answers.
    HouseholdLink: Audited(omit=frozenset({"token", "token_digest"})),
    PayoutDispute: Audited(),
}

#: The tables the trail names, for the search form (the explicit events name app_user, household, shop_order).
ENTITIES = tuple(sorted({model.__tablename__ for model in AUDITED}))


# ---------------------------------------------------------------- values


def _plain(value):
    """A column value as JSON can hold it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _json(values: Mapping | None) -> str:
    """Values as the JSON text stored in the trail; nothing at all is stored as ''."""
    if values is None:
        return ""
    return json.dumps({k: _plain(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True, default=str)


def _keep(rule: Audited, key: str, value):
    """A column's value as the trail may store it: masked where personal."""
    mask = rule.masked.get(key)
    return mask(value) if mask and value is not None else value


def _columns(obj, rule: Audited) -> list[str]:
    keys = [attr.key for attr in sa.inspect(type(obj)).column_attrs]
    return [k for k in keys if k not in rule.omit and (rule.only is None or k in rule.only)]


def _snapshot(obj, rule: Audited) -> dict:
    """The loaded values of a row (for an insert or a delete)."""
    loaded = sa.inspect(obj).dict
    return {k: _keep(rule, k, loaded[k]) for k in _columns(obj, rule) if k in loaded}


def _changes(obj, rule: Audited) -> tuple[dict, dict]:
    """The changed columns of an updated row: their values before and after."""
    state = sa.inspect(obj)
    before, after = {}, {}
    for key in _columns(obj, rule):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        # An attribute set without being loaded first has no old value to show.
        before[key] = _keep(rule, key, history.deleted[0]) if history.deleted else None
        after[key] = _keep(rule, key, history.added[0]) if history.added else None
    return before, after


# ---------------------------------------------------------------- who


def actor_id() -> int | None:
    """The signed-in staff member's id, or None for the system (a command, a webhook, a stranger)."""
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    if not isinstance(user, User):
        return None
    # Read from the identity key: the object may be expired, and a flush must not reload it.
    identity = sa.inspect(user).identity
    return identity[0] if identity else None


# ---------------------------------------------------------------- capture


def _row(actor: int | None, action: str, entity: str, entity_id, before=None, after=None) -> dict:
    return {
        "at": now_utc(),
        "actor_id": actor,
        "action": action,
        "entity": entity,
        "entity_id": "" if entity_id is None else str(entity_id),
        "before": _json(before),
        "after": _json(after),
    }


def _pk(obj) -> str:
    """The row's id: read from its columns, since a new row gets its identity key only after after_flush."""
    key = sa.inspect(type(obj)).primary_key_from_instance(obj)
    return ",".join("" if part is None else str(part) for part in key)


def _events(session: Session, actor: int | None) -> Iterable[dict]:
    """The audit rows of what this flush wrote."""
    for action, objects in ((INSERT, session.new), (UPDATE, session.dirty), (DELETE, session.deleted)):
        for obj in objects:
            rule = AUDITED.get(type(obj))
            if rule is None or action not in rule.actions or (rule.staff_only and actor is None):
                continue
            if not rule.when(obj):
                continue
            table = type(obj).__tablename__
            if action == UPDATE:
                before, after = _changes(obj, rule)
                if after:
                    yield _row(actor, action, table, _pk(obj), before, after)
            elif action == INSERT:
                yield _row(actor, action, table, _pk(obj), after=_snapshot(obj, rule))
            else:
                yield _row(actor, action, table, _pk(obj), before=_snapshot(obj, rule))


def _after_flush(session: Session, _flush_context) -> None:
    """Write the audit rows of a flush, on the flush's own connection.

    after_flush, not before_flush: inserted rows have their ids by now, while new, dirty,
    deleted and each attribute's history still describe what was flushed. The rows go in
    through the session's connection, so they share the change's transaction: a rollback
    takes both away, and nothing is audited that did not happen.
    """
    rows = list(_events(session, actor_id()))
    if rows:
        session.connection().execute(sa.insert(AuditEvent.__table__), rows)


def install() -> None:
    """Listen to every flush of the app's sessions, once however many apps are created."""
    session_class = db.session.session_factory.class_
    if not sa.event.contains(session_class, "after_flush", _after_flush):
        sa.event.listen(session_class, "after_flush", _after_flush)


def bulk_inserted(model: type, rows: list[dict], actor: int | None) -> None:
    """Audit rows a use case inserted in bulk (with their ids), which bypasses the flush this listener watches."""
    rule = AUDITED[model]
    keys = [attr.key for attr in sa.inspect(model).column_attrs]
    kept = [k for k in keys if k not in rule.omit and (rule.only is None or k in rule.only)]
    events = [
        _row(actor, INSERT, model.__tablename__, row["id"], after={k: _keep(rule, k, row[k]) for k in kept if k in row})
        for row in rows
    ]
    if events:
        db.session.connection().execute(sa.insert(AuditEvent.__table__), events)


# ---------------------------------------------------------------- explicit events


#: The default actor of an explicit event: whoever is signed in.
SIGNED_IN = object()


def record(action: str, entity: str, entity_id=None, *, before=None, after=None, actor=SIGNED_IN) -> AuditEvent:
    """Add an explicit event to the current transaction (call it inside a use case's atomic()); returns it."""
    who = actor_id() if actor is SIGNED_IN else actor
    event = AuditEvent(**_row(who, action, entity, entity_id, before, after))
    db.session.add(event)
    return event


def personal_data_shown(entity: str, entity_id: int, field_name: str) -> None:
    """Use case: the signed-in user was shown a full value (a phone number); the value itself is never stored."""
    with atomic():
        record(VIEW_PERSONAL_DATA, entity, entity_id, after={"field": field_name})


def personal_data_listed(entity: str, entity_ids, field_name: str) -> None:
    """Use case: the signed-in user was shown full values of several rows at once (a list); one event a row."""
    ids = sorted(set(entity_ids))
    if not ids:
        return
    with atomic():
        for entity_id in ids:
            record(VIEW_PERSONAL_DATA, entity, entity_id, after={"field": field_name})


def signed_in(user: User) -> None:
    """Use case: a staff member signed in."""
    with atomic():
        record(SIGN_IN, User.__tablename__, user.id, actor=user.id)


def signed_out(user) -> None:
    """Use case: a staff member signed out (nothing for a stranger)."""
    if isinstance(user, User):
        with atomic():
            record(SIGN_OUT, User.__tablename__, user.id, actor=user.id)


def sign_in_failed(username: str | None) -> None:
    """Use case: a sign-in was refused; the account is named (by id) only if it exists, never the typed text."""
    with atomic() as session:
        name = normalise_username(username or "")[:40]
        account = session.scalar(sa.select(User.id).where(User.username == name)) if name else None
        record(SIGN_IN_FAILED, User.__tablename__, account, actor=None)


# ---------------------------------------------------------------- search


def search(
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    start: date | None = None,
    end: date | None = None,
    page: int = 1,
) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, filtered by actor username, entity, action and business days (inclusive)."""
    query = sa.select(AuditEvent)
    if actor:
        query = query.join(User, AuditEvent.actor_id == User.id).where(User.username == normalise_username(actor))
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if action:
        query = query.where(AuditEvent.action == action)
    if start:
        query = query.where(AuditEvent.at >= midnight_utc(start))
    if end:
        query = query.where(AuditEvent.at < midnight_utc(end + timedelta(days=1)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    page_rows = (
        query.options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return list(db.session.scalars(page_rows)), total


def history_of(entity: str, entity_id: int, limit: int = 100) -> list[AuditEvent]:
    """One record's inserts and updates, newest first: a product's price changes, say."""
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .where(AuditEvent.action.in_((INSERT, UPDATE)))
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
