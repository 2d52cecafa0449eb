"""What is overdue within a scope: open measures past their deadline, and households whose visit is due.

Worked out for a whole scope in a few grouped queries (a county holds tens of thousands of
households), never household by household.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Household, HouseholdStatus, Measure, MeasureDone, Visit
from shop.worklog.rules import Cadence, next_visit_due, visit_every


@dataclass(frozen=True)
class OverdueMeasure:
    id: int
    household_id: int
    kind: str
    title: str
    due_on: date


@dataclass(frozen=True)
class VisitDue:
    household_id: int
    next_visit_due: date


def counting_measures() -> sa.Select:
    """The ids of measures that count: every measure no correction replaced."""
    corrected = sa.select(Measure.corrects_id).where(Measure.corrects_id.is_not(None))
    return sa.select(Measure.id).where(Measure.id.not_in(corrected))


def open_measures(household_ids: sa.Select) -> sa.Select:
    """Measures of these households that count and are not ticked off."""
    return sa.select(Measure).where(
        Measure.household_id.in_(household_ids),
        Measure.id.in_(counting_measures()),
        ~sa.exists().where(MeasureDone.measure_id == Measure.id),
    )


def overdue_measures(household_ids: sa.Select, today: date) -> list[OverdueMeasure]:
    """Open measures past their deadline, the longest overdue first."""
    rows = db.session.scalars(
        open_measures(household_ids).where(Measure.due_on < today).order_by(Measure.due_on, Measure.id)
    )
    return [OverdueMeasure(m.id, m.household_id, m.kind.value, m.title, m.due_on) for m in rows]


def visit_schedule(household_ids: sa.Select, cadence: Cadence) -> dict[int, date]:
    """Each scheduled household's next visit day, for the households among these ids."""
    corrected = sa.select(Visit.corrects_id).where(Visit.corrects_id.is_not(None))
    last_visit = (
        sa.select(Visit.household_id, sa.func.max(Visit.visited_on).label("on"))
        .where(Visit.household_id.in_(household_ids), Visit.id.not_in(corrected))
        .group_by(Visit.household_id)
        .subquery()
    )
    last_status = (
        sa.select(HouseholdStatus.household_id, sa.func.max(HouseholdStatus.effective_on).label("on"))
        .where(HouseholdStatus.household_id.in_(household_ids))
        .group_by(HouseholdStatus.household_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Household.id,
            Household.category,
            Household.monitoring_status,
            Household.created_at,
            last_visit.c.on,
            last_status.c.on,
        )
        .where(Household.id.in_(household_ids))
        .outerjoin(last_visit, last_visit.c.household_id == Household.id)
        .outerjoin(last_status, last_status.c.household_id == Household.id)
    )
    schedule = {}
    for household_id, category, status, created_at, visited_on, status_on in rows:
        every = visit_every(cadence, category, status)
        due = next_visit_due(every, visited_on, status_on or created_at.date())
        if due is not None:
            schedule[household_id] = due
    return schedule


def visits_due(household_ids: sa.Select, cadence: Cadence, today: date) -> list[VisitDue]:
    """Households whose next visit is past due, the longest overdue first."""
    schedule = visit_schedule(household_ids, cadence)
    due = [VisitDue(h, on) for h, on in schedule.items() if on < today]
    return sorted(due, key=lambda v: (v.next_visit_due, v.household_id))
