"""Units of quantity: weighed goods in integer grams, packaged goods in pieces.

Chinese markets price and talk by the 斤 (jin, 500 g); the database never does.
"""

from enum import StrEnum

GRAMS_PER_JIN = 500


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
