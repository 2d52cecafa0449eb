"""Units of quantity: weighed goods in integer grams, packaged goods in pieces.

Chinese markets price and talk by the 斤 (jin, 500 g); the database never does.
"""

import re
import unicodedata
from enum import StrEnum

GRAMS_PER_JIN = 500
#: Grams or pieces in one of each unit a person may type a quantity in.
ENTRY_UNITS = {"jin": GRAMS_PER_JIN, "g": 1, "piece": 1}

_NUMBER = re.compile(r"(?P<whole>\d{1,12})(?:\.(?P<frac>\d{1,6}))?")


class InvalidQuantity(ValueError):
    """A text that a person typed is not a quantity of whole grams or pieces; `reason` says why."""

    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    NOT_WHOLE = "not_whole"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unit(StrEnum):
    """How a product is counted."""

    GRAM = "g"
    PIECE = "piece"


def grams_to_jin_text(grams: int) -> str:
    """Write grams as 斤 with at most two decimals and no trailing zeros: 3250 → "6.5"."""
    hundredths = (grams * 100 * 2 + GRAMS_PER_JIN) // (2 * GRAMS_PER_JIN)
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".")


def grams_to_kg_text(grams: int) -> str:
    """Write grams as kilograms with at most two decimals and no trailing zeros."""
    hundredths = (grams * 2 + 10) // 20
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".")


def parse_quantity(text: str, entered_in: str) -> int:
    """Read "1.5" 斤, "750" 克 or "12" 件 (full-width digits too) as whole grams or pieces, exactly.

    A quantity that is not a whole number of grams or pieces (0.001 斤, 1.5 件)
    is an error rather than a rounding: the scale said something we cannot guess.
    """
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    if cleaned.startswith("-"):
        raise InvalidQuantity(InvalidQuantity.NEGATIVE)
    match = _NUMBER.fullmatch(cleaned)
    if not match or not cleaned.isascii():
        raise InvalidQuantity(InvalidQuantity.NOT_A_NUMBER)
    fraction = match["frac"] or ""
    quantity, rest = divmod(int(match["whole"] + fraction) * ENTRY_UNITS[entered_in], 10 ** len(fraction))
    if rest:
        raise InvalidQuantity(InvalidQuantity.NOT_WHOLE)
    return quantity
