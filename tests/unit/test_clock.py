"""The counter's clock: a business day in Hainan as UTC instants."""

from datetime import date, datetime

from shop.clock import day_bounds


def test_a_business_day_starts_at_hainans_midnight_which_is_1600_utc_the_day_before():
    assert day_bounds(date(2026, 12, 3)) == (datetime(2026, 12, 2, 16), datetime(2026, 12, 3, 16))


def test_a_day_crossing_a_month_and_a_year_ends_where_the_next_begins():
    assert day_bounds(date(2026, 12, 31))[1] == day_bounds(date(2027, 1, 1))[0] == datetime(2026, 12, 31, 16)
