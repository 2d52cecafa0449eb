"""The reports' labelled rows: every export column is a named field, and the printed totals add them up."""

from datetime import date, datetime

from shop.models import HouseholdCategory, SaleChannel
from shop.oversight.report_exports import (
    HOUSEHOLD_AMOUNTS,
    HOUSEHOLD_COLUMNS,
    MONTH_TABLES,
    BureauQuantity,
    month_csv,
    month_document,
    printed_yuan,
    quantity_zh,
)
from shop.oversight.report_queries import ChannelFigures, HouseholdMonth, MonthFigures, Place, ProductFigures
from shop.units import Unit


def household(code: str, credited: int, reversed_: int, adjusted: int, paid: int, balance: int) -> HouseholdMonth:
    income = credited - reversed_ + adjusted
    return HouseholdMonth(
        household_id=len(code),
        code=code,
        head_name_masked="王**",
        town=Place("临城镇", "Lincheng"),
        village=Place("大波村", "Dabo"),
        category=HouseholdCategory.TUOPIN,
        members=2,
        credited_fen=credited,
        reversed_fen=reversed_,
        adjusted_fen=adjusted,
        income_fen=income,
        per_capita_fen=income // 2,
        paid_out_fen=paid,
        balance_fen=balance,
    )


HOUSEHOLDS = [household("DB001", 12_000, 1_500, -100, 5_000, 5_400), household("DB002", 3_333, 0, 250, 0, 7_583)]


def figures() -> MonthFigures:
    return MonthFigures(
        month=date(2026, 11, 1),
        counter=None,
        channels=[ChannelFigures(SaleChannel.COUNTER, 3, 15_333, 1_500), ChannelFigures(SaleChannel.ONLINE, 0, 0, 0)],
        products=[ProductFigures(1, "虾干", Unit.GRAM, 500, 15_333)],
        towns=[],
        households=HOUSEHOLDS,
    )


def test_every_household_column_after_the_people_count_is_a_named_amount_of_the_row():
    assert len(HOUSEHOLD_COLUMNS) == 6 + len(HOUSEHOLD_AMOUNTS)
    assert set(HOUSEHOLD_AMOUNTS) <= set(HouseholdMonth.__dataclass_fields__)
    header, first = month_csv(figures()).lstrip("\ufeff").splitlines()[:2]
    cells = dict(zip(header.split(","), first.split(","), strict=True))
    assert cells["入账（元）"] == "120.00" and cells["冲回（元）"] == "15.00" and cells["调整（元）"] == "-1.00"
    assert cells["净收入（元）"] == "104.00" and cells["支付（元）"] == "50.00" and cells["月末余额（元）"] == "54.00"


def test_every_month_table_has_rows_as_wide_as_its_columns():
    for table in MONTH_TABLES:
        lines = [line.split(",") for line in month_csv(figures(), table).lstrip("\ufeff").splitlines()]
        assert all(len(line) == len(lines[0]) for line in lines), table


def test_the_printed_households_total_adds_up_each_amount_column():
    document = month_document(figures(), "帮扶专柜", datetime(2026, 12, 1, 9))
    households = document.tables[-1]
    *rows, total = households.rows
    assert total[:2] == ("合计", "2 户") and len(rows) == len(HOUSEHOLDS)
    for column, amount in zip(households.columns[3:], HOUSEHOLD_AMOUNTS, strict=True):
        if column == "人均":
            assert total[households.columns.index(column)] == ""  # per person does not add up across households
            continue
        expected = printed_yuan(sum(getattr(h, amount) for h in HOUSEHOLDS))
        assert total[households.columns.index(column)] == expected, column


def test_the_bureau_counts_weighed_goods_in_jin_and_packs_in_pieces():
    assert quantity_zh(1250, Unit.GRAM) == BureauQuantity(amount="2.5", unit="斤")
    assert quantity_zh(3, Unit.PIECE) == BureauQuantity(amount="3", unit="件")
