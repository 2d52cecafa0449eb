"""The money core: fen arithmetic, display, parsing and exact splitting."""

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import MAX_FEN, InvalidAmount, format_fen, parse_yuan, price_for, share_of, split_fen


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(6800, "¥68.00"), (0, "¥0.00"), (5, "¥0.05"), (1050, "¥10.50"), (123456789, "¥1,234,567.89"), (-250, "-¥2.50")],
)
def test_amounts_are_shown_in_yuan_with_two_decimals(fen, shown):
    assert format_fen(fen) == shown


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("68", 6800),
        ("68.5", 6850),
        ("68.50", 6850),
        ("0.05", 5),
        ("68.", 6800),
        (" 68 ", 6800),
        ("¥68", 6800),
        ("￥68.00", 6800),
        ("68元", 6800),
        ("1,280.00", 128000),
        ("６８．５", 6850),  # full-width digits from a Chinese keyboard
        ("0", 0),
    ],
)
def test_what_a_clerk_types_is_read_as_fen(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize(
    "typed",
    ["", " ", "abc", "68.555", "-5", "+5", "1e3", "inf", "nan", ".5", "6 8", "68.5.0", "٣", "0x10", "¥", None, 68],
)
def test_text_that_is_not_an_amount_is_refused(typed):
    with pytest.raises(InvalidAmount):
        parse_yuan(typed)


def test_an_amount_above_the_ceiling_is_refused():
    with pytest.raises(InvalidAmount):
        parse_yuan(str(MAX_FEN // 100 + 1))
    assert parse_yuan(str(MAX_FEN // 100)) == MAX_FEN


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_formatting_then_parsing_gives_back_the_same_fen(fen):
    assert parse_yuan(format_fen(fen)) == fen


@pytest.mark.parametrize(
    ("qty", "price_fen", "per", "expected"),
    [
        (500, 6800, 500, 6800),  # one 斤 of shrimp
        (250, 6800, 500, 3400),  # 半斤
        (333, 6800, 500, 4529),  # 4528.8 rounds up
        (1, 6800, 500, 14),  # 13.6 rounds up
        (3, 1, 2, 2),  # 1.5 rounds half up
        (1, 1, 2, 1),  # 0.5 rounds half up
        (1, 1, 3, 0),  # 0.33 rounds down
        (3, 1800, 1, 5400),  # three jars of paste
        (0, 6800, 500, 0),
    ],
)
def test_the_price_of_a_quantity_rounds_half_up_to_the_fen(qty, price_fen, per, expected):
    assert price_for(qty, price_fen, per) == expected


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(1, 10**4))
def test_a_price_is_within_half_a_fen_of_the_exact_value(qty, price_fen, per):
    exact_times_2per = 2 * qty * price_fen
    assert abs(2 * per * price_for(qty, price_fen, per) - exact_times_2per) <= per


def test_prices_refuse_negative_or_zero_units():
    with pytest.raises(ValueError):
        price_for(-1, 100, 1)
    with pytest.raises(ValueError):
        price_for(1, 100, 0)


@pytest.mark.parametrize(
    ("amount", "bp", "expected"),
    [(6800, 9000, 6120), (6800, 10000, 6800), (6800, 0, 0), (5, 5000, 3), (-5, 5000, -3), (3333, 3333, 1111)],
)
def test_a_households_share_rounds_half_up(amount, bp, expected):
    assert share_of(amount, bp) == expected


def test_a_share_outside_zero_to_a_hundred_percent_is_refused():
    with pytest.raises(ValueError):
        share_of(100, 10001)
    with pytest.raises(ValueError):
        share_of(100, -1)


def test_a_split_gives_leftover_fen_to_the_largest_remainders():
    assert split_fen(100, [1, 1, 1]) == [34, 33, 33]
    assert split_fen(10, [3, 3, 4]) == [3, 3, 4]
    assert split_fen(7, [2, 5]) == [2, 5]
    assert split_fen(5, [1, 2]) == [2, 3]  # 1.67 and 3.33: the .67 remainder wins
    assert split_fen(0, [1, 2]) == [0, 0]


def test_a_refund_splits_like_the_sale_it_reverses():
    assert split_fen(-100, [1, 1, 1]) == [-34, -33, -33]


def test_a_zero_weight_gets_nothing():
    assert split_fen(100, [0, 1, 0]) == [0, 100, 0]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_a_split_needs_positive_weights(weights):
    with pytest.raises(ValueError):
        split_fen(100, weights)


weights = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30).filter(any)


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN), weights)
def test_split_parts_always_add_up_exactly(total, ws):
    assert sum(split_fen(total, ws)) == total


@given(st.integers(min_value=0, max_value=MAX_FEN), weights)
def test_each_split_part_is_within_one_fen_of_its_exact_share(total, ws):
    whole = sum(ws)
    for part, w in zip(split_fen(total, ws), ws, strict=True):
        exact_floor = total * w // whole
        assert exact_floor <= part <= exact_floor + 1


@given(st.integers(min_value=0, max_value=MAX_FEN), weights)
def test_a_larger_weight_never_gets_less_than_a_smaller_one(total, ws):
    pairs = list(zip(split_fen(total, ws), ws, strict=True))
    for (a, wa), (b, wb) in combinations(pairs, 2):
        if wa > wb:
            assert a >= b
        elif wb > wa:
            assert b >= a
