"""The household's monthly statement (月度收益对账单): what the month credited, took back and paid out.

A4 portrait. The entries table runs on over as many pages as it needs, with its header repeated and
every page numbered and marked with the household and month, so a loose page can be put back. The
review line, the QR code and the signatures close the statement; the ledger's inclusion proof of
each entry, against the latest signed checkpoint, follows on pages of its own.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from io import BytesIO

from reportlab.lib.colors import black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.money import format_fen
from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text
from shop.pdf.household_card import draw_own_page_qr
from shop.pdf.labels import draw_qr
from shop.pdf.proofs import draw_proofs
from shop.pdf.table import (
    BODY,
    BOTTOM,
    CELL,
    GRID,
    MARGIN,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SHADE,
    WIDTH,
    Column,
    Field,
    NumberedCanvas,
    Row,
    draw_fields,
    draw_table,
    header_height,
)

QR_SIZE = 25 * mm
#: Room the review line, QR code with its caption and the signatures need at the end of the last page.
CLOSING_HEIGHT = QR_SIZE + 14 * mm
#: A dispute's note may be long; the paper shows its start, the system keeps all of it.
REVIEW_LINES = 2
CLOSING_GAP = 6 * mm

KINDS = {"credit": "入账", "reversal": "冲减", "payout": "支付", "adjustment": "调整"}
AMENDED = "更正"

#: Money columns hold "-¥123,456.78" at 9 pt; the description takes the rest of the width.
MONEY_COLUMN = 24 * mm
COLUMNS = (
    Column("日期", 21 * mm),
    Column("编号", 14 * mm, "right"),
    Column("类型", 14 * mm, "centre"),
    Column("摘要", WIDTH - 21 * mm - 14 * mm - 14 * mm - 2 * MONEY_COLUMN),
    Column("金额", MONEY_COLUMN, "right"),
    Column("余额", MONEY_COLUMN, "right"),
)


@dataclass(frozen=True)
class StatementRow:
    """One ledger entry of the month, as the household sees it; amounts in fen."""

    entry_date: date
    seq: int
    kind: str
    description: str
    amount_fen: int
    balance_fen: int
    amendment: bool = False


@dataclass(frozen=True)
class HouseholdStatement:
    """A household's month: who it is, the month's totals and its entries; money in fen."""

    counter_name: str
    month: date
    household_code: str
    head_name_masked: str
    town: str
    village: str
    members: int
    category: str
    officer: str
    opening_balance_fen: int
    credited_fen: int
    reversed_fen: int
    adjusted_fen: int
    paid_out_fen: int
    closing_balance_fen: int
    income_fen: int
    per_capita_fen: int
    rows: tuple[StatementRow, ...]
    review: str
    verify_url: str
    digest: str
    generated_at: datetime
    #: The household's own page, when it has a live link; nothing is printed without one.
    own_page_url: str = ""
    #: The latest signed checkpoint as published, and each entry's inclusion proof (shop.ledger.checkpoints).
    checkpoint: dict | None = None
    proofs: tuple[dict, ...] = ()


def render_statement(statement: HouseholdStatement, font_path: str | None = None) -> bytes:
    """Render a household's monthly statement as an A4 PDF of one or more pages."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = NumberedCanvas(
        buffer, pagesize=A4, pageCompression=1, footer=partial(_footer, statement=statement, font=font)
    )
    canvas.setTitle(f"帮扶收益对账单 {statement.household_code} {month_text(statement.month)}")
    canvas.setAuthor(statement.counter_name)
    y = _heading(canvas, statement, font, PAGE_HEIGHT - MARGIN)
    y = _particulars(canvas, statement, font, y - 5 * mm)
    y = _summary(canvas, statement, font, y - 5 * mm)
    y = _entries(canvas, statement, font, y - 7 * mm)
    if y - CLOSING_GAP - CLOSING_HEIGHT < BOTTOM:
        y = _next_page(canvas, statement, font)
    _closing(canvas, statement, font, y - CLOSING_GAP)
    if statement.rows and statement.checkpoint:
        next_page = partial(_next_page, canvas, statement, font)
        draw_proofs(canvas, statement.checkpoint, statement.proofs, font, next_page(), next_page)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def month_text(month: date) -> str:
    """A month as printed: 2026年11月."""
    return f"{month.year}年{month.month}月"


def signed_fen(fen: int) -> str:
    """An amount with its sign always shown, so credits and debits read apart: +¥30.60, -¥12.00."""
    return f"+{format_fen(fen)}" if fen > 0 else format_fen(fen)


def _heading(canvas: Canvas, statement: HouseholdStatement, font: str, top: float) -> float:
    """Title and month, centred; returns the y below them."""
    y = top - 17
    for line in wrap_text(f"{statement.counter_name} 帮扶收益对账单", font, 17, WIDTH):
        draw_text(canvas, PAGE_WIDTH / 2, y, line, font, 17, align="centre", bold=True)
        y -= 17 * 1.35
    draw_text(
        canvas, PAGE_WIDTH / 2, y - 2, f"月度收益对账单 · {month_text(statement.month)}", font, 12, align="centre"
    )
    return y - 2 - 12 * 0.6


def _particulars(canvas: Canvas, statement: HouseholdStatement, font: str, top: float) -> float:
    """Who the statement is for, as a grid of particulars."""
    rows = [
        (Field("农户编号", statement.household_code), Field("户主", statement.head_name_masked)),
        (Field("乡镇", statement.town), Field("村", statement.village)),
        (Field("家庭人口", f"{statement.members} 人"), Field("帮扶责任人", statement.officer or "—")),
        (Field("户类别", statement.category),),
    ]
    return draw_fields(canvas, font, rows, MARGIN, top, WIDTH, 22 * mm, BODY)


def _summary(canvas: Canvas, statement: HouseholdStatement, font: str, top: float) -> float:
    """The month's figures in two rows of four boxes, then how they add up."""
    figures = [
        ("期初余额", statement.opening_balance_fen, False),
        ("本月入账", statement.credited_fen, False),
        ("退款冲减", statement.reversed_fen, False),
        ("调整", statement.adjusted_fen, False),
        ("本月支付", statement.paid_out_fen, False),
        ("期末余额", statement.closing_balance_fen, True),
        ("本月收益", statement.income_fen, True),
        ("人均收益", statement.per_capita_fen, True),
    ]
    draw_text(canvas, MARGIN, top - BODY, "本月汇总", font, BODY + 1, bold=True)
    top -= BODY + 2.5 * mm
    box_width, box_height = WIDTH / 4, 13 * mm
    for index, (label, fen, strong) in enumerate(figures):
        x = MARGIN + (index % 4) * box_width
        y = top - (index // 4) * box_height
        _figure(canvas, font, x, y, box_width, box_height, label, format_fen(fen), strong)
    bottom = top - 2 * box_height
    _box_grid(canvas, top, bottom, box_width, box_height)
    canvas.setFillColor(MUTED)
    notes = (
        "期末余额 = 期初余额 + 本月入账 − 退款冲减 + 调整 − 本月支付",
        f"本月收益 = 本月入账 − 退款冲减 + 调整；人均收益 = 本月收益 ÷ 家庭人口（{statement.members} 人）",
    )
    y = bottom - 4 * mm
    for line in (part for note in notes for part in wrap_text(note, font, 8, WIDTH)):
        draw_text(canvas, MARGIN, y, line, font, 8)
        y -= 8 * 1.4
    canvas.setFillColor(black)
    return y + 8 * 1.4 - 2 * mm


def _figure(
    canvas: Canvas, font: str, x: float, top: float, width: float, height: float, label: str, value: str, strong: bool
) -> None:
    """One summary box: a small label over its amount, the month's results shaded."""
    if strong:
        canvas.saveState()
        canvas.setFillColor(SHADE)
        canvas.rect(x, top - height, width, height, stroke=0, fill=1)
        canvas.restoreState()
    canvas.setFillColor(MUTED)
    draw_text(canvas, x + width / 2, top - 4.2 * mm, label, font, 8.5, align="centre")
    canvas.setFillColor(black)
    draw_text(canvas, x + width / 2, top - 10 * mm, value, font, 12, align="centre", bold=strong)


def _box_grid(canvas: Canvas, top: float, bottom: float, box_width: float, box_height: float) -> None:
    """The lines around and between the summary boxes."""
    canvas.saveState()
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.6)
    for y in (top, top - box_height, bottom):
        canvas.line(MARGIN, y, MARGIN + WIDTH, y)
    for column in range(5):
        x = MARGIN + column * box_width
        canvas.line(x, top, x, bottom)
    canvas.restoreState()


def _entries(canvas: Canvas, statement: HouseholdStatement, font: str, top: float) -> float:
    """The month's entries under a heading, or a line saying there were none."""
    rows = [_row(row) for row in statement.rows]
    # Keep the heading with the table's header and first row rather than strand it at a page's foot.
    if top - 8 * mm - header_height(COLUMNS, font, CELL) - 12 * mm < BOTTOM:
        top = _next_page(canvas, statement, font)
    draw_text(canvas, MARGIN, top - BODY, "收支明细", font, BODY + 1, bold=True)
    top -= BODY + 2.5 * mm
    if not rows:
        return _empty(canvas, font, top)
    next_page = partial(_next_page, canvas, statement, font)
    y = draw_table(canvas, font, COLUMNS, rows, MARGIN, top, bottom=BOTTOM, next_page=next_page, size=CELL)
    if any(row.amendment for row in statement.rows):
        canvas.setFillColor(MUTED)
        draw_text(canvas, MARGIN, y - 4 * mm, f"注：标“{AMENDED}”并加底色的记录，是本月对账确认后补记的更正。", font, 8)
        canvas.setFillColor(black)
        y -= 5 * mm
    return y


def _row(row: StatementRow) -> Row:
    """A ledger entry as a table row; an amendment says so under its type and is shaded."""
    kind = KINDS.get(row.kind, row.kind)
    return Row(
        (
            row.entry_date.isoformat(),
            str(row.seq),
            f"{kind}\n{AMENDED}" if row.amendment else kind,
            row.description,
            signed_fen(row.amount_fen),
            format_fen(row.balance_fen),
        ),
        shaded=row.amendment,
    )


def _empty(canvas: Canvas, font: str, top: float) -> float:
    """A ruled box saying the month had no entries."""
    height = 12 * mm
    canvas.saveState()
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.6)
    canvas.rect(MARGIN, top - height, WIDTH, height, stroke=1, fill=0)
    canvas.restoreState()
    draw_text(canvas, PAGE_WIDTH / 2, top - height / 2 - BODY * 0.35, "本月无收支记录", font, BODY, align="centre")
    return top - height


def _next_page(canvas: Canvas, statement: HouseholdStatement, font: str) -> float:
    """End the page and start the next under a running head; returns the y to go on from."""
    canvas.showPage()
    head = f"{statement.counter_name} 帮扶收益对账单 · {month_text(statement.month)}"
    who = f"{statement.household_code} {statement.head_name_masked}（续）"
    y = PAGE_HEIGHT - MARGIN - BODY
    draw_text(canvas, MARGIN, y, head, font, BODY, bold=True)
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, who, font, BODY, align="right")
    return y - 5 * mm


def _closing(canvas: Canvas, statement: HouseholdStatement, font: str, top: float) -> None:
    """The review line and the signatures on the left, the QR code beside them on the right."""
    qr_x = PAGE_WIDTH - MARGIN - QR_SIZE
    # The household's own page, when it has a link, stands left of the check code; the text ends before both.
    left = qr_x - QR_SIZE - 6 * mm if statement.own_page_url else qr_x
    if statement.own_page_url:
        draw_own_page_qr(canvas, statement.own_page_url, left, top, QR_SIZE, font, QR_SIZE + 4 * mm)
    lines = wrap_text(f"审核情况：{statement.review}", font, BODY, left - 6 * mm - MARGIN)
    if len(lines) > REVIEW_LINES:
        lines = lines[: REVIEW_LINES - 1] + [lines[REVIEW_LINES - 1][:-8] + "…（全文见系统）"]
    for n, line in enumerate(lines):
        draw_text(canvas, MARGIN, top - BODY - n * BODY * 1.5, line, font, BODY)
    # The QR code's quiet zone is white, so its box may rise level with the review line's cap height.
    draw_qr(canvas, statement.verify_url, qr_x, top - QR_SIZE, QR_SIZE)
    draw_text(canvas, qr_x + QR_SIZE / 2, top - QR_SIZE - 2 * mm, "扫码核验", font, 8.5, align="centre")
    canvas.setFillColor(MUTED)
    draw_text(canvas, qr_x + QR_SIZE / 2, top - QR_SIZE - 6 * mm, statement.digest, font, 7.5, align="centre")
    canvas.setFillColor(black)
    _signatures(canvas, font, top - max(17 * mm, len(lines) * BODY * 1.5 + 12 * mm), left - 8 * mm)


def _signatures(canvas: Canvas, font: str, y: float, right: float) -> None:
    """Ruled blanks for the household head and the officer to sign and date."""
    labels = ("户主签字：", "帮扶责任人签字：")
    start = MARGIN + max(text_width(label, font, BODY) for label in labels)
    date_x = right - 40 * mm
    for label in labels:
        draw_text(canvas, MARGIN, y, label, font, BODY)
        _blank(canvas, start, date_x - 6 * mm, y)
        draw_text(canvas, date_x, y, "日期：", font, BODY)
        _blank(canvas, date_x + text_width("日期：", font, BODY), right, y)
        y -= 13 * mm


def _blank(canvas: Canvas, start: float, end: float, y: float) -> None:
    """A line to write on, just under the baseline."""
    canvas.saveState()
    canvas.setLineWidth(0.7)
    canvas.line(start, y - 2, end, y - 2)
    canvas.restoreState()


def _footer(canvas: Canvas, page: int, total: int, *, statement: HouseholdStatement, font: str) -> None:
    """When it was made, the page number, and whose statement it is, along the foot of every page."""
    y = MARGIN - 2 * mm
    canvas.saveState()
    canvas.setFillColor(MUTED)
    draw_text(canvas, MARGIN, y, f"生成时间 {statement.generated_at:%Y-%m-%d %H:%M}", font, 8)
    draw_text(canvas, PAGE_WIDTH / 2, y, f"第 {page} 页 / 共 {total} 页", font, 8, align="centre")
    who = f"{statement.household_code} · {month_text(statement.month)}"
    draw_text(canvas, PAGE_WIDTH - MARGIN, y, who, font, 8, align="right")
    canvas.restoreState()
