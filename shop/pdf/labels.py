"""Package labels for a 60 × 40 mm label printer: one label a page, as many pages as copies.

The label is drawn once as a form and placed on every page, so 500 copies cost little more than one.
A long product name first shrinks, then is shortened with an ellipsis; the particulars under it
shrink to fit. The full name is on the trace page behind the QR code.
"""

import re
from dataclasses import dataclass
from datetime import date
from io import BytesIO

from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import black
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.pdf.fonts import cjk_font, draw_text, text_width, wrap_text
from shop.pdf.qr import FastMaskQRCode

LABEL_WIDTH = 60 * mm
LABEL_HEIGHT = 40 * mm
#: Printers shift the stock by up to a millimetre; keep ink this far from the edge.
MARGIN = 2.5 * mm
QR_SIZE = 23 * mm
#: The QR code's own quiet zone is white, so its box may come closer to the edge than text does.
QR_X = LABEL_WIDTH - 1 * mm - QR_SIZE
QR_Y = LABEL_HEIGHT - 1 * mm - QR_SIZE
#: Width of the text column, which stops short of the QR code.
TEXT_WIDTH = QR_X - MARGIN - 0.5 * mm
PRICE_SIZE = 14
DETAIL_SIZE = 6.5
LEADING = 1.3
#: Sizes tried for the product name, largest first, before it is shortened.
NAME_SIZES = (13, 11, 10, 9, 8)
MAX_COPIES = 500
#: How far the particulars may shrink to fit under a long name.
SCALES = (1.0, 0.92, 0.85, 0.78)


@dataclass(frozen=True)
class PackageLabel:
    """What a package label shows; texts are already formatted."""

    product_name: str
    net_text: str
    price_text: str
    best_before: date
    lot_code: str
    origin: str
    cert_no: str | None
    trace_url: str


def render_labels(label: PackageLabel, copies: int = 1, font_path: str | None = None) -> bytes:
    """Render copies of a package label, one 60 × 40 mm page each."""
    if not 1 <= copies <= MAX_COPIES:
        raise ValueError(f"copies must be between 1 and {MAX_COPIES}, not {copies}")
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), pageCompression=1)
    canvas.setTitle(f"标签 {label.product_name} {label.lot_code}")
    canvas.beginForm("label", 0, 0, LABEL_WIDTH, LABEL_HEIGHT)
    _draw_label(canvas, label, font)
    canvas.endForm()
    for _ in range(copies):
        canvas.doForm("label")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


#: Modules of white around a QR code, as the standard asks, so scanners find its edges.
QUIET_MODULES = 4

#: A run of dark modules in a row of a code, read as bytes (1 dark, 0 light).
_DARK_RUN = re.compile(rb"\x01+")


def qr_runs(value: str) -> tuple[int, list[tuple[int, int, int]]]:
    """Encode value once (level M) and return its module count and the dark runs as (row, column, length)."""
    # Level M survives a scuffed or creased label. Encoding directly, not through reportlab's widget,
    # because the widget encodes twice (its bounds draw it) and draws each run as a separate shape.
    code = FastMaskQRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    runs = [
        (row, run.start(), run.end() - run.start())
        for row, modules in enumerate(code.modules)
        for run in _DARK_RUN.finditer(bytes(modules))
    ]
    return code.getModuleCount(), runs


def draw_qr(canvas: Canvas, value: str, x: float, y: float, size: float) -> None:
    """Draw a QR code of value as a square of size points, bottom-left at x, y, quiet zone included."""
    count, runs = qr_runs(value)
    box = size / (count + 2 * QUIET_MODULES)
    path = canvas.beginPath()
    for row, column, length in runs:
        top = y + size - (row + QUIET_MODULES) * box
        path.rect(x + (column + QUIET_MODULES) * box, top - box, length * box, box)
    canvas.saveState()
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


#: A line of the text column: text, size in points, bold.
Line = tuple[str, float, bool]


def _draw_label(canvas: Canvas, label: PackageLabel, font: str) -> None:
    """QR code and price on the right; name and net weight top left, particulars bottom left."""
    heading = [*_name(label.product_name, font), *_lines(label.net_text, 7.5, font, max_lines=1)]
    room = LABEL_HEIGHT - 2 * MARGIN - _height(heading) - 1.5 * mm
    particulars = _particulars(label, font, room)
    _draw_lines(canvas, heading, font, LABEL_HEIGHT - MARGIN)
    _draw_lines(canvas, particulars, font, MARGIN + _height(particulars))
    # A long price shrinks to the QR code's width rather than run into the text column.
    fitted = PRICE_SIZE * QR_SIZE / max(text_width(label.price_text, font, PRICE_SIZE), 1)
    price_size = min(PRICE_SIZE, fitted)
    draw_text(
        canvas, LABEL_WIDTH - MARGIN, MARGIN + 0.5 * mm, label.price_text, font, price_size, align="right", bold=True
    )
    draw_qr(canvas, label.trace_url, QR_X, QR_Y, QR_SIZE)
    draw_text(canvas, QR_X + QR_SIZE / 2, QR_Y - 1.5 * mm, "扫码溯源", font, 5.5, align="centre")


def _name(name: str, font: str) -> list[Line]:
    """The product name in bold on at most two lines, as large as that allows."""
    for size in NAME_SIZES[:-1]:
        lines = _lines(name, size, font, max_lines=2, bold=True)
        if not lines[-1][0].endswith("…"):
            return lines
    return _lines(name, NAME_SIZES[-1], font, max_lines=2, bold=True)


def _particulars(label: PackageLabel, font: str, room: float) -> list[Line]:
    """Best-before, lot, origin and certificate, at the largest scale whose lines fit in room."""
    texts = [
        (f"保质期至 {label.best_before.isoformat()}", 1),
        (f"批次 {label.lot_code}", 1),
        (f"产地 {label.origin}", 2),
        *([(f"认定证书 {label.cert_no}", 1)] if label.cert_no else []),
    ]
    for scale in SCALES:
        lines = [line for text, most in texts for line in _lines(text, DETAIL_SIZE * scale, font, max_lines=most)]
        if _height(lines) <= room:
            break
    return lines


def _lines(text: str, size: float, font: str, *, max_lines: int, bold: bool = False) -> list[Line]:
    """A text wrapped to the text column, ending in an ellipsis if it needs more than max_lines."""
    wrapped = wrap_text(text, font, size, TEXT_WIDTH)
    if len(wrapped) > max_lines:
        last = wrapped[max_lines - 1]
        while last and text_width(last + "…", font, size) > TEXT_WIDTH:
            last = last[:-1]
        wrapped = [*wrapped[: max_lines - 1], last.rstrip("（(《 ") + "…"]
    return [(line, size, bold) for line in wrapped]


def _height(lines: list[Line]) -> float:
    """Height the lines take, one leading each."""
    return sum(size * LEADING for _, size, _ in lines)


def _draw_lines(canvas: Canvas, lines: list[Line], font: str, top: float) -> None:
    """Draw lines down the text column from top."""
    for text, size, bold in lines:
        draw_text(canvas, MARGIN, top - size, text, font, size, bold=bold)
        top -= size * LEADING
