"""Counters (locations): setting them up, closing and reopening them, and which one applies when none is named.

A closed counter keeps its lots, sales and clerks' history, but is no longer offered for
selling or receiving (only open counters are found by id or chosen by default); its clerks
use the first open counter until they are given another. At least one counter stays open.
"""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.models import Counter, Role, User
from shop.transaction import atomic
from shop.villages.places import name_problem

#: Column lengths of the schema (shop.models).
CODE_MAX, NAME_MAX, ADDRESS_MAX, HOURS_MAX, PHONE_MAX = 32, 100, 200, 100, 20
#: A code is typed on the command line and printed on lists: letters, digits, '-', '_' and '.'.
CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,31}")
#: A phone buyers can dial: a mobile or a landline with its area code, such as 0898-28281234 (ASCII digits).
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,18}[0-9]")


class UnknownCounter(Invalid):
    """The counter named does not exist or is closed."""


class CounterCodeTaken(Conflict):
    """Another counter already has this code."""


class CounterNameTaken(Conflict):
    """Another counter already has this name: a clerk choosing between them could not tell them apart."""


class BadCounter(Invalid):
    """A counter's code, name or address is empty, too long or not one plain line."""


class BadCounterPhone(Invalid):
    """A counter's phone is not a number a buyer could dial."""


class LastOpenCounter(Conflict):
    """Closing this counter would leave none open to sell at."""


# ---------------------------------------------------------------- finding


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


def normalise_code(code: str | None) -> str:
    """Codes compare without case or surrounding spaces, and are stored upper-case."""
    return (code or "").strip().upper()


def counter_by_code(code: str, field: str = "counter") -> Counter:
    """The counter with this code."""
    code = normalise_code(code)
    counter = db.session.scalars(sa.select(Counter).where(Counter.code == code)).first()
    if counter is None:
        raise UnknownCounter(_("No counter has the code %(code)s.", code=code), field)
    return counter


def counter_by_id(counter_id: int) -> Counter:
    """The counter with this id, open or closed."""
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        raise NotFound(_("No counter has id %(id)s.", id=counter_id))
    return counter


@dataclass(frozen=True)
class CounterRow:
    """A counter as the list shows it."""

    counter: Counter
    clerks: int


def counter_list() -> list[CounterRow]:
    """Every counter, open ones first, in the order set up, with the number of active clerks assigned to it."""
    clerks = (
        sa.select(User.counter_id, sa.func.count().label("n"))
        .where(User.role == Role.CLERK, User.active)
        .group_by(User.counter_id)
        .subquery()
    )
    query = sa.select(Counter, sa.func.coalesce(clerks.c.n, 0)).outerjoin(clerks, clerks.c.counter_id == Counter.id)
    rows = db.session.execute(query.order_by(Counter.active.desc(), Counter.id)).all()
    return [CounterRow(counter, n) for counter, n in rows]


# ---------------------------------------------------------------- checking


def _text(value: str | None, limit: int, required: bool, field: str) -> str:
    """A trimmed one-line text, or BadCounter naming the field."""
    text = (value or "").strip()
    if problem := name_problem(text, limit, required):
        raise BadCounter(problem, field)
    return text


def _code(value: str | None) -> str:
    code = normalise_code(value)
    if not code:
        raise BadCounter(_("Give the counter a code, such as LC-JN."), "code")
    if not CODE.fullmatch(code):
        raise BadCounter(_("A code is 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit."), "code")
    return code


def _phone(value: str | None) -> str:
    """A trimmed phone number, or empty; BadCounterPhone when it is not one."""
    phone = (value or "").strip()
    if phone and not PHONE.fullmatch(phone):
        raise BadCounterPhone(
            _(
                "Give a phone number of digits, such as 0898-28281234 or 13812345678 (at most %(n)d characters).",
                n=PHONE_MAX,
            ),
            "phone",
        )
    return phone


def _name_free(name: str, but: int | None = None) -> None:
    taken = sa.select(Counter.id).where(Counter.name == name, Counter.id != (but or -1)).limit(1)
    if db.session.scalar(taken) is not None:
        raise CounterNameTaken(_("Another counter is already named %(name)s.", name=name), "name")


# ---------------------------------------------------------------- use cases


def add_counter(code: str, name: str, address: str = "", opening_hours: str = "", phone: str = "") -> Counter:
    """Use case: set up a counter, open. Its code never changes afterwards."""
    with atomic() as session:
        code = _code(code)
        name = _text(name, NAME_MAX, required=True, field="name")
        address = _text(address, ADDRESS_MAX, required=False, field="address")
        opening_hours = _text(opening_hours, HOURS_MAX, required=False, field="opening_hours")
        phone = _phone(phone)
        if session.scalar(sa.select(Counter.id).where(Counter.code == code)) is not None:
            raise CounterCodeTaken(_("A counter with the code %(code)s already exists.", code=code), "code")
        _name_free(name)
        counter = Counter(code=code, name=name, address=address, opening_hours=opening_hours, phone=phone, active=True)
        session.add(counter)
        try:
            session.flush()
        except IntegrityError:  # the same code added on another connection meanwhile
            raise CounterCodeTaken(_("A counter with the code %(code)s already exists.", code=code), "code") from None
    return counter


def edit_counter(counter_id: int, name: str, address: str = "", opening_hours: str = "", phone: str = "") -> Counter:
    """Use case: rename a counter or change its address, opening hours or phone (empty ones are shown to nobody)."""
    with atomic() as session:
        counter = _locked(session, counter_id)
        name = _text(name, NAME_MAX, required=True, field="name")
        address = _text(address, ADDRESS_MAX, required=False, field="address")
        opening_hours = _text(opening_hours, HOURS_MAX, required=False, field="opening_hours")
        phone = _phone(phone)
        _name_free(name, but=counter.id)
        counter.name = name
        counter.address = address
        counter.opening_hours = opening_hours
        counter.phone = phone
    return counter


def set_counter_open(counter_id: int, open_: bool) -> Counter:
    """Use case: close a counter (refused for the last open one) or reopen it."""
    with atomic() as session:
        # Lock every open counter, in id order: two managers closing the last two at once wait in line.
        open_ids = list(
            session.scalars(sa.select(Counter.id).where(Counter.active).order_by(Counter.id).with_for_update())
        )
        counter = _locked(session, counter_id)
        if not open_ and counter.active and open_ids == [counter.id]:
            raise LastOpenCounter(
                _("%(name)s is the only open counter: open another before closing it.", name=counter.name), "active"
            )
        counter.active = open_
    return counter


def _locked(session, counter_id: int) -> Counter:
    counter = session.scalars(sa.select(Counter).where(Counter.id == counter_id).with_for_update()).first()
    if counter is None:
        raise NotFound(_("No counter has id %(id)s.", id=counter_id))
    return counter
