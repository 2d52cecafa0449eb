"""The household's income chart: per-capita months as SVG bars against the monitoring line.

The geometry only, in whole SVG units; templates/admin/households/_chart.html draws it. It lives
in the web layer because it is about screens (label sizes, a phone's width), not about the figures,
which shop.oversight.monitoring computes.
"""

from dataclasses import dataclass
from datetime import date

#: The chart's fixed margins in SVG units, above the scale and right of the plot.
CHART_RIGHT, CHART_TOP = 8, 12
#: The margins that hold labels, in units of the label size: the y-axis amounts (¥1,000.00) on the left,
#: and below, a row of months and a row of years.
CHART_LEFT_EM, CHART_BOTTOM_EM = 5.6, 3.2
#: Label size in SVG units when none is asked for; a chart for a narrow screen asks for more.
CHART_FONT = 12

#: The smallest top of a chart's scale. Ten fen keeps every tick a whole fen (0, 5, 10).
MIN_SCALE_FEN = 10


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
