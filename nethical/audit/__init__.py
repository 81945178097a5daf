"""Tamper-evident audit logs: RFC 9162 Merkle chunks chained by ``prev_root``, all of them one log with an id and
signed C2SP checkpoints (no Lightning needed).

See ``docs/audit.md`` for the file format, the guarantees and the command line (``nethical audit ...``).
"""

from nethical.audit.canonical import canonical_bytes, encode_event, event_leaf_hash
from nethical.audit.compact_range import CompactRange
from nethical.audit.log import AuditLog, ChunkInfo, append_events, read_journal
from nethical.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from nethical.audit.summary import governance_block, merge_summary
from nethical.audit.tree import MerkleTree
from nethical.audit.verify import RememberedHead, VerifyReport, build_proof, verify_directory

__all__ = [
    "AuditLog",
    "ChunkInfo",
    "CompactRange",
    "EMPTY_ROOT",
    "MerkleTree",
    "RememberedHead",
    "VerifyReport",
    "append_events",
    "build_proof",
    "canonical_bytes",
    "consistency_proof",
    "encode_event",
    "event_leaf_hash",
    "governance_block",
    "inclusion_proof",
    "leaf_hash",
    "merge_summary",
    "node_hash",
    "read_journal",
    "root",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_directory",
    "verify_inclusion",
]
