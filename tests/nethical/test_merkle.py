"""RFC 6962 / 9162 Merkle hashing and proofs, checked against the public transparency-dev test vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from nethical.audit.compact_range import CompactRange
from nethical.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    split_point,
    verify_consistency,
    verify_inclusion,
)
from nethical.audit.tree import MerkleTree

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "merkle-vectors"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json")) if VECTORS.is_dir() else []
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json")) if VECTORS.is_dir() else []

# The eight leaves of the RFC 6962 reference tests (transparency-dev/merkle testonly), and their known root.
RFC_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", bytes(range(0x40, 0x44)), bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
RFC_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def _b(text):
    return base64.b64decode(text) if text else b""


def _case_id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_vectors_present_or_skip():
    if not VECTORS.is_dir():
        pytest.skip(f"shared test vectors not found at {VECTORS}")
    assert len(INCLUSION) > 50 and len(CONSISTENCY) > 50
    assert any(json.loads(p.read_text())["wantErr"] for p in INCLUSION)  # corrupted cases are really in the set


@pytest.mark.parametrize("path", INCLUSION, ids=_case_id)
def test_inclusion_vector(path):
    case = json.loads(path.read_text())
    ok = verify_inclusion(_b(case["leafHash"]), case["leafIdx"], case["treeSize"], [_b(p) for p in case["proof"] or []], _b(case["root"]))
    assert ok is (not case["wantErr"]), case["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=_case_id)
def test_consistency_vector(path):
    case = json.loads(path.read_text())
    ok = verify_consistency(case["size1"], case["size2"], [_b(p) for p in case["proof"] or []], _b(case["root1"]), _b(case["root2"]))
    assert ok is (not case["wantErr"]), case["desc"]


@pytest.mark.parametrize("path", [p for p in INCLUSION if p.name == "happy-path.json"], ids=_case_id)
def test_our_proofs_equal_the_vector_proofs(path):
    """For the happy paths built on the RFC leaves, our generated proof is byte-identical to the published one."""
    case = json.loads(path.read_text())
    n, i = case["treeSize"], case["leafIdx"]
    leaves = [leaf_hash(d) for d in RFC_LEAVES[:n]]
    assert leaves[i] == _b(case["leafHash"])
    assert root(leaves) == _b(case["root"])
    assert inclusion_proof(leaves, i) == [_b(p) for p in case["proof"] or []]
    assert MerkleTree(leaves).inclusion_proof(i) == [_b(p) for p in case["proof"] or []]


@pytest.mark.parametrize("path", [p for p in CONSISTENCY if p.name == "happy-path.json"], ids=_case_id)
def test_our_consistency_proofs_equal_the_vectors(path):
    case = json.loads(path.read_text())
    leaves = [leaf_hash(d) for d in RFC_LEAVES[: case["size2"]]]
    assert root(leaves[: case["size1"]]) == _b(case["root1"])
    assert consistency_proof(leaves, case["size1"]) == [_b(p) for p in case["proof"] or []]
    assert MerkleTree(leaves).consistency_proof(case["size1"]) == [_b(p) for p in case["proof"] or []]


def test_hash_definitions():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root([leaf_hash(b"x")]) == leaf_hash(b"x")


def test_rfc6962_reference_root():
    assert root([leaf_hash(d) for d in RFC_LEAVES]).hex() == RFC_ROOT_8


def test_split_at_largest_power_of_two_below_n():
    assert [split_point(n) for n in (2, 3, 4, 5, 7, 8, 9, 1000)] == [1, 2, 2, 4, 4, 4, 8, 512]
    a, b, c, d, e = (leaf_hash(x) for x in (b"a", b"b", b"c", b"d", b"e"))
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert root([a, b, c, d, e]) == node_hash(node_hash(node_hash(a, b), node_hash(c, d)), e)


def test_cve_2012_2459_no_duplicate_last_leaf():
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert root([a, b, c]) != root([a, b, c, c])
    assert MerkleTree([a, b, c]).root() != MerkleTree([a, b, c, c]).root()
    # The Bitcoin-style tree (duplicate the odd last node) would have made these two equal:
    bitcoin_style = node_hash(node_hash(a, b), node_hash(c, c))
    assert root([a, b, c, c]) == bitcoin_style != root([a, b, c])


def test_flipping_one_byte_changes_the_root():
    data = [f"event-{i}".encode() for i in range(11)]
    base = root([leaf_hash(d) for d in data])
    data[7] = b"Event-7"
    assert root([leaf_hash(d) for d in data]) != base


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100])
def test_tree_compact_range_and_reference_agree(n):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree, cr = MerkleTree(leaves), CompactRange()
    for h in leaves:
        cr.append(h)
    assert tree.root() == cr.root() == root(leaves)
    assert CompactRange.from_dict(cr.to_dict()).root() == cr.root()
    for i in range(n):
        proof = tree.inclusion_proof(i)
        assert proof == inclusion_proof(leaves, i)
        assert verify_inclusion(leaves[i], i, n, proof, tree.root())
        assert not verify_inclusion(leaves[i], (i + 1) % n, n, proof, tree.root()) or n == 1
    for m in range(1, n + 1):
        proof = tree.consistency_proof(m)
        assert proof == consistency_proof(leaves, m)
        assert verify_consistency(m, n, proof, root(leaves[:m]), tree.root())


def test_proofs_reject_bad_requests():
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    with pytest.raises(IndexError, match=r"index=5"):
        inclusion_proof(leaves, 5)
    with pytest.raises(IndexError, match=r"leaf index -1"):
        MerkleTree(leaves).inclusion_proof(-1)
    with pytest.raises(ValueError, match=r"old_size=0"):
        consistency_proof(leaves, 0)
    with pytest.raises(ValueError, match=r"32-byte"):
        CompactRange().append(b"short")
    assert not verify_inclusion(b"short", 0, 1, [], b"short")  # wrong hash length is rejected, not raised
