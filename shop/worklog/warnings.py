"""Early warnings (预警) for monitored households: evidence that an officer should look again, never a verdict.

Two rules (settings WARNING_* in shop.config): the counter's income over the last 30 days fell well
below the household's own average, or the whole income per person for the last complete month,
where income was declared for it, was below the monitoring line's monthly share. Worked out for a
whole scope in grouped queries.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.models import DeclaredIncome, EntryKind, Household, HouseholdCategory, LedgerEntry
from shop.oversight.income import monitoring_line
from shop.oversight.monitoring import add_months, month_end, month_start
from shop.worklog.whole_income import (
    Declared,
    WarningRules,
    WholeMonth,
    baseline_average,
    below_line,
    counter_dropped,
    declared_by_month,
    windows,
)

COUNTER_DROP = "counter_drop"
BELOW_LINE = "below_line"


@dataclass(frozen=True)
class EarlyWarning:
    """One household's warning, with the figures behind it: which rules it meets and what they saw."""

    household_id: int
    code: str
    head_name_masked: str
    rules: tuple[str, ...]
    last_30_fen: int
    baseline_average_fen: int
    month: date  # the last complete month
    whole_per_capita_fen: int | None  # None: nothing declared for that month
    line_share_fen: int


def warning_rules() -> WarningRules:
    """The configured rules."""
    config = current_app.config
    return WarningRules(
        int(config["WARNING_DROP_PERCENT"]),
        int(config["WARNING_BASELINE_DAYS"]),
        int(config["WARNING_MIN_BASELINE_FEN"]),
    )


def _signed():
    """An income entry's effect in SQL: reversals take away, credits and adjustments carry their sign."""
    return sa.case((LedgerEntry.kind == EntryKind.REVERSAL, -LedgerEntry.amount_fen), else_=LedgerEntry.amount_fen)


def _income_sum(start: date, end: date):
    within = sa.and_(LedgerEntry.entry_date >= start, LedgerEntry.entry_date <= end)
    return sa.func.coalesce(sa.func.sum(sa.case((within, _signed()), else_=0)), 0)


INCOME = (EntryKind.CREDIT, EntryKind.REVERSAL, EntryKind.ADJUSTMENT)


def _counter_sums(ids: sa.Select, today: date, rules: WarningRules, month: date) -> dict[int, tuple[int, int, int]]:
    """(last 30 days, baseline, last complete month) of the counter's net income, by household, in one query."""
    base_start, recent_start, _ = windows(today, rules)
    earliest = min(base_start, month)
    rows = db.session.execute(
        sa.select(
            LedgerEntry.household_id,
            _income_sum(recent_start, today),
            _income_sum(base_start, recent_start - timedelta(days=1)),
            _income_sum(month, month_end(month)),
        )
        .where(
            LedgerEntry.household_id.in_(ids),
            LedgerEntry.kind.in_(INCOME),
            LedgerEntry.entry_date >= earliest,
            LedgerEntry.entry_date <= today,
        )
        .group_by(LedgerEntry.household_id)
    )
    return {hid: (int(recent), int(base), int(last)) for hid, recent, base, last in rows}


def _declared_last_month(ids: sa.Select, month: date) -> dict[int, int]:
    """Declared net income for the month by household, from the standing figures whose period covers it."""
    corrected = sa.select(DeclaredIncome.corrects_id).where(DeclaredIncome.corrects_id.is_not(None))
    rows = db.session.execute(
        sa.select(
            DeclaredIncome.household_id,
            DeclaredIncome.source,
            DeclaredIncome.amount_fen,
            DeclaredIncome.period_start,
            DeclaredIncome.period_end,
        ).where(
            DeclaredIncome.household_id.in_(ids),
            DeclaredIncome.id.not_in(corrected),
            DeclaredIncome.period_start <= month_end(month),
            DeclaredIncome.period_end >= month,
        )
    )
    figures: dict[int, list[Declared]] = {}
    for hid, source, amount, start, end in rows:
        figures.setdefault(hid, []).append(Declared(str(source), int(amount), start, end))
    return {hid: declared_by_month(found)[month] for hid, found in figures.items()}


def warnings_in(household_ids: sa.Select, today: date) -> list[EarlyWarning]:
    """Warnings for the monitored households among these ids (a select of household ids), by household code."""
    rules = warning_rules()
    line_share = monitoring_line().monthly_fen
    month = add_months(month_start(today), -1)
    monitored = sa.select(Household.id).where(
        Household.id.in_(household_ids), Household.category == HouseholdCategory.JIANCE
    )
    households = db.session.scalars(sa.select(Household).where(Household.id.in_(monitored)).order_by(Household.code))
    sums = _counter_sums(monitored, today, rules, month)
    declared = _declared_last_month(monitored, month)
    found = []
    for household in households:
        recent, baseline, last_month = sums.get(household.id, (0, 0, 0))
        whole = WholeMonth(month, last_month, declared.get(household.id), household.members, line_share)
        met = tuple(
            rule
            for rule, holds in (
                (COUNTER_DROP, counter_dropped(recent, baseline, rules)),
                (BELOW_LINE, below_line(whole)),
            )
            if holds
        )
        if met:
            found.append(
                EarlyWarning(
                    household.id,
                    household.code,
                    household.head_name_masked,
                    met,
                    recent,
                    baseline_average(baseline, rules),
                    month,
                    whole.per_capita_fen,
                    line_share,
                )
            )
    return found
