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

#: The chart's fixed margins in SVG units, above the scale and right of the plot.
CHART_RIGHT, CHART_TOP = 8, 12
#: The margins that hold labels, in units of the label size: the y-axis amounts (¥1,000.00) on the left,
#: and below, a row of months and a row of years.
CHART_LEFT_EM, CHART_BOTTOM_EM = 5.6, 3.2
#: Label size in SVG units when none is asked for; a chart for a narrow screen asks for more.
CHART_FONT = 12

#: The smallest top of a chart's scale. Ten fen keeps every tick a whole fen (0, 5, 10).
MIN_SCALE_FEN = 10

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


@dataclass(frozen=True)
class ChartBar:
    """One month's bar, in SVG units; value_fen keeps its sign though a negative bar is drawn flat."""

    month: date
    label: str  # "YYYY-MM"; the template shows the short "11月" form
    value_fen: int
    x: int
    y: int
    width: int
    height: int
    above: bool


@dataclass(frozen=True)
class YearMark:
    """A year's label under the months: under the chart's first month and under each January."""

    year: int
    x: int
    anchor: str  # SVG text-anchor: "start", or "end" when it would run past the chart's right edge


@dataclass(frozen=True)
class Chart:
    """A bar chart's geometry: bars, the monitoring line and the y-axis ticks, in SVG units."""

    width: int
    height: int
    bars: tuple[ChartBar, ...]
    line_y: int
    line_fen: int
    max_fen: int  # the value at the top of the scale, a "nice" 1, 2 or 5 × 10^k fen
    ticks: tuple[tuple[int, int], ...]  # (value in fen, y), from 0 up
    font: int = CHART_FONT  # the labels' size in SVG units
    years: tuple[YearMark, ...] = ()
    compact: bool = False  # months too narrow for "11月" or "Nov": label them 1-12
    labelled: tuple[bool, ...] = ()  # which bars have their month written under them

    @property
    def plot_left(self) -> int:
        """Where the bars and the lines across the chart start: right of the y-axis labels."""
        return margin_left(self.font)

    @property
    def plot_right(self) -> int:
        """Where the lines across the chart end."""
        return self.width - CHART_RIGHT

    @property
    def baseline(self) -> int:
        """The y of zero fen, where every bar stands."""
        return self.height - margin_bottom(self.font)

    @property
    def month_y(self) -> int:
        """The y of the months' labels, under the baseline."""
        return self.baseline + self.font * 13 // 10

    @property
    def year_y(self) -> int:
        """The y of the years' labels, under the months'."""
        return self.baseline + self.font * 27 // 10


def margin_left(font: int) -> int:
    """Room for the y-axis labels at this label size."""
    return int(font * CHART_LEFT_EM)


def margin_bottom(font: int) -> int:
    """Room for a row of months and a row of years at this label size."""
    return int(font * CHART_BOTTOM_EM)


def chart(
    values: list[tuple[date, int]], line_fen: int, width: int = 640, height: int = 260, font: int = CHART_FONT
) -> Chart:
    """Bars of per-capita monthly values against a horizontal line at line_fen, in whole SVG units.

    The scale runs from 0 to a round number at or above the largest value
    and the line, so the line is always on the chart. A month with more
    refunds than sales keeps its negative value but is drawn flat on the
    baseline, because the scale does not go below zero. The margins grow with
    the label size `font`, so a chart drawn for a phone keeps its labels legible.
    """
    left = margin_left(font)
    plot_width, plot_height = width - left - CHART_RIGHT, height - CHART_TOP - margin_bottom(font)
    if plot_width < max(len(values), 1) or plot_height < 1:
        raise ValueError("the chart is too small for its margins and bars")
    top, step = nice_scale(max([line_fen, 1, *(value for _, value in values)]))
    baseline = CHART_TOP + plot_height

    def y_of(fen: int) -> int:
        return baseline - _scaled(max(fen, 0), plot_height, top)

    slot = plot_width // len(values) if values else plot_width
    bar_width = max(slot * 2 // 3, 1)  # a third of each slot is the gap between bars
    bars = tuple(
        _bar(month, value, left + i * slot + (slot - bar_width) // 2, bar_width, y_of(value), baseline, line_fen)
        for i, (month, value) in enumerate(values)
    )
    ticks = tuple((fen, y_of(fen)) for fen in range(0, top + 1, step))
    compact, labelled = month_labels(len(bars), slot, font)
    years = year_marks(bars, slot, font, width - CHART_RIGHT)
    return Chart(width, height, bars, y_of(line_fen), line_fen, top, ticks, font, years, compact, labelled)


def year_marks(bars: tuple["ChartBar", ...], slot: int, font: int, right: int) -> tuple[YearMark, ...]:
    """Where the years go: under each January, and for the months before the first January, under the first.

    A year label ("2026年") is under four labels' size wide. It starts at its month's bar, and is
    set back to end at the chart's right edge when it would run past it. When a January follows
    the first month too closely, the first year ends just before that January's bar, in the room
    left under the y-axis labels.
    """
    wide = font * 4
    marks = []
    for i, bar in enumerate(bars):
        if bar.month.month != 1 and i > 0:
            continue
        x = bar.x
        januaries = [j for j, later in enumerate(bars) if later.month.month == 1 and j > i]
        if i == 0 and bar.month.month != 1 and januaries and januaries[0] * slot < wide:
            marks.append(YearMark(bar.month.year, x + januaries[0] * slot - font // 2, "end"))
        elif x + wide > right:
            marks.append(YearMark(bar.month.year, right, "end"))
        else:
            marks.append(YearMark(bar.month.year, x, "start"))
    return tuple(marks)


def month_labels(count: int, slot: int, font: int) -> tuple[bool, tuple[bool, ...]]:
    """Whether months are labelled 1-12 rather than "11月" or "Nov", and which bars are labelled.

    "11月" needs about two and a half labels' size, "11" about one and a half; narrower still,
    every other month is labelled, counting back from the last (this month always has one).
    """
    compact = slot < font * 5 // 2
    every_other = slot * 10 < font * 14
    return compact, tuple(not every_other or (count - 1 - i) % 2 == 0 for i in range(count))


def nice_scale(fen: int) -> tuple[int, int]:
    """The scale's top, the smallest 1, 2 or 5 × 10^k fen at or above fen, and the step between its ticks.

    A 1 or 5 top gets three ticks (0, half, top), a 2 top five (quarters).
    The top is never below MIN_SCALE_FEN, so every tick is a whole fen.
    """
    magnitude = MIN_SCALE_FEN
    while True:
        for mantissa, step in ((1, magnitude // 2), (2, magnitude // 2), (5, magnitude * 5 // 2)):
            if mantissa * magnitude >= fen:
                return mantissa * magnitude, step
        magnitude *= 10


def _scaled(fen: int, span: int, top: int) -> int:
    """fen as a part of span, where top fills it, rounded half up in integers."""
    return (2 * fen * span + top) // (2 * top)


def _bar(month: date, value: int, x: int, bar_width: int, y: int, baseline: int, line_fen: int) -> ChartBar:
    """One month's bar, standing on the baseline up to y."""
    label = f"{month.year:04d}-{month.month:02d}"
    return ChartBar(month, label, value, x, y, bar_width, baseline - y, value >= line_fen)
