"""Monitoring evidence for a household: monthly income, per capita, against the monitoring line.

Pure functions over dates and integer fen; no Flask, no database. The figures
here are evidence for an officer to weigh, never a verdict: the counter sees
only the income it earned for a household, which is only part of that
household's income.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

#: How many complete months of income the anti-relapse rule asks to be stable (至少六个月).
STEADY_MONTHS = 6

#: The span of the trailing per-capita figure, set beside the annual monitoring line.
TRAILING_MONTHS = 12

#: The years a typed month may name; anything outside is a typo, not a month we hold.
FIRST_YEAR, LAST_YEAR = 2000, 2100

_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})")


class InvalidMonth(ValueError):
    """A text that a person typed or a link carried is not a month."""


def month_start(d: date) -> date:
    """The first day of d's month."""
    return d.replace(day=1)


def add_months(month: date, n: int) -> date:
    """The first day of the month n months after month's (n may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    """The last day of month's month."""
    return add_months(month, 1) - timedelta(days=1)


def months_ending(last: date, count: int) -> list[date]:
    """The first days of the count months ending with last's month, oldest first."""
    return [add_months(last, n) for n in range(1 - count, 1)]


def parse_month(text: str) -> date:
    """Read exactly "YYYY-MM" (surrounding whitespace allowed) as the first day of that month."""
    match = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InvalidMonth(f"not a month: {text!r}")
    year, month = int(match["year"]), int(match["month"])
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise InvalidMonth(f"no such month: {text!r}")
    return date(year, month, 1)


@dataclass(frozen=True)
class MonitoringLine:
    """The province's monitoring line (监测范围) for one year, as per-capita income a year."""

    annual_fen: int
    year: int

    @property
    def monthly_fen(self) -> int:
        """The line's share for one month, rounded up.

        Rounding up means twelve months each at the monthly share reach at
        least the annual line, so a household never looks above the line
        month by month while falling short over the year.
        """
        return -(-self.annual_fen // 12)


def monthly_net(entries: Iterable[tuple[date, int]], months: list[date]) -> list[int]:
    """Net income in each of months, from (entry_date, signed fen) income entries; 0 for a quiet month.

    Only income belongs here: credits, reversals and adjustments. A payout
    hands over money already earned, so the caller leaves payouts out.
    Entries outside the months are ignored.
    """
    totals = dict.fromkeys(months, 0)
    for entry_date, amount_fen in entries:
        month = month_start(entry_date)
        if month in totals:
            totals[month] += amount_fen
    return [totals[month] for month in months]


def per_capita(fen: int, members: int) -> int:
    """An amount shared between a household's members, rounded toward zero.

    For income this is the floor, so a share is never rounded up to flatter
    it. A month with more refunds than sales shares its loss the same way,
    mirrored, so a loss never looks larger than it was.
    """
    if members < 1:
        raise ValueError("a household has at least one member")
    share = abs(fen) // members
    return -share if fen < 0 else share


@dataclass(frozen=True)
class MonthEvidence:
    """One complete month: the household's net income, per capita, beside the monthly line."""

    month: date
    net_fen: int
    per_capita_fen: int
    line_fen: int
    above: bool  # per capita at or above the line


@dataclass(frozen=True)
class SteadyEvidence:
    """The complete months before this one, and how many of them were at or above the line."""

    months: tuple[MonthEvidence, ...]  # only the months with data; a missing month has no evidence
    months_above: int
    required: int
    complete: bool  # False when the household has fewer than `required` months of history
    trailing_per_capita_fen: int  # the last 12 complete months, per capita
    annual_line_fen: int

    @property
    def all_above(self) -> bool:
        """Every required month is known and at or above the line."""
        return self.complete and self.months_above == self.required


def steady_evidence(
    net_by_month: list[tuple[date, int]],
    members: int,
    line: MonitoringLine,
    today: date,
    since: date | None,
    required: int = STEADY_MONTHS,
) -> SteadyEvidence:
    """The evidence on "per-capita income steadily above the monitoring line", not a verdict.

    Looks at the `required` complete months before today's month (today's
    month is still running, so it would understate). A month before `since`
    (the household's first entry or listing) is missing rather than zero:
    the counter did not know the household then. None means no such limit.
    The counter's income is only part of a household's income, so a month
    below the line here does not show the household below it, nor the
    reverse; an officer weighs this beside what the household earns elsewhere.
    """
    if required < 1:
        raise ValueError("steadiness needs at least one month")
    last_complete = add_months(month_start(today), -1)
    totals = _totals_by_month(net_by_month)
    known = _known_months(months_ending(last_complete, required), since)
    evidence = tuple(_month_evidence(month, totals.get(month, 0), members, line.monthly_fen) for month in known)
    last_year = _known_months(months_ending(last_complete, TRAILING_MONTHS), since)
    trailing = sum(totals.get(month, 0) for month in last_year)
    return SteadyEvidence(
        months=evidence,
        months_above=sum(e.above for e in evidence),
        required=required,
        complete=len(evidence) == required,
        trailing_per_capita_fen=per_capita(trailing, members),
        annual_line_fen=line.annual_fen,
    )


def _totals_by_month(net_by_month: list[tuple[date, int]]) -> dict[date, int]:
    """Net income by month start; a month listed twice adds up, a month not listed earned nothing."""
    totals: dict[date, int] = {}
    for month, net_fen in net_by_month:
        totals[month_start(month)] = totals.get(month_start(month), 0) + net_fen
    return totals


def _known_months(months: list[date], since: date | None) -> list[date]:
    """The months from since's month on: before it the counter did not know the household."""
    return months if since is None else [month for month in months if month >= month_start(since)]


def _month_evidence(month: date, net_fen: int, members: int, line_fen: int) -> MonthEvidence:
    """One month's figures beside the monthly line."""
    share = per_capita(net_fen, members)
    return MonthEvidence(month, net_fen, share, line_fen, share >= line_fen)
