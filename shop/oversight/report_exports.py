"""The reports for the county bureau: the month's and the year's figures as CSV files and a printed PDF.

The figures come from shop.oversight.report_queries; this module only lays them out. The bureau
reads Chinese, so the labels are Chinese whatever language the page is shown in.
"""

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from shop.models import HouseholdCategory, SaleChannel
from shop.money import FEN_PER_YUAN, format_fen
from shop.oversight.report_queries import HouseholdMonth, MonthFigures, YearFigures
from shop.units import Unit, grams_to_jin_text

if TYPE_CHECKING:  # reportlab is loaded by the first report printed, not by every worker
    from shop.pdf.report import MonthReport, ReportTable

#: The tables of a month a CSV can hold, one table a file.
MONTH_TABLES = ("households", "products", "towns", "channels")

#: The categories as the bureau writes them.
CATEGORY_ZH = {
    HouseholdCategory.TUOPIN: "脱贫户",
    HouseholdCategory.JIANCE: "监测户",
    HouseholdCategory.YIBAN: "一般农户",
}
CHANNEL_ZH = {SaleChannel.COUNTER: "柜台", SaleChannel.ONLINE: "线上"}

#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def yuan(fen: int) -> str:
    """Fen as plain yuan text for a spreadsheet: 128050 → "1280.50", -5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, rest = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{rest:02d}"


def safe(text: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class BureauQuantity(NamedTuple):
    """A quantity as the bureau counts it: its number as text, and its unit."""

    amount: str
    unit: str  # 斤 or 件


def quantity_zh(quantity: int, unit: Unit) -> BureauQuantity:
    """A quantity and its unit as the bureau counts them: weighed goods in 斤, packs in 件."""
    if unit is Unit.GRAM:
        return BureauQuantity(grams_to_jin_text(quantity), "斤")
    return BureauQuantity(str(quantity), "件")


HOUSEHOLD_COLUMNS = (
    "户编号",
    "户主",
    "镇",
    "村",
    "类别",
    "人口",
    "入账（元）",
    "冲回（元）",
    "调整（元）",
    "净收入（元）",
    "人均（元）",
    "支付（元）",
    "月末余额（元）",
)


#: A household's month's amounts, in the order of the columns after its people count.
HOUSEHOLD_AMOUNTS = (
    "credited_fen",
    "reversed_fen",
    "adjusted_fen",
    "income_fen",
    "per_capita_fen",
    "paid_out_fen",
    "balance_fen",
)


def _household_cells(h: HouseholdMonth, money, text) -> tuple[str, ...]:
    """A household's row: money formatted by `money`, texts people typed passed through `text`."""
    return (
        text(h.code),
        text(h.head_name_masked),
        text(h.town.name_zh),
        text(h.village.name_zh),
        CATEGORY_ZH[h.category],
        str(h.members),
        *(money(getattr(h, amount)) for amount in HOUSEHOLD_AMOUNTS),
    )


class ExportTable(NamedTuple):
    """One table of a report as text: its Chinese title, its column headings and its rows."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _month_tables(figures: MonthFigures, money, text) -> dict[str, ExportTable]:
    """Each table of the month, by name; money and typed texts formatted as given."""
    return {
        "channels": ExportTable(
            "按渠道",
            ("渠道", "笔数", "销售额（元）", "退款（元）"),
            [
                (CHANNEL_ZH[c.channel], str(c.sales), money(c.total_fen), money(c.refunded_fen))
                for c in figures.channels
            ],
        ),
        "products": ExportTable(
            "按产品",
            ("产品", "数量", "单位", "销售额（元）"),
            [(text(p.name), *quantity_zh(p.quantity, p.unit), money(p.amount_fen)) for p in figures.products],
        ),
        "towns": ExportTable(
            "按镇",
            ("镇", "销售额（元）", "农户入账（元）"),
            [(text(t.town.name_zh), money(t.amount_fen), money(t.credit_fen)) for t in figures.towns],
        ),
        "households": ExportTable(
            "农户收入明细",
            HOUSEHOLD_COLUMNS,
            [_household_cells(h, money, text) for h in figures.households],
        ),
    }


def _csv(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A CSV with a byte-order mark, so that Excel opens the Chinese as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def month_csv(figures: MonthFigures, table: str = "households") -> str:
    """One table of the month as CSV for the bureau: the households' income unless another table is named."""
    chosen = _month_tables(figures, yuan, safe)[table]
    return _csv(chosen.columns, chosen.rows)


def year_csv(figures: YearFigures) -> str:
    """The year's household × month table as CSV for the bureau, with the per-capita figure against the line."""
    line = f"是否达到监测线（{figures.line.year}年 {yuan(figures.line.annual_fen)}元）"
    columns = (
        "户编号",
        "户主",
        "镇",
        "村",
        "类别",
        "人口",
        *(f"{m}月（元）" for m in range(1, 13)),
        "全年（元）",
        "人均（元）",
        line,
    )
    rows = [
        (
            safe(h.code),
            safe(h.head_name_masked),
            safe(h.town.name_zh),
            safe(h.village.name_zh),
            CATEGORY_ZH[h.category],
            str(h.members),
            *(yuan(v) for v in h.months),
            yuan(h.total_fen),
            yuan(h.per_capita_fen),
            "是" if h.at_or_above_line else "否",
        )
        for h in figures.households
    ]
    return _csv(columns, rows)


def month_document(figures: MonthFigures, counter_name: str, generated_at: datetime) -> "MonthReport":
    """The month as the PDF renderer takes it: Chinese labels and formatted figures.

    A4 portrait holds the households' twelve columns only without the ¥ and
    the "（元）" on every figure, so the tables say their unit once, in the title.
    """
    from shop.pdf.report import MonthReport

    summary = (
        ("销售笔数", str(figures.sales)),
        ("销售额", format_fen(figures.sales_fen)),
        ("退款", format_fen(figures.refunded_fen)),
        ("农户入账", format_fen(figures.credited_fen)),
        ("农户净收入", format_fen(figures.income_fen)),
        ("支付农户", format_fen(figures.paid_out_fen)),
        ("有收入农户", f"{len(figures.households)} 户"),
    )
    tables = _month_tables(figures, printed_yuan, str)
    del tables["households"]
    return MonthReport(
        counter_name,
        figures.month,
        summary,
        (*(_printed(table) for table in tables.values()), _printed_households(figures)),
        generated_at,
    )


def printed_yuan(fen: int) -> str:
    """Fen as yuan for print, grouped but without the ¥ the table's title already states: 1,280.50."""
    return format_fen(fen).replace("¥", "")


def _printed(table: ExportTable) -> "ReportTable":
    """A month table for print: "（元）" said once in the title, figures right-aligned."""
    from shop.pdf.report import ReportTable

    numeric = tuple(_numeric(column) for column in table.columns)
    short = tuple(column.replace("（元）", "") for column in table.columns)
    return ReportTable(f"{table.title}（金额：元）", short, tuple(table.rows), numeric)


def _printed_households(figures: MonthFigures) -> "ReportTable":
    """The households' table for print: each household and its place on two lines, so that the figures fit A4."""
    from shop.pdf.report import ReportTable

    columns = ("农户", "镇村 / 类别", "人口", "入账", "冲回", "调整", "净收入", "人均", "支付", "月末余额")
    rows = tuple(
        (
            f"{h.code}\n{h.head_name_masked}",
            f"{h.town.name_zh}{h.village.name_zh}\n{CATEGORY_ZH[h.category]}",
            str(h.members),
            *(printed_yuan(getattr(h, amount)) for amount in HOUSEHOLD_AMOUNTS),
        )
        for h in figures.households
    )
    if rows:
        hs = figures.households
        total = (
            "合计",
            f"{len(hs)} 户",
            "",
            *(printed_yuan(sum(getattr(h, a) for h in hs)) for a in ("credited_fen", "reversed_fen", "adjusted_fen")),
            printed_yuan(figures.income_fen),
            "",
            printed_yuan(figures.paid_out_fen),
            printed_yuan(sum(h.balance_fen for h in hs)),
        )
        rows += (total,)
    return ReportTable("农户收入明细（金额：元）", columns, rows, (False, False) + (True,) * 8)


def _numeric(column: str) -> bool:
    """Money, counts and quantities are right-aligned."""
    return "元" in column or column in ("笔数", "数量", "人口")
