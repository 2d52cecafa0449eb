"""Signed checkpoints of the household ledger, and the proofs a household or an inspector can check.

A checkpoint is the RFC 9162 tree head over the first `seq` entries (leaves: each entry's `hash` as
32 raw bytes, in seq order), signed with Ed25519 (shop.ledger.signing). The tree's perfect subtrees
from STORED_LEVEL up are kept in ledger_tree_node as checkpoints are taken, so a checkpoint hashes
only the entries added since the last one, and a proof reads O(log² n) stored nodes plus one block of
entries. A sale adds nothing: the tree is built when a checkpoint is taken.

`verify_checkpoints` rebuilds the tree from the entries themselves (never from the stored nodes), so a
chain rewritten behind a checkpoint, stored or kept outside, fails naming it.
"""

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from shop.clock import now_utc
from shop.extensions import db
from shop.ledger import merkle, proof_checker, signing
from shop.ledger.entries import lock_chain
from shop.models import LedgerCheckpoint, LedgerEntry, LedgerKey, LedgerTreeNode
from shop.transaction import atomic

#: The lowest level of the tree kept: subtrees of 256 entries. Below it, nodes are rebuilt from one block.
STORED_LEVEL = 8
BLOCK = 1 << STORED_LEVEL
#: How many entries are read at a time when the tree is built or rebuilt.
CHUNK = 20_000
#: What a proof says of an entry newer than the latest checkpoint.
NOT_YET = "not in a checkpoint yet"


def signed_at_text(at: datetime) -> str:
    """A checkpoint's time as it is signed and published: UTC, to the second."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def as_json(checkpoint: LedgerCheckpoint) -> dict:
    """A checkpoint as GET /ledger/checkpoints.json lists it."""
    return {
        "seq": checkpoint.seq,
        "root": checkpoint.root,
        "signed_at": signed_at_text(checkpoint.signed_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def key_json(key: LedgerKey) -> dict:
    """A published public key."""
    return {
        "key_id": key.key_id,
        "algorithm": "Ed25519",
        "public_key": key.public_key,
        "first_used": signed_at_text(key.first_used),
    }


class StoredTree:
    """The ledger's tree as a merkle.NodeSource: stored nodes from STORED_LEVEL up, blocks of entries below."""

    def __init__(self, session):
        self.session, self.nodes, self.blocks = session, {}, {}

    def node(self, level: int, index: int) -> bytes:
        """A perfect subtree's hash (merkle.NodeSource)."""
        if level < STORED_LEVEL:
            start = index << level
            block = self._block(start // BLOCK)
            offset = start % BLOCK
            piece = block[offset : offset + (1 << level)]
            # Entries missing (a chain cut short): a hash no proof can lead to.
            return merkle.perfect_root(piece) if len(piece) == 1 << level else bytes(32)
        if (level, index) not in self.nodes:
            self.prefetch([(level, index)])
        found = self.nodes.get((level, index))
        if found is None:  # not stored (a tree size no checkpoint was taken at): build it from below
            found = merkle.node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))
            self.nodes[level, index] = found
        return found

    def _block(self, number: int) -> list[bytes]:
        if number not in self.blocks:
            self.blocks[number] = leaves(self.session, number * BLOCK, (number + 1) * BLOCK)
        return self.blocks[number]

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Read the stored nodes among keys, a few hundred per query."""
        wanted = sorted({key for key in keys if key[0] >= STORED_LEVEL and key not in self.nodes})
        table = LedgerTreeNode.__table__
        for at in range(0, len(wanted), 400):
            part = wanted[at : at + 400]
            rows = self.session.execute(
                sa.select(table.c.level, table.c.node_index, table.c.hash).where(
                    sa.tuple_(table.c.level, table.c.node_index).in_(part)
                )
            )
            self.nodes.update({(level, index): bytes.fromhex(h) for level, index, h in rows})

    def run(self, build):
        """Call build(node) twice: once to learn which nodes it reads (fetched together), once for real."""
        wanted = []
        build(lambda level, index: wanted.append((level, index)) or bytes(32))
        self.prefetch(wanted)
        return build(self.node)


def leaves(session, start: int, end: int) -> list[bytes]:
    """The leaves from index start up to end (entries start+1 .. end), as raw bytes."""
    rows = session.scalars(
        sa.select(LedgerEntry.hash).where(LedgerEntry.seq > start, LedgerEntry.seq <= end).order_by(LedgerEntry.seq)
    )
    return [bytes.fromhex(h) for h in rows]


def _all_leaves(session, upto: int | None = None) -> Iterator[bytes]:
    """Every leaf in seq order, a chunk at a time (keyset pagination)."""
    after = 0
    while chunk := leaves(session, after, after + CHUNK if upto is None else min(upto, after + CHUNK)):
        yield from chunk
        after += len(chunk)
        if upto is not None and after >= upto:
            return


def latest(session=None) -> LedgerCheckpoint | None:
    """The newest checkpoint, or None before the first."""
    session = session or db.session
    return session.scalars(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq.desc()).limit(1)).first()


def all_checkpoints(session=None) -> list[LedgerCheckpoint]:
    """Every checkpoint, oldest first."""
    session = session or db.session
    return list(session.scalars(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq)))


def published_keys(session=None) -> list[LedgerKey]:
    """Every public key that has signed, oldest first."""
    session = session or db.session
    return list(session.scalars(sa.select(LedgerKey).order_by(LedgerKey.first_used, LedgerKey.key_id)))


def take_checkpoint() -> LedgerCheckpoint | None:
    """Extend the tree to the ledger's head, sign its root and store it; None when no entry is new."""
    with atomic() as session:
        lock_chain(session)
        size = session.scalar(sa.select(sa.func.coalesce(sa.func.max(LedgerEntry.seq), 0)))
        last = latest(session)
        if size == 0 or (last is not None and last.seq >= size):
            return None
        root = _extend(session, size)
        key = signing.signing_keys()[0]
        signed_at = now_utc().replace(microsecond=0)
        root_hex = root.hex()
        text = signed_at_text(signed_at)
        signature = key.sign(proof_checker.message(size, root_hex, text))
        key_id = signing.key_id(key)
        if session.get(LedgerKey, key_id) is None:
            public = base64.b64encode(signing.public_bytes(key)).decode()
            session.add(LedgerKey(key_id=key_id, public_key=public, first_used=signed_at))
        checkpoint = LedgerCheckpoint(
            seq=size,
            root=root_hex,
            signed_at=signed_at,
            key_id=key_id,
            signature=base64.b64encode(signature).decode(),
        )
        session.add(checkpoint)
    return checkpoint


def _extend(session, size: int) -> bytes:
    """Store the perfect subtrees the entries up to size complete, from where the stored tree ends; its root."""
    blocks = session.scalar(
        sa.select(sa.func.count()).select_from(LedgerTreeNode).where(LedgerTreeNode.level == STORED_LEVEL)
    )
    tree = StoredTree(session)
    stored = blocks * BLOCK
    frontier = tree.run(lambda node: merkle.Frontier.at(node, stored))
    for leaf in _all_leaves_from(session, stored, size):
        for made in frontier.append(leaf):
            if made.level >= STORED_LEVEL:
                session.add(LedgerTreeNode(level=made.level, node_index=made.index, hash=made.hash.hex()))
    return frontier.root()


def _all_leaves_from(session, start: int, end: int) -> Iterator[bytes]:
    while start < end:
        chunk = leaves(session, start, min(end, start + CHUNK))
        if not chunk:
            return
        yield from chunk
        start += len(chunk)


def proofs_for(session, seqs: Iterable[int]) -> tuple[dict | None, dict[int, dict]]:
    """Inclusion proofs of entries in the latest checkpoint, for a statement or a household's page.

    proofs_for(session, seqs) -> (latest checkpoint as published, or None before the first;
    {seq: proof}). Each proof is what `flask ledger prove` prints and proof_checker checks:
    {"seq", "leaf", "tree_size", "audit_path", "checkpoint"}; an entry newer than the checkpoint
    (or unknown) gets {"seq", "leaf", "checkpoint": None, "audit_path": None, "note": NOT_YET}.
    """
    checkpoint = latest(session)
    published = as_json(checkpoint) if checkpoint else None
    seqs = sorted(set(seqs))
    hashes = (
        dict(session.execute(sa.select(LedgerEntry.seq, LedgerEntry.hash).where(LedgerEntry.seq.in_(seqs))).all())
        if seqs
        else {}
    )
    tree, proofs = StoredTree(session), {}
    for seq in seqs:
        leaf = hashes.get(seq)
        if checkpoint is None or leaf is None or seq > checkpoint.seq:
            proofs[seq] = {"seq": seq, "leaf": leaf, "checkpoint": None, "audit_path": None, "note": NOT_YET}
            continue
        path = tree.run(lambda node, seq=seq: merkle.inclusion_proof(node, seq - 1, checkpoint.seq))
        proofs[seq] = {
            "seq": seq,
            "leaf": leaf,
            "tree_size": checkpoint.seq,
            "audit_path": [node.hex() for node in path],
            "checkpoint": published,
        }
    return published, proofs


def prove(seq: int, session=None) -> dict | None:
    """The proof of one entry against the latest checkpoint; None if there is no such entry."""
    session = session or db.session
    _, proofs = proofs_for(session, [seq])
    return proofs[seq] if proofs[seq]["leaf"] is not None else None


def consistency(old_seq: int, new_seq: int, session=None) -> dict | None:
    """The consistency proof between two checkpoints (by seq); None unless both exist and old ≤ new."""
    session = session or db.session
    found = {
        c.seq: c
        for c in session.scalars(sa.select(LedgerCheckpoint).where(LedgerCheckpoint.seq.in_([old_seq, new_seq])))
    }
    if old_seq not in found or new_seq not in found or old_seq > new_seq:
        return None
    path = StoredTree(session).run(lambda node: merkle.consistency_proof(node, old_seq, new_seq))
    return {
        "old": as_json(found[old_seq]),
        "new": as_json(found[new_seq]),
        "consistency_path": [node.hex() for node in path],
    }


@dataclass(frozen=True)
class CheckpointFault:
    """A checkpoint the ledger no longer agrees with, and why."""

    seq: int
    signed_at: str
    reason: str

    def __str__(self) -> str:
        if not self.seq:
            return self.reason
        return f"checkpoint {self.seq} (signed {self.signed_at}): {self.reason}"


def verify_checkpoints(outside: list | None = None, session=None) -> tuple[int, list[CheckpointFault]]:
    """Check every stored checkpoint (and every one in an outside copy of checkpoints.json) against the entries.

    Each must be signed by a published key and its root must be what the entries up to its seq give
    now; consecutive stored checkpoints must be consistent, and the stored tree must match the entries.
    Returns how many checkpoints were checked and the faults, oldest first. ValueError if `outside`
    is not a list of checkpoints.
    """
    session = session or db.session
    keys = {k.key_id: base64.b64decode(k.public_key) for k in published_keys(session)}
    stored = [proof_checker.Checkpoint.read(as_json(c)) for c in all_checkpoints(session)]
    copies = _read_outside(outside)
    faults = [
        CheckpointFault(c.seq, c.signed_at, "its signature does not hold with the published key " + c.key_id)
        for c in stored + copies
        if not proof_checker.signature_holds(c, keys)
    ]
    wanted = sorted(stored + copies, key=lambda c: c.seq)
    faults += _roots_differ(session, wanted)
    faults += _inconsistent(session, stored)
    return len(stored) + len(copies), sorted(faults, key=lambda f: (f.seq, f.reason))


def _read_outside(outside) -> list[proof_checker.Checkpoint]:
    if outside is None:
        return []
    if not isinstance(outside, list):
        raise ValueError("the checkpoints file must hold a list of checkpoints")
    try:
        return [proof_checker.Checkpoint.read(item) for item in outside]
    except proof_checker.Unreadable as error:
        raise ValueError(f"the checkpoints file holds a checkpoint that cannot be read: {error}") from None


def _roots_differ(session, wanted: list) -> list[CheckpointFault]:
    """Rebuild the tree from the entries, comparing each checkpoint's root on the way, and the stored nodes."""
    faults, frontier = [], merkle.Frontier()
    stored_nodes = {
        (level, index): bytes.fromhex(h)
        for level, index, h in session.execute(
            sa.select(LedgerTreeNode.level, LedgerTreeNode.node_index, LedgerTreeNode.hash)
        )
    }
    bad_node = None
    leaves_iter = _all_leaves(session)
    for checkpoint in wanted:
        while frontier.size < checkpoint.seq and (leaf := next(leaves_iter, None)) is not None:
            for made in frontier.append(leaf):
                if made.level >= STORED_LEVEL and stored_nodes.get((made.level, made.index), made.hash) != made.hash:
                    bad_node = bad_node or made
        if frontier.size < checkpoint.seq:
            reason = f"the ledger now holds only {frontier.size} entries"
            faults.append(CheckpointFault(checkpoint.seq, checkpoint.signed_at, reason))
        elif frontier.root() != checkpoint.root:
            reason = f"the entries up to {checkpoint.seq} no longer give its root: the chain was rewritten behind it"
            faults.append(CheckpointFault(checkpoint.seq, checkpoint.signed_at, reason))
    if bad_node is not None:
        first = bad_node.index * (1 << bad_node.level) + 1
        reason = f"the stored tree does not match entries {first} onwards"
        faults.append(CheckpointFault(0, "", reason))
    return faults


def _inconsistent(session, stored: list) -> list[CheckpointFault]:
    """Each stored checkpoint must extend the one before it (an RFC 9162 consistency proof)."""
    faults, tree = [], StoredTree(session)
    for old, new in zip(stored, stored[1:], strict=False):
        path = tree.run(lambda node, old=old, new=new: merkle.consistency_proof(node, old.seq, new.seq))
        if not merkle.verify_consistency(old.seq, new.seq, old.root, new.root, path):
            reason = f"it does not extend checkpoint {old.seq}"
            faults.append(CheckpointFault(new.seq, new.signed_at, reason))
    return faults
