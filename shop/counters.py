"""Counters (locations): which one a person or a lot belongs to when none is named."""

import sqlalchemy as sa
from flask_babel import gettext as _

from .errors import Forbidden, Invalid
from .extensions import db
from .models import Counter, Role, User


class UnknownCounter(Invalid):
    """The counter named does not exist or is closed."""


def default_counter() -> Counter:
    """The first open counter; single-counter installations never see another."""
    counter = db.session.scalars(sa.select(Counter).where(Counter.active).order_by(Counter.id).limit(1)).first()
    if counter is None:
        raise UnknownCounter(_("No counter is set up yet."))
    return counter


def counter_for(user: User) -> Counter:
    """The counter a staff member works at."""
    return user.counter if user.counter and user.counter.active else default_counter()


class OtherCounter(Forbidden):
    """A clerk named a counter other than their own: clerks stay at their counter."""


def working_counter(user: User, counter_id: int | None = None) -> Counter:
    """The counter a staff member acts at: a clerk's own; the manager's choice, or the first when none is named."""
    own = counter_for(user)
    if counter_id is None or counter_id == own.id:
        return own
    if user.role is Role.CLERK:
        # Refused before looking the counter up: a clerk learns nothing about other counters' ids.
        raise OtherCounter(_("Clerks work only at their own counter."), "counter_id")
    return find_counter(counter_id)


def find_counter(counter_id: int) -> Counter:
    """The open counter with this id."""
    counter = db.session.get(Counter, counter_id)
    if counter is None or not counter.active:
        raise UnknownCounter(_("No open counter has id %(id)s.", id=counter_id), "counter_id")
    return counter


def counter_by_code(code: str, field: str = "counter") -> Counter:
    """The counter with this code."""
    counter = db.session.scalars(sa.select(Counter).where(Counter.code == code)).first()
    if counter is None:
        raise UnknownCounter(_("No counter has the code %(code)s.", code=code), field)
    return counter
