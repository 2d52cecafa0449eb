"""The county's towns and villages: finding them by name, adding them one by one or from a spreadsheet.

A county brings its own list as a CSV or XLSX file (columns 镇,村 or town,village, with
town_en and village_en optional); Lingao's ships with the package (LINGAO_FILE). Importing is
all or nothing and adds only what is new, so a file can be imported again after it grows.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import Town, Village
from shop.plain_text import is_place_name
from shop.tables import Row
from shop.transaction import atomic

#: Column lengths of the schema (shop.models).
TOWN_NAME_MAX, VILLAGE_NAME_MAX, ENGLISH_NAME_MAX = 40, 60, 80
#: The columns of a places file: canonical name → header spellings accepted (the first is the one named).
PLACE_COLUMNS = {
    "town": ("镇", "乡镇", "town"),
    "village": ("村", "村委会", "village"),
    "town_en": ("town_en", "镇英文名", "town (English)"),
    "village_en": ("village_en", "村英文名", "village (English)"),
}
REQUIRED_COLUMNS = ("town",)
#: How many of a file's problems are kept to show; the rest are only counted.
MAX_PROBLEMS_SHOWN = 100


def lingao_file():
    """The places file of Lingao County that ships with the package (its ten towns and the demo's villages)."""
    return resources.files("shop") / "data" / "places-lingao.csv"


class UnknownTown(Invalid):
    """No town of the county has this name."""


class TownExists(Conflict):
    """A town of that Chinese or English name is already recorded."""


class VillageExists(Conflict):
    """The town already has a village of that name."""


class BadPlaceName(Invalid):
    """A town's or village's name is empty, too long or not one plain line."""


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell of a places file."""

    line: int
    column: str
    message: str


class PlacesFileRefused(Invalid):
    """A places file has bad rows; nothing of it was recorded."""

    def __init__(self, problems: list[Problem], total: int):
        super().__init__(_("%(n)d problems in the file; nothing was imported.", n=total))
        self.problems = problems
        self.total = total


@dataclass
class PlacesImported:
    """What an import added, and what it found already recorded (each place counted once)."""

    towns_added: int = 0
    towns_existing: int = 0
    villages_added: int = 0
    villages_existing: int = 0


# ---------------------------------------------------------------- finding


def find_town(name: str, field: str = "town") -> Town:
    """The town with this Chinese or English name."""
    name = (name or "").strip()
    town = None
    if name:
        town = db.session.scalars(
            sa.select(Town).where(sa.or_(Town.name_zh == name, sa.func.lower(Town.name_en) == name.lower()))
        ).first()
    if town is None:
        raise UnknownTown(_("%(name)s is not a town of the county.", name=name), field)
    return town


def village_in(town_name: str, village_name: str) -> Village:
    """The village of that name in that town, added to the town if it is new."""
    town = find_town(town_name)
    if not (village_name or "").strip():
        raise BadPlaceName(_("Name the village."), "village")
    name = _checked(village_name, VILLAGE_NAME_MAX, required=True, field="village")
    village = db.session.scalars(sa.select(Village).where(Village.town_id == town.id, Village.name_zh == name)).first()
    if village is None:
        village = Village(town=town, name_zh=name)
        db.session.add(village)
    return village


@dataclass(frozen=True)
class TownRow:
    """A town as the places page lists it."""

    town: Town
    villages: int


def town_list() -> list[TownRow]:
    """Every town in the order recorded, with its number of villages."""
    counts = sa.select(Village.town_id, sa.func.count().label("n")).group_by(Village.town_id).subquery()
    rows = db.session.execute(
        sa.select(Town, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.town_id == Town.id)
        .order_by(Town.id)
    ).all()
    return [TownRow(town, n) for town, n in rows]


def town_by_id(town_id: int) -> Town:
    """The town with this id."""
    town = db.session.get(Town, town_id)
    if town is None:
        raise NotFound(_("No town has id %(id)s.", id=town_id))
    return town


def villages_of(town: Town) -> list[Village]:
    """The town's villages, in the order recorded."""
    return list(db.session.scalars(sa.select(Village).where(Village.town_id == town.id).order_by(Village.id)))


# ---------------------------------------------------------------- names


def name_problem(text: str, limit: int, required: bool) -> str | None:
    """Why a trimmed name cannot be a place's name, or None."""
    if not text:
        return _("The name is empty.") if required else None
    if len(text) > limit:
        return _("A name has at most %(n)d characters (this one has %(length)d).", n=limit, length=len(text))
    if not is_place_name(text):
        return _("Remove the control characters.")
    return None


def _checked(text: str | None, limit: int, required: bool, field: str) -> str:
    """The trimmed name, or BadPlaceName naming the field."""
    name = (text or "").strip()
    if problem := name_problem(name, limit, required):
        raise BadPlaceName(problem, field)
    return name


def _english_taken(name_en: str, but: Town | None = None) -> bool:
    lowered = sa.func.lower(Town.name_en) == name_en.lower()
    query = sa.select(Town.id).where(lowered, Town.id != (but.id if but else -1))
    return db.session.scalar(query.limit(1)) is not None


# ---------------------------------------------------------------- use cases


def add_town(name_zh: str, name_en: str = "") -> Town:
    """Use case: record a town of the county, with its English name (optional)."""
    with atomic() as session:
        name = _checked(name_zh, TOWN_NAME_MAX, required=True, field="name_zh")
        english = _checked(name_en, ENGLISH_NAME_MAX, required=False, field="name_en")
        exists = TownExists(_("The town %(name)s is already recorded.", name=name), "name_zh")
        if session.scalar(sa.select(Town.id).where(Town.name_zh == name)) is not None:
            raise exists
        if english and _english_taken(english):
            raise TownExists(_("Another town already has the English name %(name)s.", name=english), "name_en")
        town = Town(name_zh=name, name_en=english)
        session.add(town)
        _flush_or(session, exists)
    return town


def add_village(town_id: int, name_zh: str, name_en: str = "") -> Village:
    """Use case: record a village of a town."""
    with atomic() as session:
        town = town_by_id(town_id)
        name = _checked(name_zh, VILLAGE_NAME_MAX, required=True, field="name_zh")
        english = _checked(name_en, ENGLISH_NAME_MAX, required=False, field="name_en")
        exists = VillageExists(
            _("%(town)s already has a village named %(name)s.", town=town.name_zh, name=name), "name_zh"
        )
        taken = sa.select(Village.id).where(Village.town_id == town.id, Village.name_zh == name)
        if session.scalar(taken) is not None:
            raise exists
        village = Village(town=town, name_zh=name, name_en=english)
        session.add(village)
        _flush_or(session, exists)
    return village


@dataclass
class _Import:
    """The state of one import: what is recorded, what the file named, what is wrong with it."""

    towns: dict[str, Town]
    english: dict[str, Town]
    villages: dict[tuple[str, str], Village]
    counts: PlacesImported = field(default_factory=PlacesImported)
    #: Places named by the file so far, each counted once as added or as already recorded.
    seen_towns: set[str] = field(default_factory=set)
    seen_villages: set[tuple[str, str]] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def problem(self, line: int, column: str, message: str) -> None:
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(Problem(line, column, message))


def import_places(rows: Iterable[Row]) -> PlacesImported:
    """Use case: record the towns and villages of a places file that are new; all or nothing.

    `rows` come from shop.tables.read_table with PLACE_COLUMNS. A town is matched by its
    Chinese or its English name. An English name fills in one not yet recorded; one differing
    from the name recorded is a problem, not a change. Raises PlacesFileRefused listing the bad
    cells by line and column (and UnreadableTable if the file breaks off while being read).
    """
    with atomic() as session:
        towns = {t.name_zh: t for t in session.scalars(sa.select(Town))}
        state = _Import(
            towns=towns,
            english={t.name_en.lower(): t for t in towns.values() if t.name_en},
            villages={(v.town.name_zh, v.name_zh): v for v in session.scalars(sa.select(Village).join(Village.town))},
        )
        for row in rows:
            _import_row(state, row)
        if state.total:
            raise PlacesFileRefused(state.problems, state.total)
        _flush_or(session, Conflict(_("The places changed while the file was read: import it again.")))
    return state.counts


def _flush_or(session, conflict: Conflict) -> None:
    """Write now, so that a place another connection added meanwhile is a refusal, not a crash."""
    try:
        session.flush()
    except IntegrityError:
        raise conflict from None


def _cell(state: _Import, row: Row, column: str, limit: int, required: bool = False) -> str | None:
    """A cell's name, or None with its problem recorded."""
    text = row.values.get(column, "")
    if problem := name_problem(text, limit, required):
        state.problem(row.line, column, problem)
        return None
    return text


def _import_row(state: _Import, row: Row) -> None:
    """Record one row's town and village when new; note its problems."""
    town_name = _cell(state, row, "town", TOWN_NAME_MAX, required=True)
    town_en = _cell(state, row, "town_en", ENGLISH_NAME_MAX)
    village_name = _cell(state, row, "village", VILLAGE_NAME_MAX)
    village_en = _cell(state, row, "village_en", ENGLISH_NAME_MAX)
    if village_en and village_name == "":
        state.problem(row.line, "village", _("An English village name needs the village's name."))
    if town_name is None or town_en is None:
        return
    town = _import_town(state, row.line, town_name, town_en)
    if town is None or not village_name or village_en is None:
        return
    key = (town.name_zh, village_name)
    village = state.villages.get(key)
    if village is None:
        village = Village(town=town, name_zh=village_name, name_en=village_en)
        db.session.add(village)
        state.villages[key] = village
        state.counts.villages_added += 1
    elif key not in state.seen_villages:
        state.counts.villages_existing += 1
    state.seen_villages.add(key)
    if village_en and village.name_en.lower() != village_en.lower():
        if village.name_en:
            message = _(
                "%(name)s is recorded with the English name %(english)s.", name=village_name, english=village.name_en
            )
            state.problem(row.line, "village_en", message)
        else:
            village.name_en = village_en


def _import_town(state: _Import, line: int, name: str, english: str) -> Town | None:
    """The row's town, recorded if new; None with a problem when its English name clashes."""
    town = state.towns.get(name) or state.english.get(name.lower())
    if town is None:
        town = Town(name_zh=name, name_en="")
        db.session.add(town)
        state.towns[name] = town
        state.counts.towns_added += 1
    elif town.name_zh not in state.seen_towns:
        state.counts.towns_existing += 1
    state.seen_towns.add(town.name_zh)
    if english and town.name_en.lower() != english.lower():
        if town.name_en:
            message = _("%(name)s is recorded with the English name %(english)s.", name=name, english=town.name_en)
            state.problem(line, "town_en", message)
            return None
        if (other := state.english.get(english.lower())) is not None:
            message = _("The English name %(english)s is already %(town)s's.", english=english, town=other.name_zh)
            state.problem(line, "town_en", message)
            return None
        town.name_en = english  # a town recorded without its English name gets it
        state.english[english.lower()] = town
    return town
