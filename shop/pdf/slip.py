"""The receiving slip (收货单): proof that a household delivered a lot, signed by both sides.

A4 portrait, because every office printer takes it without scaling, and large type, because the
household reads it before signing.
"""

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text
from shop.pdf.household_card import CAPTION as OWN_PAGE_CAPTION
from shop.pdf.labels import draw_qr

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
TABLE_WIDTH = PAGE_WIDTH - 2 * MARGIN
LABEL_WIDTH = 28 * mm
PADDING = 2.4 * mm
BODY = 11
LEADING = BODY * 1.4
QR_SIZE = 30 * mm
GRID = Color(0.55, 0.55, 0.55)
SHADE = Color(0.94, 0.94, 0.94)
MUTED = Color(0.35, 0.35, 0.35)


@dataclass(frozen=True)
class ReceivingSlip:
    """What a receiving slip records about one delivered lot; times are local."""

    counter_name: str
    counter_address: str
    lot_code: str
    received_at: datetime
    received_by: str
    household_code: str
    household_name: str
    village: str
    product_name: str
    product_sku: str
    quantity_text: str
    best_before: date
    terms_text: str
    trace_url: str
    #: The household's own page, when it has a live link; nothing is printed without one.
    own_page_url: str = ""


def render_receiving_slip(slip: ReceivingSlip, font_path: str | None = None) -> bytes:
    """Render a receiving slip as a one-page A4 PDF."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"收货单 {slip.lot_code}")
    canvas.setAuthor(slip.counter_name)
    y = _header(canvas, slip, font, PAGE_HEIGHT - MARGIN)
    y = _table(canvas, _fields(slip), font, y - 6 * mm)
    y = _trace(canvas, slip.trace_url, font, y - 8 * mm)
    if slip.own_page_url:
        y = _trace(canvas, slip.own_page_url, font, y - 4 * mm, OWN_PAGE_CAPTION)
    _signatures(canvas, font, y - 10 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fields(slip: ReceivingSlip) -> list[tuple[str, str]]:
    """The table's rows: Chinese label, value."""
    return [
        ("批次号", slip.lot_code),
        ("收货时间", f"{slip.received_at:%Y-%m-%d %H:%M}"),
        ("收货人", slip.received_by),
        ("农户编号", slip.household_code),
        ("户主", slip.household_name),
        ("村", slip.village),
        ("商品", f"{slip.product_name}（{slip.product_sku}）"),
        ("数量", slip.quantity_text),
        ("保质期至", slip.best_before.isoformat()),
        ("结算方式", slip.terms_text),
    ]


def _header(canvas: Canvas, slip: ReceivingSlip, font: str, top: float) -> float:
    """Title, counter name and address, centred; returns the y below them."""
    centre = PAGE_WIDTH / 2
    draw_text(canvas, centre, top - 22, "收货单", font, 22, align="centre", bold=True)
    y = top - 22 - 9 * mm
    for line in wrap_text(slip.counter_name, font, 12, PAGE_WIDTH - 2 * MARGIN):
        draw_text(canvas, centre, y, line, font, 12, align="centre")
        y -= 12 * 1.4
    canvas.setFillColor(MUTED)
    for line in wrap_text(slip.counter_address, font, 9, PAGE_WIDTH - 2 * MARGIN):
        draw_text(canvas, centre, y, line, font, 9, align="centre")
        y -= 9 * 1.4
    canvas.setFillColor(black)
    return y


def _table(canvas: Canvas, rows: list[tuple[str, str]], font: str, top: float) -> float:
    """A two-column table with shaded labels and wrapping values; returns its bottom y."""
    value_width = TABLE_WIDTH - LABEL_WIDTH - 2 * PADDING
    edges = [top]
    for label, value in rows:
        lines = wrap_text(value, font, BODY, value_width)
        height = len(lines) * LEADING + 2 * PADDING
        _shade(canvas, edges[-1], height)
        baseline = edges[-1] - PADDING - BODY
        draw_text(canvas, MARGIN + PADDING, baseline, label, font, BODY, bold=True)
        for line in lines:
            draw_text(canvas, MARGIN + LABEL_WIDTH + PADDING, baseline, line, font, BODY)
            baseline -= LEADING
        edges.append(edges[-1] - height)
    _grid(canvas, edges)
    return edges[-1]


def _shade(canvas: Canvas, top: float, height: float) -> None:
    """Shade a row's label cell."""
    canvas.saveState()
    canvas.setFillColor(SHADE)
    canvas.rect(MARGIN, top - height, LABEL_WIDTH, height, stroke=0, fill=1)
    canvas.restoreState()


def _grid(canvas: Canvas, edges: list[float]) -> None:
    """Draw each border once, at the rows' edges from top to bottom, so shared edges are not darker."""
    canvas.saveState()
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.6)
    for y in edges:
        canvas.line(MARGIN, y, MARGIN + TABLE_WIDTH, y)
    for x in (MARGIN, MARGIN + LABEL_WIDTH, MARGIN + TABLE_WIDTH):
        canvas.line(x, edges[0], x, edges[-1])
    canvas.restoreState()


def _trace(canvas: Canvas, url: str, font: str, top: float, caption: str = "扫码查看溯源信息") -> float:
    """A QR code (the trace page's, unless told) with its caption and address beside it; returns the y below."""
    draw_qr(canvas, url, MARGIN, top - QR_SIZE, QR_SIZE)
    x = MARGIN + QR_SIZE + 4 * mm
    draw_text(canvas, x, top - 9 * mm, caption, font, BODY, bold=True)
    y = top - 9 * mm - LEADING
    canvas.setFillColor(MUTED)
    for line in wrap_text(url, font, 9, PAGE_WIDTH - MARGIN - x):
        draw_text(canvas, x, y, line, font, 9)
        y -= 9 * 1.4
    canvas.setFillColor(black)
    return min(y, top - QR_SIZE)


def _signatures(canvas: Canvas, font: str, top: float) -> None:
    """Ask both sides to check and sign, with ruled blanks to write on."""
    draw_text(canvas, MARGIN, top, "请核对以上内容，确认无误后签字。", font, 10)
    # Both signature blanks start at the same x, so the slip reads as a form.
    blank_x = MARGIN + text_width("交货农户签字：", font, BODY)
    date_x = MARGIN + 105 * mm
    y = top - 16 * mm
    _blank(canvas, font, MARGIN, y, "交货农户签字：", blank_x, date_x - 8 * mm)
    _blank(canvas, font, date_x, y, "日期：", date_x + text_width("日期：", font, BODY), PAGE_WIDTH - MARGIN)
    _blank(canvas, font, MARGIN, y - 16 * mm, "收货人签字：", blank_x, date_x - 8 * mm)


def _blank(canvas: Canvas, font: str, x: float, y: float, label: str, start: float, end: float) -> None:
    """A label followed by a line from start to end to sign or write on."""
    draw_text(canvas, x, y, label, font, BODY)
    canvas.saveState()
    canvas.setLineWidth(0.7)
    canvas.line(start, y - 2, end, y - 2)
    canvas.restoreState()
