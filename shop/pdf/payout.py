"""The payout receipt (收益支付凭证) a household signs when the counter pays out its earnings.

One A4 page holding two identical copies, the stub (存根联) the counter files and the copy (领款联)
the household keeps, separated by a dashed line to cut along. Each copy states the amount in
figures and in capital numerals (大写), as every Chinese payment voucher does, so that neither can
be altered without the other disagreeing.
"""

from dataclasses import dataclass
from datetime import date
from io import BytesIO

from reportlab.lib.colors import black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shop.money import format_fen
from shop.pdf.fonts import cjk_font, draw_text, text_width
from shop.pdf.household_card import draw_own_page_qr
from shop.pdf.labels import draw_qr
from shop.pdf.table import MUTED, Field, draw_fields

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
COPY_HEIGHT = PAGE_HEIGHT / 2
BODY = 11
QR_SIZE = 22 * mm
COPIES = (("第一联", "存根联", "专柜留存"), ("第二联", "领款联", "交领款人收执"))

DIGITS = "零壹贰叁肆伍陆柒捌玖"
#: Place names within a group of four digits, lowest first.
PLACES = ("", "拾", "佰", "仟")
#: Group names for the yuan part, lowest first: 元, then 万 and 亿 groups of four digits.
GROUPS = ("元", "万", "亿")
#: The most capital_amount writes: 9999亿9999万9999元9角9分, as a bank voucher's boxes allow.
MAX_CAPITAL_FEN = 10**12 * 100 - 1


@dataclass(frozen=True)
class PayoutReceipt:
    """One payout to a household; money in fen, labels already in Chinese."""

    counter_name: str
    number: str
    paid_on: date
    household_code: str
    head_name: str
    village: str
    amount_fen: int
    method: str
    reference: str
    balance_before_fen: int
    balance_after_fen: int
    recorded_by: str
    verify_url: str
    #: The household's own page, when it has a live link; nothing is printed without one.
    own_page_url: str = ""


def capital_amount(fen: int) -> str:
    """An amount in fen written in capital numerals (大写金额) by the banks' rules.

    Every 拾 has its digit (壹拾). A gap of zeros between two digits is one 零, except that the 零 may
    be left out when the gap ends at 元 or 万 and the next digit is 角 or 仟 (¥1,680.32 →
    壹仟陆佰捌拾元叁角贰分); we always leave it out there. A missing 角 before 分 always takes 零
    (¥325.04 → 叁佰贰拾伍元零肆分). An amount ending at 元 ends in 整; at 角 or 分 it does not.
    """
    if not 0 <= fen <= MAX_CAPITAL_FEN:
        raise ValueError(f"cannot write {fen} fen in capital numerals")
    if fen == 0:
        return "零元整"
    yuan, jiao, cent = fen // 100, fen // 10 % 10, fen % 10
    # Each digit with its place, highest first: the yuan digits, then 角 and 分.
    places = [(yuan // 10**i % 10, i) for i in reversed(range(len(str(yuan))))] if yuan else []
    places += [(jiao, -1), (cent, -2)]
    words, gap = [], False
    for digit, place in places:
        if digit:
            if gap and not _zero_optional(place):
                words.append("零")
            words.append(DIGITS[digit] + _place_name(place))
            gap = False
        elif words:
            gap = True
        if place >= 0 and place % 4 == 0 and _group_has_digits(yuan, place):
            words.append(GROUPS[place // 4])
    return "".join(words) + ("整" if cent == 0 and jiao == 0 else "")


def _zero_optional(place: int) -> bool:
    """Whether a gap of zeros ending before this place may go without 零.

    A gap before 仟 has crossed 万 or 亿, one before 角 has crossed 元: the banks allow either there.
    """
    return place == -1 or (place >= 0 and place % 4 == 3)


def _place_name(place: int) -> str:
    """拾, 佰 or 仟 within a group of four yuan digits; 角 and 分 below the yuan."""
    return {-1: "角", -2: "分"}.get(place, PLACES[place % 4] if place >= 0 else "")


def _group_has_digits(yuan: int, place: int) -> bool:
    """Whether the group of four digits ending at place has any digit, so needs its 元, 万 or 亿.

    The 元 group always has its name once there are any yuan, as in 壹拾万元整.
    """
    return place == 0 or yuan // 10**place % 10_000 != 0


def render_payout_receipt(receipt: PayoutReceipt, font_path: str | None = None) -> bytes:
    """Render a payout receipt as one A4 page: the stub above, the household's copy below."""
    font = cjk_font(font_path)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"收益支付凭证 {receipt.number}")
    canvas.setAuthor(receipt.counter_name)
    for index, copy in enumerate(COPIES):
        _copy(canvas, receipt, font, copy, PAGE_HEIGHT - index * COPY_HEIGHT)
    _cut_line(canvas, font, COPY_HEIGHT)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _copy(canvas: Canvas, receipt: PayoutReceipt, font: str, copy: tuple[str, str, str], top: float) -> None:
    """One copy of the voucher in the half page below top."""
    y = _heading(canvas, receipt, font, copy, top - 13 * mm)
    y = draw_fields(canvas, font, _fields(receipt), MARGIN, y - 3 * mm, WIDTH, 30 * mm, BODY)
    _sign(canvas, receipt, font, y - 6 * mm)


def _heading(canvas: Canvas, receipt: PayoutReceipt, font: str, copy: tuple[str, str, str], top: float) -> float:
    """Title, which copy this is, and the voucher's number and date; returns the y below them."""
    ordinal, name, keeper = copy
    title = f"{receipt.counter_name} 收益支付凭证"
    # A long counter name shrinks the title rather than push a second line into the half page.
    size = min(15, 15 * WIDTH / text_width(title, font, 15))
    draw_text(canvas, PAGE_WIDTH / 2, top - 15, title, font, size, align="centre", bold=True)
    y = top - 15 - 8 * mm
    draw_text(canvas, MARGIN, y, f"凭证编号：{receipt.number}", font, BODY)
    draw_text(canvas, PAGE_WIDTH / 2, y, f"{ordinal} {name}（{keeper}）", font, BODY, align="centre", bold=True)
    paid_on = receipt.paid_on
    draw_text(
        canvas,
        PAGE_WIDTH - MARGIN,
        y,
        f"支付日期：{paid_on.year}年{paid_on.month}月{paid_on.day}日",
        font,
        BODY,
        align="right",
    )
    return y - 2.5 * mm


def _fields(receipt: PayoutReceipt) -> list[tuple[Field, ...]]:
    """The voucher's grid: payee, amount twice over, how it was paid, and the balance it leaves."""
    return [
        (Field("农户编号", receipt.household_code), Field("所在村", receipt.village)),
        (Field("领款人（户主）", receipt.head_name), Field("经办人", receipt.recorded_by)),
        (Field("金额（小写）", format_fen(receipt.amount_fen), bold=True),),
        (Field("金额（大写）", f"人民币{capital_amount(receipt.amount_fen)}", bold=True),),
        (Field("支付方式", receipt.method), Field("转账流水号", receipt.reference or "—")),
        (
            Field("支付前余额", format_fen(receipt.balance_before_fen)),
            Field("支付后余额", format_fen(receipt.balance_after_fen)),
        ),
    ]


def _sign(canvas: Canvas, receipt: PayoutReceipt, font: str, top: float) -> None:
    """The payee's acknowledgement and the blanks to sign, with the QR code on the right."""
    qr_x = PAGE_WIDTH - MARGIN - QR_SIZE
    draw_qr(canvas, receipt.verify_url, qr_x, top - QR_SIZE, QR_SIZE)
    draw_text(canvas, qr_x + QR_SIZE / 2, top - QR_SIZE - 2.5 * mm, "扫码核验", font, 8, align="centre")
    if receipt.own_page_url:
        # The household's page beside the check: its signature blanks end before it.
        own_x = qr_x - QR_SIZE - 6 * mm
        draw_own_page_qr(canvas, receipt.own_page_url, own_x, top, QR_SIZE, font, QR_SIZE * 2 + 4 * mm)
        qr_x = own_x
    y = top - BODY
    draw_text(canvas, MARGIN, y, "上述款项已如数领取，金额无误。", font, BODY)
    labels = ("领款人签字：", "身份核对：", "经办人签字：")
    start = MARGIN + max(text_width(label, font, BODY) for label in labels)
    date_x = qr_x - 52 * mm
    for label in labels:
        y -= 11 * mm
        draw_text(canvas, MARGIN, y, label, font, BODY)
        _blank(canvas, start, date_x - 6 * mm, y)
        if label != "身份核对：":
            draw_text(canvas, date_x, y, "日期：", font, BODY)
            _blank(canvas, date_x + text_width("日期：", font, BODY), qr_x - 8 * mm, y)
    canvas.setFillColor(MUTED)
    draw_text(canvas, start, y + 11 * mm - 4.4 * mm, "（核对身份证件后填写证件号码后四位）", font, 7.5)
    canvas.setFillColor(black)


def _blank(canvas: Canvas, start: float, end: float, y: float) -> None:
    """A line to write on, just under the baseline."""
    canvas.saveState()
    canvas.setLineWidth(0.7)
    canvas.line(start, y - 2, end, y - 2)
    canvas.restoreState()


def _cut_line(canvas: Canvas, font: str, y: float) -> None:
    """A dashed line across the page between the copies, with a note in a gap at its middle."""
    canvas.saveState()
    canvas.setDash(4, 3)
    canvas.setLineWidth(0.6)
    canvas.setStrokeColor(MUTED)
    canvas.line(8 * mm, y, PAGE_WIDTH - 8 * mm, y)
    note = "沿此虚线剪开"
    half = text_width(note, font, 8) / 2 + 2 * mm
    canvas.setFillColor(white)
    canvas.rect(PAGE_WIDTH / 2 - half, y - 2 * mm, 2 * half, 4 * mm, stroke=0, fill=1)
    canvas.setFillColor(MUTED)
    draw_text(canvas, PAGE_WIDTH / 2, y - 8 * 0.35, note, font, 8, align="centre")
    canvas.restoreState()
