"""The one control-character rule: one-line text, many-line text, and a place's name."""

import re

import pytest

from shop.plain_text import MANY_LINES, ONE_LINE, PLACE_NAME, is_one_line, is_place_name, is_plain_lines

PLAIN = ["", "虾干 500 克", "Lingao dried shrimp", "¥68.00 / 斤", "O'Brien-Smith", "emoji 🦐"]
C0 = [chr(c) for c in range(0x20)] + ["\x7f"]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_passes_every_rule(text):
    assert is_one_line(text) and is_plain_lines(text) and is_place_name(text)


@pytest.mark.parametrize("char", C0)
def test_one_line_refuses_every_control_character(char):
    assert not is_one_line(f"name{char}here")
    assert not is_place_name(f"name{char}here")


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_many_lines_keep_tabs_and_line_breaks(char):
    assert is_plain_lines(f"first{char}second")
    assert not is_one_line(f"first{char}second")


@pytest.mark.parametrize("char", [c for c in C0 if c not in "\t\n\r"])
def test_many_lines_refuse_other_control_characters(char):
    assert not is_plain_lines(f"first line\n{char}second")


@pytest.mark.parametrize("char", ["\x85", "\x9f", "\u2028", "\u2029", "\u202e", "\u2066", "\ud800"])
def test_a_place_name_also_refuses_c1_separators_bidi_and_lone_surrogates(char):
    # One-line text elsewhere takes these (as it always has); a place's name, printed on papers, does not.
    assert is_one_line(f"新盈{char}镇")
    assert not is_place_name(f"新盈{char}镇")


def test_a_trailing_line_break_is_a_control_character():
    # "$" in the patterns would let "name\n" through re.match; the predicates search, so it is refused.
    assert not is_one_line("name\n")


@pytest.mark.parametrize(
    ("pattern", "predicate"), [(ONE_LINE, is_one_line), (MANY_LINES, is_plain_lines), (PLACE_NAME, is_place_name)]
)
def test_the_patterns_say_what_the_predicates_say(pattern, predicate):
    for text in [*PLAIN, *(f"a{c}b" for c in C0), "a\u202eb", "a\x85b"]:
        assert bool(re.fullmatch(pattern, text)) == predicate(text), repr(text)


def test_huge_text_is_read_quickly():
    assert is_one_line("虾" * 1_000_000)
    assert not is_one_line("虾" * 1_000_000 + "\x00")
