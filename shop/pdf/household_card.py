"""A household's own page on paper: the card the officer prints, and the QR block slips, receipts and statements carry.

The card is A6 portrait, large type: the household keeps it with its papers. The address is
printed under the QR code as well, for a phone that cannot scan.
"""

from dataclasses import dataclass
from io import BytesIO

from reportlab.lib.colors import Color, black
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import cjk_font, draw_text, wrap_text
from shop.pdf.labels import QUIET_MODULES, draw_qr, qr_runs

CARD_WIDTH, CARD_HEIGHT = 105 * mm, 148 * mm
MARGIN = 8 * mm
MUTED = Color(0.35, 0.35, 0.35)
#: What the QR block says under a slip's, receipt's or statement's own codes.
CAPTION = "扫码查看本户账目"


@dataclass(frozen=True)
class HouseholdCard:
    """What the card prints: who (masked), where, and the page's address."""

    counter_name: str
    household_code: str
    head_name_masked: str
    village: str
    url: str


def draw_own_page_qr(canvas: Canvas, url: str, x: float, top: float, size: float, font: str, width: float) -> float:
    """The page's QR code at (x, top), its caption and address under it, `width` wide; returns the y below."""
    draw_qr(canvas, url, x, top - size, size)
    y = top - size - 3 * mm
    draw_text(canvas, x, y, CAPTION, font, 8, bold=True)
    canvas.saveState()
    canvas.setFillColor(MUTED)
    for line in wrap_text(url, font, 6.5, width):
        y -= 6.5 * 1.35
        draw_text(canvas, x, y, line, font, 6.5)
    canvas.restoreState()
    return y


def render_household_card(card: HouseholdCard, font_path: str | None = None) -> bytes:
    """The card as a one-page A6 PDF."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(CARD_WIDTH, CARD_HEIGHT), pageCompression=1)
    canvas.setTitle(f"本户账目卡 {card.household_code}")
    canvas.setAuthor(card.counter_name)
    y = CARD_HEIGHT - MARGIN - 14
    draw_text(canvas, MARGIN, y, "本户帮扶收益账目", font, 16, bold=True)
    y -= 8 * mm
    draw_text(canvas, MARGIN, y, f"{card.household_code}  {card.head_name_masked}", font, 12)
    y -= 6 * mm
    draw_text(canvas, MARGIN, y, card.village, font, 11)
    size = CARD_WIDTH - 2 * MARGIN - 16 * mm
    draw_qr(canvas, card.url, (CARD_WIDTH - size) / 2, y - 4 * mm - size, size)
    y = y - 4 * mm - size - 6 * mm
    canvas.setFillColor(black)
    for line in wrap_text(
        "用手机扫码，可以看到本户每一笔卖货收入、退货、领款和余额。", font, 10, CARD_WIDTH - 2 * MARGIN
    ):
        draw_text(canvas, MARGIN, y, line, font, 10)
        y -= 10 * 1.4
    y -= 1 * mm
    canvas.setFillColor(MUTED)
    for line in wrap_text(card.url, font, 8, CARD_WIDTH - 2 * MARGIN):
        draw_text(canvas, MARGIN, y, line, font, 8)
        y -= 8 * 1.4
    y -= 1 * mm
    for line in wrap_text(
        "请妥善保管，不要给别人。丢了请找帮扶责任人换新卡，旧卡即作废。", font, 8.5, CARD_WIDTH - 2 * MARGIN
    ):
        draw_text(canvas, MARGIN, y, line, font, 8.5)
        y -= 8.5 * 1.4
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def qr_svg(value: str) -> str:
    """A QR code of value as an SVG image, one path of dark runs, quiet zone included (for a screen)."""
    count, runs = qr_runs(value)
    side = count + 2 * QUIET_MODULES
    path = "".join(f"M{c + QUIET_MODULES} {r + QUIET_MODULES}h{n}v1h-{n}z" for r, c, n in runs)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
