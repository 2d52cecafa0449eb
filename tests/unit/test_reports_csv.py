"""The bureau's CSV: money as plain yuan text, a byte-order mark, and no formulas from typed names."""

import csv
import io
from datetime import date

import pytest

from shop.models import HouseholdCategory, SaleChannel
from shop.oversight.monitoring import MonitoringLine
from shop.oversight.report_exports import month_csv, safe, year_csv, yuan
from shop.oversight.report_queries import (
    ChannelFigures,
    HouseholdMonth,
    HouseholdYear,
    MonthFigures,
    Place,
    ProductFigures,
    TownFigures,
    YearFigures,
)
from shop.units import Unit


@pytest.mark.parametrize(
    "fen, text",
    [(0, "0.00"), (5, "0.05"), (128050, "1280.50"), (-5, "-0.05"), (-1250, "-12.50"), (10**12, "10000000000.00")],
)
def test_yuan_is_plain_text_with_two_decimals_and_no_grouping(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1"])
def test_a_text_that_would_start_a_formula_gets_an_apostrophe(text):
    assert safe(text) == "'" + text


@pytest.mark.parametrize("text", ["王**", "DB001", "虾干 500g", "a=b", ""])
def test_other_texts_are_left_alone(text):
    assert safe(text) == text


def household(code: str, head: str, income: int) -> HouseholdMonth:
    return HouseholdMonth(
        household_id=1,
        code=code,
        head_name_masked=head,
        town=Place("临城镇", "Lincheng"),
        village=Place("=大波村", "Dabo"),
        category=HouseholdCategory.JIANCE,
        members=3,
        credited_fen=income,
        reversed_fen=0,
        adjusted_fen=-100,
        income_fen=income - 100,
        per_capita_fen=(income - 100) // 3,
        paid_out_fen=0,
        balance_fen=income - 100,
    )


def figures() -> MonthFigures:
    return MonthFigures(
        month=date(2026, 11, 1),
        counter=None,
        channels=[ChannelFigures(SaleChannel.COUNTER, 2, 10400, 1224), ChannelFigures(SaleChannel.ONLINE, 0, 0, 0)],
        products=[ProductFigures(1, "-虾干", Unit.GRAM, 1250, 17000), ProductFigures(2, "虾酱", Unit.PIECE, 3, 5400)],
        towns=[TownFigures(Place("临城镇", "Lincheng"), 17000, 15300)],
        households=[household("DB001", "=*****", 128050)],
    )


def rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_households_csv_has_chinese_headers_yuan_and_guarded_names():
    header, row = rows(month_csv(figures()))
    assert header[:6] == ["户编号", "户主", "镇", "村", "类别", "人口"]
    assert row[:6] == ["DB001", "'=*****", "临城镇", "'=大波村", "监测户", "3"]
    assert row[6:] == ["1280.50", "0.00", "-1.00", "1279.50", "426.50", "0.00", "1279.50"]


def test_each_month_table_has_its_own_csv():
    assert rows(month_csv(figures(), "products")) == [
        ["产品", "数量", "单位", "销售额（元）"],
        ["'-虾干", "2.5", "斤", "170.00"],
        ["虾酱", "3", "件", "54.00"],
    ]
    assert rows(month_csv(figures(), "channels"))[1] == ["柜台", "2", "104.00", "12.24"]
    assert rows(month_csv(figures(), "towns"))[1] == ["临城镇", "170.00", "153.00"]
    with pytest.raises(KeyError):
        month_csv(figures(), "secrets")


def test_the_year_csv_names_the_lines_year_and_says_yes_or_no():
    hy = HouseholdYear(1, "DB001", "+**", Place("临城镇", ""), Place("大波村", ""), HouseholdCategory.YIBAN, 2,
                       (100,) * 12, 1200, 600, False)  # fmt: skip
    header, row = rows(year_csv(YearFigures(2026, MonitoringLine(750_000, 2025), [hy])))
    assert header[6:18] == [f"{m}月（元）" for m in range(1, 13)]
    assert "2025" in header[-1] and "7500.00" in header[-1]
    assert row[1] == "'+**" and row[6:] == ["1.00"] * 12 + ["12.00", "6.00", "否"]
