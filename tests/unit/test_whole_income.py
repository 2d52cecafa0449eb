"""The whole income per person: declared figures spread over months by days, the counter's part kept apart."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.oversight.monitoring import MonitoringLine, add_months, month_start
from shop.worklog.whole_income import (
    Declared,
    WarningRules,
    WholeMonth,
    below_line,
    counter_dropped,
    declared_by_month,
    prorate,
    whole_evidence,
    whole_months,
)

TODAY = date(2026, 7, 15)
LINE = MonitoringLine(750_000, 2026)  # 62,500 fen a person a month
SIX = [add_months(date(2026, 1, 1), n) for n in range(6)]

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(days, st.integers(0, 365), st.integers(0, 1_000_000_000))
def test_the_prorated_months_sum_to_the_declared_amount(start, length, amount):
    shares = prorate(amount, start, start + timedelta(days=length))
    assert sum(fen for _, fen in shares) == amount
    assert all(fen >= 0 for _, fen in shares)
    assert [m for m, _ in shares] == sorted({month_start(start + timedelta(days=d)) for d in range(length + 1)})


def test_a_period_is_shared_by_days():
    # 10 days of January and 20 of February... 31 Jan is one day: 1 of 11 days.
    assert prorate(1100, date(2026, 1, 31), date(2026, 2, 10)) == [(date(2026, 1, 1), 100), (date(2026, 2, 1), 1000)]
    assert prorate(10, date(2026, 1, 1), date(2026, 3, 31)) == [
        (date(2026, 1, 1), 3),
        (date(2026, 2, 1), 3),
        (date(2026, 3, 1), 4),
    ]
    with pytest.raises(ValueError):
        prorate(1, date(2026, 2, 1), date(2026, 1, 1))


def test_deducted_costs_are_taken_off():
    figures = [
        Declared("wages", 3000, date(2026, 1, 1), date(2026, 1, 31)),
        Declared("medical_cost", 500, date(2026, 1, 1), date(2026, 1, 31)),
    ]
    assert declared_by_month(figures) == {date(2026, 1, 1): 2500}


@given(st.lists(st.integers(-100_000, 10_000_000), min_size=6, max_size=6), st.integers(1, 12))
def test_the_verified_part_is_the_counter_figure_and_an_undeclared_month_is_unknown(counter, members):
    rows = whole_months(list(zip(SIX, counter, strict=True)), [], SIX, members, LINE.monthly_fen)
    assert [r.verified_fen for r in rows] == counter
    assert all(r.declared_fen is None and r.whole_fen is None and r.above is None for r in rows)


@given(st.lists(st.integers(0, 10_000_000), min_size=6, max_size=6), st.integers(0, 100_000_000), st.integers(1, 12))
def test_whole_is_verified_plus_declared(counter, declared, members):
    figure = Declared("wages", declared, SIX[0], date(2026, 6, 30))
    rows = whole_months(list(zip(SIX, counter, strict=True)), [figure], SIX, members, LINE.monthly_fen)
    assert [r.verified_fen for r in rows] == counter
    assert sum(r.declared_fen for r in rows) == declared
    assert all(r.whole_fen == r.verified_fen + r.declared_fen for r in rows)


def test_six_declared_months_above_the_line_are_steady_evidence():
    counter = [(m, 40_000) for m in SIX]
    # 260,000 a month for 4: 65,000 each (declared month by month: a longer period is shared by days).
    wages = [Declared("wages", 220_000, m, add_months(m, 1) - timedelta(days=1)) for m in SIX]
    evidence = whole_evidence(counter, wages, 4, LINE, TODAY, since=None)
    assert evidence.all_above and evidence.steady.months_above == 6 and not evidence.undeclared
    assert [m.per_capita_fen for m in evidence.steady.months] == [65_000] * 6


def test_an_undeclared_month_leaves_the_evidence_incomplete_not_below():
    counter = [(m, 400_000) for m in SIX]
    wages = Declared("wages", 5 * 100_000, SIX[1], date(2026, 6, 30))
    evidence = whole_evidence(counter, [wages], 4, LINE, TODAY, since=None)
    assert evidence.undeclared == (SIX[0],)
    assert not evidence.steady.complete and not evidence.all_above
    assert evidence.steady.months_above == 5


def test_a_drop_in_counter_income_is_measured_against_its_own_average():
    rules = WarningRules(drop_percent=50, baseline_days=90, min_baseline_fen=5000)
    assert counter_dropped(4999, 30_000, rules)  # average 10,000; below half
    assert not counter_dropped(5000, 30_000, rules)
    assert not counter_dropped(0, 14_997, rules)  # an average of 4,999 is too small to fall from


def test_below_the_line_needs_a_declaration():
    assert not below_line(WholeMonth(SIX[0], 0, None, 4, LINE.monthly_fen))
    assert below_line(WholeMonth(SIX[0], 0, 249_999, 4, LINE.monthly_fen))
    assert not below_line(WholeMonth(SIX[0], 0, 250_000, 4, LINE.monthly_fen))
