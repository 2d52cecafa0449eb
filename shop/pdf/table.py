"""Drawing helpers shared by the multi-page A4 documents: ruled tables that flow over pages,
label-and-value grids, and a canvas that numbers its pages "第 1 页 / 共 2 页".

Tables are ruled lightly, with horizontal lines only and a shaded header, so they print clearly in
black and white and stay readable when photocopied.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import draw_text, text_width, wrap_text

#: The A4 page the statement and the report share: margins, the text column, and the lowest a
#: table row may reach (the footer lives below it).
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
BOTTOM = MARGIN + 6 * mm
BODY = 10
CELL = 9

PAD_X = 1.6 * mm
PAD_Y = 1.4 * mm
LEADING = 1.35
GRID = Color(0.55, 0.55, 0.55)
RULE = Color(0.75, 0.75, 0.75)
SHADE = Color(0.93, 0.93, 0.93)
MUTED = Color(0.35, 0.35, 0.35)
#: A text column is never squeezed narrower than this, however wide the numbers beside it are.
MIN_TEXT_COLUMN = 14 * mm
NUMBER_GUTTER = 4 * mm


@dataclass(frozen=True)
class Column:
    """A table column: its heading, its width in points, and how its cells align."""

    title: str
    width: float
    align: str = "left"


@dataclass(frozen=True)
class Row:
    """A table row: one text per column (a newline starts a new line), optionally shaded."""

    cells: tuple[str, ...]
    shaded: bool = False


@dataclass(frozen=True)
class Field:
    """A label and its value in a grid of particulars."""

    label: str
    value: str
    bold: bool = False


def _left_edges(columns: Sequence[Column], left: float) -> list[float]:
    """The x of each column's left edge, and of the table's right edge."""
    edges = [left]
    for column in columns:
        edges.append(edges[-1] + column.width)
    return edges


def draw_table(
    canvas: Canvas,
    font: str,
    columns: Sequence[Column],
    rows: Sequence[Row],
    left: float,
    top: float,
    *,
    bottom: float,
    next_page: Callable[[], float],
    size: float = 9,
) -> float:
    """Draw a table from top down, rows never split; returns the y below its last row.

    When a row would cross bottom, next_page() must end the page, start the next, draw whatever the
    document repeats there and return the y to go on from; the header row is repeated below it.
    """
    y = _header(canvas, font, columns, left, top, size)
    for row in rows:
        lines = _cell_lines(row.cells, columns, font, size)
        height = _height(lines, size)
        if y - height < bottom:
            _close(canvas, columns, left, y)
            y = _header(canvas, font, columns, left, next_page(), size)
        _row(canvas, font, columns, lines, left, y, height, size, shaded=row.shaded)
        y -= height
    _close(canvas, columns, left, y)
    return y


def header_height(columns: Sequence[Column], font: str, size: float = 9) -> float:
    """Height of a table's header row, so callers can keep a title together with it."""
    return _height(_cell_lines(tuple(c.title for c in columns), columns, font, size), size)


def row_height(row: Row, columns: Sequence[Column], font: str, size: float = 9) -> float:
    """Height a row takes once its cells are wrapped."""
    return _height(_cell_lines(row.cells, columns, font, size), size)


def fit_columns(
    titles: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    font: str,
    width: float,
    size: float = 9,
) -> list[Column]:
    """Columns filling width: numbers keep their natural width, text columns share what is left."""
    natural = [
        max(text_width(line, font, size) for text in (title, *cells) for line in text.splitlines() or [""]) + 2 * PAD_X
        for title, cells in zip(titles, zip(*rows, strict=True) if rows else [()] * len(titles), strict=True)
    ]
    # Right-aligned numbers in adjacent columns run together without a gutter between them.
    natural = [w + NUMBER_GUTTER if n else w for w, n in zip(natural, numeric, strict=True)]
    widths = _stretch(natural, numeric, width) if sum(natural) <= width else _squeeze(natural, numeric, width)
    aligns = ["right" if n else "left" for n in numeric]
    return [Column(t, w, a) for t, w, a in zip(titles, widths, aligns, strict=True)]


def _stretch(natural: list[float], numeric: Sequence[bool], width: float) -> list[float]:
    """Give the spare width to the text columns, so numbers stay close to their headings."""
    growing = [not n for n in numeric] if not all(numeric) else [True] * len(numeric)
    share = sum(w for w, g in zip(natural, growing, strict=True) if g)
    spare = width - sum(natural)
    return [w + spare * w / share if g else w for w, g in zip(natural, growing, strict=True)]


def _squeeze(natural: list[float], numeric: Sequence[bool], width: float) -> list[float]:
    """Make room by capping the widest text columns at an equal share, so short texts stay on one line.

    Numbers keep their width; if they alone leave too little room, every column shrinks and wraps
    rather than run off the page.
    """
    texts = sorted((w, i) for i, (w, n) in enumerate(zip(natural, numeric, strict=True)) if not n)
    room = width - sum(w for w, n in zip(natural, numeric, strict=True) if n)
    if not texts or room < MIN_TEXT_COLUMN * len(texts):
        return [w * width / sum(natural) for w in natural]
    widths = list(natural)
    for done, (w, i) in enumerate(texts):
        widths[i] = min(w, room / (len(texts) - done))
        room -= widths[i]
    return widths


def draw_fields(
    canvas: Canvas,
    font: str,
    rows: Sequence[Sequence[Field]],
    left: float,
    top: float,
    width: float,
    label_width: float,
    size: float = 10,
) -> float:
    """A boxed grid of particulars, each row one or more label/value pairs sharing its width.

    Labels sit in shaded cells; values wrap. Returns the y of the grid's bottom edge.
    """
    edges = [top]
    verticals: list[tuple[float, float, float]] = []
    for fields in rows:
        span = width / len(fields)
        cells = [wrap_text(f.value, font, size, span - label_width - 2 * PAD_X) for f in fields]
        height = _height(cells, size, pad=PAD_Y * 1.3)
        for index, (field, lines) in enumerate(zip(fields, cells, strict=True)):
            x = left + index * span
            _field(canvas, font, field, lines, x, edges[-1], label_width, height, size)
            verticals += [(x, edges[-1], height), (x + label_width, edges[-1], height)]
        edges.append(edges[-1] - height)
    _grid(canvas, left, width, edges, verticals)
    return edges[-1]


def _field(
    canvas: Canvas,
    font: str,
    field: Field,
    lines: list[str],
    x: float,
    top: float,
    label_width: float,
    height: float,
    size: float,
) -> None:
    """One shaded label cell and its value cell."""
    _shade(canvas, x, top, label_width, height)
    baseline = top - PAD_Y * 1.3 - size * 0.88
    draw_text(canvas, x + PAD_X, baseline, field.label, font, size)
    for line in lines:
        draw_text(canvas, x + label_width + PAD_X, baseline, line, font, size, bold=field.bold)
        baseline -= size * LEADING


def _grid(
    canvas: Canvas, left: float, width: float, edges: list[float], verticals: list[tuple[float, float, float]]
) -> None:
    """The grid's box, its row rules and the rules beside each label."""
    canvas.saveState()
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.6)
    for y in edges:
        canvas.line(left, y, left + width, y)
    canvas.line(left + width, edges[0], left + width, edges[-1])
    for x, top, height in verticals:
        canvas.line(x, top, x, top - height)
    canvas.restoreState()


def _cell_lines(cells: Sequence[str], columns: Sequence[Column], font: str, size: float) -> list[list[str]]:
    """Each cell's text wrapped to its column."""
    if len(cells) != len(columns):
        raise ValueError(f"a row has {len(cells)} cells for {len(columns)} columns")
    return [wrap_text(text, font, size, c.width - 2 * PAD_X) for text, c in zip(cells, columns, strict=True)]


def _height(cells: Sequence[Sequence[str]], size: float, pad: float = PAD_Y) -> float:
    """Height of a row whose tallest cell has that many lines."""
    return max(len(lines) for lines in cells) * size * LEADING + 2 * pad - (LEADING - 1) * size


def _header(canvas: Canvas, font: str, columns: Sequence[Column], left: float, top: float, size: float) -> float:
    """The shaded header row between two dark rules; returns its bottom y."""
    lines = _cell_lines(tuple(c.title for c in columns), columns, font, size)
    height = _height(lines, size)
    _shade(canvas, left, top, sum(c.width for c in columns), height)
    _row(canvas, font, columns, lines, left, top, height, size, bold=True)
    _rule(canvas, columns, left, top, black, 0.8)
    _rule(canvas, columns, left, top - height, black, 0.6)
    return top - height


def _row(
    canvas: Canvas,
    font: str,
    columns: Sequence[Column],
    lines: list[list[str]],
    left: float,
    top: float,
    height: float,
    size: float,
    *,
    shaded: bool = False,
    bold: bool = False,
) -> None:
    """One row of cells, each aligned in its column; a thin rule under it."""
    if shaded:
        _shade(canvas, left, top, sum(c.width for c in columns), height)
    for column, x, cell in zip(columns, _left_edges(columns, left), lines, strict=False):
        anchor = {"left": x + PAD_X, "right": x + column.width - PAD_X, "centre": x + column.width / 2}
        baseline = top - PAD_Y - size * 0.88
        for line in cell:
            draw_text(canvas, anchor[column.align], baseline, line, font, size, align=column.align, bold=bold)
            baseline -= size * LEADING
    if not bold:
        _rule(canvas, columns, left, top - height, RULE, 0.4)


def _close(canvas: Canvas, columns: Sequence[Column], left: float, y: float) -> None:
    """A dark rule under the table's last row on a page."""
    _rule(canvas, columns, left, y, black, 0.8)


def _rule(canvas: Canvas, columns: Sequence[Column], left: float, y: float, colour: Color, weight: float) -> None:
    """A horizontal rule across the table."""
    canvas.saveState()
    canvas.setStrokeColor(colour)
    canvas.setLineWidth(weight)
    canvas.line(left, y, left + sum(c.width for c in columns), y)
    canvas.restoreState()


def _shade(canvas: Canvas, x: float, top: float, width: float, height: float) -> None:
    """A light grey box behind a cell or row."""
    canvas.saveState()
    canvas.setFillColor(SHADE)
    canvas.rect(x, top - height, width, height, stroke=0, fill=1)
    canvas.restoreState()


class NumberedCanvas(Canvas):
    """A canvas that holds its pages back until save, so that each can say how many pages there are.

    footer(canvas, page, total) is called on every page just before it is written out.
    """

    def __init__(self, *args, footer: Callable[[Canvas, int, int], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[dict] = []
        self._footer = footer

    def showPage(self) -> None:
        """Keep the finished page's drawing and start a fresh one."""
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Stamp every held page with its footer, then write them all out."""
        if len(self._code):
            self.showPage()
        held, total = self._held, len(self._held)
        for number, state in enumerate(held, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            Canvas.showPage(self)
        Canvas.save(self)
