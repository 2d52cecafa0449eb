"""Staff accounts: creating and administering them, checking and changing passwords, signing in and out.

Every change to an account is written to the audit trail by shop.audit's flush listener (the
password hash never: only that it changed). Signing in and out are explicit audit events; each
carries the session's random nonce, and a session whose nonce has a sign-out event is over (see
shop.web.auth for why the trail, and not the cookie, decides).
"""

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from shop import audit
from shop.clock import now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.models import EndedSession, Household, HouseholdField, Role, User, normalise_username
from shop.plain_text import is_one_line
from shop.stock.counters import counter_by_code
from shop.transaction import atomic
from shop.villages.households import FROM_ACCOUNT, change_part, households_by_code
from shop.villages.places import find_town

MIN_PASSWORD_LENGTH = 10
#: Long enough for any passphrase; the strength estimator slows down on longer text.
MAX_PASSWORD_LENGTH = 128
#: zxcvbn's guessability score (0-4): 3 means "safely unguessable" against an online attacker.
MIN_PASSWORD_SCORE = 3
MAX_DISPLAY_NAME = 60
USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,39}")
# Checked against when the account does not exist, so that a wrong username
# takes as long to refuse as a wrong password. Written out, not hashed at import: scrypt's
# 32 MiB of working memory would raise every worker's peak by that much for nothing.
# It is generate_password_hash("not a real password") with scrypt, the method production uses.
_DUMMY_HASH = (
    "scrypt:32768:8:1$1xju1GTAGsfYJbnW$e8f7fb8a12d07dcf9d832c02514e36a1030aaf24289b7408eabbbdcd0dec9abb"
    "3234cff091f6633caec3c2d11119a14c4fc346a1e8f9c2673e41993c0cd04818"
)


class UsernameTaken(Conflict):
    """Another account already has this username."""


class BadUsername(Invalid):
    """A username must be 2-40 lower-case letters, digits, '.', '_' or '-'."""


class WeakPassword(Invalid):
    """The password is too short, too common or too easy to guess to protect households' data."""


class WrongPassword(Invalid):
    """The current password given when changing it is not the account's."""


class LastAdmin(Conflict):
    """The change would leave the counter without an active manager, or lock the manager out."""


# ---------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt unless configured otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _mostly_common(result: dict, password: str) -> bool:
    """Whether half or more of the password is made of entries of zxcvbn's common-password lists."""
    common = sum(
        len(m["token"])
        for m in result["sequence"]
        if m.get("pattern") == "dictionary" and m.get("dictionary_name") == "passwords"
    )
    return common * 2 >= len(password)


def check_password_strength(password: str, username: str = "", display_name: str = "") -> None:
    """Refuse a password that is short, over-long, has control characters, is common, or contains the username."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(_("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(_("A password has at most %(n)d characters.", n=MAX_PASSWORD_LENGTH), "password")
    if not is_one_line(password):
        raise WeakPassword(_("Remove the control characters from the password."), "password")
    name = normalise_username(username)
    if len(name) >= 3 and name in password.lower():
        raise WeakPassword(_("The password must not contain the username."), "password")
    from zxcvbn import zxcvbn  # here, not at import: its word lists weigh ~13 MiB in every worker

    result = zxcvbn(password, user_inputs=[v for v in (name, display_name.strip()) if v])
    if result["score"] < MIN_PASSWORD_SCORE or _mostly_common(result, password):
        raise WeakPassword(
            _("This password is too common or too easy to guess. Try a few unrelated words or a longer phrase."),
            "password",
        )


def change_password(user: User, current: str, new: str) -> None:
    """Use case: a staff member replaces their own password, proving they know the current one."""
    with atomic() as session:
        user = session.get(User, user.id)
        if not check_password_hash(user.password_hash, current or ""):
            raise WrongPassword(_("The current password is wrong."), "current")
        if new == current:
            raise WeakPassword(_("Choose a password different from the current one."), "password")
        check_password_strength(new, user.username, user.display_name)
        _set_password(user, new, must_change=False)


def reset_password(target: User, new_temporary: str, by: User) -> None:
    """Use case: the manager gives an account a temporary password, to be changed at the next sign-in."""
    with atomic() as session:
        _require_admin(by)
        target = session.get(User, target.id)
        check_password_strength(new_temporary, target.username, target.display_name)
        _set_password(target, new_temporary, must_change=True)


def _set_password(user: User, password: str, must_change: bool) -> None:
    # A new hash also ends the account's other sessions: they carry a stamp of the old one (shop.web.auth).
    user.password_hash = hash_password(password)
    user.password_changed_at = now_utc()
    user.must_change_password = must_change


# ---------------------------------------------------------------- signing in and out


def authenticate(username: str, password: str) -> User | None:
    """The active account with this username and password, or None (and the refusal is audited)."""
    user = db.session.scalars(sa.select(User).where(User.username == normalise_username(username))).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
    elif check_password_hash(user.password_hash, password or "") and user.active:
        return user
    current_app.logger.info("sign-in failed for %s", f"user id {user.id}" if user else "an unknown username")
    audit.sign_in_failed(username)
    return None


def signed_in(user: User, nonce: str) -> None:
    """Use case: a staff member signed in, starting the session with this nonce."""
    with atomic():
        audit.record(audit.SIGN_IN, User.__tablename__, user.id, after={"session": nonce}, actor=user.id)


def signed_out(user: User, nonce: str) -> None:
    """Use case: a staff member signed out, ending the session with this nonce for good."""
    with atomic() as session:
        audit.record(audit.SIGN_OUT, User.__tablename__, user.id, after={"session": nonce}, actor=user.id)
        if nonce:
            # Two sign-outs of one session racing each other end it once.
            dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
            ended = dialect.insert(EndedSession).values(nonce=nonce, user_id=user.id, ended_at=now_utc())
            session.execute(ended.on_conflict_do_nothing())


def account_in_session(user_id: int, nonce: str) -> tuple[User | None, bool]:
    """The account with this id, and whether its session with this nonce was signed out."""
    found = db.session.execute(sa.select(User, _ended(nonce, User.id)).where(User.id == user_id)).first()
    return (found[0], found[1]) if found is not None else (None, False)


def session_ended(user_id: int, nonce: str) -> bool:
    """Whether the session with this nonce was signed out (a replayed cookie of an ended session)."""
    return bool(db.session.scalar(sa.select(_ended(nonce, user_id))))


def _ended(nonce: str, user_id) -> sa.Exists:
    """Whether the session with this nonce of this user (an id, or a column) was signed out."""
    return sa.exists().where(EndedSession.nonce == nonce, EndedSession.user_id == user_id)


# ---------------------------------------------------------------- creating and editing accounts


def _check_username(username: str) -> str:
    username = normalise_username(username)
    if not USERNAME.fullmatch(username):
        raise BadUsername(_("Use 2-40 lower-case letters, digits, '.', '_' or '-'."), "username")
    if db.session.scalars(sa.select(User.id).where(User.username == username)).first():
        raise UsernameTaken(_("The username %(name)s is taken.", name=username), "username")
    return username


def _check_display_name(display_name: str) -> str:
    display_name = (display_name or "").strip()
    if len(display_name) > MAX_DISPLAY_NAME or not is_one_line(display_name):
        raise Invalid(_("A name of at most %(n)d characters, on one line.", n=MAX_DISPLAY_NAME), "display_name")
    return display_name


def _check_scope(role: Role, town: str | None, counter_code: str | None, household_codes: list[str] | None) -> None:
    """Each role has its own kind of scope: a supervisor's town, an officer's households, the till's counter."""
    if town and role not in (Role.SUPERVISOR, Role.INSPECTOR):
        raise Invalid(_("Only supervisors and inspectors are limited to a town."), "town")
    if household_codes and role is not Role.OFFICER:
        raise Invalid(_("Only officers are assigned households."), "households")
    if counter_code and role not in (Role.CLERK, Role.ADMIN):
        raise Invalid(_("Only clerks and the manager work at a counter."), "counter")


def _role(role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid(_("Choose one of the roles offered."), "role") from None


def create_user(
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str = "",
    town: str | None = None,
    household_codes: list[str] | None = None,
    counter_code: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Use case: add a staff account; an officer takes over the households named by code."""
    with atomic() as session:
        username = _check_username(username)
        display_name = _check_display_name(display_name)
        check_password_strength(password, username, display_name)
        role = _role(role)
        _check_scope(role, town, counter_code, household_codes)
        user = User(
            username=username,
            password_hash=hash_password(password),
            role=role,
            display_name=display_name,
            town=find_town(town) if town else None,
            counter=counter_by_code(counter_code) if counter_code else None,
            must_change_password=must_change_password,
            password_changed_at=now_utc(),
        )
        session.add(user)
        session.flush()
        for household in households_by_code(household_codes or [], "households"):
            change_part(session, household, HouseholdField.OFFICER, user, by=None, reason="", source=FROM_ACCOUNT)
    return user


def add_staff(by: User, username: str, password: str, role, **scope) -> User:
    """Use case: the manager adds an account whose holder must choose their own password at first sign-in."""
    _require_admin(by)
    return create_user(username, password, _role(role), must_change_password=True, **scope)


def update_user(
    target_id: int,
    by: User,
    *,
    display_name: str,
    role,
    town: str | None = None,
    counter_code: str | None = None,
    household_codes: list[str] | None = None,
) -> User:
    """Use case: the manager changes an account's name, role and scope (an officer's households are replaced)."""
    with atomic() as session:
        _require_admin(by)
        role = _role(role)
        display_name = _check_display_name(display_name)
        _check_scope(role, town, counter_code, household_codes)
        user = _lock_target(session, target_id)
        if user.role is Role.ADMIN and role is not Role.ADMIN:
            _keep_an_admin(session, user, by)
        if user.role is Role.OFFICER and role is not Role.OFFICER and household_codes is None:
            if _household_count(user.id):
                raise Conflict(_("Give this officer's households to another officer first."), "households")
        user.display_name = display_name
        user.role = role
        user.town = find_town(town) if town else None
        user.counter = counter_by_code(counter_code) if counter_code else None
        if household_codes is not None:
            # An empty list given for another role releases a former officer's households, as the form showed.
            _assign_households(session, user, household_codes, by)
    return user


def _assign_households(session, officer: User, codes: list[str], by: User) -> None:
    """The officer answers for exactly these households: others named move to them, theirs not named are released.

    Each household's history keeps the hand-over.
    """
    wanted = households_by_code(codes, "households")
    wanted_ids = {h.id for h in wanted}
    for household in session.scalars(sa.select(Household).where(Household.officer_id == officer.id)):
        if household.id not in wanted_ids:
            change_part(session, household, HouseholdField.OFFICER, None, by=by, reason="", source=FROM_ACCOUNT)
    for household in wanted:
        change_part(session, household, HouseholdField.OFFICER, officer, by=by, reason="", source=FROM_ACCOUNT)


def set_active(target_id: int, active: bool, by: User) -> User:
    """Use case: the manager deactivates an account (its sessions stop at their next request) or reactivates it."""
    with atomic() as session:
        _require_admin(by)
        user = _lock_target(session, target_id)
        if not active and user.role is Role.ADMIN:
            _keep_an_admin(session, user, by)
        user.active = active
    return user


def _require_admin(by: User) -> None:
    if by is None or by.role is not Role.ADMIN or not by.active:
        raise Forbidden(_("Only the counter manager administers staff accounts."))


def _lock_target(session, target_id: int) -> User:
    user = session.scalars(sa.select(User).where(User.id == target_id).with_for_update()).first()
    if user is None:
        raise NotFound(_("No staff account has id %(id)s.", id=target_id))
    return user


def _keep_an_admin(session, user: User, by: User) -> None:
    """Refuse to take away the acting manager's own rights, or the last active manager's."""
    if user.id == by.id:
        raise LastAdmin(_("You cannot deactivate yourself or take away your own manager role."), "role")
    # Lock every active manager, in id order: two managers removing each other at once wait in line.
    admins = session.scalars(
        sa.select(User.id).where(User.role == Role.ADMIN, User.active).order_by(User.id).with_for_update()
    ).all()
    if [i for i in admins if i != user.id] == []:
        raise LastAdmin(_("The counter needs at least one active manager."), "role")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class StaffRow:
    """One account as the staff list shows it."""

    user: User
    households: int
    last_password_change: datetime | None


def _household_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Household.officer_id == user_id)) or 0


def staff_list() -> list[StaffRow]:
    """Every account with its household count, active ones first, by username."""
    counts = dict(
        db.session.execute(
            sa.select(Household.officer_id, sa.func.count())
            .where(Household.officer_id.is_not(None))
            .group_by(Household.officer_id)
        ).all()
    )
    users = db.session.scalars(sa.select(User).order_by(User.active.desc(), User.username))
    return [StaffRow(u, counts.get(u.id, 0), u.password_changed_at) for u in users]


def staff_member(user_id: int) -> User:
    """The account with this id."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No staff account has id %(id)s.", id=user_id))
    return user


def household_codes_of(user: User) -> list[str]:
    """The codes of an officer's households."""
    return list(
        db.session.scalars(sa.select(Household.code).where(Household.officer_id == user.id).order_by(Household.code))
    )
