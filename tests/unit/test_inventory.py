"""Allocation and reversal of stock, as pure functions."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.stock.allocation import DrawState, LotStock, OutOfStock, RefundTooLarge, allocate, price_draws, reverse_draws

MONDAY = datetime(2026, 11, 23, 9, 0)


def lot(lot_id, qty, best_before=date(2027, 3, 1), received=MONDAY, share_bp=9000, household_id=None):
    return LotStock(lot_id, household_id or lot_id * 10, qty, best_before, received, share_bp)


def taken(allocations):
    return [(a.lot.lot_id, a.quantity) for a in allocations]


def test_the_lot_with_the_earliest_best_before_is_sold_first():
    lots = [lot(1, 1000, date(2027, 5, 1)), lot(2, 1000, date(2027, 2, 1))]
    assert taken(allocate(300, lots)) == [(2, 300)]


def test_of_two_lots_with_the_same_best_before_the_oldest_receipt_is_sold_first():
    lots = [lot(1, 1000, received=MONDAY), lot(2, 1000, received=MONDAY - timedelta(days=3))]
    assert taken(allocate(300, lots)) == [(2, 300)]


def test_a_quantity_larger_than_one_lot_spills_into_the_next():
    lots = [lot(1, 200, date(2027, 1, 1)), lot(2, 1000, date(2027, 2, 1)), lot(3, 1000, date(2027, 3, 1))]
    assert taken(allocate(700, lots)) == [(1, 200), (2, 500)]


def test_empty_lots_are_skipped():
    assert taken(allocate(100, [lot(1, 0, date(2027, 1, 1)), lot(2, 500)])) == [(2, 100)]


def test_asking_for_more_than_all_lots_hold_is_out_of_stock():
    with pytest.raises(OutOfStock) as raised:
        allocate(1001, [lot(1, 600), lot(2, 400)])
    assert (raised.value.wanted, raised.value.available) == (1001, 1000)


def test_no_lots_at_all_is_out_of_stock():
    with pytest.raises(OutOfStock):
        allocate(1, [])


def test_a_quantity_of_zero_is_a_programming_error():
    with pytest.raises(ValueError):
        allocate(0, [lot(1, 10)])


def test_half_a_jin_of_shrimp_at_68_yuan_a_jin_costs_34_yuan_shared_by_two_lots():
    allocations = allocate(250, [lot(1, 100, date(2027, 1, 1), share_bp=8000), lot(2, 1000)])
    amount, draws = price_draws(allocations, 6800, 500)
    assert amount == 3400
    assert [(d.quantity, d.amount_fen, d.credit_fen) for d in draws] == [(100, 1360, 1088), (150, 2040, 1836)]


def test_a_purchased_lot_earns_its_household_nothing_more_at_sale():
    amount, draws = price_draws(allocate(2, [lot(1, 5, share_bp=None)]), 1800, 1)
    assert (amount, draws[0].amount_fen, draws[0].credit_fen) == (3600, 3600, 0)


def test_a_line_amount_rounds_half_up_to_the_fen_and_its_draws_still_add_up():
    # 333 g at ¥68.00 / 500 g is ¥45.288 → ¥45.29, split 111/111/111 as 15.10/15.10/15.09.
    lots = [lot(i, 111, date(2027, 1, i)) for i in (1, 2, 3)]
    amount, draws = price_draws(allocate(333, lots), 6800, 500)
    assert amount == 4529
    assert [d.amount_fen for d in draws] == [1510, 1510, 1509]


lot_sizes = st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=6)


@given(sizes=lot_sizes, want=st.integers(min_value=1, max_value=30000), price=st.integers(0, 100_000))
def test_draws_never_take_more_than_a_lot_holds_and_always_add_up(sizes, want, price):
    lots = [
        lot(i + 1, qty, date(2027, 1, 1) + timedelta(days=i % 3), share_bp=(i * 1700) % 10001)
        for i, qty in enumerate(sizes)
    ]
    if want > sum(sizes):
        with pytest.raises(OutOfStock):
            allocate(want, lots)
        return
    allocations = allocate(want, lots)
    holds = {lt.lot_id: lt.qty_on_hand for lt in lots}
    assert all(0 < a.quantity <= holds[a.lot.lot_id] for a in allocations)
    assert sum(a.quantity for a in allocations) == want
    amount, draws = price_draws(allocations, price, 500)
    assert sum(d.amount_fen for d in draws) == amount
    assert all(0 <= d.credit_fen <= d.amount_fen for d in draws)


def state(draw_id, qty, amount, credit, done=(0, 0, 0)):
    return DrawState(draw_id, qty, amount, credit, *done)


def test_a_refund_undoes_the_last_draw_first():
    draws = [state(1, 300, 4080, 3264), state(2, 200, 2720, 2448)]
    assert [(r.draw_id, r.quantity, r.amount_fen, r.credit_fen) for r in reverse_draws(draws, 250)] == [
        (2, 200, 2720, 2448),
        (1, 50, 680, 544),
    ]


def test_refunding_more_than_is_left_is_refused():
    with pytest.raises(RefundTooLarge):
        reverse_draws([state(1, 3, 300, 270, done=(2, 200, 180))], 2)


@given(
    qty=st.integers(min_value=1, max_value=50),
    amount=st.integers(min_value=0, max_value=100_000),
    share=st.integers(min_value=0, max_value=10_000),
    cuts=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
)
def test_refunding_a_draw_in_any_number_of_parts_gives_back_exactly_its_amount_and_credit(qty, amount, share, cuts):
    credit = (2 * amount * share + 10_000) // 20_000
    done = [0, 0, 0]
    for cut in cuts + [qty]:
        left = qty - done[0]
        if left == 0:
            break
        (r,) = reverse_draws([state(1, qty, amount, credit, tuple(done))], min(cut, left))
        assert r.amount_fen >= 0 and r.credit_fen >= 0
        done = [done[0] + r.quantity, done[1] + r.amount_fen, done[2] + r.credit_fen]
        # Running totals never overshoot, and credit never exceeds what was refunded.
        assert done[1] <= amount and done[2] <= credit and done[2] <= done[1]
    assert done == [qty, amount, credit]
