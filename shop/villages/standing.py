"""A household's standing (category and monitoring status) and how it may change: pure rules over plain values.

A 监测户 (monitored household) is identified (纳入监测), its risk is later eliminated (风险消除), and
it may relapse (风险复发, 返贫) afterwards. Every change is dated: never in the future, and never
before the household's last change, so the history reads in the order things happened.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class HouseholdCategory(StrEnum):
    """A listed household's category (the values the models store)."""

    TUOPIN = "tuopin"  # 脱贫户
    JIANCE = "jiance"  # 监测户
    YIBAN = "yiban"  # 一般农户


class MonitorSubtype(StrEnum):
    """The kind of a 监测户."""

    UNSTABLE = "unstable"  # 脱贫不稳定户
    MARGINAL = "marginal"  # 边缘易致贫户
    SUDDEN = "sudden"  # 突发严重困难户


class MonitoringStatus(StrEnum):
    """Where a 监测户 stands in anti-relapse monitoring."""

    IDENTIFIED = "identified"  # 纳入监测
    RISK_ELIMINATED = "risk_eliminated"  # 风险消除
    RELAPSED = "relapsed"  # 风险复发


@dataclass(frozen=True)
class Standing:
    """A household's category, and for a 监测户 its subtype and monitoring status."""

    category: HouseholdCategory
    subtype: MonitorSubtype | None = None
    status: MonitoringStatus | None = None


class StandingRefused(ValueError):
    """A change of standing the rules do not allow; `reason` says which rule, `field` which input."""

    FUTURE = "future"
    BEFORE_LAST = "before_last"
    UNCHANGED = "unchanged"
    NOT_MONITORED = "not_monitored"
    RELAPSE_WITHOUT_ELIMINATION = "relapse_without_elimination"

    def __init__(self, reason: str, field: str):
        super().__init__(reason)
        self.reason = reason
        self.field = field


def changed_standing(
    current: Standing,
    category: HouseholdCategory,
    subtype: MonitorSubtype | None,
    status: MonitoringStatus | None,
    *,
    effective_on: date,
    last_change_on: date | None,
    today: date,
) -> Standing:
    """The standing a requested change leads to, or StandingRefused naming the rule it breaks.

    For a 监测户 an omitted subtype or status keeps the current one, and a household newly
    monitored starts as identified; the other categories have neither.
    """
    if effective_on > today:
        raise StandingRefused(StandingRefused.FUTURE, "effective_on")
    if last_change_on is not None and effective_on < last_change_on:
        raise StandingRefused(StandingRefused.BEFORE_LAST, "effective_on")
    if category is not HouseholdCategory.JIANCE:
        if subtype is not None:
            raise StandingRefused(StandingRefused.NOT_MONITORED, "monitor_subtype")
        if status is not None:
            raise StandingRefused(StandingRefused.NOT_MONITORED, "monitoring_status")
        new = Standing(category)
    else:
        was_monitored = current.category is HouseholdCategory.JIANCE
        new = Standing(
            category,
            subtype or (current.subtype if was_monitored else None),
            status or (current.status if was_monitored else MonitoringStatus.IDENTIFIED),
        )
        if new.status is MonitoringStatus.RELAPSED and current.status is not MonitoringStatus.RISK_ELIMINATED:
            raise StandingRefused(StandingRefused.RELAPSE_WITHOUT_ELIMINATION, "monitoring_status")
    if new == current:
        raise StandingRefused(StandingRefused.UNCHANGED, "category")
    return new
