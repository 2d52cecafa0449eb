"""Signed checkpoints over the generated ledger: what a checkpoint and a proof cost, and what a sale pays (nothing).

- The first checkpoint over the generated ledger (every entry, from scratch: read, hashed into the
  tree, its nodes stored), against hashing as many leaves once in memory (the least any tree head
  costs); then a day's checkpoint (DAY_ENTRIES new entries over the nodes stored by the one before),
  against the first. A day's checkpoint hashes only the day's entries.
- A proof from the stored tree (O(log² n) stored nodes and one block of entries), against reading
  one entry's hash by seq.
- A sale's ledger entry written with the checkpoint tables present: the statements it sends to them
  (none: the tree is built at checkpoint time), and its time against the entry write alone.
"""

import hashlib
import os
import random
import time
from datetime import date

import sqlalchemy as sa

#: About a day's entries at a million a year.
DAY_ENTRIES = 3000
#: Proofs asked per figure.
PROOFS = 50


def _seconds(job) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _hash_each(count: int) -> float:
    """Seconds to hash `count` leaves once each, in memory."""
    from shop.ledger import merkle

    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(count)]
    return _seconds(lambda: [merkle.leaf_hash(leaf) for leaf in leaves])


def measure(app) -> list[dict]:
    """Checkpoints and proofs over the generated ledger in app's database."""
    from shop.extensions import db
    from shop.ledger import checkpoints
    from shop.models import LedgerEntry
    from shop.transaction import atomic

    app.config["LEDGER_SIGNING_KEYS"] = [os.urandom(32).hex()]
    rows = []
    with app.app_context():
        size = db.session.scalar(sa.select(sa.func.max(LedgerEntry.seq)))
        db.session.remove()
        hashed = _hash_each(size - DAY_ENTRIES)
        with atomic() as session:  # the tree up to yesterday: every entry, from scratch
            first = _seconds(lambda: checkpoints._extend(session, size - DAY_ENTRIES))
        day = _seconds(checkpoints.take_checkpoint)
        rows.append(
            {
                "figure": f"First checkpoint, s ({size - DAY_ENTRIES:,} entries; baseline: each leaf hashed once)",
                "project": first,
                "baseline": hashed,
                "better": "lower",
            }
        )
        rows.append(
            {
                "figure": f"Day's checkpoint, s ({DAY_ENTRIES:,} new entries over stored nodes; baseline: as first)",
                "project": day,
                "baseline": first,
                "better": "lower",
            }
        )
        picks = [random.randint(1, size) for _ in range(PROOFS)]
        db.session.remove()
        proved = _seconds(lambda: [checkpoints.prove(seq) for seq in picks]) / PROOFS
        db.session.remove()
        looked = _seconds(lambda: [db.session.get(LedgerEntry, seq) for seq in picks]) / PROOFS
        rows.append(
            {
                "figure": f"Inclusion proof from the stored tree, ms ({size:,} entries; baseline: one entry by id)",
                "project": proved * 1000,
                "baseline": looked * 1000,
                "better": "lower",
            }
        )
        rows.append(_sale_cost(app))
    return rows


def _sale_cost(app) -> dict:
    """Statements a ledger entry sends to the checkpoint tables (project) against those it sends at all."""
    from shop.extensions import db
    from shop.ledger import entries
    from shop.ledger.chain import EntryKind
    from shop.models import Household, Lot
    from shop.transaction import atomic

    touched, sent = [], []

    def count(conn, cursor, statement, *args):
        sent.append(statement)
        if "ledger_tree_node" in statement or "ledger_checkpoint" in statement or "ledger_key" in statement:
            touched.append(statement)

    lot = db.session.scalars(sa.select(Lot).limit(1)).first()
    lot_id, household_id = lot.id, lot.household_id
    db.session.remove()
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            with atomic() as session:
                household = session.get(Household, household_id)
                made = entries.NewEntry(household, EntryKind.CREDIT, 1, date.today(), lot_id=lot_id)
                entries.append(session, [made], by=None)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return {
        "figure": "Statements a ledger entry sends to the checkpoint tables (baseline: all it sends)",
        "project": len(touched) / 20,
        "baseline": len(sent) / 20,
        "better": "lower",
    }
