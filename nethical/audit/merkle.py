"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.

Pure functions over ``bytes``; no state, no I/O. The tree is the one of RFC 9162 §2.1.1:

- leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``;
- a tree of ``n > 1`` leaves splits at ``k``, the largest power of two *strictly below* ``n``: the left subtree holds
  ``k`` leaves, the right one ``n - k``. Nothing is ever duplicated, so the tree of ``[a, b, c]`` and the tree of
  ``[a, b, c, c]`` have different roots (the duplicate-last-leaf flaw of CVE-2012-2459 cannot exist);
- the root of the empty tree is ``SHA-256()`` of nothing.

Proof generation here works on a list of leaf hashes and is meant for small trees and tests; for large trees
:class:`nethical.audit.tree.MerkleTree` keeps every level so each proof is ``O(log n)`` lookups. Verification follows
the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step; every verifier returns
``False`` for any malformed input (wrong hash length, sizes out of range, proofs too long or too short) and never
raises for bad proof data.

Example:
    >>> leaves = [leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]
    >>> proof = inclusion_proof(leaves, 2)
    >>> verify_inclusion(leaves[2], 2, 3, proof, root(leaves))
    True
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf (RFC 9162 §2.1.1)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return _sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``): where a tree of ``n`` leaves splits."""
    if n < 2:
        raise ValueError(f"split_point(n={n}) needs n >= 2.")
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of a list of leaf hashes, computed iteratively in ``O(n)`` with an ``O(log n)`` stack.

    Leaves are folded into a stack of perfect-subtree roots (a compact range: one entry per set bit of the count);
    the root is the right-to-left fold of that stack, which is exactly the RFC split at the largest power of two.
    """
    stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
    for h in leaf_hashes:
        height, value = 0, h
        while stack and stack[-1][0] == height:
            value = node_hash(stack.pop()[1], value)
            height += 1
        stack.append((height, value))
    if not stack:
        return EMPTY_ROOT
    value = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        value = node_hash(left, value)
    return value


def _mth(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    return root(leaf_hashes[start:end])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path ``PATH(m, D[n])`` of RFC 9162 §2.1.3.1 for leaf ``index`` (bottom-up, siblings only)."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise IndexError(f"inclusion_proof(index={index}) is out of range for a tree of {n} leaves (valid: 0..{n - 1}).")
    path: list[bytes] = []
    start, end = 0, n
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(_mth(leaf_hashes, start + k, end))
            end = start + k
        else:
            path.append(_mth(leaf_hashes, start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof ``PROOF(m, D[n])`` of RFC 9162 §2.1.4.1 between sizes ``old_size`` and ``len(leaves)``."""
    n = len(leaf_hashes)
    if not 0 < old_size <= n:
        raise ValueError(f"consistency_proof(old_size={old_size}) must satisfy 0 < old_size <= tree size {n}.")
    if old_size == n:
        return []
    return _subproof(lambda a, b: _mth(leaf_hashes, a, b), old_size, 0, n, True)


def _subproof(subtree, m: int, start: int, end: int, complete: bool) -> list[bytes]:
    """``SUBPROOF(m, D[start:end], b)`` with ``m`` relative to ``start``; ``subtree(a, b)`` gives ``MTH(D[a:b])``."""
    n = end - start
    if m == n:
        return [] if complete else [subtree(start, end)]
    k = split_point(n)
    if m <= k:
        return _subproof(subtree, m, start, start + k, complete) + [subtree(start + k, end)]
    return _subproof(subtree, m - k, start + k, end, False) + [subtree(start, start + k)]


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> Optional[bytes]:
    """Steps 1–4 of RFC 9162 §2.1.3.2: the root implied by ``proof``, or ``None`` when the proof is malformed."""
    if not isinstance(index, int) or not isinstance(size, int) or not 0 <= index < size:
        return None
    if not _is_hash(leaf) or any(not _is_hash(p) for p in proof):
        return None
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show that ``leaf`` sits at ``index`` in the tree of ``size`` with that root?"""
    if not _is_hash(expected_root):
        return False
    computed = root_from_inclusion_proof(leaf, index, size, list(proof or []))
    return computed is not None and computed == bytes(expected_root)


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``size1`` with ``root1`` a prefix of the tree of ``size2`` with ``root2``?

    Edge cases (as in the public transparency-dev test vectors): equal sizes need an empty proof and equal roots
    (and, for size 0, the empty-tree root); ``size1 == 0 < size2`` is rejected, because RFC 9162 defines consistency
    proofs only for ``0 < size1 < size2`` and an empty tree proves nothing; ``size1 > size2`` is rejected.
    """
    proof = list(proof or [])
    if not isinstance(size1, int) or not isinstance(size2, int) or size1 < 0 or size2 < size1:
        return False
    if size1 == size2:
        if proof or bytes(root1) != bytes(root2):
            return False
        return size1 != 0 or bytes(root1) == EMPTY_ROOT
    if size1 == 0 or not proof:
        return False
    if not (_is_hash(root1) and _is_hash(root2)) or any(not _is_hash(c) for c in proof):
        return False
    if size1 & (size1 - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        proof = [bytes(root1)] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == bytes(root1) and sr == bytes(root2)
