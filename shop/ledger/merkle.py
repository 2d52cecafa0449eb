"""The ledger's Merkle tree (RFC 9162 §2.1): tree heads, inclusion and consistency proofs, and their checks.

Pure: hashlib only (the RFC's checks are the standalone checker's, shop.ledger.proof_checker).
The leaves are the entries' `hash` values as 32 raw bytes, in `seq` order.
A tree is read through a `NodeSource`, the hash of a perfect subtree given as (level, index): the
2**level leaves from index * 2**level. Every RFC subtree is a perfect one, or the right edge of the
tree, which is folded from the perfect subtrees it splits into; so a store that keeps perfect
subtrees (like Trillian's compact ranges) answers a proof with O(log² n) stored nodes, and a new
checkpoint hashes only the leaves added since the last one (`Frontier`).
"""

from collections.abc import Callable, Iterable
from typing import NamedTuple

# The checks live in the standalone checker (one file anyone can run), and are the same here.
from shop.ledger.proof_checker import EMPTY_ROOT, leaf_hash, node_hash, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "MemoryTree",
    "Node",
    "NodeSource",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "subtree_root",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

#: The hash of a perfect subtree: (level, index) -> 32 bytes.
NodeSource = Callable[[int, int], bytes]


def _split(size: int) -> int:
    """The largest power of two smaller than size (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def _perfect(start: int, end: int) -> int | None:
    """The level of [start, end) if it is a perfect, aligned subtree, else None."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return size.bit_length() - 1
    return None


def subtree_root(node: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC recursion reaches (start a multiple of a power of two ≥ the size)."""
    if end <= start:
        return EMPTY_ROOT
    # The right edge folds from the right: gather the perfect pieces, then hash them together.
    pieces = []
    while (level := _perfect(start, end)) is None:
        k = _split(end - start)
        pieces.append(node(k.bit_length() - 1, start // k))
        start += k
    result = node(level, start >> level)
    for piece in reversed(pieces):
        result = node_hash(piece, result)
    return result


def tree_root(node: NodeSource, size: int) -> bytes:
    """The tree head over the first `size` leaves."""
    return subtree_root(node, 0, size)


def inclusion_proof(node: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]): the audit path of a leaf, nearest sibling first."""
    if not 0 <= index < size:
        raise ValueError("the leaf is not in the tree")
    path, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_root(node, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(node, start, start + k))
            start += k
    return path[::-1]


def consistency_proof(node: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]): what shows the old tree is the start of the new one."""
    if not 0 <= old_size <= new_size:
        raise ValueError("the old tree must not be larger than the new one")
    if old_size in (0, new_size):
        return []
    proof, start, end, whole = [], 0, new_size, True
    while old_size != end:
        k = _split(end - start)
        if old_size - start <= k:
            proof.append(subtree_root(node, start + k, end))
            end = start + k
        else:
            proof.append(subtree_root(node, start, start + k))
            start += k
            whole = False
    if not whole:
        proof.append(subtree_root(node, start, end))
    return proof[::-1]


class Node(NamedTuple):
    """A perfect subtree's hash, by its place (a tuple: a checkpoint makes one per entry and more)."""

    level: int
    index: int
    hash: bytes


class Frontier:
    """The tree's right edge: the perfect subtrees [0, size) splits into, largest first.

    Appending a leaf hashes only what the leaf completes; the root folds the edge. Start it from
    stored nodes (`Frontier.at`) and a checkpoint hashes only the leaves added since the last.
    """

    def __init__(self):
        self.size, self.edge = 0, []

    @classmethod
    def at(cls, node: NodeSource, size: int) -> "Frontier":
        """The frontier of a tree of `size` leaves, read from its perfect subtrees."""
        frontier = cls()
        start = 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                frontier.edge.append(Node(bit, start >> bit, node(bit, start >> bit)))
                start += 1 << bit
        frontier.size = size
        return frontier

    def append(self, leaf: bytes) -> list[Node]:
        """Add a leaf; the perfect subtrees it completes (itself first)."""
        made = [Node(0, self.size, leaf_hash(leaf))]
        while self.edge and self.edge[-1].level == made[-1].level:
            left, right = self.edge.pop(), made[-1]
            made.append(Node(left.level + 1, left.index // 2, node_hash(left.hash, right.hash)))
        self.edge.append(made[-1])
        self.size += 1
        return made

    def root(self) -> bytes:
        """The tree head of the leaves so far."""
        if not self.edge:
            return EMPTY_ROOT
        result = self.edge[-1].hash
        for piece in reversed(self.edge[:-1]):
            result = node_hash(piece.hash, result)
        return result


def perfect_root(leaves: list[bytes]) -> bytes:
    """The hash of a perfect subtree from its leaves (a power-of-two count)."""
    level = [leaf_hash(leaf) for leaf in leaves]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class MemoryTree:
    """A whole tree held in memory, level by level: for tests, the bench and small checks."""

    def __init__(self, leaves: Iterable[bytes]):
        frontier = Frontier()
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            for made in frontier.append(leaf):
                if made.level == len(self.levels):
                    self.levels.append([])
                self.levels[made.level].append(made.hash)
        self.frontier = frontier

    @property
    def size(self) -> int:
        """How many leaves."""
        return self.frontier.size

    def node(self, level: int, index: int) -> bytes:
        """A perfect subtree's hash."""
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """The head of the first `size` leaves (all by default)."""
        return tree_root(self.node, self.size if size is None else size)
