"""Read-only verification of an audit directory, and inclusion proofs for single events (plain functions).

Nothing here writes, renames, locks or deletes anything in the audit directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nethical.audit import store
from nethical.audit.canonical import canonical_bytes
from nethical.audit.compact_range import CompactRange
from nethical.audit.log import read_journal
from nethical.audit.merkle import leaf_hash, verify_inclusion
from nethical.audit.signing import load_public_key, verify_tree_head
from nethical.audit.tree import MerkleTree
from nethical.exceptions import AuditIntegrityError, DataError


@dataclass(frozen=True)
class ChunkStatus:
    """One chunk as found on disk."""

    chunk_id: int
    file: str
    event_count: int
    merkle_root: str
    recomputed_root: str
    prev_root: Optional[str]
    created_at: str
    finalized_at: str
    signed: bool


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify_directory`. ``ok`` is ``True`` when ``problems`` is empty."""

    directory: str
    chunks: tuple[ChunkStatus, ...]
    events: int
    head_root: Optional[str]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pending_events: int = 0
    signatures_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_directory(directory: str | os.PathLike[str], command: str) -> Path:
    """An existing, readable audit directory, or a one-line :class:`DataError` (exit 2)."""
    d = Path(directory)
    if not d.exists():
        raise DataError(f"audit {command}: directory {str(d)!r} does not exist; pass the --audit-path used for training.")
    if not d.is_dir():
        raise DataError(f"audit {command}: {str(d)!r} is not a directory; pass the --audit-path used for training.")
    if not os.access(d, os.R_OK | os.X_OK):
        raise DataError(f"audit {command}: directory {str(d)!r} is not readable; check its permissions.")
    return d


def _root_of(events: list[dict[str, Any]]) -> tuple[str, Optional[int]]:
    """Hex root of ``events``, and the index of the first event that is not canonical JSON (else ``None``)."""
    cr = CompactRange()
    bad = None
    for i, event in enumerate(events):
        try:
            data = canonical_bytes(event)
        except (TypeError, ValueError):
            bad = i if bad is None else bad
            data = repr(event).encode("utf-8", "replace")
        cr.append(leaf_hash(data))
    return cr.root().hex(), bad


def _fast_chunk(raw: bytes, path: Path) -> Optional[tuple]:
    """``(cid, prev, root, count, n_events, header, recomputed, None)`` when the file has the writer's exact layout
    and its raw event lines give its stored root; ``None`` sends the caller to the full parse (and its diagnostics)."""
    split = store.split_chunk_bytes(raw)
    if split is None:
        return None
    header, lines = split
    try:
        cid, prev, root, count, _ = store.chunk_header({**header, "events": []}, path)
    except DataError:
        return None
    recomputed = CompactRange.of_lines(lines).root().hex()
    if recomputed != root.lower():
        return None
    return cid, prev, root.lower(), count, len(lines), header, recomputed, None


def _short(h: Optional[str]) -> str:
    return "null" if h is None else (h[:16] + "…" if len(h) > 16 else h)


def verify_directory(directory: str | os.PathLike[str], public_key: Optional[str | os.PathLike[str]] = None) -> VerifyReport:
    """Recompute every chunk root and the ``prev_root`` chain; check signatures and the summary's root.

    Args:
        directory: the audit directory.
        public_key: Ed25519 public key PEM; when given every chunk must carry a valid signature.

    Returns:
        A :class:`VerifyReport`; integrity failures (edited/removed/added events, edited roots, deleted, renamed or
        reordered chunks, bad signatures) are listed in ``problems``, each naming the file and chunk.

    Raises:
        DataError: the directory is missing or unreadable, holds no audit files, a chunk is not JSON or lacks a
            field, or a chunk's ``event_count`` field is wrong while its events match its root (bad input, exit 2).
    """
    d = check_directory(directory, "verify")
    pub = load_public_key(public_key) if public_key else None
    chunk_files = store.list_chunks(d)
    journals = store.list_journals(d)
    if not chunk_files and not journals:
        raise DataError(f"audit verify: no audit chunks (chunk_*.json) in {str(d)!r}; pass the --audit-path used for training.")

    problems: list[str] = []
    notes: list[str] = []
    parsed = []
    for fid, path in chunk_files:
        raw = store.read_bytes(path)
        fast = _fast_chunk(raw, path)
        if fast is not None:  # the raw event lines hash to the stored root: no JSON re-encoding needed
            parsed.append((fid, path, *fast))
            continue
        data = store.parse_json_bytes(raw, path)
        cid, prev, root, count, events = store.chunk_header(data, path)
        recomputed, bad_event = _root_of(events)
        parsed.append((fid, path, cid, prev, root.lower(), count, len(events), data, recomputed, bad_event))

    statuses = []
    signatures_checked = 0
    expected = 1
    for i, (fid, path, cid, prev, root, count, n_events, data, recomputed, bad_event) in enumerate(parsed):
        where = f"{path.name} (chunk {fid})"
        if fid > expected:
            missing = str(expected) if fid == expected + 1 else f"{expected}..{fid - 1}"
            problems.append(f"{where}: chunk {missing} missing before it: a chunk was deleted or renamed")
        elif fid < expected:
            problems.append(f"{where}: a second file claims chunk id {fid}")
        expected = fid + 1
        if cid != fid:
            problems.append(f"{where}: its chunk_id field says {cid}: the file was renamed or chunks were reordered")
        if bad_event is not None:
            problems.append(f"{where}: event {bad_event} is not canonical JSON (a NaN or non-JSON value was written in): it was edited")
        if recomputed != root:
            following = parsed[i + 1][3] if i + 1 < len(parsed) else None
            if count != n_events:
                problems.append(
                    f"{where}: holds {n_events} events but event_count says {count}, and its events do not give its "
                    f"merkle_root: events were removed or added"
                )
            elif following is not None and following == recomputed:
                problems.append(
                    f"{where}: merkle_root was edited (stored {_short(root)}, the events give {_short(recomputed)}, "
                    f"which the next chunk's prev_root confirms)"
                )
            else:
                problems.append(
                    f"{where}: merkle_root does not match its events (stored {_short(root)}, recomputed "
                    f"{_short(recomputed)}): an event was edited, removed, added or reordered, or the root was edited"
                )
        elif count != n_events:
            raise DataError(
                f"audit chunk {path.name!r}: event_count is {count} but the chunk holds {n_events} events, whose "
                f"root matches merkle_root; the event_count field is wrong (set it to {n_events} or restore the file)."
            )
        if i == 0:
            if fid == 1 and prev is not None:
                problems.append(f"{where}: prev_root is {_short(prev)} but it is the first chunk (expected null): earlier chunks were removed")
        else:
            pfid, _, _, _, proot, *_rest = parsed[i - 1]
            precomputed = parsed[i - 1][8]
            if fid == pfid + 1 and (prev or "").lower() not in (proot, precomputed):
                problems.append(
                    f"{where}: prev_root {_short(prev)} is not chunk {pfid}'s merkle_root {_short(proot)}: chunks were "
                    f"reordered, replaced or one was deleted"
                )
        block = data.get("signature")
        if isinstance(block, dict):
            head = block.get("tree_head") or {}
            expected_head = {
                "chunk_id": cid,
                "tree_size": count,
                "root_hash": root,
                "timestamp": data.get("finalized_at"),
                "prev_root": prev,
            }
            if head != expected_head:
                diff = sorted(k for k in expected_head if head.get(k) != expected_head[k])
                problems.append(f"{where}: the signed tree head disagrees with the chunk on {diff}: the chunk was edited after signing")
            if pub is not None:
                if verify_tree_head(pub, block):
                    signatures_checked += 1
                else:
                    problems.append(f"{where}: the Ed25519 signature does not verify with the given public key")
        elif pub is not None:
            problems.append(f"{where}: the chunk is unsigned but --public-key was given (signature removed, or the run did not sign)")
        statuses.append(
            ChunkStatus(cid, path.name, n_events, root, recomputed, prev, str(data.get("created_at", "")), str(data.get("finalized_at", "")), isinstance(block, dict))
        )

    if parsed and pub is None and any(s.signed for s in statuses):
        notes.append("chunks are signed but signatures were not checked: pass --public-key PEM to check them")

    summary_path = d / store.SUMMARY_NAME
    if summary_path.exists() and parsed:
        summary = store.read_json_file(summary_path, "training summary")
        s_root, s_chunk = summary.get("merkle_root"), summary.get("chunk_id")
        by_id = {p[0]: p for p in parsed}
        if isinstance(s_chunk, int) and not isinstance(s_chunk, bool):
            if s_chunk in by_id:
                if str(s_root).lower() not in (by_id[s_chunk][4], by_id[s_chunk][8]):
                    problems.append(f"{store.SUMMARY_NAME}: merkle_root {_short(str(s_root))} is not chunk {s_chunk}'s root: the summary or the chunk was edited")
            elif s_chunk > parsed[-1][0]:
                problems.append(f"{store.SUMMARY_NAME}: names chunk {s_chunk} but the chain ends at chunk {parsed[-1][0]}: chunks at the end were deleted")
        elif s_root is not None and str(s_root).lower() not in {p[4] for p in parsed}:
            problems.append(f"{store.SUMMARY_NAME}: merkle_root {_short(str(s_root))} matches no chunk: a chunk was deleted or the root edited")

    pending = 0
    for journal in journals:
        try:
            content = read_journal(journal)
        except OSError:
            continue  # finalized and removed while we looked
        cr = CompactRange.of_lines(content.lines)
        pending += cr.size
        text = f"{journal.name}: {cr.size} events not yet finalized (root of this prefix {_short(cr.root().hex())}); a run is writing it or crashed, and the next run on this directory finalizes it"
        if content.torn_bytes:
            text += f"; a final line of {content.torn_bytes} bytes was cut off by the crash and is ignored"
        if content.dropped_lines:
            text += f"; {content.dropped_lines} unreadable lines after the prefix are ignored"
        notes.append(text)

    return VerifyReport(
        directory=str(d),
        chunks=tuple(statuses),
        events=sum(s.event_count for s in statuses),
        head_root=parsed[-1][4] if parsed else None,
        problems=tuple(problems),
        notes=tuple(notes),
        pending_events=pending,
        signatures_checked=signatures_checked,
    )


def parse_chunk_id(value: str | int) -> int:
    """``"3"``, ``"000003"``, ``"chunk_000003"`` or ``3`` → ``3``; anything else is a :class:`DataError`."""
    text = str(value).strip()
    for prefix, suffix in (("chunk_", ".json"),):
        if text.startswith(prefix):
            text = text[len(prefix):]
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    if not text.isdigit() or int(text) < 1:
        raise DataError(f"audit proof --chunk {value!r} is not a chunk id; pass a positive integer such as 1 (see `nethical audit show DIR`).")
    return int(text)


def _out_of_range(index: int, chunk_id: int, n: int) -> None:
    raise DataError(f"audit proof --index {index} is out of range: chunk {chunk_id} holds {n} events (valid: 0..{n - 1}).")


def load_chunk(directory: str | os.PathLike[str], chunk_id: int, command: str = "proof") -> tuple[Path, dict[str, Any]]:
    """Path and parsed content of ``chunk_<id>.json``; a missing chunk is a :class:`DataError` listing what exists."""
    path = load_chunk_path(directory, chunk_id, command)
    return path, store.read_json_file(path)


def load_chunk_path(directory: str | os.PathLike[str], chunk_id: int, command: str = "proof") -> Path:
    """Path of ``chunk_<id>.json``; a missing chunk is a :class:`DataError` listing what exists."""
    d = check_directory(directory, command)
    by_id = dict(store.list_chunks(d))
    if chunk_id not in by_id:
        have = f"chunks {min(by_id)}..{max(by_id)}" if by_id else "no chunks"
        raise DataError(f"audit {command}: chunk {chunk_id} is not in {str(d)!r} ({have}); pick one listed by `nethical audit show {d}`.")
    return by_id[chunk_id]


def build_proof(directory: str | os.PathLike[str], chunk_id: int, index: int) -> dict[str, Any]:
    """RFC 9162 inclusion proof of event ``index`` in chunk ``chunk_id`` (hex), checked before it is returned.

    The chunk's tree is built once (:class:`MerkleTree`, ``O(n)``) and the path is read from its levels in
    ``O(log n)``; callers proving many events of one chunk should keep the :class:`MerkleTree`.

    Raises:
        DataError: missing chunk, malformed chunk, or ``index`` out of range (exit 2).
        AuditIntegrityError: the chunk's events do not give its stored root (exit 1).
    """
    path = load_chunk_path(directory, chunk_id)
    raw = store.read_bytes(path)
    split = store.split_chunk_bytes(raw)
    leaves: Optional[list[bytes]] = None
    if split is not None:  # writer's layout: hash the raw canonical lines, parse only the event asked for
        header, lines = split
        cid, prev, root, count, _ = store.chunk_header({**header, "events": []}, path)
        leaves = [leaf_hash(line) for line in lines]
        tree = MerkleTree(leaves)
        if tree.root().hex() != root.lower():
            leaves = None
        elif not isinstance(index, int) or not 0 <= index < len(lines):
            _out_of_range(index, chunk_id, len(lines))
        else:
            event = json.loads(lines[index])
    if leaves is None:
        data = store.parse_json_bytes(raw, path)
        cid, prev, root, count, events = store.chunk_header(data, path)
        if not isinstance(index, int) or not 0 <= index < len(events):
            _out_of_range(index, chunk_id, len(events))
        try:
            leaves = [leaf_hash(canonical_bytes(e)) for e in events]
        except (TypeError, ValueError):
            raise AuditIntegrityError(f"audit proof: {path.name} holds an event that is not canonical JSON; run `nethical audit verify {directory}`.") from None
        tree = MerkleTree(leaves)
        if tree.root().hex() != root.lower():
            raise AuditIntegrityError(f"audit proof: {path.name} (chunk {chunk_id}): merkle_root does not match its events; run `nethical audit verify {directory}`.")
        event = events[index]
    audit_path = tree.inclusion_proof(index)
    if not verify_inclusion(leaves[index], index, len(leaves), audit_path, tree.root()):  # self-check
        raise RuntimeError(f"audit proof: internal error, the proof for chunk {chunk_id} index {index} does not verify.")
    return {
        "chunk_id": cid,
        "leaf_index": index,
        "tree_size": len(leaves),
        "leaf_hash": leaves[index].hex(),
        "audit_path": [h.hex() for h in audit_path],
        "root": tree.root().hex(),
        "prev_root": prev,
        "event": event,
        "hash": "sha256",
        "leaf_encoding": store.LEAF_ENCODING,
    }
