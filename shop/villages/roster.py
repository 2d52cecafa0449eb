"""The household roster from the county's spreadsheet: checking it row by row, then listing or updating households.

The pure part (`parse_row`, `diff`) turns one row of text into checked values and compares them
with a household as it stands; the database part (`check_roster`, `import_roster`) streams the
file in batches of BATCH rows, so memory does not grow with the file: per batch one query for the
households the batch names, and the officers and villages it needs (by id, from small caches of
names already seen), then flush and expunge. All or nothing: one bad row and nothing is written.
What is kept for the whole file is the code → line map that finds a code repeated in the file,
the refusals, and the first `keep` added and updated rows shown by the manager's preview.
"""

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from shop import audit
from shop.clock import business_today, now_utc
from shop.errors import Conflict, Invalid
from shop.extensions import db
from shop.models import (
    Household,
    HouseholdCategory,
    HouseholdStatus,
    MonitoringStatus,
    MonitorSubtype,
    Role,
    Town,
    User,
    Village,
    normalise_username,
)
from shop.plain_text import is_one_line
from shop.privacy import mask_name, mask_phone
from shop.tables import Refusal, Row, UnreadableTable, read_table
from shop.transaction import atomic
from shop.villages.households import (
    FROM_IMPORT,
    HOUSEHOLD_CODE,
    NewFacts,
    check_head_name,
    check_members,
    check_phone,
    record_changes,
)
from shop.villages.standing import Standing, StandingRefused, changed_standing

#: Rows checked, looked up and written together: one query per batch for its households.
BATCH = 1000
#: The roster's columns, each with the headers it may have: the Chinese first (errors name it).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("户编号", "code", "household code"),
    "head_name": ("户主姓名", "head_name", "head name", "户主"),
    "town": ("乡镇", "town", "镇"),
    "village": ("村", "village", "行政村"),
    "members": ("家庭人口", "members", "人口"),
    "category": ("户类别", "category"),
    "monitor_subtype": ("监测类型", "monitor_subtype", "subtype"),
    "officer": ("帮扶责任人", "officer"),
    "phone": ("联系电话", "phone", "电话"),
}
REQUIRED = ("code", "head_name", "town", "village", "members", "category", "officer")
CATEGORIES = {
    "脱贫户": HouseholdCategory.TUOPIN,
    "监测户": HouseholdCategory.JIANCE,
    "一般农户": HouseholdCategory.YIBAN,
    **{c.value: c for c in HouseholdCategory},
}
SUBTYPES = {
    "脆弱不稳定户": MonitorSubtype.UNSTABLE,
    "脱贫不稳定户": MonitorSubtype.UNSTABLE,
    "边缘易致贫户": MonitorSubtype.MARGINAL,
    "突发严重困难户": MonitorSubtype.SUDDEN,
    **{s.value: s for s in MonitorSubtype},
}
#: The Chinese a roster writes for each category and subtype (the preview shows the same).
CATEGORY_ZH = {
    HouseholdCategory.TUOPIN: "脱贫户",
    HouseholdCategory.JIANCE: "监测户",
    HouseholdCategory.YIBAN: "一般农户",
}
SUBTYPE_ZH = {
    MonitorSubtype.UNSTABLE: "脆弱不稳定户",
    MonitorSubtype.MARGINAL: "边缘易致贫户",
    MonitorSubtype.SUDDEN: "突发严重困难户",
}
MAX_VILLAGE = 60
_DIGITS = re.compile(r"[0-9]{1,4}")


class RosterUnreadable(Invalid):
    """The file is not a roster that can be read at all (empty, not a spreadsheet, no header…)."""


class RosterRaced(Conflict):
    """Another import wrote the same households at the same time; nothing of this one was written."""


class RosterRefused(Invalid):
    """Some rows of the roster are wrong; nothing was written. `report` names every one."""

    def __init__(self, report: "RosterReport"):
        super().__init__(_("%(n)s rows of the roster are wrong; nothing was imported.", n=len(report.refused)))
        self.report = report


# ---------------------------------------------------------------- the pure part: one row


@dataclass(frozen=True)
class RosterRow:
    """One row's values, checked (the town, village and officer are still names to look up)."""

    line: int
    code: str
    head_name: str
    town: str
    village: str
    members: int
    category: HouseholdCategory
    subtype: MonitorSubtype | None
    officer: str
    phone: str | None


def _plain(text: str) -> str:
    """A cell as compared: full-width letters and digits folded (a Chinese keyboard types them), trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def _members(text: str) -> int:
    text = _plain(text)
    if not _DIGITS.fullmatch(text):
        raise Invalid(_("Write the number of people in digits, such as 4 (not “%(text)s”).", text=text[:20]), "members")
    return check_members(int(text))


def _choice(text: str, choices: dict, column: str):
    key = _plain(text)
    found = choices.get(key) or choices.get(key.lower())
    if found is None:
        if column == "category":
            raise Invalid(_("“%(text)s” is not 脱贫户, 监测户 or 一般农户.", text=key[:20]), column)
        raise Invalid(_("“%(text)s” is not 脆弱不稳定户, 边缘易致贫户 or 突发严重困难户.", text=key[:20]), column)
    return found


def _village(text: str) -> str:
    name = _plain(text)
    if not name or len(name) > MAX_VILLAGE or not is_one_line(name):
        raise Invalid(_("Name the village in one line of at most %(n)s characters.", n=MAX_VILLAGE), "village")
    return name


def _code(text: str) -> str:
    code = _plain(text)
    if not HOUSEHOLD_CODE.fullmatch(code):
        raise Invalid(_("A code is up to 32 letters, digits and '-'."), "code")
    return code


def _required(text: str, column: str) -> str:
    value = _plain(text)
    if not value or len(value) > 40 or not is_one_line(value):
        raise Invalid(_("Fill in this column (one line, at most 40 characters)."), column)
    return value


def parse_row(row: Row) -> RosterRow | list[Refusal]:
    """The row's checked values, or every refusal it earns (one per bad column)."""
    v = row.values
    checks: dict[str, Callable[[], object]] = {
        "code": lambda: _code(v.get("code", "")),
        "head_name": lambda: check_head_name(unicodedata.normalize("NFKC", v.get("head_name", ""))),
        "town": lambda: _required(v.get("town", ""), "town"),
        "village": lambda: _village(v.get("village", "")),
        "members": lambda: _members(v.get("members", "")),
        "category": lambda: _choice(v.get("category", ""), CATEGORIES, "category"),
        "monitor_subtype": lambda: (
            _choice(v["monitor_subtype"], SUBTYPES, "monitor_subtype") if _plain(v.get("monitor_subtype", "")) else None
        ),
        "officer": lambda: normalise_username(_required(v.get("officer", ""), "officer")),
        "phone": lambda: check_phone(re.sub(r"[\s-]", "", _plain(v.get("phone", "")))),
    }
    values, refusals = {}, []
    for column, check in checks.items():
        try:
            values[column] = check()
        except Invalid as error:
            refusals.append(Refusal(row.line, error.field or column, error.message))
    category, subtype = values.get("category"), values.get("monitor_subtype")
    if subtype and category and category is not HouseholdCategory.JIANCE:
        refusals.append(Refusal(row.line, "monitor_subtype", _("Only a monitored household (监测户) has a subtype.")))
    if refusals:
        return refusals
    return RosterRow(
        line=row.line,
        code=values["code"],
        head_name=values["head_name"],
        town=values["town"],
        village=values["village"],
        members=values["members"],
        category=category,
        subtype=subtype,
        officer=values["officer"],
        phone=values["phone"],
    )


@dataclass(frozen=True)
class Current:
    """A household as it stands, in the terms a roster row uses."""

    head_name: str
    members: int
    phone: str | None
    town: str
    village: str
    officer: str
    standing: Standing


@dataclass(frozen=True)
class Change:
    """One part of a household that a row changes, as the preview shows it (names and phones masked)."""

    column: str
    before: str
    after: str


def _standing_text(category: HouseholdCategory | None, subtype: MonitorSubtype | None) -> tuple[str, str]:
    return (CATEGORY_ZH.get(category, ""), SUBTYPE_ZH.get(subtype, ""))


def new_standing(current: Standing, row: RosterRow, today: date) -> Standing | None:
    """The standing the row asks for, or None when it is the household's already (an omitted subtype keeps it)."""
    try:
        return changed_standing(
            current, row.category, row.subtype, None, effective_on=today, last_change_on=None, today=today
        )
    except StandingRefused as refused:
        if refused.reason == StandingRefused.UNCHANGED:
            return None
        raise


def diff(current: Current, row: RosterRow, town_name: str, today: date) -> list[Change]:
    """What the row changes in the household, part by part; empty when the row says what is recorded."""
    changes = []
    pairs = (
        ("head_name", current.head_name, row.head_name, mask_name),
        ("members", current.members, row.members, str),
        ("phone", current.phone, row.phone if row.phone else current.phone, mask_phone),
        ("village", (current.town, current.village), (town_name, row.village), " ".join),
        ("officer", current.officer, row.officer, str),
    )
    for column, before, after, shown in pairs:
        if before != after:
            changes.append(Change(column, shown(before) if before else "", shown(after) if after else ""))
    standing = new_standing(current.standing, row, today)
    if standing is not None:
        old = _standing_text(current.standing.category, current.standing.subtype)
        new = _standing_text(standing.category, standing.subtype)
        for column, before, after in zip(("category", "monitor_subtype"), old, new, strict=True):
            if before != after:
                changes.append(Change(column, before, after))
    return changes


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Shown:
    """An added or updated row as the preview lists it: code, masked name, place and the changes."""

    line: int
    code: str
    name: str
    place: str
    changes: tuple[Change, ...] = ()


@dataclass
class RosterReport:
    """What a roster adds, updates and leaves alone, and every row it refuses."""

    keep: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (town, village) pairs new to their town, added with the households.
    new_villages: list[tuple[str, str]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    added_rows: list[Shown] = field(default_factory=list)
    updated_rows: list[Shown] = field(default_factory=list)
    #: canonical column → the header as the file writes it.
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows read, good or bad."""
        return self.added + self.updated + self.unchanged + len({r.line for r in self.refused})

    def header(self, column: str) -> str:
        """How the file names a column (its Chinese name when the file lacks it)."""
        return self.headers.get(column) or COLUMNS[column][0]

    def _show(self, rows: list[Shown], shown: Shown) -> None:
        if len(rows) < self.keep:
            rows.append(shown)


# ---------------------------------------------------------------- the database part


@dataclass
class _Lookups:
    """What the rows name, looked up once per name: towns, officers' ids, villages' ids."""

    towns: dict[str, Town]
    officers: dict[str, int | None] = field(default_factory=dict)
    #: (town id, village name) → village id, or 0 for a village new in a dry run.
    villages: dict[tuple[int, str], int] = field(default_factory=dict)

    def town(self, name: str) -> Town | None:
        return self.towns.get(name) or self.towns.get(name.lower())


def _towns(session) -> dict[str, Town]:
    towns = {}
    for town in session.scalars(sa.select(Town)):
        towns[town.name_zh] = town
        towns[town.name_en.lower()] = town
    return towns


def _load_officers(session, lookups: _Lookups, names: Iterable[str]) -> None:
    wanted = {n for n in names if n not in lookups.officers}
    if not wanted:
        return
    found = session.execute(
        sa.select(User.username, User.id).where(User.username.in_(wanted), User.role == Role.OFFICER, User.active)
    ).all()
    lookups.officers.update(dict.fromkeys(wanted))
    lookups.officers.update(dict(found))


def _load_villages(session, lookups: _Lookups, pairs: Iterable[tuple[int, str]]) -> None:
    wanted = {p for p in pairs if p not in lookups.villages}
    for town_id in {t for t, _name in wanted}:
        names = [name for t, name in wanted if t == town_id]
        found = session.execute(
            sa.select(Village.name_zh, Village.id).where(Village.town_id == town_id, Village.name_zh.in_(names))
        ).all()
        lookups.villages.update({(town_id, name): village_id for name, village_id in found})


def _current(household: Household) -> Current:
    return Current(
        head_name=household.head_name,
        members=household.members,
        phone=household.phone,
        town=household.village.town.name_zh,
        village=household.village.name_zh,
        officer=household.officer.username if household.officer else "",
        standing=Standing(household.category, household.monitor_subtype, household.monitoring_status),
    )


class _Walk:
    """One pass over a roster: check every row, and when `apply` write the batch's households."""

    def __init__(self, session, *, apply: bool, by: User | None, reason: str, keep: int):
        self.session, self.apply, self.by_id, self.reason = session, apply, by.id if by else None, reason
        self.report = RosterReport(keep=keep)
        self.lookups = _Lookups(_towns(session))
        self.first_line: dict[str, int] = {}
        self.today = business_today()
        #: The batch's new households, inserted together at its end.
        self.new_rows: list[dict] = []

    def refuse(self, line: int, column: str, reason: str) -> None:
        self.report.refused.append(Refusal(line, column, reason))

    def batch(self, rows: list[Row]) -> None:
        """Check a batch of rows, look up what they name and, while the file is still clean, write them."""
        good, bad = [], []
        for row in rows:
            parsed = parse_row(row)
            if isinstance(parsed, list):
                self.report.refused.extend(parsed)
                self._note_code(row.line, _plain(row.values.get("code", "")), check=False)
                bad.append((row, {r.column for r in parsed}))
            elif self._note_code(parsed.line, parsed.code, check=True):
                good.append(parsed)
        session, lookups = self.session, self.lookups
        officers = [normalise_username(_plain(row.values.get("officer", ""))) for row, _columns in bad]
        _load_officers(session, lookups, [*(r.officer for r in good), *officers])
        for (row, columns), officer in zip(bad, officers, strict=True):
            # A row already refused is still checked for its town and officer, so one pass names every fault.
            self._check_names(row.line, _plain(row.values.get("town", "")), officer, columns)
        places = {(lookups.town(r.town).id, r.village) for r in good if lookups.town(r.town)}
        _load_villages(session, lookups, places)
        existing = self.existing([r.code for r in good])
        for row in good:
            self._row(row, existing.get(row.code))
        if self.apply:
            session.flush()
            if self.writing:
                self._insert_new()
        self.new_rows = []
        # Bounded memory: nothing of this batch stays in the session.
        session.expunge_all()

    def existing(self, codes: list[str]) -> dict[str, Household]:
        """The batch's households already recorded, by code, with their village, town and officer."""
        query = (
            sa.select(Household)
            .where(Household.code.in_(codes))
            .options(joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer))
        )
        return {h.code: h for h in self.session.scalars(query).unique()}

    def _note_code(self, line: int, code: str, *, check: bool) -> bool:
        """Remember where a code first appears; refuse it on a later line."""
        first = self.first_line.get(code)
        if first is None:
            if code:
                self.first_line[code] = line
            return True
        if check:
            self.refuse(line, "code", _("The code %(code)s is on line %(first)s too.", code=code, first=first))
        return False

    def _check_names(self, line: int, town: str, officer: str, skip: Collection[str] = ()) -> bool:
        """Whether the town is the county's and the officer an active officer; a refusal for each that is not."""
        known = True
        if "town" not in skip and town and self.lookups.town(town) is None:
            self.refuse(line, "town", _("%(name)s is not a town of the county.", name=town))
            known = False
        if "officer" not in skip and officer and self.lookups.officers.get(officer) is None:
            self.refuse(line, "officer", _("%(name)s is not an active officer.", name=officer))
            known = False
        return known

    def _row(self, row: RosterRow, household: Household | None) -> None:
        lookups, report = self.lookups, self.report
        if not self._check_names(row.line, row.town, row.officer):
            return
        town, officer_id = lookups.town(row.town), lookups.officers[row.officer]
        place = f"{town.name_zh} {row.village}"
        if household is None:
            report.added += 1
            report._show(report.added_rows, Shown(row.line, row.code, mask_name(row.head_name), place))
            village_id = self._village_id(town, row.village)
            if self.writing:
                self._add(row, village_id, officer_id)
            return
        changes = diff(_current(household), row, town.name_zh, self.today)
        if not changes:
            report.unchanged += 1
            return
        report.updated += 1
        shown = Shown(row.line, row.code, mask_name(household.head_name), place, tuple(changes))
        report._show(report.updated_rows, shown)
        village_id = self._village_id(town, row.village)
        if self.writing:
            self._update(household, row, village_id, officer_id)

    @property
    def writing(self) -> bool:
        """Whether rows are still written: only while no row has been refused (it will all roll back anyway)."""
        return self.apply and not self.report.refused

    def _village_id(self, town: Town, name: str) -> int:
        """The village's id, added to the town when it is new (and noted for the summary)."""
        key = (town.id, name)
        village_id = self.lookups.villages.get(key)
        if village_id is None:
            self.report.new_villages.append((town.name_zh, name))
            village_id = 0
            if self.apply:
                village = Village(town_id=town.id, name_zh=name)
                self.session.add(village)
                self.session.flush()
                village_id = village.id
            self.lookups.villages[key] = village_id
        return village_id

    def _add(self, row: RosterRow, village_id: int, officer_id: int) -> None:
        monitored = row.category is HouseholdCategory.JIANCE
        self.new_rows.append(
            {
                "code": row.code,
                "head_name": row.head_name,
                "members": row.members,
                "village_id": village_id,
                "category": row.category,
                "monitor_subtype": row.subtype,
                "monitoring_status": MonitoringStatus.IDENTIFIED if monitored else None,
                "officer_id": officer_id,
                "phone": row.phone,
            }
        )

    def _insert_new(self) -> None:
        """The batch's new households and their first standings, in two multi-row INSERTs, and their audit rows.

        Bulk inserts, not ORM objects: a county's first roster is tens of thousands of households,
        and the unit of work costs several times the insert itself. The audit trail gets the same
        rows the flush listener would have written.
        """
        if not self.new_rows:
            return
        session, now = self.session, now_utc()
        households = [{**values, "created_at": now} for values in self.new_rows]
        # Plain executemany, then the ids by code: RETURNING in parameter order goes row by row on SQLite.
        session.execute(sa.insert(Household.__table__), households)
        codes = [h["code"] for h in households]
        ids = dict(session.execute(sa.select(Household.code, Household.id).where(Household.code.in_(codes))).all())
        for values in households:
            values["id"] = ids[values["code"]]
        statuses = [
            {
                "household_id": h["id"],
                "category": h["category"],
                "monitor_subtype": h["monitor_subtype"],
                "monitoring_status": h["monitoring_status"],
                "effective_on": self.today,
                "note": self.reason,
                "recorded_by_id": self.by_id,
                "recorded_at": now,
            }
            for h in households
        ]
        session.execute(sa.insert(HouseholdStatus.__table__), statuses)
        first = sa.select(HouseholdStatus.household_id, HouseholdStatus.id)
        status_ids = dict(session.execute(first.where(HouseholdStatus.household_id.in_(ids.values()))).all())
        for values in statuses:
            values["id"] = status_ids[values["household_id"]]
        actor = audit.actor_id()
        audit.bulk_inserted(Household, households, actor)
        audit.bulk_inserted(HouseholdStatus, statuses, actor)

    def _update(self, household: Household, row: RosterRow, village_id: int, officer_id: int) -> None:
        session = self.session
        facts = NewFacts(
            head_name=row.head_name,
            members=row.members,
            phone=row.phone,  # an empty cell leaves the phone alone
            village=session.get(Village, village_id),
            officer=session.get(User, officer_id),
        )
        by = session.get(User, self.by_id) if self.by_id else None
        record_changes(session, household, facts, by=by, reason=self.reason, source=FROM_IMPORT)
        current = Standing(household.category, household.monitor_subtype, household.monitoring_status)
        standing = new_standing(current, row, self.today)
        if standing is None:
            return
        household.category = standing.category
        household.monitor_subtype = standing.subtype
        household.monitoring_status = standing.status
        session.add(
            HouseholdStatus(
                household=household,
                category=standing.category,
                monitor_subtype=standing.subtype,
                monitoring_status=standing.status,
                effective_on=self.today,
                note=self.reason,
                recorded_by_id=self.by_id,
            )
        )


def _table(source: BinaryIO, filename: str):
    try:
        return read_table(source, filename, COLUMNS, REQUIRED)
    except UnreadableTable as error:
        raise RosterUnreadable(_(error.message, **error.params)) from None


def _walk(walk: _Walk, source: BinaryIO, filename: str, progress: Callable[[int], None] | None) -> RosterReport:
    table = _table(source, filename)
    walk.report.headers = {name: table.header.found[i] for name, i in table.header.positions.items()}
    batch: list[Row] = []
    try:
        for row in table.rows:
            batch.append(row)
            if len(batch) == BATCH:
                walk.batch(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            walk.batch(batch)
            if progress:
                progress(len(batch))
    except UnreadableTable as error:
        raise RosterUnreadable(_(error.message, **error.params)) from None
    return walk.report


def import_reason(filename: str) -> str:
    """The reason each change carries in a household's history: the import and its file."""
    name = "".join(c for c in filename if c.isprintable())[-100:]
    return _("Roster import (%(file)s)", file=name or "—")


def check_roster(
    source: BinaryIO, filename: str, *, keep: int = 300, progress: Callable[[int], None] | None = None
) -> RosterReport:
    """What importing the roster would do, row by row, writing nothing."""
    walk = _Walk(db.session, apply=False, by=None, reason="", keep=keep)
    try:
        return _walk(walk, source, filename, progress)
    finally:
        db.session.rollback()


def import_roster(
    source: BinaryIO,
    filename: str,
    *,
    by: User | None,
    keep: int = 300,
    progress: Callable[[int], None] | None = None,
) -> RosterReport:
    """Use case: list new households and update known ones from a roster, all or nothing.

    Every change lands in the household's history (source "import"); a category or subtype that
    changes is a new standing from today. A refused row raises RosterRefused and nothing is written.
    """
    try:
        with atomic() as session:
            walk = _Walk(session, apply=True, by=by, reason=import_reason(filename), keep=keep)
            report = _walk(walk, source, filename, progress)
            if report.refused:
                raise RosterRefused(report)
    except sa.exc.IntegrityError:
        # Another import (on PostgreSQL, which does not queue writers) added one of these codes meanwhile.
        raise RosterRaced(_("Another import added some of these households meanwhile. Try again.")) from None
    return report
