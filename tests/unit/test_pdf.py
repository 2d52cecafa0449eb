"""Printed documents: receipt, receiving slip and package labels, read back with pypdf and pdftotext."""

import dataclasses
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from io import BytesIO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase.ttfonts import TTFError

from shop.pdf import (
    HelpedHousehold,
    PackageLabel,
    Receipt,
    ReceiptLine,
    ReceivingSlip,
    embeds_truetype,
    fonts,
    labels,
    render_labels,
    render_receipt,
    render_receiving_slip,
)
from shop.pdf.fonts import SHIPPED_FONT, cjk_font, text_width, wrap_text

RECEIPT = Receipt(
    counter_name="临高县消费帮扶专柜",
    counter_address="临高县临城镇解放路 18 号",
    sale_no="S000123",
    sold_at=datetime(2026, 11, 26, 14, 5),
    clerk="李丽",
    lines=(
        ReceiptLine("临高虾干", "250 克", "¥68.00/斤", 3400),
        ReceiptLine("马鲛鱼干", "2 件", "¥45.00/件", 9000),
    ),
    total_fen=12400,
    payment_method="现金",
    tendered_fen=15000,
    helped=(HelpedHousehold("临城镇大波村", "王**", 3060), HelpedHousehold("新盈镇头咀村", "欧***", 8100)),
    note="七日内凭票退换",
)

SLIP = ReceivingSlip(
    counter_name="临高县消费帮扶专柜",
    counter_address="临高县临城镇解放路 18 号",
    lot_code="P000042",
    received_at=datetime(2026, 11, 20, 9, 30),
    received_by="李丽",
    household_code="H00017",
    household_name="王大海",
    village="临城镇大波村",
    product_name="临高虾干",
    product_sku="XG-250",
    quantity_text="3000 克（6 斤）",
    best_before=date(2027, 5, 20),
    terms_text="代销：售出后农户得售价的 90%",
    trace_url="https://bangfu.example.cn/t/P000042",
)

LABEL = PackageLabel(
    product_name="临高虾干",
    net_text="净含量 250 克",
    price_text="¥34.00",
    best_before=date(2027, 5, 20),
    lot_code="P000042",
    origin="临城镇大波村 王**",
    cert_no="LG-2024-017",
    trace_url="https://bangfu.example.cn/t/P000042",
)


def read(pdf: bytes) -> PdfReader:
    """Open rendered bytes with pypdf."""
    return PdfReader(BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    """All the text pypdf extracts from the first page."""
    return read(pdf).pages[0].extract_text()


def pdftotext(pdf: bytes) -> str:
    """The text poppler's pdftotext reads, as a viewer or printer would; skipped without it, except under CI."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("CI reads the PDFs with pdftotext: install poppler-utils")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def readings(pdf: bytes) -> Iterator[str]:
    """The text of every page as pypdf reads it, then as pdftotext does (skipped there without it)."""
    yield "\n".join(page.extract_text() for page in read(pdf).pages)
    yield pdftotext(pdf)


def squeezed(text: str) -> str:
    """A text with its whitespace removed, so wrapped lines compare equal to the unwrapped text."""
    return "".join(text.split())


def page_size(pdf: bytes, page: int = 0) -> tuple[float, float]:
    """Width and height of a page in points."""
    box = read(pdf).pages[page].mediabox
    return float(box.width), float(box.height)


def text_runs(pdf: bytes) -> list[tuple[float, str, float]]:
    """Each run of text on the first page: x of its start, the text, its size."""
    runs: list[tuple[float, str, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((tm[4] + cm[4], text, size))

    read(pdf).pages[0].extract_text(visitor_text=visit)
    return runs


def assert_within_margins(pdf: bytes, margin: float) -> None:
    """Every run of text starts and ends inside the page's margins."""
    width = page_size(pdf)[0]
    for x, text, size in text_runs(pdf):
        assert x >= margin - 0.5, text
        assert x + text_width(text, cjk_font(), size) <= width - margin + 0.5, text


def font_programs(pdf: bytes) -> set[str]:
    """Which font-file keys (/FontFile2 is TrueType) the fonts on the first page carry, forms included."""
    found: set[str] = set()
    pending = [read(pdf).pages[0]["/Resources"]]
    while pending:
        resources = pending.pop().get_object()
        for font in resources.get("/Font", {}).values():
            descriptor = font.get_object().get("/FontDescriptor")
            if descriptor is not None:
                found |= {key for key in descriptor.get_object() if key.startswith("/FontFile")}
        for xobject in resources.get("/XObject", {}).values():
            if "/Resources" in xobject.get_object():
                pending.append(xobject.get_object()["/Resources"])
    return found


@pytest.fixture
def default_fonts(monkeypatch):
    """Documents set in the shipped font, whatever the environment says."""
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)


# The receipt


def test_a_receipt_is_a_pdf():
    assert render_receipt(RECEIPT).startswith(b"%PDF-")


def test_a_receipt_shows_the_sale_its_products_and_the_total():
    text = text_of(render_receipt(RECEIPT))
    for expected in ("临高县消费帮扶专柜", "S000123", "2026-11-26 14:05", "李丽", "临高虾干", "马鲛鱼干"):
        assert expected in text
    assert "250 克 × ¥68.00/斤" in text
    assert "合计 ¥124.00" in text
    assert "支付方式 现金" in text


def test_a_cash_receipt_shows_what_was_tendered_and_the_change():
    text = text_of(render_receipt(RECEIPT))
    assert "实收 ¥150.00" in text
    assert "找零 ¥26.00" in text


def test_a_receipt_paid_by_scan_has_no_change_line():
    text = text_of(render_receipt(dataclasses.replace(RECEIPT, payment_method="微信扫码", tendered_fen=None)))
    assert "微信扫码" in text
    assert "找零" not in text and "实收" not in text


def test_a_refunded_receipt_says_how_much_was_refunded():
    assert "已退款 ¥34.00" in text_of(render_receipt(dataclasses.replace(RECEIPT, refunded_fen=3400)))
    assert "已退款" not in text_of(render_receipt(RECEIPT))


def test_a_receipt_lists_the_households_it_helped():
    text = text_of(render_receipt(RECEIPT))
    assert "本次购买帮扶了以下农户：" in text
    assert "临城镇大波村 王** ¥30.60" in text
    assert "新盈镇头咀村 欧*** ¥81.00" in text
    assert "感谢您支持消费帮扶" in text
    assert "七日内凭票退换" in text


def test_a_receipt_that_helped_no_household_has_no_household_section():
    assert "帮扶了以下农户" not in text_of(render_receipt(dataclasses.replace(RECEIPT, helped=())))


def test_a_receipt_is_80_mm_wide_and_grows_with_its_lines():
    short = render_receipt(dataclasses.replace(RECEIPT, lines=RECEIPT.lines[:1]))
    long = render_receipt(dataclasses.replace(RECEIPT, lines=RECEIPT.lines * 5))
    assert page_size(short)[0] == pytest.approx(80 * mm, abs=0.5)
    assert page_size(long)[0] == pytest.approx(226.77, abs=0.5)
    assert page_size(long)[1] > page_size(short)[1] + 8 * 20
    assert len(read(long).pages) == 1


def test_a_long_product_name_wraps_within_the_receipt(default_fonts):
    name = "调楼港特级淡晒马鲛鱼干礼盒装渔家自晒无添加真空包装每盒五百克临高县新盈镇头咀村委会出品"
    village = "调楼镇调楼村委会黄龙村第三村民小组东边那条巷子"
    pdf = render_receipt(
        dataclasses.replace(
            RECEIPT,
            lines=(ReceiptLine(name, "2 件", "¥128.00/件", 25600),),
            helped=(HelpedHousehold(village, "符*", 23040),),
        )
    )
    text = text_of(pdf)
    assert name in squeezed(text) and name not in text
    assert "调楼镇调楼村委会黄龙村第三村民小组东边 ¥230.40\n那条巷子 符*" in text
    assert page_size(pdf)[0] == pytest.approx(80 * mm, abs=0.5)
    assert_within_margins(pdf, 4 * mm)


def test_cash_below_the_total_is_refused():
    with pytest.raises(ValueError):
        dataclasses.replace(RECEIPT, tendered_fen=RECEIPT.total_fen - 1)


# The receiving slip


def test_a_receiving_slip_is_one_a4_page():
    pdf = render_receiving_slip(SLIP)
    assert pdf.startswith(b"%PDF-")
    assert len(read(pdf).pages) == 1
    assert page_size(pdf) == pytest.approx((210 * mm, 297 * mm), abs=0.5)


def test_a_receiving_slip_records_the_delivery():
    text = text_of(render_receiving_slip(SLIP))
    assert "收货单" in text
    for label, value in [
        ("批次号", "P000042"),
        ("收货时间", "2026-11-20 09:30"),
        ("收货人", "李丽"),
        ("农户编号", "H00017"),
        ("村", "临城镇大波村"),
        ("商品", "临高虾干（XG-250）"),
        ("数量", "3000 克（6 斤）"),
        ("保质期至", "2027-05-20"),
        ("结算方式", "代销：售出后农户得售价的 90%"),
    ]:
        assert f"{label} {value}" in text


def test_a_receiving_slip_names_the_household_in_full_and_asks_both_sides_to_sign():
    text = text_of(render_receiving_slip(SLIP))
    assert "户主 王大海" in text
    assert "交货农户签字：" in text and "日期：" in text and "收货人签字：" in text


def test_a_receiving_slip_prints_its_trace_address_under_a_caption():
    text = text_of(render_receiving_slip(SLIP))
    assert "扫码查看溯源信息" in text
    assert "https://bangfu.example.cn/t/P000042" in text


# Package labels


@pytest.mark.parametrize("copies", [1, 3, 500])
def test_a_label_pdf_has_one_60_by_40_mm_page_per_copy(copies):
    pdf = read(render_labels(LABEL, copies=copies))
    assert len(pdf.pages) == copies
    for page in (pdf.pages[0], pdf.pages[-1]):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((60 * mm, 40 * mm), abs=0.5)


@pytest.mark.parametrize("copies", [0, -1, 501])
def test_copies_outside_one_to_five_hundred_are_refused(copies):
    with pytest.raises(ValueError):
        render_labels(LABEL, copies=copies)


def test_a_label_shows_the_product_price_and_where_it_came_from():
    pdf = render_labels(LABEL, copies=2)
    text = text_of(pdf)
    for expected in ("临高虾干", "净含量 250 克", "¥34.00", "保质期至 2027-05-20", "批次 P000042", "临城镇大波村 王**"):
        assert expected in text
    assert "认定证书 LG-2024-017" in text
    assert read(pdf).pages[1].extract_text() == text


def test_a_label_without_a_certificate_prints_no_certificate_line():
    assert "认定证书" not in text_of(render_labels(dataclasses.replace(LABEL, cert_no=None)))


def test_a_label_shortens_a_name_too_long_for_it():
    name = "调楼港特级淡晒马鲛鱼干礼盒装渔家自晒无添加真空包装每盒五百克临高县新盈镇出品"
    text = squeezed(text_of(render_labels(dataclasses.replace(LABEL, product_name=name))))
    assert "调楼港特级淡晒" in text and "…" in text
    assert "¥34.00" in text and "批次P000042" in text


def test_a_labels_text_stays_clear_of_its_qr_code(default_fonts):
    label = dataclasses.replace(
        LABEL, product_name="调楼港特级淡晒马鲛鱼干礼盒装渔家自晒", origin="调楼镇调楼村委会黄龙村第三村民小组 符*"
    )
    for x, text, size in text_runs(render_labels(label)):
        if text not in ("¥34.00", "扫码溯源"):
            assert x + text_width(text, cjk_font(), size) <= labels.QR_X, text


# Fonts


@pytest.mark.parametrize(
    "render",
    [lambda: render_receipt(RECEIPT), lambda: render_receiving_slip(SLIP), lambda: render_labels(LABEL)],
    ids=["receipt", "slip", "label"],
)
def test_documents_embed_the_shipped_truetype_font(render, default_fonts):
    assert cjk_font() == cjk_font(str(SHIPPED_FONT))
    assert embeds_truetype()
    assert "/FontFile2" in font_programs(render())


@pytest.mark.parametrize(
    ("render", "printed"),
    [
        (lambda: render_receipt(RECEIPT), ("临高县消费帮扶专柜", "250 克 × ¥68.00/斤", "¥124.00", "欧***")),
        (lambda: render_receiving_slip(SLIP), ("收货单", "临高虾干（XG-250）", "3000 克（6 斤）", "交货农户签字：")),
        (lambda: render_labels(LABEL), ("临高虾干", "净含量 250 克", "¥34.00", "临城镇大波村 王**", "扫码溯源")),
    ],
    ids=["receipt", "slip", "label"],
)
def test_a_pdf_reader_reads_the_chinese_back(render, printed, default_fonts):
    for text in readings(render()):
        for expected in printed:
            assert expected in text


def test_a_label_prints_a_name_with_rare_hanzi_and_a_fullwidth_price(default_fonts):
    rare = dataclasses.replace(LABEL, product_name="堃喆家芋头干", origin="皇桐镇 覃**", price_text="￥12.00")
    for text in readings(render_labels(rare)):
        assert "堃喆家芋头干" in text and "皇桐镇 覃**" in text and "￥12.00" in text


def test_a_font_named_in_the_environment_is_used(monkeypatch, tmp_path):
    other = tmp_path / "other.ttf"
    shutil.copyfile(SHIPPED_FONT, other)
    monkeypatch.setenv(fonts.FONT_ENV, str(other))
    assert cjk_font() == cjk_font(str(other)) != cjk_font(str(SHIPPED_FONT))
    assert "/FontFile2" in font_programs(render_receipt(RECEIPT))


def test_an_unusable_font_in_the_environment_is_passed_over_for_the_shipped_one(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "missing.ttf"))
    with caplog.at_level(logging.WARNING, logger="shop.pdf.fonts"):
        assert cjk_font() == cjk_font(str(SHIPPED_FONT))
    assert "missing.ttf" in caplog.text and fonts.FONT_ENV in caplog.text


def test_an_explicit_font_path_that_does_not_load_is_an_error(tmp_path):
    with pytest.raises(TTFError):
        cjk_font(str(tmp_path / "missing.ttf"))


# Wrapping


@given(st.text(alphabet="临高虾干马鲛鱼 ，。（）ab1-", max_size=80), st.sampled_from([30.0, 60.0, 204.0]))
def test_wrapped_lines_fit_the_width_and_lose_nothing_but_spaces(text, width):
    font = cjk_font()
    lines = wrap_text(text, font, 9, width)
    assert squeezed("".join(lines)) == squeezed(text)
    for line in lines:
        assert len(line) <= 2 or text_width(line, font, 9) <= width


def test_closing_punctuation_does_not_start_a_line():
    font = cjk_font()
    lines = wrap_text("临高虾干马鲛鱼干，鱿鱼干", font, 10, text_width("临高虾干马鲛鱼干", font, 10) + 1)
    assert lines == ["临高虾干马鲛鱼", "干，鱿鱼干"]


@pytest.mark.parametrize("value", ["https://bangfu.example.cn/trace/AbCdEf123456", "http://127.0.0.1:5000/v/1", "x"])
def test_the_qr_code_drawn_has_the_very_modules_reportlab_encodes(value):
    from reportlab.graphics.barcode.qr import QrCodeWidget

    from shop.pdf.labels import qr_runs

    widget = QrCodeWidget(value, barLevel="M")
    widget.qr.make()
    expected = [
        (row, column) for row, modules in enumerate(widget.qr.modules) for column, dark in enumerate(modules) if dark
    ]
    count, runs = qr_runs(value)
    drawn = [(row, column + i) for row, column, length in runs for i in range(length)]
    assert count == widget.qr.getModuleCount() and drawn == expected
