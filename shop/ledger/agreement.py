"""What the ledger's records must agree on beyond the hash chain: pure functions over plain values.

A draw copies its household and terms from its lot and earns exactly its share of its
amount; a sale line is its quantity at its price, split over its draws to the fen; an
officer's review keeps the digest of the month's entries as they stood when confirmed.
`shop.ledger.entries.verify` reads the rows a chunk at a time and asks these; each answer
is None when the records agree, or what is wrong, in words.
"""

import hashlib
from calendar import monthrange
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from shop.money import price_for, share_of, split_fen

#: Hex digits of the digest printed under a statement's QR code: enough that guessing one is hopeless.
DIGEST_LENGTH = 16


def month_digest(household_id: int, month: date, hashes: Iterable[str]) -> str:
    """A short fingerprint of a household's month: its entries' hashes in chain order."""
    text = f"{household_id}|{month:%Y-%m}|" + ",".join(hashes)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def last_day(month: date) -> date:
    """The last day of the month starting on `month`."""
    return month.replace(day=monthrange(month.year, month.month)[1])


def review_disagreement(review: Mapping, entries: Iterable[tuple[int, str]]) -> str | None:
    """Whether a month's entries, as they stand, still give the digest its review recorded.

    `entries` are the household's entries dated in the month as (seq, hash), in seq order. Only those
    up to the review's `through_seq` count: an entry written into the month later is an amendment,
    shown as such, not a change to what the officer saw.
    """
    seen = [digest for seq, digest in entries if seq <= review["through_seq"]]
    if month_digest(review["household_id"], review["month"], seen) == review["digest"]:
        return None
    return "its month's entries no longer give the digest recorded when it was reviewed (changed since)"


def draw_disagreement(draw: Mapping, lot: Mapping) -> str | None:
    """A draw against its lot: the lot's household, the lot's terms, and its share of the draw's amount."""
    if draw["household_id"] != lot["household_id"]:
        theirs = lot["household_id"]
        return f"it credits household {draw['household_id']}, but lot {draw['lot_id']} is household {theirs}'s"
    if draw["mode"] != lot["mode"] or draw["share_bp"] != lot["share_bp"]:
        return f"its terms are not those of lot {draw['lot_id']}"
    owed = 0 if draw["share_bp"] is None else share_of(draw["amount_fen"], draw["share_bp"])
    if draw["credit_fen"] != owed:
        return f"it credits {draw['credit_fen']} fen where its share of {draw['amount_fen']} fen is {owed} fen"
    return None


def line_disagreement(line: Mapping, draws: Sequence[Mapping]) -> str | None:
    """A sale line against its draws (in id order): its quantity at its price, split over them to the fen."""
    if not draws:
        return "it took nothing from any lot"
    amount = price_for(line["quantity"], line["price_fen"], line["price_per"])
    if line["amount_fen"] != amount:
        return f"its amount {line['amount_fen']} fen is not its quantity at its price ({amount} fen)"
    quantities = [d["quantity"] for d in draws]
    if sum(quantities) != line["quantity"]:
        return f"its draws take {sum(quantities)}, not its quantity {line['quantity']}"
    if [d["amount_fen"] for d in draws] != split_fen(amount, quantities):
        return f"its draws' amounts ({sum(d['amount_fen'] for d in draws)} fen) are not its amount split by quantity"
    return None
