"""A household's whole income per person, month by month: the counter's verified part plus the declared part.

Pure functions over dates and integer fen. The counter's part comes from the ledger (核实：专柜台账);
the rest is what an officer recorded the household declared (申报), spread over the months its
period covers by days. A month no declaration covers is "not declared": its other income is
unknown, never zero. The figures are evidence for the officer, the town and the county, never a verdict.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from shop.oversight.monitoring import (
    STEADY_MONTHS,
    MonitoringLine,
    MonthEvidence,
    SteadyEvidence,
    add_months,
    month_end,
    month_start,
    months_ending,
    per_capita,
)
from shop.worklog.rules import DEDUCTED


@dataclass(frozen=True)
class Declared:
    """One standing declared figure: a source's amount over a period (a deducted cost counts against income)."""

    source: str
    amount_fen: int
    period_start: date
    period_end: date


def prorate(amount_fen: int, start: date, end: date) -> list[tuple[date, int]]:
    """The amount spread over the months from start to end by days, in whole fen summing exactly to it.

    Each month gets the floor of the running total's share, so the remainders carry forward and the
    last month takes what is left: no fen is lost or made up.
    """
    if end < start:
        raise ValueError("a period ends on or after its start")
    total_days = (end - start).days + 1
    shares, given, days_so_far = [], 0, 0
    month = month_start(start)
    while month <= end:
        first, last = max(month, start), min(month_end(month), end)
        days_so_far += (last - first).days + 1
        running = amount_fen * days_so_far // total_days
        shares.append((month, running - given))
        given = running
        month = add_months(month, 1)
    return shares


def declared_by_month(figures: Iterable[Declared]) -> dict[date, int]:
    """Declared net income by month start (income added, deducted costs taken off); only covered months appear."""
    totals: dict[date, int] = {}
    for figure in figures:
        sign = -1 if figure.source in DEDUCTED else 1
        for month, share in prorate(figure.amount_fen, figure.period_start, figure.period_end):
            totals[month] = totals.get(month, 0) + sign * share
    return totals


@dataclass(frozen=True)
class WholeMonth:
    """One month: the counter's verified net income, the declared net (None: not declared), per person."""

    month: date
    verified_fen: int
    declared_fen: int | None
    members: int
    line_fen: int

    @property
    def declared(self) -> bool:
        return self.declared_fen is not None

    @property
    def whole_fen(self) -> int | None:
        """Verified plus declared; unknown when nothing was declared for the month."""
        return None if self.declared_fen is None else self.verified_fen + self.declared_fen

    @property
    def verified_per_capita_fen(self) -> int:
        return per_capita(self.verified_fen, self.members)

    @property
    def declared_per_capita_fen(self) -> int | None:
        return None if self.declared_fen is None else per_capita(self.declared_fen, self.members)

    @property
    def per_capita_fen(self) -> int | None:
        """The whole income per person (rounded down), or None when not declared."""
        whole = self.whole_fen
        return None if whole is None else per_capita(whole, self.members)

    @property
    def above(self) -> bool | None:
        """At or above the line's monthly share; None when the month is not declared."""
        share = self.per_capita_fen
        return None if share is None else share >= self.line_fen


def whole_months(
    counter_by_month: list[tuple[date, int]],
    declared: Iterable[Declared],
    months: list[date],
    members: int,
    line_fen: int,
) -> list[WholeMonth]:
    """The months asked for, each with the counter's net (0 for a quiet month) and the declared net."""
    counter: dict[date, int] = {}
    for month, fen in counter_by_month:
        counter[month_start(month)] = counter.get(month_start(month), 0) + fen
    by_month = declared_by_month(declared)
    return [WholeMonth(m, counter.get(m, 0), by_month.get(m), members, line_fen) for m in months]


@dataclass(frozen=True)
class WholeEvidence:
    """The six complete months before this one, on the whole income: each month's parts and the steady evidence."""

    months: tuple[WholeMonth, ...]  # the required months, oldest first, declared or not
    steady: SteadyEvidence  # on the whole income; an undeclared month or one before `since` has no evidence
    undeclared: tuple[date, ...]

    @property
    def all_above(self) -> bool:
        return self.steady.all_above


def whole_evidence(
    counter_by_month: list[tuple[date, int]],
    declared: Iterable[Declared],
    members: int,
    line: MonitoringLine,
    today: date,
    since: date | None,
    required: int = STEADY_MONTHS,
) -> WholeEvidence:
    """The evidence on "whole per-capita income steadily above the line" over the complete months before today's."""
    if required < 1:
        raise ValueError("steadiness needs at least one month")
    last_complete = add_months(month_start(today), -1)
    months = months_ending(last_complete, required)
    rows = whole_months(counter_by_month, list(declared), months, members, line.monthly_fen)
    known = [r for r in rows if r.declared and (since is None or r.month >= month_start(since))]
    evidence = tuple(MonthEvidence(r.month, r.whole_fen, r.per_capita_fen, r.line_fen, r.above) for r in known)
    trailing = sum(r.whole_fen for r in known)
    steady = SteadyEvidence(
        months=evidence,
        months_above=sum(e.above for e in evidence),
        required=required,
        complete=len(evidence) == required,
        trailing_per_capita_fen=per_capita(trailing, members),
        annual_line_fen=line.annual_fen,
    )
    return WholeEvidence(tuple(rows), steady, tuple(r.month for r in rows if not r.declared))


# ---------------------------------------------------------------- early warnings

#: The span of "the last 30 days" and of each average month of the baseline.
WINDOW_DAYS = 30


@dataclass(frozen=True)
class WarningRules:
    """The settings of the early-warning rules (shop.config WARNING_*)."""

    drop_percent: int = 50
    baseline_days: int = 90
    min_baseline_fen: int = 5000


def windows(today: date, rules: WarningRules) -> tuple[date, date, date]:
    """(baseline start, last-30-days start, today): the last 30 days end today, the baseline ends before them."""
    recent_start = today - timedelta(days=WINDOW_DAYS - 1)
    return recent_start - timedelta(days=rules.baseline_days), recent_start, today


def baseline_average(baseline_fen: int, rules: WarningRules) -> int:
    """The baseline's average per 30 days, rounded down."""
    return baseline_fen * WINDOW_DAYS // rules.baseline_days


def counter_dropped(last_30_fen: int, baseline_fen: int, rules: WarningRules) -> bool:
    """The counter's last 30 days fell below drop_percent % of the baseline's 30-day average (a big enough one)."""
    average = baseline_average(baseline_fen, rules)
    return average >= rules.min_baseline_fen and last_30_fen * 100 < average * rules.drop_percent


def below_line(month: WholeMonth) -> bool:
    """The month's whole income per person was below the line's monthly share; False when nothing was declared."""
    return month.above is False
