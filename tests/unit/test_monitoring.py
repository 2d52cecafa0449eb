"""The monitoring core: months, net income per capita against the monitoring line, and the chart."""

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader

from shop.money import format_fen
from shop.oversight.monitoring import (
    InvalidMonth,
    MonitoringLine,
    add_months,
    month_end,
    month_start,
    monthly_net,
    months_ending,
    parse_month,
    per_capita,
    steady_evidence,
)
from shop.web.charts import CHART_TOP, chart, nice_scale

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

#: A line of ¥7,200 a year per person: ¥600.00 a month.
LINE = MonitoringLine(annual_fen=720_000, year=2024)

#: Mid-December: the complete months before it are June to November.
TODAY = date(2024, 12, 15)


def months_from(first: date, per_capita_fen: list[int], members: int = 1) -> list[tuple[date, int]]:
    """Net household income by month, from per-capita figures."""
    return [(add_months(first, i), fen * members) for i, fen in enumerate(per_capita_fen)]


# Months


def test_month_arithmetic_crosses_year_ends():
    assert month_start(date(2024, 3, 31)) == date(2024, 3, 1)
    assert add_months(date(2024, 11, 1), 3) == date(2025, 2, 1)
    assert add_months(date(2024, 1, 1), -1) == date(2023, 12, 1)
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert month_end(date(2023, 12, 1)) == date(2023, 12, 31)


def test_the_months_ending_with_a_date_run_oldest_first():
    assert months_ending(date(2025, 2, 14), 3) == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]


@pytest.mark.parametrize(("text", "month"), [("2024-11", date(2024, 11, 1)), (" 2000-01 \n", date(2000, 1, 1))])
def test_a_month_is_read_from_year_dash_month(text, month):
    assert parse_month(text) == month


@pytest.mark.parametrize(
    "text",
    ["", "2024-00", "2024-13", "1999-12", "2101-01", "2024-1", "2024/11", "2024-11-01", "202411", "2024 - 11",
     "２０２４-１１", "٢٠٢٤-١١", "2024-11x", None, 202411],
)  # fmt: skip
def test_anything_but_a_plausible_year_dash_month_is_refused(text):
    with pytest.raises(InvalidMonth):
        parse_month(text)


# Net income and per capita


def test_a_month_with_more_refunds_than_sales_counts_negative():
    entries = [(date(2024, 5, 3), 1_000), (date(2024, 5, 20), -1_500), (date(2024, 6, 1), 700)]
    assert monthly_net(entries, [date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)]) == [0, -500, 700]


def test_entries_outside_the_months_are_ignored():
    entries = [(date(2024, 3, 31), 900), (date(2024, 4, 1), 100), (date(2024, 5, 1), 50)]
    assert monthly_net(entries, [date(2024, 4, 1)]) == [100]


@given(
    st.lists(st.tuples(st.dates(date(2023, 1, 1), date(2025, 12, 31)), st.integers(-10**7, 10**7))),
    st.dates(date(2023, 6, 1), date(2025, 6, 30)),
    st.integers(1, 18),
)  # fmt: skip
def test_monthly_nets_add_up_to_the_entries_inside_the_months(entries, last, count):
    months = months_ending(last, count)
    inside = sum(fen for day, fen in entries if months[0] <= day <= month_end(months[-1]))
    assert sum(monthly_net(entries, months)) == inside


@pytest.mark.parametrize(("fen", "members", "share"), [(1000, 3, 333), (999, 1, 999), (0, 4, 0), (-1000, 3, -333)])
def test_per_capita_income_rounds_toward_zero(fen, members, share):
    assert per_capita(fen, members) == share


@pytest.mark.parametrize("members", [0, -1])
def test_a_household_without_members_has_no_per_capita_income(members):
    with pytest.raises(ValueError):
        per_capita(1000, members)


def test_the_monthly_line_rounds_up_so_twelve_months_reach_the_annual_line():
    line = MonitoringLine(annual_fen=700_001, year=2024)
    assert line.monthly_fen == 58_334
    assert 12 * line.monthly_fen >= line.annual_fen
    assert LINE.monthly_fen == 60_000


# Steady evidence


def test_six_months_above_the_line_are_all_above():
    evidence = steady_evidence(months_from(date(2024, 6, 1), [60_000, 61_000, 70_000, 60_500, 90_000, 65_000], 4),
                               members=4, line=LINE, today=TODAY, since=date(2023, 1, 1))  # fmt: skip
    assert [e.month for e in evidence.months] == months_ending(date(2024, 11, 1), 6)
    assert evidence.complete and evidence.months_above == 6 and evidence.all_above
    assert evidence.months[0].per_capita_fen == 60_000 and evidence.months[0].line_fen == 60_000


def test_one_month_below_the_line_breaks_the_run():
    evidence = steady_evidence(months_from(date(2024, 6, 1), [60_000, 61_000, 59_999, 60_500, 90_000, 65_000]),
                               members=1, line=LINE, today=TODAY, since=None)  # fmt: skip
    assert evidence.complete and evidence.months_above == 5 and not evidence.all_above
    assert [e.above for e in evidence.months] == [True, True, False, True, True, True]


def test_a_quiet_month_counts_as_zero_not_missing():
    net = months_from(date(2024, 6, 1), [60_000, 60_000, 60_000, 60_000, 60_000])  # no November entry
    evidence = steady_evidence(net, members=1, line=LINE, today=TODAY, since=date(2024, 1, 1))
    assert evidence.complete and evidence.months[-1].net_fen == 0 and not evidence.all_above


def test_a_recently_listed_household_has_incomplete_evidence():
    net = months_from(date(2024, 9, 1), [90_000, 90_000, 90_000])
    evidence = steady_evidence(net, members=1, line=LINE, today=TODAY, since=date(2024, 9, 10))
    assert [e.month for e in evidence.months] == [date(2024, 9, 1), date(2024, 10, 1), date(2024, 11, 1)]
    assert evidence.months_above == 3 and not evidence.complete and not evidence.all_above


def test_the_current_month_is_excluded_because_it_is_not_over():
    net = [*months_from(date(2024, 6, 1), [60_000] * 6), (date(2024, 12, 1), 0)]
    evidence = steady_evidence(net, members=1, line=LINE, today=TODAY, since=None)
    assert date(2024, 12, 1) not in [e.month for e in evidence.months]
    assert evidence.all_above


def test_the_trailing_figure_covers_the_twelve_complete_months_per_capita():
    net = [*months_from(date(2023, 11, 1), [1_000] * 14, members=2), (date(2024, 12, 1), 99_999)]
    evidence = steady_evidence(net, members=2, line=LINE, today=TODAY, since=None)
    assert evidence.trailing_per_capita_fen == 12 * 1_000
    assert evidence.annual_line_fen == 720_000


# The chart


def per_capita_year(values: list[int]) -> list[tuple[date, int]]:
    return months_from(date(2024, 1, 1), values)


def test_every_bar_stays_inside_the_plot():
    drawn = chart(per_capita_year([10_000, 95_000, 60_000, 0, 30_000, 120_000] * 2), LINE.monthly_fen)
    for bar in drawn.bars:
        assert 0 <= bar.x and bar.x + bar.width <= drawn.width
        assert CHART_TOP <= bar.y and bar.y + bar.height == drawn.baseline
        assert bar.width > 0 and bar.height >= 0
    assert [b.x for b in drawn.bars] == sorted(b.x for b in drawn.bars)


def test_the_tallest_bar_reaches_the_top_of_the_scale_in_proportion():
    drawn = chart(per_capita_year([40_000, 150_000]), 60_000)
    plot_height = drawn.baseline - CHART_TOP
    assert drawn.max_fen == 200_000  # the round top above ¥1,500
    # In proportion, rounded half up to whole SVG units.
    assert drawn.bars[1].height == (2 * plot_height * 150_000 + 200_000) // 400_000
    assert drawn.bars[0].height == (2 * plot_height * 40_000 + 200_000) // 400_000


def test_the_line_lies_between_the_top_and_the_baseline():
    drawn = chart(per_capita_year([10_000, 20_000]), 60_000)
    assert drawn.max_fen >= 60_000
    assert CHART_TOP <= drawn.line_y < drawn.baseline
    assert drawn.bars[0].y > drawn.line_y  # a bar below the line is shorter than it


def test_ticks_rise_in_value_as_they_climb_the_chart():
    drawn = chart(per_capita_year([12_345, 67_890]), 60_000)
    values, ys = [t[0] for t in drawn.ticks], [t[1] for t in drawn.ticks]
    assert 3 <= len(drawn.ticks) <= 5
    assert values == sorted(values) and values[0] == 0 and values[-1] == drawn.max_fen
    assert ys == sorted(ys, reverse=True) and ys[0] == drawn.baseline and ys[-1] == CHART_TOP


@pytest.mark.parametrize("fen", [1, 9, 10, 11, 20, 21, 50, 51, 99_999, 100_000, 100_001, 123_456_789])
def test_the_scale_is_a_round_number_with_three_to_five_whole_fen_ticks(fen):
    top, step = nice_scale(fen)
    assert top >= fen and str(top).rstrip("0") in ("1", "2", "5")
    assert top % step == 0 and 3 <= top // step + 1 <= 5


def test_a_negative_month_is_drawn_flat_but_keeps_its_value():
    drawn = chart(per_capita_year([-5_000, 30_000]), 60_000)
    assert drawn.bars[0].height == 0 and drawn.bars[0].y == drawn.baseline
    assert drawn.bars[0].value_fen == -5_000 and not drawn.bars[0].above


def test_a_chart_without_months_still_shows_the_line():
    drawn = chart([], 60_000)
    assert drawn.bars == () and CHART_TOP <= drawn.line_y < drawn.baseline


def test_the_chart_macro_draws_a_bar_per_month_and_names_the_line():
    env = Environment(loader=FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_null_translations(newstyle=True)
    env.filters["fen"] = format_fen
    macro = env.get_template("admin/households/_chart.html").module.income_chart
    drawn = chart(per_capita_year([40_000, -5_000, 70_000]), 60_000)
    svg = str(macro(drawn, "Monitoring line 2024", "Per-capita income by month"))
    assert svg.count("<rect") == 3
    assert "Monitoring line 2024" in svg and 'width="100%"' in svg and 'role="img"' in svg
    assert "1月" in svg and "-¥50.00" in svg and "2024-03" in svg
    assert "<script" not in svg and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


# The chart's labels on a phone: legible, and with the year.


def test_a_chart_drawn_for_a_phone_has_larger_labels_and_margins_that_hold_them():
    values = months_from(date(2025, 12, 1), [10_000] * 13)
    wide, phone = chart(values, 60_000), chart(values, 60_000, width=360, height=300, font=16)
    assert phone.font == 16 and phone.plot_left > wide.plot_left and phone.height - phone.baseline == 16 * 32 // 10
    assert phone.year_y < phone.height  # the row of years is inside the picture
    assert all(bar.x + bar.width <= phone.plot_right for bar in phone.bars)


def test_every_year_is_named_under_its_january_and_the_first_month():
    values = months_from(date(2024, 6, 1), [0] * 13)  # June 2024 to June 2025
    drawn = chart(values, 60_000)
    assert [(m.year, m.anchor) for m in drawn.years] == [(2024, "start"), (2025, "start")]
    january = next(bar for bar in drawn.bars if bar.month == date(2025, 1, 1))
    assert drawn.years[1].x == january.x


def test_a_january_right_after_the_first_month_pushes_the_first_year_left_of_it():
    drawn = chart(months_from(date(2025, 12, 1), [0] * 13), 60_000, width=360, height=300, font=16)
    first, second = drawn.years
    assert (first.year, first.anchor, second.year) == (2025, "end", 2026)
    assert first.x < second.x and first.x - 4 * drawn.font >= 0  # it fits under the y-axis labels


def test_a_year_starting_near_the_right_edge_ends_there_instead():
    drawn = chart(months_from(date(2024, 2, 1), [0] * 12), 60_000)  # January is the last month
    assert drawn.years[-1].year == 2025 and drawn.years[-1].anchor == "end" and drawn.years[-1].x == drawn.plot_right


def test_narrow_months_are_numbered_and_every_other_one_labelled_ending_with_this_month():
    values = months_from(date(2025, 12, 1), [0] * 13)
    wide, phone = chart(values, 60_000), chart(values, 60_000, width=360, height=300, font=16)
    assert not wide.compact and all(wide.labelled)
    assert phone.compact and phone.labelled[-1] and not phone.labelled[-2] and sum(phone.labelled) == 7
