"""The ledger's Merkle tree, checked against RFC 9162 §2.1 written out here from the RFC's own definitions."""

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.ledger import merkle

# --- RFC 9162 §2.1, straight from the text (recursive, no shortcuts) -------------------------------


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + D[0])
    k = k_of(n)
    return H(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    n = len(D)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return PATH(m, D[:k]) + [MTH(D[k:])]
    return PATH(m - k, D[k:]) + [MTH(D[:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, D[:k], b) + [MTH(D[k:])]
    return SUBPROOF(m - k, D[k:], False) + [MTH(D[:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


# ---------------------------------------------------------------------------------------------------


def leaves(n: int, seed: int = 0) -> list[bytes]:
    return [H(f"{seed}:{i}".encode()) for i in range(n)]


LEAVES = leaves(70)
TREE = merkle.MemoryTree(LEAVES)


@pytest.mark.parametrize("n", range(0, 71))
def test_tree_head_is_the_rfcs(n):
    assert merkle.tree_root(TREE.node, n) == MTH(LEAVES[:n])


@pytest.mark.parametrize("n", range(1, 71))
def test_every_audit_path_is_the_rfcs_and_checks_out(n):
    root = MTH(LEAVES[:n])
    for m in range(n):
        path = merkle.inclusion_proof(TREE.node, m, n)
        assert path == PATH(m, LEAVES[:n])
        assert merkle.verify_inclusion(LEAVES[m], m, n, path, root)
        # Another leaf, another place, another root: each fails.
        assert not merkle.verify_inclusion(LEAVES[(m + 1) % 70], m, n, path, root)
        assert not merkle.verify_inclusion(LEAVES[m], m, n, path, H(b"x"))
        if n > 1:
            assert not merkle.verify_inclusion(LEAVES[m], (m + 1) % n, n, path, root)
            assert not merkle.verify_inclusion(LEAVES[m], m, n, path[:-1], root)
            assert not merkle.verify_inclusion(LEAVES[m], m, n, [*path, path[0]], root)
            tampered = list(path)
            tampered[len(path) // 2] = H(b"tampered")
            assert not merkle.verify_inclusion(LEAVES[m], m, n, tampered, root)


@pytest.mark.parametrize("n", range(1, 71))
def test_every_consistency_proof_is_the_rfcs_and_checks_out(n):
    new_root = MTH(LEAVES[:n])
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(TREE.node, m, n)
        old_root = MTH(LEAVES[:m])
        if m < n:
            assert proof == PROOF(m, LEAVES[:n])
        assert merkle.verify_consistency(m, n, old_root, new_root, proof)
        assert not merkle.verify_consistency(m, n, H(b"other"), new_root, proof)
        assert not merkle.verify_consistency(m, n, old_root, H(b"other"), proof)
        if proof:
            tampered = list(proof)
            tampered[-1] = H(b"tampered")
            assert not merkle.verify_consistency(m, n, old_root, new_root, tampered)
            assert not merkle.verify_consistency(m, n, old_root, new_root, proof[:-1])


def test_a_rewritten_leaf_breaks_consistency():
    rewritten = list(LEAVES[:40])
    rewritten[7] = H(b"ten yuan more")
    proof = merkle.consistency_proof(merkle.MemoryTree(LEAVES[:60]).node, 40, 60)
    assert not merkle.verify_consistency(40, 60, MTH(rewritten), MTH(LEAVES[:60]), proof)


def test_impossible_places_are_refused():
    assert not merkle.verify_inclusion(LEAVES[0], 5, 5, [], MTH(LEAVES[:5]))
    assert not merkle.verify_inclusion(LEAVES[0], -1, 5, [], MTH(LEAVES[:5]))
    assert not merkle.verify_consistency(5, 3, MTH(LEAVES[:5]), MTH(LEAVES[:3]), [])
    with pytest.raises(ValueError):
        merkle.inclusion_proof(TREE.node, 3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_proof(TREE.node, 4, 3)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=71, max_value=700), st.data())
def test_larger_trees(n, data):
    D = leaves(n, seed=n)
    tree = merkle.MemoryTree(D)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    old = data.draw(st.integers(min_value=1, max_value=n))
    root = MTH(D)
    assert tree.root() == root
    assert merkle.inclusion_proof(tree.node, m, n) == PATH(m, D)
    assert merkle.verify_inclusion(D[m], m, n, PATH(m, D), root)
    proof = merkle.consistency_proof(tree.node, old, n)
    if old < n:
        assert proof == PROOF(old, D)
    assert merkle.verify_consistency(old, n, MTH(D[:old]), root, proof)


def test_frontier_restarted_from_stored_nodes_equals_the_tree_from_scratch():
    """Checkpoints of random sizes, each restarting from the nodes stored so far, give the RFC's heads."""
    rng = random.Random(16)
    D = leaves(3000, seed=7)
    stored: dict[tuple[int, int], bytes] = {}
    size = 0
    while size < len(D):
        frontier = merkle.Frontier.at(lambda level, index: stored[level, index], size)
        size = min(len(D), size + rng.randint(1, 300))
        for leaf in D[frontier.size : size]:
            for made in frontier.append(leaf):
                stored[made.level, made.index] = made.hash
        assert frontier.root() == MTH(D[:size])
        assert merkle.tree_root(lambda level, index: stored[level, index], size) == frontier.root()
    assert merkle.inclusion_proof(lambda level, index: stored[level, index], 1234, 3000) == PATH(1234, D)
