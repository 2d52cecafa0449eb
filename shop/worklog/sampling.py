"""An inspection's random sample of households (抽查), drawn by the system and recorded before it is shown.

The households come from the drawer's own scope (shop.villages.households.visible_to), narrowed to a
town, a village or a category if asked; the draw uses the operating system's randomness
(secrets.SystemRandom), so nobody can predict or replay it. Every draw is written to the audit trail
(who, when, the scope asked for and the households drawn) in the same transaction that draws it, so a
second draw that "comes out better" sits in the trail beside the first: an inspector cannot redraw silently.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from shop import audit
from shop.errors import Forbidden, Invalid
from shop.extensions import db
from shop.models import AuditEvent, Household, HouseholdCategory, Role, Town, User, Village
from shop.transaction import atomic
from shop.villages.households import visible_to

#: Who draws samples: the inspectors, the supervisors and the counter manager, each in their own scope.
SAMPLERS = (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR)
#: How many households one draw takes: at least one, at most what a team can visit in a day or two.
MIN_SIZE, MAX_SIZE = 1, 50
#: How many past draws the page lists.
DRAWS_SHOWN = 30


class NotASampler(Forbidden):
    """Officers and clerks do not draw inspection samples."""


class SampleSizeRefused(Invalid):
    """The sample's size is outside 1..50."""


class OutsideYourArea(Invalid):
    """The town or village asked for is not in the drawer's scope (or does not exist)."""


class NothingToDraw(Invalid):
    """No household in the scope matches: there is nothing to sample."""


@dataclass(frozen=True)
class Scope:
    """What a draw is limited to beyond the drawer's own scope; None means "any"."""

    town_id: int | None = None
    village_id: int | None = None
    category: HouseholdCategory | None = None


@dataclass(frozen=True)
class Draw:
    """A recorded draw: its audit event, who drew, when, what was asked and the households drawn (by code)."""

    event_id: int
    at: datetime
    drawer: str
    size: int
    pool: int
    scope: dict
    codes: tuple[str, ...]
    household_ids: tuple[int, ...]


def towns_in_scope(user: User) -> list[Town]:
    """The towns a drawer may narrow to: all for county-wide accounts, their own for a town's."""
    query = sa.select(Town).order_by(Town.id)
    if user.town_id is not None:
        query = query.where(Town.id == user.town_id)
    return list(db.session.scalars(query))


def villages_in_scope(user: User) -> list[Village]:
    """The villages a drawer may narrow to, by town then name."""
    query = sa.select(Village).join(Village.town).order_by(Town.id, Village.name_zh)
    if user.town_id is not None:
        query = query.where(Village.town_id == user.town_id)
    return list(db.session.scalars(query))


def _checked_scope(session, user: User, scope: Scope) -> tuple[Town | None, Village | None]:
    """The town and village asked for, if both are in the drawer's scope and agree with each other."""
    town = session.get(Town, scope.town_id) if scope.town_id is not None else None
    if scope.town_id is not None and (town is None or (user.town_id is not None and town.id != user.town_id)):
        raise OutsideYourArea(_("That town is not in your area."), "town")
    village = session.get(Village, scope.village_id) if scope.village_id is not None else None
    if scope.village_id is not None:
        if village is None or (user.town_id is not None and village.town_id != user.town_id):
            raise OutsideYourArea(_("That village is not in your area."), "village")
        if town is not None and village.town_id != town.id:
            raise OutsideYourArea(_("That village is not in the town chosen."), "village")
    return town, village


def _pool(user: User, town: Town | None, village: Village | None, category: HouseholdCategory | None) -> list:
    """(id, code) of every household the draw may take, by id so that the pool's order is fixed."""
    query = visible_to(user).with_only_columns(Household.id, Household.code)
    if town is not None:
        query = query.where(Household.village_id.in_(sa.select(Village.id).where(Village.town_id == town.id)))
    if village is not None:
        query = query.where(Household.village_id == village.id)
    if category is not None:
        query = query.where(Household.category == category)
    return list(db.session.execute(query.order_by(Household.id)))


def draw_sample(user: User, size: int, scope: Scope) -> Draw:
    """Use case: draw `size` distinct households at random from the drawer's scope and record the draw.

    When fewer households match than asked for, all of them are taken (the record says how many matched).
    """
    if user.role not in SAMPLERS:
        raise NotASampler(_("Your role does not draw inspection samples."))
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SampleSizeRefused(_("Draw between %(low)s and %(high)s households.", low=MIN_SIZE, high=MAX_SIZE), "size")
    with atomic() as session:
        town, village = _checked_scope(session, user, scope)
        pool = _pool(user, town, village, scope.category)
        if not pool:
            raise NothingToDraw(_("No household in your area matches: there is nothing to draw."), "size")
        drawn = sorted(secrets.SystemRandom().sample(pool, min(size, len(pool))), key=lambda row: row.code)
        asked = {
            "drawer_town": user.town.name_zh if user.town_id is not None else None,
            "town": town.name_zh if town else None,
            "village": village.name_zh if village else None,
            "category": scope.category.value if scope.category else None,
        }
        after = {
            "size": size,
            "pool": len(pool),
            "scope": asked,
            "households": [row.code for row in drawn],
            "household_ids": [row.id for row in drawn],
        }
        event = audit.record(audit.SAMPLE_DRAWN, Household.__tablename__, None, after=after)
        session.flush()
        return _draw(event, user)


def _draw(event: AuditEvent, drawer: User | None) -> Draw:
    """A draw read back from its audit event."""
    after = json.loads(event.after or "{}")
    name = (drawer.display_name or drawer.username) if drawer else "—"
    return Draw(
        event_id=event.id,
        at=event.at,
        drawer=name,
        size=int(after.get("size", 0)),
        pool=int(after.get("pool", 0)),
        scope=after.get("scope") or {},
        codes=tuple(after.get("households") or ()),
        household_ids=tuple(after.get("household_ids") or ()),
    )


def draws_seen_by(user: User) -> list[Draw]:
    """The latest draws first: the manager sees everyone's, others their own."""
    query = sa.select(AuditEvent).where(AuditEvent.action == audit.SAMPLE_DRAWN)
    if user.role is not Role.ADMIN:
        query = query.where(AuditEvent.actor_id == user.id)
    query = query.options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id.desc()).limit(DRAWS_SHOWN)
    return [_draw(event, event.actor) for event in db.session.scalars(query)]


def drawn_households(draw: Draw) -> list[Household]:
    """The households of a draw, in its order, with their villages (for the list under it)."""
    if not draw.household_ids:
        return []
    rows = db.session.scalars(
        sa.select(Household)
        .where(Household.id.in_(draw.household_ids))
        .options(joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer))
    ).unique()
    by_id = {h.id: h for h in rows}
    return [by_id[i] for i in draw.household_ids if i in by_id]
