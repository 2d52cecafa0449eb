"""Staff accounts: creating them and checking passwords."""

import re

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from .counters import counter_by_code
from .errors import Conflict, Invalid
from .extensions import db
from .households import households_by_code
from .models import Role, User, normalise_username
from .places import find_town
from .transaction import atomic

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,39}")
# Checked against when the account does not exist, so that a wrong username
# takes as long to refuse as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


class UsernameTaken(Conflict):
    """Another account already has this username."""


class BadUsername(Invalid):
    """A username must be 2-40 lower-case letters, digits, '.', '_' or '-'."""


class WeakPassword(Invalid):
    """The password is too short to protect households' data."""


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt unless configured otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    """Refuse a password that is too short."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise WeakPassword(_("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), "password")


def create_user(
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str = "",
    town: str | None = None,
    household_codes: list[str] | None = None,
    counter_code: str | None = None,
) -> User:
    """Add a staff account; an officer takes over the households named by code."""
    with atomic() as session:
        username = normalise_username(username)
        if not USERNAME.fullmatch(username):
            raise BadUsername(_("Use 2-40 lower-case letters, digits, '.', '_' or '-'."), "username")
        if session.scalars(sa.select(User.id).where(User.username == username)).first():
            raise UsernameTaken(_("The username %(name)s is taken.", name=username), "username")
        check_password_strength(password)
        role = Role(role)
        if town and role is not Role.SUPERVISOR:
            raise Invalid(_("Only supervisors are limited to a town."), "town")
        if household_codes and role is not Role.OFFICER:
            raise Invalid(_("Only officers are assigned households."), "households")
        user = User(
            username=username,
            password_hash=hash_password(password),
            role=role,
            display_name=display_name.strip(),
            town=find_town(town) if town else None,
            counter=counter_by_code(counter_code) if counter_code else None,
        )
        session.add(user)
        session.flush()
        for household in households_by_code(household_codes or [], "households"):
            household.officer_id = user.id
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active account with this username and password, or None."""
    user = db.session.scalars(sa.select(User).where(User.username == normalise_username(username))).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user
