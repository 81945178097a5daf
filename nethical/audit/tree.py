"""A fully materialised RFC 9162 Merkle tree for answering many proofs over one fixed set of leaves."""

from __future__ import annotations

import hashlib
from typing import Sequence

from nethical.audit.merkle import EMPTY_ROOT, HASH_SIZE, NODE_PREFIX, _subproof

_sha256 = hashlib.sha256


class MerkleTree:
    """Every level of the tree, packed as contiguous bytes (32 bytes per node).

    Built once in ``O(n)`` hashes (``n - 1`` node hashes for ``n`` leaves); afterwards the root is a lookup and each
    inclusion or consistency proof is ``O(log n)`` lookups with no hashing, so proving one event in a 1,000,000-event
    chunk does not rebuild the tree. Memory: about ``64 * n`` bytes (64 MB for a million leaves).

    Levels are built bottom-up by pairing neighbours; an unpaired last node is *promoted* unchanged to the next level
    (never duplicated). This yields exactly the RFC 9162 tree that splits at the largest power of two below ``n``.

    Args:
        leaf_hashes: the leaf hashes (``SHA-256(0x00 || data)``), in log order.

    Example:
        >>> from nethical.audit.merkle import leaf_hash, verify_inclusion
        >>> leaves = [leaf_hash(bytes([i])) for i in range(5)]
        >>> tree = MerkleTree(leaves)
        >>> verify_inclusion(leaves[3], 3, 5, tree.inclusion_proof(3), tree.root())
        True
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        if any(len(h) != HASH_SIZE for h in leaf_hashes):
            raise ValueError(f"MerkleTree(leaf_hashes=...) needs {HASH_SIZE}-byte leaf hashes.")
        self.size = len(leaf_hashes)
        level = b"".join(leaf_hashes)
        self._levels: list[bytes] = [level]
        while len(level) > HASH_SIZE:
            count = len(level) // HASH_SIZE
            parents = [
                _sha256(NODE_PREFIX + level[i * HASH_SIZE : (i + 2) * HASH_SIZE]).digest() for i in range(0, count - 1, 2)
            ]
            if count & 1:
                parents.append(level[(count - 1) * HASH_SIZE :])
            level = b"".join(parents)
            self._levels.append(level)

    def _node(self, height: int, index: int) -> bytes:
        return self._levels[height][index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def root(self) -> bytes:
        """The Merkle Tree Hash of all leaves."""
        return EMPTY_ROOT if self.size == 0 else self._levels[-1]

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        self._check_index(index)
        return self._node(0, index)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])`` for a range that is a node of this tree (aligned start; perfect or right-edge end)."""
        height = (end - start - 1).bit_length()
        if start % (1 << height) or end != min(start + (1 << height), self.size):
            raise ValueError(f"MerkleTree.subtree_hash(start={start}, end={end}) is not a node of a tree of {self.size} leaves.")
        return self._node(height, start >> height)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 audit path for leaf ``index``: the sibling at each level, bottom-up."""
        self._check_index(index)
        path: list[bytes] = []
        for height in range(len(self._levels) - 1):
            count = len(self._levels[height]) // HASH_SIZE
            sibling = index ^ 1
            if sibling < count:  # otherwise this node is promoted: no sibling at this level
                path.append(self._node(height, sibling))
            index >>= 1
        return path

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 proof that the first ``old_size`` leaves form a prefix of this tree."""
        if not 0 < old_size <= self.size:
            raise ValueError(f"MerkleTree.consistency_proof(old_size={old_size}) must satisfy 0 < old_size <= {self.size}.")
        if old_size == self.size:
            return []
        return _subproof(self.subtree_hash, old_size, 0, self.size, True)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"MerkleTree: leaf index {index} is out of range for a tree of {self.size} leaves (valid: 0..{self.size - 1}).")
