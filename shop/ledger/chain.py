"""The household income ledger's hash chain: pure functions over plain values, no Flask, no database.

Each entry's hash covers its own content and the hash before it, so changing,
inserting or removing any entry breaks every hash after it. `verify_chain`
finds the first entry that does not fit.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

#: The hash the first entry of the chain follows.
GENESIS = "0" * 64


class EntryKind(StrEnum):
    """What an entry records, and so the sign of its amount."""

    CREDIT = "credit"  # income earned: a consignment draw's share, or a purchase lot at intake
    REVERSAL = "reversal"  # income taken back by a refund (negative)
    PAYOUT = "payout"  # money handed to the household (negative)
    ADJUSTMENT = "adjustment"  # a correction either way, approved by a second staff member (signed)


#: Kinds that move income (what the monitoring line is judged on); a payout only moves money.
INCOME_KINDS = (EntryKind.CREDIT, EntryKind.REVERSAL, EntryKind.ADJUSTMENT)


#: The fields a hash covers, in a fixed order; a new field must be added at the end.
HASHED_FIELDS = (
    "seq",
    "household_id",
    "kind",
    "amount_fen",
    "entry_date",
    "draw_id",
    "lot_id",
    "draw_reversal_id",
    "category",
    "monitoring_status",
    "created_by_id",
)

#: Causes added after the first entries were written. Each is hashed only when set, so
#: the entries written before it keep their hashes, and setting or clearing it on any
#: entry behind the app's back still changes that entry's hash.
LATER_FIELDS = ("payout_id", "adjustment_id")


def entry_hash(prev_hash: str, fields: Mapping) -> str:
    """The SHA-256 of an entry: the previous hash, then its fields as canonical JSON."""
    content = {name: _plain(fields.get(name)) for name in HASHED_FIELDS}
    content |= {name: _plain(fields[name]) for name in LATER_FIELDS if fields.get(name) is not None}
    payload = prev_hash + json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _plain(value):
    """A value as JSON holds it the same way every time: dates as ISO text, enums as their value."""
    if value is None or isinstance(value, int | str):
        return value.value if isinstance(value, StrEnum) else value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass(frozen=True)
class ChainFault:
    """Where and why a chain stops checking out."""

    seq: int
    reason: str


def verify_chain(entries: Iterable[Mapping]) -> ChainFault | None:
    """The first entry (in seq order) whose number, link or hash is wrong, or None if all are right."""
    prev_hash, expected_seq = GENESIS, 1
    for entry in entries:
        seq = entry["seq"]
        if seq != expected_seq:
            return ChainFault(expected_seq, f"entry {expected_seq} is missing (found {seq} next)")
        if entry["prev_hash"] != prev_hash:
            return ChainFault(seq, "it does not follow the entry before it")
        if entry["hash"] != entry_hash(prev_hash, entry):
            return ChainFault(seq, "its content does not match its hash")
        prev_hash, expected_seq = entry["hash"], seq + 1
    return None


def signed_amount(kind: EntryKind, amount_fen: int) -> int:
    """The entry's effect on the balance: credits add, reversals and payouts take away.

    An adjustment carries its own sign, because a correction can go either way.
    """
    if kind is EntryKind.ADJUSTMENT:
        if amount_fen == 0:
            raise ValueError("an adjustment of nothing is not an entry")
        return amount_fen
    if amount_fen <= 0:
        raise ValueError("amounts are recorded as positive fen; the kind gives the sign")
    return -amount_fen if kind in (EntryKind.REVERSAL, EntryKind.PAYOUT) else amount_fen
