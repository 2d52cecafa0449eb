"""The 80 mm thermal-printer receipt (小票) a buyer takes home.

The page is as long as its content, so the printer cuts right after the last line. The layout is
built first as a list of blocks that know their own height, and only then drawn.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.money import format_fen
from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text

PAGE_WIDTH = 80 * mm
MARGIN = 4 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BODY = 8.5
SMALL = 7.5
TITLE = 12.5
TOTAL = 13
#: Room kept after the last line, so the cutter does not clip it.
TAIL = 6 * mm


@dataclass(frozen=True)
class ReceiptLine:
    """One line of the sale, already priced."""

    name: str
    quantity_text: str
    unit_price_text: str
    amount_fen: int


@dataclass(frozen=True)
class HelpedHousehold:
    """A household credited by this sale, shown masked."""

    village: str
    name_masked: str
    credit_fen: int


@dataclass(frozen=True)
class Receipt:
    """Everything printed on a receipt; times are local, money is fen."""

    counter_name: str
    counter_address: str
    sale_no: str
    sold_at: datetime
    clerk: str
    lines: tuple[ReceiptLine, ...]
    total_fen: int
    payment_method: str
    tendered_fen: int | None = None
    refunded_fen: int = 0
    helped: tuple[HelpedHousehold, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        """Refuse a cash amount below the total: the change printed would be negative."""
        if self.tendered_fen is not None and self.tendered_fen < self.total_fen:
            raise ValueError("tendered_fen is less than total_fen")


#: A block of the layout: its height, and how to draw it given the y of its top edge.
Block = tuple[float, Callable[[Canvas, float], None]]


def render_receipt(receipt: Receipt, font_path: str | None = None) -> bytes:
    """Render a receipt as a one-page PDF, 80 mm wide and as long as its content."""
    font = cjk_font(font_path)
    blocks = _layout(receipt, font)
    height = MARGIN + sum(h for h, _ in blocks) + TAIL
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, height), pageCompression=1)
    canvas.setTitle(f"小票 {receipt.sale_no}")
    canvas.setAuthor(receipt.counter_name)
    top = height - MARGIN
    for block_height, draw in blocks:
        draw(canvas, top)
        top -= block_height
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _layout(receipt: Receipt, font: str) -> list[Block]:
    """The receipt from top to bottom, as blocks."""
    return [
        *_header(receipt, font),
        _rule(),
        *[block for line in receipt.lines for block in _item(line, font)],
        _rule(),
        *_payment(receipt, font),
        *_helped(receipt.helped, font),
        _gap(2 * mm),
        *_text(font, "感谢您支持消费帮扶", BODY, align="centre", bold=True),
        *(_text(font, receipt.note, SMALL, align="centre") if receipt.note else []),
    ]


def _header(receipt: Receipt, font: str) -> list[Block]:
    """Counter name and address, then the sale's number, time and clerk."""
    return [
        *_text(font, receipt.counter_name, TITLE, align="centre", bold=True),
        *_text(font, receipt.counter_address, SMALL, align="centre"),
        _gap(1.5 * mm),
        *_text(font, f"小票号：{receipt.sale_no}", BODY),
        *_text(font, f"时间：{receipt.sold_at:%Y-%m-%d %H:%M}", BODY),
        *_text(font, f"收银员：{receipt.clerk}", BODY),
    ]


def _item(line: ReceiptLine, font: str) -> list[Block]:
    """A product name, then its quantity and unit price with the amount on the right."""
    return [
        *_text(font, line.name, BODY),
        *_row(font, f"{line.quantity_text} × {line.unit_price_text}", format_fen(line.amount_fen), BODY, indent=3 * mm),
        _gap(0.8 * mm),
    ]


def _payment(receipt: Receipt, font: str) -> list[Block]:
    """Total, payment method, cash tendered and change, and any refund."""
    blocks = [
        *_row(font, "合计", format_fen(receipt.total_fen), TOTAL, bold=True),
        *_row(font, "支付方式", receipt.payment_method, BODY),
    ]
    if receipt.tendered_fen is not None:
        blocks += _row(font, "实收", format_fen(receipt.tendered_fen), BODY)
        blocks += _row(font, "找零", format_fen(receipt.tendered_fen - receipt.total_fen), BODY)
    if receipt.refunded_fen > 0:
        blocks += _row(font, "已退款", format_fen(receipt.refunded_fen), BODY, bold=True)
    return blocks


def _helped(helped: tuple[HelpedHousehold, ...], font: str) -> list[Block]:
    """The households this purchase credited, each with its share."""
    if not helped:
        return []
    rows = [
        block
        for household in helped
        for block in _row(font, f"{household.village} {household.name_masked}", format_fen(household.credit_fen), BODY)
    ]
    return [_rule(), *_text(font, "本次购买帮扶了以下农户：", BODY, bold=True), _gap(0.5 * mm), *rows]


def _text(font: str, text: str, size: float, *, align: str = "left", bold: bool = False) -> list[Block]:
    """A text wrapped to the content width, one block per line."""
    x = {"left": MARGIN, "centre": PAGE_WIDTH / 2, "right": PAGE_WIDTH - MARGIN}[align]
    return [
        _line(size, lambda c, y, t=t: draw_text(c, x, y, t, font, size, align=align, bold=bold))
        for t in wrap_text(text, font, size, CONTENT_WIDTH)
    ]


def _row(font: str, left: str, right: str, size: float, *, bold: bool = False, indent: float = 0) -> list[Block]:
    """A text on the left, wrapped clear of a value aligned right on its first line."""
    x = MARGIN + indent
    room = CONTENT_WIDTH - indent - text_width(right, font, size) - 3 * mm
    lines = wrap_text(left, font, size, room)

    def first(canvas: Canvas, y: float) -> None:
        """Draw the first line of the left text and the value beside it."""
        draw_text(canvas, x, y, lines[0], font, size, bold=bold)
        draw_text(canvas, PAGE_WIDTH - MARGIN, y, right, font, size, align="right", bold=bold)

    rest = [_line(size, lambda c, y, t=t: draw_text(c, x, y, t, font, size, bold=bold)) for t in lines[1:]]
    return [_line(size, first), *rest]


def _line(size: float, draw: Callable[[Canvas, float], None]) -> Block:
    """A block one line of text high, drawing at the baseline below its top edge."""
    leading = size * 1.45
    return leading, lambda canvas, top: draw(canvas, top - size * 1.1)


def _rule() -> Block:
    """A dashed rule across the content width, with a little room either side."""

    def draw(canvas: Canvas, top: float) -> None:
        """Draw the rule halfway down the block."""
        canvas.saveState()
        canvas.setDash(2, 1.5)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, top - 2 * mm, PAGE_WIDTH - MARGIN, top - 2 * mm)
        canvas.restoreState()

    return 4 * mm, draw


def _gap(height: float) -> Block:
    """Empty space."""
    return height, lambda canvas, top: None
