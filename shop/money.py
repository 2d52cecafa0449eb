"""Money in integer fen (分): arithmetic, display, parsing and exact splitting.

Pure functions over ints and strings; no Flask, no database. Nothing here ever
touches a float, because a float cannot hold 0.1 yuan exactly.
"""

import re
import unicodedata
from collections.abc import Sequence

FEN_PER_YUAN = 100

#: The most a single amount may be: ¥100,000,000.00. Far above any real sale,
#: low enough that no arithmetic on it can overflow a 64-bit column.
MAX_FEN = 100_000_000 * FEN_PER_YUAN


class InvalidAmount(ValueError):
    """A text that a person typed is not an amount of money."""


_AMOUNT = re.compile(r"(?P<yuan>\d+)(?:\.(?P<fen>\d{0,2}))?")


def format_fen(fen: int) -> str:
    """Show an amount as ¥68.00, with thousands separators and a leading minus."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{yuan:,}.{rest:02d}"


def parse_yuan(text: str) -> int:
    """Read an amount typed in yuan ("68", "68.5", "¥1,280.00", full-width digits) as fen.

    More than two decimals is an error rather than a rounding: a person who
    typed 68.555 meant something we cannot guess.
    """
    if not isinstance(text, str):
        raise InvalidAmount("not text")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    cleaned = cleaned.removeprefix("¥").removeprefix("￥").strip()
    cleaned = cleaned.removesuffix("元").strip().replace(",", "")
    match = _AMOUNT.fullmatch(cleaned)
    if not match or not cleaned.isascii():
        raise InvalidAmount(f"not an amount: {text!r}")
    fen = int(match["yuan"]) * FEN_PER_YUAN + int((match["fen"] or "").ljust(2, "0"))
    if fen > MAX_FEN:
        raise InvalidAmount("amount too large")
    return fen


def price_for(quantity: int, price_fen: int, price_per: int) -> int:
    """Price of a quantity when price_fen buys price_per units, rounded half up to the fen.

    250 g of shrimp at ¥68.00 per 500 g costs ¥34.00; 333 g costs ¥45.288 → ¥45.29.
    """
    if quantity < 0 or price_fen < 0 or price_per <= 0:
        raise ValueError("quantity and price must be non-negative, price_per positive")
    return (2 * quantity * price_fen + price_per) // (2 * price_per)


def share_of(amount_fen: int, share_bp: int) -> int:
    """The household's part of an amount at share_bp basis points, rounded half up."""
    if not 0 <= share_bp <= 10_000:
        raise ValueError("a share is between 0 and 10000 basis points")
    sign = -1 if amount_fen < 0 else 1
    return sign * ((2 * abs(amount_fen) * share_bp + 10_000) // 20_000)


def split_fen(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Split total_fen in proportion to weights so that the parts add up exactly.

    Largest-remainder rounding: each part gets the floor of its exact share,
    and the fen left over go one each to the largest remainders, earlier
    weights first on a tie. A negative total (a refund) splits like its
    absolute value, negated.
    """
    if not weights:
        raise ValueError("nothing to split between")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    whole = sum(weights)
    if whole == 0:
        raise ValueError("weights must not all be zero")
    sign, amount = (-1, -total_fen) if total_fen < 0 else (1, total_fen)
    floors = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    left_over = amount - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left_over]:
        floors[i] += 1
    return [sign * part for part in floors]
