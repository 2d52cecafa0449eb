"""Monthly statements, payout receipts and monthly reports, read back with pypdf and pdftotext."""

import dataclasses
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from reportlab.lib.units import mm

from shop.money import format_fen
from shop.pdf import fonts
from shop.pdf.fonts import cjk_font, text_width
from shop.pdf.payout import PayoutReceipt, capital_amount, render_payout_receipt
from shop.pdf.report import MonthReport, ReportTable, render_month_report
from shop.pdf.statement import HouseholdStatement, StatementRow, render_statement
from tests.unit.test_pdf import font_programs, page_size, read, readings, squeezed


def entries() -> tuple[StatementRow, ...]:
    """Twelve entries of a month: credits, a reversal, a payout, adjustments, and one amendment."""
    specs = [
        ("credit", "虾干 1.50 斤 · 销售 #12 · 批次 L0007", 3060),
        ("credit", "马鲛鱼干 2 件 · 销售 #15 · 批次 L0009", 8100),
        ("reversal", "退货冲减 · 销售 #12 虾干 0.50 斤 · 批次 L0007", -1020),
        ("credit", "调楼港特级淡晒马鲛鱼干礼盒装渔家自晒无添加真空包装 3 盒 · 线上订单 #O000231 · 批次 L0011", 34560),
        ("credit", "虾干 0.80 斤 · 销售 #21 · 批次 L0007", 1632),
        ("payout", "收益支付 P000012 · 现金", -20000),
        ("credit", "黄秋葵 5 斤 · 销售 #30 · 批次 L0013", 2250),
        ("adjustment", "11月8日称重误差补记", 500),
        ("credit", "虾干 2.00 斤 · 销售 #33 · 批次 L0007", 4080),
        ("credit", "地瓜干 3 袋 · 销售 #35 · 批次 L0014", 2430),
        ("credit", "虾干 1.00 斤 · 销售 #40 · 批次 L0007", 2040),
        ("adjustment", "销售 #15 分成比例录入有误，冲回多记部分", -810),
    ]
    rows, balance = [], 12000
    for index, (kind, description, amount) in enumerate(specs):
        balance += amount
        day = date(2026, 11, 2 + 2 * index)
        rows.append(StatementRow(day, 100 + index, kind, description, amount, balance, amendment=index == 11))
    return tuple(rows)


ROWS = entries()

STATEMENT = HouseholdStatement(
    counter_name="临高县消费帮扶专柜",
    month=date(2026, 11, 1),
    household_code="H00017",
    head_name_masked="王**",
    town="临城镇",
    village="大波村",
    members=4,
    category="监测户（脱贫不稳定户）",
    officer="符小梅",
    opening_balance_fen=12000,
    credited_fen=58152,
    reversed_fen=1020,
    adjusted_fen=-310,
    paid_out_fen=20000,
    closing_balance_fen=ROWS[-1].balance_fen,
    income_fen=56822,
    per_capita_fen=14205,
    rows=ROWS,
    review="已由 符小梅 于 2026-12-05 审核确认",
    verify_url="https://bangfu.example.cn/v/s/H00017/2026-11",
    digest="a1b2c3d4e5f6a7b8",
    generated_at=datetime(2026, 12, 1, 8, 30),
)

PAYOUT = PayoutReceipt(
    counter_name="临高县消费帮扶专柜",
    number="P000012",
    paid_on=date(2026, 11, 30),
    household_code="H00017",
    head_name="王大海",
    village="临城镇 大波村",
    amount_fen=128050,
    method="银行转账",
    reference="6217003220261130000458",
    balance_before_fen=156000,
    balance_after_fen=27950,
    recorded_by="李丽",
    verify_url="https://bangfu.example.cn/v/p/P000012",
)

PRODUCTS = ReportTable(
    "按商品统计",
    ("商品", "规格", "销量", "销售额"),
    (
        ("临高虾干", "250 克/袋", "312 袋", "¥21,216.00"),
        ("调楼港特级淡晒马鲛鱼干礼盒装渔家自晒无添加真空包装", "500 克/盒", "86 盒", "¥11,008.00"),
        ("地瓜干", "200 克/袋", "150 袋", "¥2,250.00"),
    ),
    (False, False, True, True),
)
PAYMENTS = ReportTable(
    "按支付方式统计",
    ("支付方式", "笔数", "金额"),
    (("现金", "512", "¥40,000.00"), ("微信扫码", "640", "¥70,000.00")),
    (False, True, True),
)
REFUNDS = ReportTable("退款记录", ("日期", "单号", "金额"), (), (False, False, True))

REPORT = MonthReport(
    counter_name="临高县消费帮扶专柜",
    month=date(2026, 11, 1),
    summary=(("销售总额", "¥123,456.78"), ("销售笔数", "1,234 笔"), ("帮扶农户", "55 户")),
    tables=(PRODUCTS, PAYMENTS, REFUNDS),
    generated_at=datetime(2026, 12, 1, 9, 0),
)


@pytest.fixture
def default_fonts(monkeypatch):
    """Documents set in the shipped font, whatever the environment says."""
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)


def pages_text(pdf: bytes) -> list[str]:
    """The text pypdf extracts from each page."""
    return [page.extract_text() for page in read(pdf).pages]


def all_text(pdf: bytes) -> str:
    """The text of every page, one after the other."""
    return "\n".join(pages_text(pdf))


def layout_text(pdf: bytes, tmp_path: Path) -> str:
    """The text as `pdftotext -layout` sets it out, columns kept apart by spaces."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    source = tmp_path / "document.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout


def right_edges(pdf: bytes, texts: set[str], page: int = 0) -> dict[str, float]:
    """Where each of the given runs of text ends on a page, in points from the left."""
    edges: dict[str, float] = {}

    def visit(text, cm, tm, font, size):
        if text in texts:
            edges[text] = tm[4] + cm[4] + text_width(text, cjk_font(), size)

    read(pdf).pages[page].extract_text(visitor_text=visit)
    return edges


def long_statement(count: int = 120) -> HouseholdStatement:
    """A statement with count credits, each of a different amount."""
    rows = tuple(
        StatementRow(date(2026, 11, 1 + i % 30), i + 1, "credit", f"虾干 · 销售 #{i + 1}", 1000 + i, 50000 + i)
        for i in range(count)
    )
    return dataclasses.replace(STATEMENT, rows=rows)


# All three documents


@pytest.mark.parametrize(
    "render",
    [
        lambda: render_statement(STATEMENT),
        lambda: render_payout_receipt(PAYOUT),
        lambda: render_month_report(REPORT),
    ],
    ids=["statement", "payout", "report"],
)
def test_each_document_is_an_a4_pdf_that_embeds_a_truetype_cjk_font(render, default_fonts):
    pdf = render()
    assert pdf.startswith(b"%PDF-")
    assert page_size(pdf) == pytest.approx((210 * mm, 297 * mm), abs=0.5)
    assert "/FontFile2" in font_programs(pdf)


# The monthly statement


def test_a_statement_names_the_household_and_the_month():
    text = pages_text(render_statement(STATEMENT))[0]
    assert "临高县消费帮扶专柜 帮扶收益对账单" in text
    assert "2026年11月" in text
    for label, value in [
        ("农户编号", "H00017"),
        ("户主", "王**"),
        ("乡镇", "临城镇"),
        ("村", "大波村"),
        ("家庭人口", "4 人"),
        ("帮扶责任人", "符小梅"),
        ("户类别", "监测户（脱贫不稳定户）"),
    ]:
        assert f"{label} {value}" in text


def test_a_statement_sums_up_the_month():
    text = squeezed(all_text(render_statement(STATEMENT)))
    for label, fen in [
        ("期初余额", 12000),
        ("本月入账", 58152),
        ("退款冲减", 1020),
        ("调整", -310),
        ("本月支付", 20000),
        ("期末余额", 48822),
        ("本月收益", 56822),
        ("人均收益", 14205),
    ]:
        assert label in text
        assert format_fen(fen) in text
    assert STATEMENT.closing_balance_fen == 48822


def test_a_statement_keeps_its_minus_signs_middle_dots_and_chinese(default_fonts):
    for text in map(squeezed, readings(render_statement(STATEMENT))):
        assert "期末余额=期初余额+本月入账−退款冲减+调整−本月支付" in text
        assert "本月收益=本月入账−退款冲减+调整；人均收益=本月收益÷家庭人口（4人）" in text
        assert "月度收益对账单·2026年11月" in text
        assert "收益支付P000012·现金" in text and "符小梅" in text


def test_a_statement_lists_every_entry_with_its_signed_amount_and_running_balance():
    text = all_text(render_statement(STATEMENT))
    for row in ROWS:
        amount = format_fen(row.amount_fen) if row.amount_fen < 0 else f"+{format_fen(row.amount_fen)}"
        assert f"{amount} {format_fen(row.balance_fen)}" in text
        assert f"{row.entry_date.isoformat()} {row.seq}" in text
    assert "调楼港特级淡晒马鲛鱼干礼盒装渔家自晒无添加真空包装3盒·线上订单#O000231·批次L0011" in squeezed(text)
    for kind in ("入账", "冲减", "支付", "调整"):
        assert kind in text


def test_a_statement_ends_with_the_review_the_qr_code_and_both_signatures():
    text = all_text(render_statement(STATEMENT))
    assert "审核情况：已由 符小梅 于 2026-12-05 审核确认" in text
    assert "扫码核验" in text and "a1b2c3d4e5f6a7b8" in text
    assert "户主签字：" in text and "帮扶责任人签字：" in text
    assert text.count("日期：") == 2


def test_an_entry_written_after_the_month_was_confirmed_is_marked_as_an_amendment():
    marked = all_text(render_statement(STATEMENT))
    unmarked = all_text(render_statement(dataclasses.replace(STATEMENT, rows=ROWS[:-1])))
    assert "调整\n更正" in marked or "调整 更正" in marked
    assert "是本月对账确认后补记的更正" in marked
    assert "更正" not in unmarked


def test_the_amendment_mark_sits_in_the_type_column_of_its_own_row(tmp_path):
    lines = layout_text(render_statement(STATEMENT), tmp_path).splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("2026-11-24"))
    assert "调整" in lines[at]
    assert "更正" in lines[at + 1] and "2026-11" not in lines[at + 1]


def test_an_empty_month_says_so_and_still_asks_for_signatures():
    pdf = render_statement(dataclasses.replace(STATEMENT, rows=(), officer="", review="尚未审核"))
    text = all_text(pdf)
    assert "本月无收支记录" in text
    assert "帮扶责任人 —" in text
    assert "审核情况：尚未审核" in text
    assert "户主签字：" in text
    assert "第 1 页 / 共 1 页" in text
    assert len(read(pdf).pages) == 1


def test_a_month_that_fits_is_one_page():
    assert len(read(render_statement(STATEMENT)).pages) == 1


def test_a_long_statement_repeats_the_table_header_and_numbers_every_page():
    pdf = render_statement(long_statement(120))
    pages = pages_text(pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
        assert re.search(r"日期 编号 类型 摘要 金额 余额", text), number
        assert "H00017 · 2026年11月" in text
    for text in pages[1:]:
        assert "H00017 王**（续）" in text


def test_a_long_statement_keeps_every_entry_once_and_signs_only_at_the_end():
    pages = pages_text(render_statement(long_statement(120)))
    text = "\n".join(pages)
    for i in range(120):
        assert text.count(f"+{format_fen(1000 + i)} {format_fen(50000 + i)}") == 1
    assert all("户主签字" not in page for page in pages[:-1])
    assert "户主签字" in pages[-1] and "扫码核验" in pages[-1]


def test_pdftotext_reads_each_entry_as_one_line_of_columns(tmp_path):
    text = layout_text(render_statement(STATEMENT), tmp_path)
    payout = re.search(r"^\s*2026-11-12\s+105\s+支付\s+收益支付 P000012 · 现金\s+(\S+)\s+(\S+)\s*$", text, re.M)
    assert payout is not None
    assert payout.groups() == ("-¥200.00", format_fen(ROWS[5].balance_fen))
    assert "第1页/共1页" in squeezed(text)


def test_amounts_and_balances_are_right_aligned_in_their_columns(default_fonts):
    pdf = render_statement(STATEMENT)
    amounts = {"+¥30.60", "-¥200.00", "+¥345.60"}
    balances = {format_fen(ROWS[i].balance_fen) for i in (0, 5, 3)}
    assert len(set(round(x, 1) for x in right_edges(pdf, amounts).values())) == 1
    assert len(set(round(x, 1) for x in right_edges(pdf, balances).values())) == 1


# The payout receipt


def test_a_payout_receipt_is_one_page_with_a_stub_and_the_households_copy():
    pdf = render_payout_receipt(PAYOUT)
    text = all_text(pdf)
    assert len(read(pdf).pages) == 1
    assert "第一联 存根联" in text and "第二联 领款联" in text
    assert "沿此虚线剪开" in text
    assert text.count("临高县消费帮扶专柜 收益支付凭证") == 2


def test_a_payout_receipt_states_the_amount_in_figures_and_in_capitals_on_both_copies():
    text = all_text(render_payout_receipt(PAYOUT))
    assert text.count("金额（小写） ¥1,280.50") == 2
    assert text.count("金额（大写） 人民币壹仟贰佰捌拾元伍角") == 2


def test_a_payout_receipt_records_the_payee_the_payment_and_the_balance():
    text = all_text(render_payout_receipt(PAYOUT))
    for expected in (
        "凭证编号：P000012",
        "支付日期：2026年11月30日",
        "农户编号 H00017",
        "所在村 临城镇 大波村",
        "领款人（户主） 王大海",
        "经办人 李丽",
        "支付方式 银行转账",
        "转账流水号 6217003220261130000458",
        "支付前余额 ¥1,560.00",
        "支付后余额 ¥279.50",
    ):
        assert text.count(expected) == 2, expected


def test_a_payout_receipt_has_blanks_for_the_payee_the_id_check_and_the_clerk():
    text = all_text(render_payout_receipt(PAYOUT))
    for label in ("领款人签字：", "身份核对：", "经办人签字：", "扫码核验"):
        assert text.count(label) == 2
    assert len(re.findall(r"(?<!支付)日期：", text)) == 4


def test_a_cash_payout_has_no_transfer_reference():
    text = all_text(render_payout_receipt(dataclasses.replace(PAYOUT, method="现金", reference="")))
    assert text.count("支付方式 现金") == 2
    assert text.count("转账流水号 —") == 2


@pytest.mark.parametrize(
    "fen, words",
    [
        # Whole yuan end in 整; 拾 always has its digit.
        (0, "零元整"),
        (100, "壹元整"),
        (1000, "壹拾元整"),
        (1100, "壹拾壹元整"),
        (10000000, "壹拾万元整"),
        (10_000_000_000, "壹亿元整"),
        # Less than a yuan: no 元, no 整 after 角 or 分.
        (5, "伍分"),
        (50, "伍角"),
        (55, "伍角伍分"),
        # A zero between digits is 零 (the rules' ¥1,409.50), several zeros one 零 (¥6,007.14).
        (140950, "壹仟肆佰零玖元伍角"),
        (600714, "陆仟零柒元壹角肆分"),
        (10100, "壹佰零壹元整"),
        (1000100, "壹万零壹元整"),
        (10010000, "壹拾万零壹佰元整"),
        # No 角 before 分: 零 after 元 (the rules' ¥16,409.02 and ¥325.04).
        (1640902, "壹万陆仟肆佰零玖元零贰分"),
        (32504, "叁佰贰拾伍元零肆分"),
        (1005, "壹拾元零伍分"),
        (100001, "壹仟元零壹分"),
        (105, "壹元零伍分"),
        # 元位 or 万位 zero before a 角 or 仟: the rules allow leaving 零 out, as in ¥1,680.32; we do.
        (168032, "壹仟陆佰捌拾元叁角贰分"),
        (128050, "壹仟贰佰捌拾元伍角"),
        (1280050, "壹万贰仟捌佰元伍角"),
        (20030, "贰佰元叁角"),
        (10700053, "壹拾万柒仟元伍角叁分"),
        # The most a voucher holds.
        (99_999_999_999_999, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_capital_amount_writes_amounts_by_the_banks_rules(fen, words):
    assert capital_amount(fen) == words


@pytest.mark.parametrize("fen", [-1, -100, 100_000_000_000_000])
def test_capital_amount_refuses_negative_and_overlarge_amounts(fen):
    with pytest.raises(ValueError):
        capital_amount(fen)


# The monthly report


def test_a_report_shows_its_heading_summary_and_every_tables_cells():
    pdf = render_month_report(REPORT)
    text = all_text(pdf)
    assert "临高县消费帮扶专柜 月度帮扶销售报表" in text
    assert "报表月份：2026年11月" in text
    for label, value in REPORT.summary:
        assert f"{label} {value}" in text
    for table in (PRODUCTS, PAYMENTS):
        assert table.title in text
        assert " ".join(table.columns) in text
        for row in table.rows:
            for cell in row:
                assert squeezed(cell) in squeezed(text)
    assert "第 1 页 / 共 1 页" in text


def test_a_report_table_without_rows_says_there_is_no_data():
    text = all_text(render_month_report(REPORT))
    assert "退款记录" in text and "日期 单号 金额" in text
    assert "（本月无数据）" in text


def test_a_reports_numeric_columns_are_right_aligned(default_fonts):
    edges = right_edges(render_month_report(REPORT), {"¥21,216.00", "¥11,008.00", "¥2,250.00"})
    assert len(edges) == 3
    assert len(set(round(x, 1) for x in edges.values())) == 1


def test_a_long_report_table_runs_over_pages_with_its_header_repeated(tmp_path):
    households = ReportTable(
        "按农户统计",
        ("农户编号", "户主", "本月收益"),
        tuple((f"H{i:05d}", "王**", format_fen(1000 * i + 7)) for i in range(1, 121)),
        (False, False, True),
    )
    pdf = render_month_report(dataclasses.replace(REPORT, tables=(PRODUCTS, households, PAYMENTS)))
    pages = pages_text(pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages[1:], start=2):
        assert "按农户统计（续）" in text or "按支付方式统计" in text
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
    continued = [text for text in pages if "按农户统计（续）" in text]
    assert continued and all("农户编号 户主 本月收益" in text for text in continued)
    text = "\n".join(pages)
    for i in range(1, 121):
        assert text.count(f"H{i:05d} 王** {format_fen(1000 * i + 7)}") == 1
    layout = layout_text(pdf, tmp_path)
    assert re.search(r"^\s*H00120\s+王\*\*\s+¥1,200.07\s*$", layout, re.M)


def test_a_report_table_whose_rows_do_not_match_its_columns_is_refused():
    with pytest.raises(ValueError):
        ReportTable("按商品统计", ("商品", "销量"), (("虾干",),), (False, True))
    with pytest.raises(ValueError):
        ReportTable("按商品统计", ("商品", "销量"), (("虾干", "3 袋"),), (False,))


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")), reason="needs poppler and zbar")
@pytest.mark.parametrize("document", [STATEMENT, PAYOUT], ids=["statement", "payout receipt"])
def test_the_printed_qr_code_scans_to_its_verification_link(document, tmp_path):
    render = render_statement if isinstance(document, HouseholdStatement) else render_payout_receipt
    (tmp_path / "doc.pdf").write_bytes(render(document))
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "doc.pdf", "page"], cwd=tmp_path, check=True)
    scanned = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(next(tmp_path.glob("page*.png")))], capture_output=True, text=True
    )
    # The payout receipt carries two copies, each with its code.
    assert set(scanned.stdout.split()) == {document.verify_url}
