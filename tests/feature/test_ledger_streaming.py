"""`flask ledger verify` reads the chain a chunk at a time: its memory does not grow with the ledger."""

import tracemalloc
from datetime import date

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.ledger import entries as credits
from shop.ledger.chain import GENESIS, EntryKind, entry_hash
from shop.models import Household, LedgerEntry, Payout, PayoutMethod, User


def append_payouts(app, household_id: int, count: int) -> None:
    """Bulk-insert `count` payouts of 1 fen and their entries, a valid chain after what is there."""
    with app.app_context():
        household = db.session.get(Household, household_id)
        clerk_id = db.session.scalar(sa.select(User.id).where(User.username == "admin"))
        last = db.session.execute(sa.select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc())).first()
        seq, prev = last if last else (0, GENESIS)
        first_id = (db.session.scalar(sa.select(sa.func.max(Payout.id))) or 0) + 1
        payouts, entries = [], []
        for payout_id in range(first_id, first_id + count):
            seq += 1
            payouts.append(
                {
                    "id": payout_id,
                    "household_id": household_id,
                    "amount_fen": 1,
                    "method": PayoutMethod.CASH,
                    "paid_on": date(2026, 11, 2),
                    "balance_before_fen": 1,
                    "paid_by_id": clerk_id,
                }
            )
            fields = {
                "seq": seq,
                "household_id": household_id,
                "kind": EntryKind.PAYOUT,
                "amount_fen": 1,
                "entry_date": date(2026, 11, 2),
                "category": household.category,
                "monitoring_status": household.monitoring_status,
                "created_by_id": clerk_id,
                "payout_id": payout_id,
            }
            entry_fields = dict.fromkeys(("draw_id", "lot_id", "draw_reversal_id", "adjustment_id")) | fields
            digest = entry_hash(prev, entry_fields)
            entries.append(entry_fields | {"prev_hash": prev, "hash": digest})
            prev = digest
        db.session.execute(sa.insert(Payout), payouts)
        db.session.execute(sa.insert(LedgerEntry), entries)
        db.session.commit()


def verify_peak(app) -> tuple[int, object, int]:
    """Verify the ledger; its count, fault and the peak memory Python allocated meanwhile."""
    with app.app_context():
        tracemalloc.start()
        try:
            count, fault = credits.verify()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        db.session.remove()
    return count, fault, peak


def all_rows_peak(app) -> int:
    """The peak memory of reading the whole ledger at once, as verify did before it streamed."""
    with app.app_context():
        tracemalloc.start()
        try:
            db.session.execute(sa.select(LedgerEntry.__table__)).mappings().all()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        db.session.remove()
    return peak


def test_verify_over_four_times_the_entries_takes_no_more_memory(app, goods, monkeypatch):
    monkeypatch.setattr(credits, "VERIFY_CHUNK", 250)
    append_payouts(app, goods["wang"], 1_000)
    verify_peak(app)  # compiles and caches the statements once
    count, fault, small = verify_peak(app)
    assert (count, fault) == (1_000, None)
    append_payouts(app, goods["wang"], 3_000)
    count, fault, large = verify_peak(app)
    assert (count, fault) == (4_000, None)
    everything = all_rows_peak(app)
    # Loading every row takes memory in proportion to the ledger; a chunk at a time takes about the same
    # whatever its length. The drivers' one-off caches (psycopg prepares a statement run often) may add a
    # little, so the bound is a small part of what the 3,000 extra rows would take if they were loaded.
    assert large - small < (everything - small) / 4, (small, large, everything)


def test_a_fault_in_a_late_chunk_is_found_with_its_seq(app, goods, monkeypatch):
    monkeypatch.setattr(credits, "VERIFY_CHUNK", 100)
    append_payouts(app, goods["wang"], 450)
    with app.app_context():
        # A payout whose amount no longer matches its entry (the ledger itself cannot be updated).
        payout_id = db.session.scalar(sa.select(LedgerEntry.payout_id).where(LedgerEntry.seq == 333))
        db.session.execute(sa.update(Payout).where(Payout.id == payout_id).values(amount_fen=2))
        db.session.commit()
        count, fault = credits.verify()
    assert count == 450
    assert fault.seq == 333 and "does not match" in fault.reason


def test_a_broken_chain_is_reported_before_an_earlier_cross_check_fault(app, goods, monkeypatch):
    """As when the chain was checked whole first: the chain's fault wins."""
    monkeypatch.setattr(credits, "VERIFY_CHUNK", 100)
    append_payouts(app, goods["wang"], 300)
    with app.app_context():
        payout_id = db.session.scalar(sa.select(LedgerEntry.payout_id).where(LedgerEntry.seq == 20))
        db.session.execute(sa.update(Payout).where(Payout.id == payout_id).values(amount_fen=2))
        db.session.commit()
        real = credits.verify
        with pytest.MonkeyPatch.context() as patch:
            # The chain breaks at 250: its hashes checked against a tampered copy of that entry.
            chunks = credits._chunks

            def tampered(session):
                for chunk in chunks(session):
                    yield [dict(row, amount_fen=9) if row["seq"] == 250 else row for row in chunk]

            patch.setattr(credits, "_chunks", tampered)
            count, fault = real()
    assert count == 300
    assert fault.seq == 250 and "content does not match" in fault.reason
