"""The price in force at an instant, from a product's price history: a pure function."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.catalog.pricing import price_in_force
from shop.clock import business_day

T0 = datetime(2026, 12, 3, 4, 0)
HISTORY = [(T0, 6800), (T0 + timedelta(hours=2), 7200), (T0 + timedelta(hours=5), 6500)]


@pytest.mark.parametrize(
    ("at", "price"),
    [
        (T0, 6800),  # a price applies from its own instant
        (T0 + timedelta(hours=1, minutes=59, seconds=59), 6800),
        (T0 + timedelta(hours=2), 7200),
        (T0 + timedelta(hours=4), 7200),
        (T0 + timedelta(days=30), 6500),
    ],
)
def test_the_latest_price_not_after_the_instant_is_in_force(at, price):
    assert price_in_force(HISTORY, at) == price


def test_the_order_of_the_history_does_not_matter():
    assert price_in_force(list(reversed(HISTORY)), T0 + timedelta(hours=3)) == 7200


def test_before_the_first_price_the_first_applies_as_a_slow_tablet_clock_saw_nothing_else():
    assert price_in_force(HISTORY, T0 - timedelta(minutes=3)) == 6800
    assert price_in_force(list(reversed(HISTORY)), T0 - timedelta(days=1)) == 6800


def test_of_two_prices_set_at_the_same_instant_the_later_recorded_wins():
    assert price_in_force([(T0, 1), (T0, 2)], T0) == 2


def test_a_product_without_any_price_has_none_in_force():
    with pytest.raises(ValueError):
        price_in_force([], T0)


#: Minutes from T0: a narrow range, so that prices often start at the same instant or the one asked about.
instants = st.integers(-60, 600).map(lambda minutes: T0 + timedelta(minutes=minutes))


@settings(deadline=None)  # a shared, busy machine must not fail a pure test on time
@given(st.lists(st.tuples(instants, st.integers(0, 10**9)), min_size=1, max_size=12), instants)
def test_the_price_in_force_is_one_of_the_history_and_none_later_has_started(history, at):
    price = price_in_force(history, at)
    started = [(valid_from, n) for n, (valid_from, _p) in enumerate(history) if valid_from <= at]
    if started:
        newest = max(started)
        assert price == history[newest[1]][1]
        assert not any(newest[0] < valid_from <= at for valid_from, _p in history)
    else:
        assert price == min(enumerate(history), key=lambda item: (item[1][0], item[0]))[1][1]


def test_a_minute_before_hainans_midnight_is_still_that_day():
    # 23:59 on 30 November in Hainan is 15:59 UTC; 00:05 on 1 December is 16:05 UTC the day before.
    assert business_day(datetime(2026, 11, 30, 15, 59)).isoformat() == "2026-11-30"
    assert business_day(datetime(2026, 11, 30, 16, 5)).isoformat() == "2026-12-01"
