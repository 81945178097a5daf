"""A streaming Merkle accumulator: ``O(log n)`` state, amortised ``O(1)`` append, ``O(log n)`` root."""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

from nethical.audit.merkle import EMPTY_ROOT, HASH_SIZE, NODE_PREFIX, leaf_hash, node_hash


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``: one per set bit of ``size``.

    Appending a leaf hash merges equal-height neighbours (like a binary counter), so a log of ``n`` events keeps only
    ``popcount(n)`` hashes and its RFC 9162 root is available at any moment without touching earlier leaves. The
    state is plain data (:meth:`to_dict` / :meth:`from_dict`), so a writer can checkpoint it and continue later.

    Example:
        >>> from nethical.audit.merkle import leaf_hash, root
        >>> cr = CompactRange()
        >>> for data in (b"a", b"b", b"c"):
        ...     cr.append(leaf_hash(data))
        >>> cr.root() == root([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
        True
    """

    __slots__ = ("size", "_hashes")

    def __init__(self) -> None:
        self.size = 0
        self._hashes: list[bytes] = []  # perfect-subtree roots, largest (leftmost) first

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (32 bytes) at position ``size``."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"CompactRange.append(leaf=<{len(leaf)} bytes>) needs a {HASH_SIZE}-byte leaf hash.")
        value, n = leaf, self.size
        while n & 1:  # each trailing one bit of the old size is a full subtree of the same height: merge it
            value = node_hash(self._hashes.pop(), value)
            n >>= 1
        self._hashes.append(value)
        self.size += 1

    @classmethod
    def of_lines(cls, lines: Iterable[bytes]) -> "CompactRange":
        """The range over raw event lines (each line's RFC 9162 leaf hash), as every writer and reader hashes them."""
        cr = cls()
        cr.extend(leaf_hash(line) for line in lines)
        return cr

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many 32-byte leaf hashes (the same as :meth:`append` in a loop, with the lookups hoisted)."""
        hashes, size, sha = self._hashes, self.size, hashlib.sha256
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise ValueError(f"CompactRange.extend: leaf {size} has {len(leaf)} bytes, not {HASH_SIZE}.")
            value, n = leaf, size
            while n & 1:
                value = sha(NODE_PREFIX + hashes.pop() + value).digest()
                n >>= 1
            hashes.append(value)
            size += 1
        self.size = size

    @classmethod
    def of_leaves(cls, leaves: Iterable[bytes]) -> "CompactRange":
        """The range over already-hashed leaves."""
        cr = cls()
        cr.extend(leaves)
        return cr

    def root(self) -> bytes:
        """The RFC 9162 Merkle Tree Hash of the leaves appended so far (the empty-tree hash when none)."""
        if not self._hashes:
            return EMPTY_ROOT
        value = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            value = node_hash(left, value)
        return value

    def to_dict(self) -> dict[str, Any]:
        """Primitives only: ``{"size": int, "hashes": [hex, ...]}``."""
        return {"size": self.size, "hashes": [h.hex() for h in self._hashes]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "CompactRange":
        """Rebuild from :meth:`to_dict` output; checks that the hash count matches the size."""
        cr = cls()
        size = int(state.get("size", 0))
        hashes = [bytes.fromhex(h) for h in state.get("hashes", [])]
        if size < 0 or len(hashes) != bin(size).count("1") or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"CompactRange.from_dict(size={size}) needs one 32-byte hash per set bit of size, got {len(hashes)}.")
        cr.size, cr._hashes = size, hashes
        return cr
