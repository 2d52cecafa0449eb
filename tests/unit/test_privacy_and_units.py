"""Masking personal data and writing quantities: pure functions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.privacy import mask_name, mask_phone
from shop.units import InvalidQuantity, grams_to_jin_text, grams_to_kg_text, parse_quantity


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王亦态", "王**"), ("符明", "符*"), ("欧阳小红", "欧***"), ("王", "*"), ("", ""), ("  陈美玲 ", "陈**")],
)
def test_a_name_keeps_only_its_first_character(name, masked):
    assert mask_name(name) == masked


@given(st.text(min_size=2, max_size=20).filter(lambda s: len(s.strip()) >= 2))
def test_a_masked_name_reveals_at_most_one_character(name):
    masked = mask_name(name)
    assert len(masked) == len(name.strip())
    assert masked[1:] == "*" * (len(masked) - 1)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("", ""), (None, ""), ("12345", "*****"), ("0898-2812345", "089*****2345")],
)
def test_a_phone_number_hides_its_middle(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("grams", "jin"),
    [(500, "1"), (250, "0.5"), (3250, "6.5"), (1, "0"), (3, "0.01"), (1234, "2.47"), (0, "0"), (10500, "21")],
)
def test_grams_are_written_as_jin(grams, jin):
    assert grams_to_jin_text(grams) == jin


@pytest.mark.parametrize(("grams", "kg"), [(1000, "1"), (6750, "6.75"), (1234, "1.23"), (1235, "1.24"), (5, "0.01")])
def test_grams_are_written_as_kilograms(grams, kg):
    assert grams_to_kg_text(grams) == kg


@pytest.mark.parametrize(
    "text, unit, grams",
    [
        ("1.5", "jin", 750),
        ("0.002", "jin", 1),
        ("１.５", "jin", 750),
        (" 750 ", "g", 750),
        ("12", "piece", 12),
        ("0", "g", 0),
        ("3.000", "g", 3),
    ],
)
def test_a_typed_quantity_is_read_as_exact_grams_or_pieces(text, unit, grams):
    assert parse_quantity(text, unit) == grams


@pytest.mark.parametrize(
    "text, unit, reason",
    [
        ("-1", "g", InvalidQuantity.NEGATIVE),
        ("three", "g", InvalidQuantity.NOT_A_NUMBER),
        ("", "jin", "not_a_number"),
        ("1e3", "g", "not_a_number"),
        ("١٢", "g", "not_a_number"),
        ("0.0001", "jin", InvalidQuantity.NOT_WHOLE),
        ("750.5", "g", InvalidQuantity.NOT_WHOLE),
        ("1.5", "piece", InvalidQuantity.NOT_WHOLE),
    ],
)
def test_a_quantity_that_is_not_whole_grams_or_pieces_is_refused_not_rounded(text, unit, reason):
    with pytest.raises(InvalidQuantity) as raised:
        parse_quantity(text, unit)
    assert raised.value.reason == reason
