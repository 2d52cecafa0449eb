"""The work at each level: the officer's day, the town's table by village and officer, the county's by town.

Counted over a whole scope in a few grouped queries (a county holds 50,000 households and 3,000
officers), never household by household. Only records that count are counted: a measure or visit
replaced by a correction is left out, its replacement counts instead.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from shop.clock import midnight_utc
from shop.extensions import db
from shop.models import Household, Measure, MeasureDone, Role, Town, User, Village, Visit
from shop.villages.households import visible_to
from shop.worklog.due import overdue_measures, visit_schedule
from shop.worklog.rules import Cadence
from shop.worklog.warnings import warnings_in

#: "Due soon" on the officer's day: a visit falling due within this many days.
DUE_SOON_DAYS = 7
#: The county's progress curve: weeks shown when none are asked for, and the most that may be.
DEFAULT_WEEKS, MAX_WEEKS = 12, 104
#: A list on the officer's day shows at most this many rows (the manager's day covers the county).
ROWS_SHOWN = 200


def measure_counts():
    """A measure counts unless a correction replaced it (as shop.worklog.due.counting_measures says).

    Asked as one NOT IN over the corrections, which the database builds once: a correlated
    subquery a row costs SQLite more at 30,000 measures.
    """
    return Measure.id.not_in(sa.select(Measure.corrects_id).where(Measure.corrects_id.is_not(None)))


def visit_counts():
    """A visit counts unless a correction replaced it."""
    return Visit.id.not_in(sa.select(Visit.corrects_id).where(Visit.corrects_id.is_not(None)))


def in_scope(column, scope: sa.Select | None):
    """The rows of households in scope; no condition at all when the scope is every household."""
    return sa.true() if scope is None else column.in_(scope)


def scope_of(user: User) -> sa.Select | None:
    """The ids of the households the user sees, or None when that is every household (the county's view)."""
    query = visible_to(user)
    return None if query.whereclause is None else query.with_only_columns(Household.id)


def every_id(scope: sa.Select | None) -> sa.Select:
    """The scope as a select of ids, as shop.worklog.due's functions take it."""
    return sa.select(Household.id) if scope is None else scope


# ---------------------------------------------------------------- the officer's day


@dataclass(frozen=True)
class LateRecord:
    """A record received this month more than a week after the day it gives."""

    household: Household
    what: str  # "visit" or "tick_off"
    happened_on: date
    received_at: datetime


@dataclass(frozen=True)
class Day:
    """What an officer has to do: overdue measures, visits past due and due soon, late records this month."""

    overdue: list  # (OverdueMeasure, Household)
    visits_past_due: list  # (due date, Household)
    visits_due_soon: list  # (due date, Household)
    late_records: list[LateRecord]
    households: dict[int, Household] = field(default_factory=dict)


def _households(ids) -> dict[int, Household]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    found = db.session.scalars(
        sa.select(Household)
        .where(Household.id.in_(ids))
        .options(joinedload(Household.village).joinedload(Village.town))
    ).unique()
    return {h.id: h for h in found}


def _late_records(scope: sa.Select | None, since: datetime) -> list[tuple[int, str, date, datetime]]:
    visits = db.session.execute(
        sa.select(Visit.household_id, Visit.visited_on, Visit.recorded_at).where(
            in_scope(Visit.household_id, scope), Visit.late, Visit.recorded_at >= since, visit_counts()
        )
    )
    ticks = db.session.execute(
        sa.select(Measure.household_id, MeasureDone.done_on, MeasureDone.recorded_at)
        .join(MeasureDone.measure)
        .where(
            in_scope(Measure.household_id, scope),
            MeasureDone.late,
            MeasureDone.recorded_at >= since,
            measure_counts(),
        )
    )
    rows = [(h, "visit", on, at) for h, on, at in visits] + [(h, "tick_off", on, at) for h, on, at in ticks]
    return sorted(rows, key=lambda r: r[3], reverse=True)


def day_of(user: User, today: date, cadence: Cadence) -> Day:
    """The user's day over the households they see: an officer's own, the manager's all."""
    scope = scope_of(user)
    overdue = overdue_measures(every_id(scope), today)[:ROWS_SHOWN]
    schedule = visit_schedule(every_id(scope), cadence)
    soon = today + timedelta(days=DUE_SOON_DAYS)
    past = sorted((on, h) for h, on in schedule.items() if on < today)[:ROWS_SHOWN]
    coming = sorted((on, h) for h, on in schedule.items() if today <= on <= soon)[:ROWS_SHOWN]
    late = _late_records(scope, midnight_utc(today.replace(day=1)))[:ROWS_SHOWN]
    found = _households([m.household_id for m in overdue] + [h for _, h in past + coming] + [r[0] for r in late])
    return Day(
        overdue=[(m, found[m.household_id]) for m in overdue],
        visits_past_due=[(on, found[h]) for on, h in past],
        visits_due_soon=[(on, found[h]) for on, h in coming],
        late_records=[LateRecord(found[h], what, on, at) for h, what, on, at in late],
        households=found,
    )


# ---------------------------------------------------------------- counts by village, officer or town


@dataclass
class Counts:
    """One row of a dashboard: its measures, visits and late records."""

    measures_open: int = 0
    measures_done: int = 0
    measures_overdue: int = 0
    #: Households whose next visit falls within the coming week (not yet past due).
    visits_due: int = 0
    #: Households whose next visit is past due.
    visits_past_due: int = 0
    late_visits: int = 0
    late_tick_offs: int = 0
    #: Monitored households with an early warning (shop.worklog.warnings): evidence to look into.
    warnings: int = 0

    @property
    def late_records(self) -> int:
        """Late visits and late tick-offs together."""
        return self.late_visits + self.late_tick_offs

    def add(self, other: "Counts") -> None:
        """Add another row's counts to this one (the totals row)."""
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _grouped(scope: sa.Select | None, key, today: date, cadence: Cadence) -> dict:
    """Counts per value of `key` (a column of Household or Village) over the households in `scope`."""
    counts: dict = {}

    def row(k) -> Counts:
        return counts.setdefault(k, Counts())

    done = MeasureDone.id.is_not(None)
    measures = db.session.execute(
        sa.select(
            key,
            sa.func.sum(sa.case((done, 0), else_=1)),
            sa.func.sum(sa.case((done, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(~done, Measure.due_on < today), 1), else_=0)),
        )
        .select_from(Measure)
        .join(Household, Household.id == Measure.household_id)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(MeasureDone, MeasureDone.measure_id == Measure.id)
        .where(in_scope(Measure.household_id, scope), measure_counts())
        .group_by(key)
    )
    for k, still_open, ticked, overdue in measures:
        r = row(k)
        r.measures_open, r.measures_done, r.measures_overdue = int(still_open), int(ticked), int(overdue)
    late_visits = db.session.execute(
        sa.select(key, sa.func.count(Visit.id))
        .select_from(Visit)
        .join(Household, Household.id == Visit.household_id)
        .join(Village, Village.id == Household.village_id)
        .where(in_scope(Visit.household_id, scope), Visit.late, visit_counts())
        .group_by(key)
    )
    for k, n in late_visits:
        row(k).late_visits = n
    late_ticks = db.session.execute(
        sa.select(key, sa.func.count(MeasureDone.id))
        .select_from(MeasureDone)
        .join(Measure, Measure.id == MeasureDone.measure_id)
        .join(Household, Household.id == Measure.household_id)
        .join(Village, Village.id == Household.village_id)
        .where(in_scope(Measure.household_id, scope), MeasureDone.late, measure_counts())
        .group_by(key)
    )
    for k, n in late_ticks:
        row(k).late_tick_offs = n
    # The schedule is one query over the scope; each household's row is one more, grouped alike.
    schedule = visit_schedule(every_id(scope), cadence)
    keys = dict(
        db.session.execute(
            sa.select(Household.id, key)
            .join(Village, Village.id == Household.village_id)
            .where(in_scope(Household.id, scope))
        ).all()
    )
    soon = today + timedelta(days=DUE_SOON_DAYS)
    past = Counter(keys[h] for h, on in schedule.items() if on < today)
    coming = Counter(keys[h] for h, on in schedule.items() if today <= on <= soon)
    for k, n in past.items():
        row(k).visits_past_due = n
    for k, n in coming.items():
        row(k).visits_due = n
    for k, n in Counter(keys[w.household_id] for w in warnings_in(every_id(scope), today)).items():
        row(k).warnings = n
    return counts


@dataclass(frozen=True)
class Table:
    """A dashboard's table: named rows and their totals."""

    rows: list  # (the village, officer or town, Counts)
    totals: Counts


def _table(named: list, counts: dict) -> Table:
    totals = Counts()
    rows = []
    for thing in named:
        c = counts.get(thing.id, Counts())
        totals.add(c)
        rows.append((thing, c))
    return Table(rows, totals)


def town_scope(town_id: int) -> sa.Select:
    """The ids of a town's households."""
    return sa.select(Household.id).join(Village, Village.id == Household.village_id).where(Village.town_id == town_id)


def by_village(town_id: int, today: date, cadence: Cadence) -> Table:
    """A town's counts per village, every village listed (an idle one shows zeros)."""
    villages = db.session.scalars(sa.select(Village).where(Village.town_id == town_id).order_by(Village.id)).all()
    return _table(list(villages), _grouped(town_scope(town_id), Household.village_id, today, cadence))


def by_officer(town_id: int, today: date, cadence: Cadence) -> Table:
    """A town's counts per officer answerable for its households; households with none make a row of their own."""
    counts = _grouped(town_scope(town_id), Household.officer_id, today, cadence)
    ids = set(db.session.scalars(sa.select(Household.officer_id).where(Household.id.in_(town_scope(town_id)))))
    officers = db.session.scalars(sa.select(User).where(User.id.in_(ids - {None})).order_by(User.username)).all()
    table = _table(list(officers), counts)
    if None in ids:
        unassigned = counts.get(None, Counts())
        table.totals.add(unassigned)
        table.rows.append((None, unassigned))
    return table


def by_town(user: User, today: date, cadence: Cadence) -> Table:
    """The county's counts per town, over the households the user sees."""
    scope = scope_of(user)
    towns = db.session.scalars(sa.select(Town).order_by(Town.id)).all()
    return _table(list(towns), _grouped(scope, Village.town_id, today, cadence))


def towns_readable(user: User) -> list[Town]:
    """The towns whose dashboard the user may open: their own, or every one for county-level accounts."""
    query = sa.select(Town).order_by(Town.id)
    if user.town_id is not None:
        query = query.where(Town.id == user.town_id)
    elif user.role not in (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR):
        return []
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- the campaign's curve


@dataclass(frozen=True)
class Week:
    """One ISO week of the campaign: measures opened (by starts_on) and ticked off (by done_on)."""

    monday: date
    opened: int
    done: int

    @property
    def label(self) -> str:
        """The ISO week, as 2026-W49."""
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"


def weeks_of(today: date, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` ISO weeks, this one last."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _per_day(column, scope: sa.Select | None, start: date, end: date, *, done: bool) -> dict[date, int]:
    query = sa.select(column, sa.func.count()).select_from(Measure)
    if done:
        query = query.join(MeasureDone, MeasureDone.measure_id == Measure.id)
    query = query.where(
        in_scope(Measure.household_id, scope), measure_counts(), column >= start, column <= end
    ).group_by(column)
    return {day: n for day, n in db.session.execute(query)}


def progress(user: User, today: date, weeks: int = DEFAULT_WEEKS) -> list[Week]:
    """Measures that count opened and ticked off per ISO week, over the households the user sees.

    Grouped by day in SQL (at most 7 × `weeks` rows each) and folded into weeks here, the same on
    SQLite and PostgreSQL.
    """
    mondays = weeks_of(today, weeks)
    scope = scope_of(user)
    start, end = mondays[0], mondays[-1] + timedelta(days=6)
    opened = _per_day(Measure.starts_on, scope, start, end, done=False)
    ticked = _per_day(MeasureDone.done_on, scope, start, end, done=True)

    def in_week(days: dict[date, int], monday: date) -> int:
        return sum(n for day, n in days.items() if monday <= day < monday + timedelta(days=7))

    return [Week(m, in_week(opened, m), in_week(ticked, m)) for m in mondays]
