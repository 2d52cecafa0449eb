"""The officers' work ledger (帮扶工作台账): its kinds and the rules its dates obey, as pure functions.

Every record keeps two times: the date a person types (a visit's day, a measure's deadline, the
day it was done) and the moment the server received it. The typed date is checked against the
server's clock: never in the future, and a record typed in long after the fact is kept but
marked late, so that a record backfilled for an inspection shows as backfilled.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class MeasureKind(StrEnum):
    """What a measure of a household's plan (一户一策) works through."""

    INDUSTRY = "industry"  # 产业帮扶
    EMPLOYMENT = "employment"  # 就业帮扶
    SAFETY_NET = "safety_net"  # 兜底保障
    EDUCATION = "education"  # 教育帮扶
    MEDICAL = "medical"  # 医疗帮扶
    HOUSING = "housing"  # 住房保障
    OTHER = "other"


class VisitKind(StrEnum):
    """How an officer saw the household."""

    HOME = "home"  # 入户
    PHONE = "phone"  # 电话


class IncomeSource(StrEnum):
    """A part of a household's income (or a deductible expense), as the rules for net income name them."""

    WAGES = "wages"  # 工资性收入
    BUSINESS = "business"  # 经营性收入 (besides what the counter sold)
    TRANSFER = "transfer"  # 转移性收入
    PROPERTY = "property"  # 财产性收入
    MEDICAL_COST = "medical_cost"  # 医疗支出 (deducted)
    EDUCATION_COST = "education_cost"  # 教育支出 (deducted)
    OTHER_COST = "other_cost"  # 其他刚性支出 (deducted)


#: The sources that are deducted from income rather than added.
DEDUCTED = frozenset({IncomeSource.MEDICAL_COST, IncomeSource.EDUCATION_COST, IncomeSource.OTHER_COST})


class ProposalStep(StrEnum):
    """A step taken on a proposal to record a household's risk as eliminated (风险消除)."""

    TOWN_AGREED = "town_agreed"  # the town's supervisor reviewed it and sends it on
    APPROVED = "approved"  # the county bureau approved it: the status changes
    RETURNED = "returned"  # the town or the county sent it back, with a reason


#: A record typed in more than this many days after the date it gives is kept, and marked late.
LATE_AFTER_DAYS = 7
#: The furthest ahead a measure's deadline may be set: a plan is for the years of the transition period.
FURTHEST_DUE_DAYS = 5 * 366
#: The earliest date anyone can mean: older dates are typing mistakes.
EARLIEST = date(2000, 1, 1)


class DateRefused(ValueError):
    """A date a person typed that the work ledger does not accept; `reason` says which rule."""

    FUTURE = "future"
    PAST = "past"
    TOO_FAR = "too_far"
    TOO_OLD = "too_old"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_happened_on(day: date, today: date) -> date:
    """A date something happened (a visit, a measure done): not in the future, not before EARLIEST."""
    if day > today:
        raise DateRefused(DateRefused.FUTURE)
    if day < EARLIEST:
        raise DateRefused(DateRefused.TOO_OLD)
    return day


def check_due_on(day: date, today: date) -> date:
    """A new measure's deadline: from today on, and at most FURTHEST_DUE_DAYS ahead."""
    if day < today:
        raise DateRefused(DateRefused.PAST)
    if day > today + timedelta(days=FURTHEST_DUE_DAYS):
        raise DateRefused(DateRefused.TOO_FAR)
    return day


def is_late(happened_on: date, received_on: date) -> bool:
    """Whether a record received on `received_on` (the server's day) about `happened_on` came in late."""
    return (received_on - happened_on).days > LATE_AFTER_DAYS


@dataclass(frozen=True)
class Cadence:
    """How often households are visited, in days; 0 means no visits are scheduled for that standing."""

    monitored: int = 30  # 监测户 identified or relapsed: monthly
    risk_eliminated: int = 90  # 风险消除 households: quarterly, to catch a relapse early
    tuopin: int = 0  # 脱贫户: visited as the officer plans, not scheduled here


def visit_every(cadence: Cadence, category: str, monitoring_status: str | None) -> int:
    """Days between visits for a household of this standing (0: none scheduled)."""
    if category == "jiance":
        return cadence.risk_eliminated if monitoring_status == "risk_eliminated" else cadence.monitored
    if category == "tuopin":
        return cadence.tuopin
    return 0


def next_visit_due(every_days: int, last_visit_on: date | None, schedule_from: date) -> date | None:
    """When the next visit is due: `every_days` after the last visit, or after the schedule began.

    The schedule begins when the household took its present standing: a household whose risk was
    just eliminated is due a first follow-up visit one interval later, whatever was visited before.
    """
    if every_days <= 0:
        return None
    start = max(last_visit_on, schedule_from) if last_visit_on else schedule_from
    return start + timedelta(days=every_days)


def proposal_state(steps: list[str]) -> str:
    """Where a risk-elimination proposal stands, from its steps in order.

    "proposed" (with the town), "town_agreed" (with the county), "approved" or "returned".
    """
    state = "proposed"
    for step in steps:
        state = step
        if step in (ProposalStep.APPROVED, ProposalStep.RETURNED):
            break
    return state
