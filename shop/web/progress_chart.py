"""The campaign's progress chart: measures opened and ticked off per week, as two SVG lines.

The geometry only, in whole SVG units; templates/admin/dashboards/_progress_chart.html draws it.
"""

from dataclasses import dataclass

#: The wide chart's size in SVG units; a phone's is drawn narrower (PHONE_WIDTH) so its labels stay legible.
WIDTH, HEIGHT, PHONE_WIDTH = 640, 260, 340
LEFT, RIGHT, TOP, BOTTOM = 40, 24, 14, 48
FONT = 13
#: At most this many weeks are named under the axis (wide, phone).
LABELS, PHONE_LABELS = 8, 4
#: The lowest top of the scale: a quiet start still has whole-number ticks (0, 5, 10).
MIN_TOP = 10


@dataclass(frozen=True)
class Point:
    x: int
    y: int
    value: int


@dataclass(frozen=True)
class ProgressChart:
    """Two lines over the weeks, the y-axis ticks and which weeks are labelled."""

    width: int
    height: int
    opened: tuple[Point, ...]
    done: tuple[Point, ...]
    ticks: tuple[tuple[int, int], ...]  # (count, y), from 0 up
    labels: tuple[tuple[int, str], ...]  # (x, week label) under the axis
    right: int
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    font: int = FONT

    @property
    def opened_points(self) -> str:
        """The opened line's points, as SVG wants them."""
        return " ".join(f"{p.x},{p.y}" for p in self.opened)

    @property
    def done_points(self) -> str:
        """The ticked-off line's points."""
        return " ".join(f"{p.x},{p.y}" for p in self.done)


def nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above value, and at least MIN_TOP."""
    magnitude = MIN_TOP
    while True:
        for mantissa in (1, 2, 5):
            if mantissa * magnitude >= value:
                return mantissa * magnitude
        magnitude *= 10


def progress_chart(labels: list[str], opened: list[int], done: list[int], *, phone: bool = False) -> ProgressChart:
    """The chart of weekly counts; labels name the weeks, a few of which are written under the axis."""
    width, most = (PHONE_WIDTH, PHONE_LABELS) if phone else (WIDTH, LABELS)
    count = len(labels)
    top = nice_top(max([*opened, *done, 0]))
    baseline = HEIGHT - BOTTOM
    span = baseline - TOP
    slot = (width - LEFT - RIGHT) / max(count - 1, 1)

    def x_of(i: int) -> int:
        return LEFT + round(i * slot) if count > 1 else (LEFT + width - RIGHT) // 2

    def y_of(n: int) -> int:
        return baseline - (2 * n * span + top) // (2 * top)

    every = max(1, -(-count // most))
    return ProgressChart(
        width=width,
        height=HEIGHT,
        right=width - RIGHT,
        opened=tuple(Point(x_of(i), y_of(n), n) for i, n in enumerate(opened)),
        done=tuple(Point(x_of(i), y_of(n), n) for i, n in enumerate(done)),
        ticks=tuple((n, y_of(n)) for n in (0, top // 2, top)),
        labels=tuple((x_of(i), label) for i, label in enumerate(labels) if (count - 1 - i) % every == 0),
    )
