"""A household's evidence file (一户一档) for inspectors: particulars, then titled tables, in Chinese.

A4 portrait, as many pages as the tables need. The caller formats every text (shop.worklog.evidence);
this module only lays them out: the particulars in a grid, each table under its title with its header
row repeated on every page it runs onto, and a footer on every page naming the household, when the file
was made, by whom, and the page x of y, so that a loose printed page still says where it belongs.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from io import BytesIO

from reportlab.lib.colors import black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text
from shop.pdf.report import ReportTable
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
HEADING = "一户一档"
NO_ROWS = "（无记录）"


@dataclass(frozen=True)
class FileSection:
    """A titled table of the file, with an optional note printed under its title."""

    table: ReportTable
    note: str = ""


@dataclass(frozen=True)
class EvidenceFile:
    """What the file prints, every text already formatted."""

    household_code: str
    title: str
    particulars: tuple[tuple[str, str], ...]
    sections: tuple[FileSection, ...]
    generated_at: datetime
    generated_by: str


def render_evidence_file(file: EvidenceFile, font_path: str | None = None) -> bytes:
    """Render a household's evidence file as an A4 PDF of one or more pages."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = NumberedCanvas(buffer, pagesize=A4, pageCompression=1, footer=partial(_footer, file=file, font=font))
    canvas.setTitle(f"{HEADING} {file.household_code}")
    canvas.setAuthor(file.generated_by)
    y = _heading(canvas, file, font, PAGE_HEIGHT - MARGIN)
    y = _particulars(canvas, file, font, y - 4 * mm)
    for section in file.sections:
        y = _section(canvas, file, section, font, y - 7 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _heading(canvas: Canvas, file: EvidenceFile, font: str, top: float) -> float:
    """The title, centred; returns the y below it."""
    y = top - 17
    for line in wrap_text(file.title, font, 17, WIDTH):
        draw_text(canvas, PAGE_WIDTH / 2, y, line, font, 17, align="centre", bold=True)
        y -= 17 * 1.35
    return y


def _particulars(canvas: Canvas, file: EvidenceFile, font: str, top: float) -> float:
    """The household's particulars in a grid, two to a row."""
    if not file.particulars:
        return top
    fields = [Field(label, value) for label, value in file.particulars]
    rows = [tuple(fields[i : i + 2]) for i in range(0, len(fields), 2)]
    if len(rows[-1]) == 1:
        rows[-1] = (rows[-1][0], Field("", ""))
    longest = max(text_width(label, font, BODY) for label, _ in file.particulars)
    label_width = min(longest + 4 * mm, WIDTH / 4)
    draw_text(canvas, MARGIN, top - BODY, "基本信息", font, TITLE, bold=True)
    return draw_fields(canvas, font, rows, MARGIN, top - BODY - 2.5 * mm, WIDTH, label_width, BODY)


def _section(canvas: Canvas, file: EvidenceFile, section: FileSection, font: str, top: float) -> float:
    """A table under its title (and note), flowing onto further pages; returns the y below it."""
    table = section.table
    columns = fit_columns(table.columns, table.rows, table.numeric, font, WIDTH, CELL)
    rows = [Row(cells) for cells in table.rows]
    note_lines = wrap_text(section.note, font, CELL, WIDTH) if section.note else []
    first = row_height(rows[0], columns, font, CELL) if rows else CELL * 2
    needed = TITLE * 1.6 + len(note_lines) * CELL * 1.35 + header_height(columns, font, CELL) + first
    # The title stays with the header row and the first row rather than end a page on its own.
    if top - needed < BOTTOM:
        top = _next_page(canvas, file, font)
    draw_text(canvas, MARGIN, top - TITLE, table.title, font, TITLE, bold=True)
    y = top - TITLE * 1.6
    canvas.setFillColor(MUTED)
    for line in note_lines:
        draw_text(canvas, MARGIN, y - CELL, line, font, CELL)
        y -= CELL * 1.35
    canvas.setFillColor(black)
    next_page = partial(_continued, canvas, file, table.title, font)
    y = draw_table(canvas, font, columns, rows, MARGIN, y - 1 * mm, bottom=BOTTOM, next_page=next_page, size=CELL)
    if not rows:
        canvas.setFillColor(MUTED)
        draw_text(canvas, MARGIN + 2 * mm, y - CELL * 1.5, NO_ROWS, font, CELL)
        canvas.setFillColor(black)
        y -= CELL * 2
    return y


def _continued(canvas: Canvas, file: EvidenceFile, title: str, font: str) -> float:
    """A new page for a table that runs on, its title marked as continued."""
    top = _next_page(canvas, file, font)
    draw_text(canvas, MARGIN, top - TITLE, f"{title}（续）", font, TITLE, bold=True)
    return top - TITLE * 1.6


def _next_page(canvas: Canvas, file: EvidenceFile, font: str) -> float:
    """End the page and start the next under a running head; returns the y to go on from."""
    canvas.showPage()
    y = PAGE_HEIGHT - MARGIN - BODY
    draw_text(canvas, MARGIN, y, HEADING, font, BODY, bold=True)
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, file.household_code, font, BODY, align="right")
    return y - 5 * mm


def _footer(canvas: Canvas, page: int, total: int, *, file: EvidenceFile, font: str) -> None:
    """The household, when and by whom the file was made, and the page number, along every page's foot."""
    y = MARGIN - 2 * mm
    canvas.saveState()
    canvas.setFillColor(MUTED)
    draw_text(canvas, MARGIN, y, f"{HEADING} {file.household_code}", font, 8)
    made = f"生成 {file.generated_at:%Y-%m-%d %H:%M} · {file.generated_by}"
    draw_text(canvas, PAGE_WIDTH / 2, y, made, font, 8, align="centre")
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, f"第 {page} 页 / 共 {total} 页", font, 8, align="right")
    canvas.setFillColor(black)
    canvas.restoreState()
