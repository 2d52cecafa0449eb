"""The CJK font every document is set in, and the few text primitives the documents share.

PDFs embed a TrueType CJK font so that Chinese prints the same on any viewer or printer. The
font ships with the package (shop/pdf/font/: a subset of WenQuanYi Micro Hei under the Apache
License 2.0, made by `python -m shop.pdf.subset_font`), so a receipt, label or statement looks
the same on every machine and nothing depends on the fonts the system happens to have.
reportlab reads only TrueType outlines, so an OpenType/CFF font such as Noto CJK cannot be used.
"""

import logging
import os
import re
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger(__name__)

#: Environment variable naming another TrueType (.ttf/.ttc) CJK font file to set documents in.
FONT_ENV = "BANGFU_CJK_FONT"

#: The font shipped with the package: printable ASCII, Latin-1, punctuation and every hanzi GBK encodes.
SHIPPED_FONT = Path(__file__).parent / "font" / "WenQuanYiMicroHei-subset.ttf"

_registered: dict[str, str] = {}
_lock = threading.Lock()

#: Punctuation that must not begin a line (a light form of Chinese kinsoku rules).
_NO_LINE_START = frozenset("，。、；：！？）》」』】〕…—％,.;:!?)]}%")
#: A run of non-CJK, non-space characters (a Latin word, a number, a URL) or one other character.
_TOKEN = re.compile(r"[^\s\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef]+|\s+|.")


def cjk_font(path: str | None = None) -> str:
    """Register a CJK font once and return its reportlab name.

    An explicit path must load, or reportlab's TTFError is raised. Otherwise the font named by
    BANGFU_CJK_FONT is used if it loads, and the shipped font if it does not or none is named.
    """
    if path is not None:
        return _register_truetype(path)
    configured = os.environ.get(FONT_ENV, "").strip()
    if configured:
        try:
            return _register_truetype(configured)
        except Exception as error:  # a broken or CFF font file: print in the shipped font rather than fail a sale
            log.warning("cannot use CJK font %s named by %s: %s; using the shipped font", configured, FONT_ENV, error)
    return _register_truetype(str(SHIPPED_FONT))


def embeds_truetype(path: str | None = None) -> bool:
    """Tell whether documents set in this font embed it as TrueType."""
    return is_truetype(cjk_font(path))


def is_truetype(font_name: str) -> bool:
    """Tell whether a registered font is an embedded TrueType font."""
    return isinstance(pdfmetrics.getFont(font_name), TTFont)


def _register_truetype(path: str) -> str:
    """Register a TrueType font file under a name of our own, once per file."""
    key = str(Path(path).resolve())
    with _lock:
        if key not in _registered:
            name = f"BangfuCJK{len(_registered)}"
            pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0))
            _registered[key] = name
        return _registered[key]


def text_width(text: str, font: str, size: float) -> float:
    """Width of a text in points."""
    return pdfmetrics.stringWidth(text, font, size)


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Break a text into lines no wider than width: between any two Chinese characters, at spaces otherwise."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph, font, size, width))
    return lines


def _wrap_paragraph(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedily fill lines with tokens, splitting a token only when it alone is too wide."""
    text = text.strip()
    if text_width(text, font, size) <= width:  # most texts fit whole, and then every token fits in turn
        return [text]
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        if text_width(line + token, font, size) <= width:
            line += token
        elif token.isspace():
            lines.append(line)
            line = ""
        else:
            lines, line = _break_before(lines, line, token, font, size, width)
    return [*lines, line.rstrip()] if line or not lines else lines


def _break_before(
    lines: list[str], line: str, token: str, font: str, size: float, width: float
) -> tuple[list[str], str]:
    """End the current line before token, keeping closing punctuation off the start of the next line."""
    carry = ""
    if token[0] in _NO_LINE_START and len(line) > 1:
        line, carry = line[:-1], line[-1]
    if line.strip():
        lines = [*lines, line.rstrip()]
    line = carry
    for char in token:
        if line and text_width(line + char, font, size) > width:
            lines = [*lines, line]
            line = ""
        line += char
    return lines, line


def draw_text(
    canvas: Canvas, x: float, y: float, text: str, font: str, size: float, *, align: str = "left", bold: bool = False
) -> None:
    """Draw one line of text with its baseline at y; align is "left", "centre" or "right" of x."""
    start = x if align == "left" else x - text_width(text, font, size) * {"centre": 0.5, "right": 1}[align]
    words = canvas.beginText(start, y)
    words.setFont(font, size)
    if not bold:
        # A text object changes no state of the canvas (each sets its font anew), so it needs no save and restore:
        # they were a fifth of a statement's drawing.
        words.textOut(text)
        canvas.drawText(words)
        return
    canvas.saveState()
    # CJK fonts ship without a bold face: outlining the glyphs as well as filling them thickens them.
    canvas.setLineWidth(size * 0.045)
    words.setTextRenderMode(2)
    words.textOut(text)
    canvas.drawText(words)
    canvas.restoreState()
