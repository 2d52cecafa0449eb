"""Staff accounts in bulk from a spreadsheet: each new account gets a one-time password it must change at first sign-in.

All or nothing: a bad row (line, column, reason) and no account is added. A username that exists
already is left exactly as it is and reported as skipped: the import adds accounts, it never edits
them (the manager's staff pages do that, with the audit trail's before and after).
"""

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _

from shop.clock import now_utc
from shop.errors import Invalid
from shop.models import Household, HouseholdField, Role, User, normalise_username
from shop.staff.accounts import (
    USERNAME,
    WeakPassword,
    _check_display_name,
    _check_scope,
    check_password_strength,
    hash_password,
)
from shop.stock.counters import UnknownCounter, counter_by_code
from shop.tables import Refusal, UnreadableTable, read_table
from shop.transaction import atomic
from shop.villages.households import FROM_ACCOUNT, change_part
from shop.villages.places import UnknownTown, find_town

COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("用户名", "username", "账号"),
    "name": ("姓名", "name", "display_name"),
    "role": ("角色", "role"),
    "town": ("乡镇", "town"),
    "counter": ("专柜", "counter"),
    "households": ("帮扶户", "households"),
}
REQUIRED = ("username", "role")
#: A role as the file may write it: the app's value, or its Chinese name (and the usual other words).
ROLES = {
    **{r.value: r for r in Role},
    "专柜经理": Role.ADMIN,
    "管理员": Role.ADMIN,
    "售货员": Role.CLERK,
    "收银员": Role.CLERK,
    "营业员": Role.CLERK,
    "帮扶责任人": Role.OFFICER,
    "帮扶干部": Role.OFFICER,
    "督导人员": Role.SUPERVISOR,
    "督导": Role.SUPERVISOR,
}
#: Codes in the households cell: split on commas (either width), 、, semicolons or spaces.
_SEPARATORS = re.compile(r"[,，、;；\s]+")
#: Letters and digits nobody misreads on paper (no 0/o, 1/l/i).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class StaffUnreadable(Invalid):
    """The file is not a staff list that can be read at all."""


class StaffRefused(Invalid):
    """Some rows of the staff list are wrong; no account was added. `report` names every one."""

    def __init__(self, report: "StaffReport"):
        super().__init__(_("%(n)s rows of the staff list are wrong; no account was added.", n=len(report.refused)))
        self.report = report


@dataclass(frozen=True)
class StaffRow:
    """One row's checked values."""

    line: int
    username: str
    name: str
    role: Role
    town: str
    counter: str
    households: tuple[str, ...]


@dataclass
class StaffReport:
    """Who was added, who was left alone because the username exists, and every refused row."""

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, column: str) -> str:
        """How the file names a column (its Chinese name when the file lacks it)."""
        return self.headers.get(column) or COLUMNS.get(column, (column,))[0]


def one_time_password(username: str, name: str) -> str:
    """A random password of 16 letters and digits in groups of four (about 79 bits), strong enough to be accepted."""
    while True:
        password = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
        try:
            check_password_strength(password, username, name)
            return password
        except WeakPassword:  # it happened to contain the username: draw again
            continue


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_row(line: int, values: dict[str, str]) -> StaffRow | list[Refusal]:
    """The row's checked values, or its refusals (the town, counter and households are looked up later)."""
    refusals = []
    username = normalise_username(_plain(values.get("username", "")))
    if not USERNAME.fullmatch(username):
        refusals.append(Refusal(line, "username", _("Use 2-40 lower-case letters, digits, '.', '_' or '-'.")))
    try:
        name = _check_display_name(values.get("name", ""))
    except Invalid as error:
        refusals.append(Refusal(line, "name", error.message))
        name = ""
    role_text = _plain(values.get("role", ""))
    role = ROLES.get(role_text) or ROLES.get(role_text.lower())
    if role is None:
        words = "admin, clerk, officer, supervisor, 专柜经理, 售货员, 帮扶责任人, 督导人员"
        refusals.append(
            Refusal(
                line, "role", _("“%(text)s” is not a role: use one of %(roles)s.", text=role_text[:20], roles=words)
            )
        )
    town, counter = _plain(values.get("town", "")), _plain(values.get("counter", ""))
    households = tuple(c for c in _SEPARATORS.split(_plain(values.get("households", ""))) if c)
    if role is not None:
        try:
            _check_scope(role, town, counter, list(households))
        except Invalid as error:
            refusals.append(Refusal(line, error.field or "role", error.message))
    if refusals:
        return refusals
    return StaffRow(line, username, name, role, town, counter, households)


def _rows(source: BinaryIO, filename: str, report: StaffReport) -> list[StaffRow]:
    """Every row of the file checked on its own; a staff list is small enough to hold."""
    try:
        table = read_table(source, filename, COLUMNS, REQUIRED)
        report.headers = {name: table.header.found[i] for name, i in table.header.positions.items()}
        rows, first = [], {}
        for row in table.rows:
            parsed = parse_row(row.line, row.values)
            if isinstance(parsed, list):
                report.refused.extend(parsed)
            elif parsed.username in first:
                seen = first[parsed.username]
                message = _("The username %(name)s is on line %(first)s too.", name=parsed.username, first=seen)
                report.refused.append(Refusal(row.line, "username", message))
            else:
                first[parsed.username] = row.line
                rows.append(parsed)
        return rows
    except UnreadableTable as error:
        raise StaffUnreadable(_(error.message, **error.params)) from None


def _households(session, rows: list[StaffRow], report: StaffReport) -> dict[str, Household]:
    """The households the rows name, by code; a code unknown or given to two rows is refused."""
    given: dict[str, int] = {}
    for row in rows:
        for code in row.households:
            if code in given and given[code] != row.line:
                message = _("The household %(code)s is given on line %(first)s too.", code=code, first=given[code])
                report.refused.append(Refusal(row.line, "households", message))
            given.setdefault(code, row.line)
    found = {h.code: h for h in session.scalars(sa.select(Household).where(Household.code.in_(list(given))))}
    for row in rows:
        missing = [c for c in row.households if c not in found]
        if missing:
            message = _("No household has the code %(codes)s.", codes=", ".join(missing[:10]))
            report.refused.append(Refusal(row.line, "households", message))
    return found


def _place(row: StaffRow, report: StaffReport) -> dict:
    """The row's town and counter, looked up; a refusal noted for each that does not exist."""
    scope = {"town": None, "counter": None}
    try:
        scope["town"] = find_town(row.town) if row.town else None
    except UnknownTown as error:
        report.refused.append(Refusal(row.line, "town", error.message))
    try:
        scope["counter"] = counter_by_code(row.counter) if row.counter else None
    except UnknownCounter as error:
        report.refused.append(Refusal(row.line, "counter", error.message))
    return scope


def import_staff(
    source: BinaryIO, filename: str, *, deliver: Callable[[list[tuple[str, str, str]]], None]
) -> StaffReport:
    """Use case: add the accounts of a staff list, all or nothing; existing usernames are skipped, unchanged.

    `deliver` receives (username, name, one-time password) of each new account inside the
    transaction: if it cannot keep them (a full disk), no account is added.
    """
    report = StaffReport()
    with atomic() as session:
        rows = _rows(source, filename, report)
        taken = set(session.scalars(sa.select(User.username).where(User.username.in_([r.username for r in rows]))))
        households = _households(session, rows, report)
        scopes = {row.line: _place(row, report) for row in rows}
        if report.refused:
            report.refused.sort(key=lambda r: r.line)
            raise StaffRefused(report)
        passwords = []
        for row in rows:
            if row.username in taken:
                report.skipped.append(row.username)
                continue
            password = one_time_password(row.username, row.name)
            user = User(
                username=row.username,
                password_hash=hash_password(password),
                role=row.role,
                display_name=row.name,
                must_change_password=True,
                password_changed_at=now_utc(),
                **scopes[row.line],
            )
            session.add(user)
            session.flush()
            for code in row.households:
                change_part(
                    session, households[code], HouseholdField.OFFICER, user, by=None, reason="", source=FROM_ACCOUNT
                )
            passwords.append((row.username, row.name, password))
            report.added.append(row.username)
        deliver(passwords)
    return report
