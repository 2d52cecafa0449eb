"""The counter's monthly report for supervisors (月度帮扶销售报表): a summary, then tables.

A4 portrait, as many pages as the tables need. The caller formats every figure; this module only
lays them out: columns sized to their contents, numbers right-aligned, a table's header row
repeated on every page it runs onto, and every page numbered.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from io import BytesIO

from reportlab.lib.colors import black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text
from shop.pdf.table import (
    BODY,
    BOTTOM,
    CELL,
    MARGIN,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    WIDTH,
    Field,
    NumberedCanvas,
    Row,
    draw_fields,
    draw_table,
    fit_columns,
    header_height,
    row_height,
)

TITLE = 11
NO_ROWS = "（本月无数据）"


@dataclass(frozen=True)
class ReportTable:
    """A titled table of already formatted texts; numeric columns are right-aligned."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def __post_init__(self) -> None:
        """Refuse rows or alignments that do not match the columns, which would misplace every cell."""
        if len(self.numeric) != len(self.columns):
            raise ValueError(f"{self.title}: {len(self.numeric)} alignments for {len(self.columns)} columns")
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"{self.title}: a row of {len(row)} cells for {len(self.columns)} columns")


@dataclass(frozen=True)
class MonthReport:
    """A month's report: summary figures as label and value, then tables; texts already formatted."""

    counter_name: str
    month: date
    summary: tuple[tuple[str, str], ...]
    tables: tuple[ReportTable, ...]
    generated_at: datetime


def render_month_report(report: MonthReport, font_path: str | None = None) -> bytes:
    """Render a monthly report as an A4 PDF of one or more pages."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = NumberedCanvas(buffer, pagesize=A4, pageCompression=1, footer=partial(_footer, report=report, font=font))
    canvas.setTitle(f"月度帮扶销售报表 {report.counter_name} {_month(report.month)}")
    canvas.setAuthor(report.counter_name)
    y = _heading(canvas, report, font, PAGE_HEIGHT - MARGIN)
    y = _summary(canvas, report, font, y - 5 * mm)
    for table in report.tables:
        y = _table(canvas, report, table, font, y - 8 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _month(month: date) -> str:
    """A month as printed: 2026年11月."""
    return f"{month.year}年{month.month}月"


def _heading(canvas: Canvas, report: MonthReport, font: str, top: float) -> float:
    """Title, month and when it was made, centred; returns the y below them."""
    y = top - 17
    for line in wrap_text(f"{report.counter_name} 月度帮扶销售报表", font, 17, WIDTH):
        draw_text(canvas, PAGE_WIDTH / 2, y, line, font, 17, align="centre", bold=True)
        y -= 17 * 1.35
    draw_text(canvas, PAGE_WIDTH / 2, y - 2, f"报表月份：{_month(report.month)}", font, 12, align="centre")
    return y - 2 - 12 * 0.6


def _summary(canvas: Canvas, report: MonthReport, font: str, top: float) -> float:
    """The summary figures in a grid, two to a row, under labels as wide as the longest."""
    if not report.summary:
        return top
    fields = [Field(label, value) for label, value in report.summary]
    rows = [tuple(fields[i : i + 2]) for i in range(0, len(fields), 2)]
    if len(rows[-1]) == 1:
        # A lone last figure keeps the grid's columns rather than stretch across the page.
        rows[-1] = (rows[-1][0], Field("", ""))
    longest = max(text_width(label, font, BODY) for label, _ in report.summary)
    label_width = min(longest + 4 * mm, WIDTH / 4)
    draw_text(canvas, MARGIN, top - BODY, "汇总", font, TITLE, bold=True)
    return draw_fields(canvas, font, rows, MARGIN, top - BODY - 2.5 * mm, WIDTH, label_width, BODY)


def _table(canvas: Canvas, report: MonthReport, table: ReportTable, font: str, top: float) -> float:
    """A table under its title, flowing onto further pages; returns the y below it."""
    columns = fit_columns(table.columns, table.rows, table.numeric, font, WIDTH, CELL)
    rows = [Row(cells) for cells in table.rows]
    first = row_height(rows[0], columns, font, CELL) if rows else CELL * 2
    # The title stays with the header row and the first row rather than end a page on its own.
    if top - TITLE * 1.6 - header_height(columns, font, CELL) - first < BOTTOM:
        top = _next_page(canvas, report, font)
    draw_text(canvas, MARGIN, top - TITLE, table.title, font, TITLE, bold=True)
    next_page = partial(_continued, canvas, report, table.title, font)
    y = draw_table(
        canvas, font, columns, rows, MARGIN, top - TITLE * 1.6, bottom=BOTTOM, next_page=next_page, size=CELL
    )
    if not rows:
        canvas.setFillColor(MUTED)
        draw_text(canvas, MARGIN + 2 * mm, y - CELL * 1.5, NO_ROWS, font, CELL)
        canvas.setFillColor(black)
        y -= CELL * 2
    return y


def _continued(canvas: Canvas, report: MonthReport, title: str, font: str) -> float:
    """A new page for a table that runs on, its title marked as continued."""
    top = _next_page(canvas, report, font)
    draw_text(canvas, MARGIN, top - TITLE, f"{title}（续）", font, TITLE, bold=True)
    return top - TITLE * 1.6


def _next_page(canvas: Canvas, report: MonthReport, font: str) -> float:
    """End the page and start the next under a running head; returns the y to go on from."""
    canvas.showPage()
    y = PAGE_HEIGHT - MARGIN - BODY
    draw_text(canvas, MARGIN, y, f"{report.counter_name} 月度帮扶销售报表", font, BODY, bold=True)
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, _month(report.month), font, BODY, align="right")
    return y - 5 * mm


def _footer(canvas: Canvas, page: int, total: int, *, report: MonthReport, font: str) -> None:
    """When it was made, the page number, and which report it is, along the foot of every page."""
    y = MARGIN - 2 * mm
    canvas.saveState()
    canvas.setFillColor(MUTED)
    draw_text(canvas, MARGIN, y, f"生成时间 {report.generated_at:%Y-%m-%d %H:%M}", font, 8)
    draw_text(canvas, PAGE_WIDTH / 2, y, f"第 {page} 页 / 共 {total} 页", font, 8, align="centre")
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, f"{report.counter_name} · {_month(report.month)}", font, 8, align="right")
    canvas.setFillColor(black)
    canvas.restoreState()
