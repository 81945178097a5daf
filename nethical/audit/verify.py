"""Read-only verification of an audit directory, and inclusion proofs for single events (plain functions).

Nothing here writes, renames, locks or deletes anything in the audit directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nethical.audit import safejson, store
from nethical.audit.canonical import canonical_bytes
from nethical.audit.checkpoint import checkpoint_body, is_log_id, parse_checkpoint, split_note, verify_note
from nethical.audit.compact_range import CompactRange
from nethical.audit.log import chunk_extension, read_journal
from nethical.audit.merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from nethical.audit.signing import load_public_key, verify_tree_head
from nethical.audit.summary import HEAD_KEYS
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
class RememberedHead:
    """A log head seen before (a state file, ``--expect-root``/``--min-size``): the log must still extend it."""

    size: Optional[int] = None  # with root: the size that root belongs to; alone: a minimum size
    root: Optional[bytes] = None
    log_id: Optional[str] = None
    source: str = "--expect-root"


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
    log_id: Optional[str] = None  # None for a log written before log ids (chunk format /1 only)
    log_size: int = 0  # events in the whole log, recomputed from the chunks
    log_root: Optional[str] = None  # RFC 9162 root of all of them (hex)
    consistency: Optional[dict[str, Any]] = None  # the RFC 9162 consistency proof from a remembered head

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


def _leaves_of(events: list[dict[str, Any]], path: Optional[Path] = None) -> tuple[list[bytes], Optional[int]]:
    """Leaf hashes of ``events``, and the index of the first event that is not canonical JSON (else ``None``).
    With ``path``, an event above the size limit is a one-line :class:`DataError` (nesting was bounded at parse)."""
    leaves = []
    bad = None
    for i, event in enumerate(events):
        try:
            data = canonical_bytes(event)
        except (TypeError, ValueError, RecursionError):
            bad = i if bad is None else bad
            data = repr(event).encode("utf-8", "replace")
        if path is not None and len(data) > safejson.MAX_EVENT_BYTES:
            store.check_event_line(data, path, i)
        leaves.append(leaf_hash(data))
    return leaves, bad


@dataclass
class _Parsed:
    fid: int
    path: Path
    cid: int
    prev: Optional[str]
    root: str
    count: int
    header: dict[str, Any]
    leaves: list[bytes]
    recomputed: str
    bad_event: Optional[int]
    summary_event: Optional[dict[str, Any]]  # the last training_summary event of this chunk

    @property
    def n_events(self) -> int:
        return len(self.leaves)


_SUMMARY_MARK = b'"event_type":"training_summary"'


def _parse_chunk(raw: bytes, path: Path) -> _Parsed:
    """Hash a chunk's events. The writer's exact layout is hashed from its raw lines (no JSON re-encoding; each line
    is bounds-checked first); anything else is fully parsed (bounded) and re-encoded canonically."""
    split = store.split_chunk_bytes(raw)
    if split is not None:
        header, lines = split
        try:
            cid, prev, root, count, _ = store.chunk_header({**header, "events": []}, path)
        except DataError:
            split = None
    if split is not None:
        for i, line in enumerate(lines):
            store.check_event_line(line, path, i)
        leaves = [leaf_hash(line) for line in lines]
        summary = None
        for i in (i for i in range(len(lines) - 1, -1, -1) if _SUMMARY_MARK in lines[i]):
            event = safejson.loads(lines[i], f"audit chunk {path.name!r}: event {i}")
            if isinstance(event, dict) and event.get("event_type") == "training_summary":
                summary = event
                break
        recomputed = CompactRange.of_leaves(leaves).root().hex()
        if recomputed == root.lower():
            return _Parsed(0, path, cid, prev, root.lower(), count, header, leaves, recomputed, None, summary)
    data = store.parse_json_bytes(raw, path)
    cid, prev, root, count, events = store.chunk_header(data, path)
    leaves, bad_event = _leaves_of(events, path)
    summary = next((e for e in reversed(events) if e.get("event_type") == "training_summary"), None)
    header = {k: v for k, v in data.items() if k != "events"}
    return _Parsed(0, path, cid, prev, root.lower(), count, header, leaves, CompactRange.of_leaves(leaves).root().hex(), bad_event, summary)


def _short(h: Optional[str]) -> str:
    return "null" if h is None else (h[:16] + "…" if len(h) > 16 else h)


def _check_signature(p: _Parsed, where: str, pub, problems: list[str], log_id: Optional[str], log_size: int, log_root: bytes) -> bool:
    """Check the chunk's signature block (a C2SP signed-note checkpoint, or a format-/1 signed tree head) against the
    chunk and, with ``pub``, the key. Returns whether a signature verified."""
    block = p.header.get("signature")
    if not isinstance(block, dict):
        if pub is not None:
            problems.append(f"{where}: the chunk is unsigned but --public-key was given (signature removed, or the run did not sign)")
        return False
    if "note" in block:
        try:
            body, _ = split_note(str(block["note"]))
            cp = parse_checkpoint(body)
        except ValueError as exc:
            problems.append(f"{where}: the signed checkpoint is malformed ({exc}): the chunk was edited after signing")
            return False
        expected = checkpoint_body(log_id or "", log_size, log_root, [chunk_extension(p.cid, p.recomputed, str(p.header.get("finalized_at", "")))])
        if body != expected:
            mine = parse_checkpoint(expected)
            diff = [name for name, a, b in (("log id", cp.origin, mine.origin), ("log size", cp.size, mine.size),
                                            ("log root", cp.root, mine.root), ("chunk line", cp.extensions, mine.extensions)) if a != b]
            problems.append(f"{where}: the signed checkpoint disagrees with the log on {', '.join(diff) or 'its text'}: the chunk or the log was edited after signing, or the chunk belongs to another log")
        if pub is not None:
            if verify_note(pub, str(block["note"])) is not None:
                return True
            problems.append(f"{where}: the Ed25519 signature does not verify with the given public key")
        return False
    head = block.get("tree_head") or {}
    expected_head = {"chunk_id": p.cid, "tree_size": p.count, "root_hash": p.root, "timestamp": p.header.get("finalized_at"), "prev_root": p.prev}
    if head != expected_head:
        diff = sorted(k for k in expected_head if head.get(k) != expected_head[k])
        problems.append(f"{where}: the signed tree head disagrees with the chunk on {diff}: the chunk was edited after signing")
    if pub is not None:
        if verify_tree_head(pub, block):
            return True
        problems.append(f"{where}: the Ed25519 signature does not verify with the given public key")
    return False


def verify_directory(
    directory: str | os.PathLike[str],
    public_key: Optional[str | os.PathLike[str]] = None,
    remembered: Optional[RememberedHead | list[RememberedHead] | tuple[RememberedHead, ...]] = None,
) -> VerifyReport:
    """Recompute every chunk root, the ``prev_root`` chain and the whole log's root; check log ids, signed
    checkpoints, the summary, and (optionally) that the log still extends a head seen before.

    Args:
        directory: the audit directory.
        public_key: Ed25519 public key PEM; when given every chunk must carry a valid signature.
        remembered: a head (or several) seen before; the log must be at least that long and, when its root is known, an RFC 9162
            consistency proof must show the old log is a prefix of this one (rollback and substitution fail here).

    Returns:
        A :class:`VerifyReport`; integrity failures (edited/removed/added events, edited roots, deleted, renamed or
        reordered chunks, bad signatures, chunks of another log, an edited or older summary, a log that no longer
        extends the remembered head) are listed in ``problems``, each naming the file and chunk.

    Raises:
        DataError: the directory is missing or unreadable, holds no audit files, a chunk is not JSON, lacks a
            field, nests too deeply or holds an oversized line, or a chunk's ``event_count`` field is wrong while its
            events match its root (bad input, exit 2).
    """
    d = check_directory(directory, "verify")
    pub = load_public_key(public_key) if public_key else None
    chunk_files = store.list_chunks(d)
    journals = store.list_journals(d)
    if not chunk_files and not journals:
        raise DataError(f"audit verify: no audit chunks (chunk_*.json) in {str(d)!r}; pass the --audit-path used for training.")

    problems: list[str] = []
    notes: list[str] = []
    parsed: list[_Parsed] = []
    for fid, path in chunk_files:
        p = _parse_chunk(store.read_bytes(path), path)
        p.fid = fid
        parsed.append(p)

    statuses = []
    signatures_checked = 0
    expected = 1
    log_range = CompactRange()
    all_leaves: list[bytes] = []
    boundaries: dict[str, int] = {}  # log root (hex) at the end of each chunk -> log size
    log_id: Optional[str] = None
    old_format: list[int] = []
    for i, p in enumerate(parsed):
        fid, path, cid, prev, root, count, n_events, data, recomputed = p.fid, p.path, p.cid, p.prev, p.root, p.count, p.n_events, p.header, p.recomputed
        where = f"{path.name} (chunk {fid})"
        if fid > expected:
            missing = str(expected) if fid == expected + 1 else f"{expected}..{fid - 1}"
            problems.append(f"{where}: chunk {missing} missing before it: a chunk was deleted or renamed")
        elif fid < expected:
            problems.append(f"{where}: a second file claims chunk id {fid}")
        expected = fid + 1
        if cid != fid:
            problems.append(f"{where}: its chunk_id field says {cid}: the file was renamed or chunks were reordered")
        if p.bad_event is not None:
            problems.append(f"{where}: event {p.bad_event} is not canonical JSON (a NaN or non-JSON value was written in): it was edited")
        if recomputed != root:
            following = parsed[i + 1].prev if i + 1 < len(parsed) else None
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
            q = parsed[i - 1]
            if fid == q.fid + 1 and (prev or "").lower() not in (q.root, q.recomputed):
                problems.append(
                    f"{where}: prev_root {_short(prev)} is not chunk {q.fid}'s merkle_root {_short(q.root)}: chunks were "
                    f"reordered, replaced or one was deleted"
                )
        # the whole log: every event so far, in chain order
        log_range.extend(p.leaves)
        all_leaves.extend(p.leaves)
        log_root = log_range.root()
        boundaries.setdefault(log_root.hex(), log_range.size)
        chunk_log_id = data.get("log_id")
        if chunk_log_id is None and data.get("format", store.CHUNK_FORMAT_V1) == store.CHUNK_FORMAT_V1:
            old_format.append(fid)
            if log_id is not None:
                problems.append(f"{where}: has no log id (chunk format /1) after chunks of log {log_id}: an older-format chunk replaced or was added to this log")
        else:
            if not is_log_id(chunk_log_id):
                problems.append(f"{where}: log_id {str(chunk_log_id)[:40]!r} is not a log id (32 hex digits): the chunk was edited")
            elif log_id is None:
                log_id = chunk_log_id
            elif chunk_log_id != log_id:
                problems.append(f"{where}: belongs to log {chunk_log_id}, but earlier chunks to log {log_id}: a chunk of another log was spliced in")
            if data.get("log_size") != log_range.size or str(data.get("log_root", "")).lower() != log_root.hex():
                problems.append(
                    f"{where}: log_size/log_root say {data.get('log_size')!r}/{_short(str(data.get('log_root')))}, but the events of chunks "
                    f"1..{fid} give {log_range.size}/{_short(log_root.hex())}: events or chunks before it were changed"
                )
            elif data.get("log_range") != log_range.to_dict()["hashes"]:
                problems.append(f"{where}: log_range does not match the log (the next run would continue from a wrong state): it was edited")
        if _check_signature(p, where, pub, problems, chunk_log_id if is_log_id(chunk_log_id) else None, log_range.size, log_root):
            signatures_checked += 1
        statuses.append(ChunkStatus(cid, path.name, n_events, root, recomputed, prev, str(data.get("created_at", "")),
                                    str(data.get("finalized_at", "")), isinstance(data.get("signature"), dict)))
        if data.get("recovered") is True:
            notes.append(f"{where}: recovered from an interrupted run's journal, which authenticated with the log's key")

    if parsed and pub is None and any(s.signed for s in statuses):
        notes.append("chunks are signed but signatures were not checked: pass --public-key PEM to check them")
    if old_format:
        span = f"{old_format[0]}..{old_format[-1]}" if len(old_format) > 1 else str(old_format[0])
        notes.append(
            f"chunk(s) {span} predate log ids (format {store.CHUNK_FORMAT_V1}); they are verified as before and count in the "
            f"log root, {'and later chunks carry the log id' if log_id else 'but the log has no id, so only a remembered root can tell it from another log'}"
        )

    _check_log_id_file(d, log_id, problems)
    _check_summary(d, parsed, log_id, problems, notes)
    consistency = None
    for head in ([remembered] if isinstance(remembered, RememberedHead) else list(remembered or [])):
        consistency = _check_remembered(head, log_id, log_range, all_leaves, boundaries, problems) or consistency

    pending = 0
    for journal in journals:
        try:
            content = read_journal(journal)
        except OSError:
            continue  # finalized and removed while we looked
        cr = CompactRange.of_lines(content.lines)
        pending += cr.size
        text = f"{journal.name}: {cr.size} events not yet finalized (root of this prefix {_short(cr.root().hex())}); a run is writing it or crashed; the next run adds it to the log only if it authenticates with the log's signing key, else keeps it aside"
        if content.torn_bytes:
            text += f"; a final line of {content.torn_bytes} bytes was cut off by the crash and is ignored"
        if content.dropped_lines:
            text += f"; {content.dropped_lines} unreadable lines after the prefix are ignored"
        notes.append(text)
    for aside in store.list_unverified(d):
        notes.append(f"{aside.name}: an orphaned journal that did not authenticate, kept aside: it is not part of the log and was never signed")

    return VerifyReport(
        directory=str(d),
        chunks=tuple(statuses),
        events=sum(s.event_count for s in statuses),
        head_root=parsed[-1].root if parsed else None,
        problems=tuple(problems),
        notes=tuple(notes),
        pending_events=pending,
        signatures_checked=signatures_checked,
        log_id=log_id,
        log_size=log_range.size,
        log_root=log_range.root().hex() if parsed else None,
        consistency=consistency,
    )


def _check_log_id_file(d: Path, log_id: Optional[str], problems: list[str]) -> None:
    path = d / store.LOG_ID_NAME
    if not path.exists():
        return
    data = safejson.read_object(path, "audit log id file", max_bytes=safejson.MAX_HEADER_BYTES, max_depth=2)
    stored = data.get("log_id")
    if log_id is not None and stored != log_id:
        problems.append(f"{store.LOG_ID_NAME}: names log {str(stored)[:40]}, but the chunks belong to log {log_id}: the file was edited or copied from another log")


def _check_summary(d: Path, parsed: list[_Parsed], log_id: Optional[str], problems: list[str], notes: list[str]) -> None:
    """The summary file must equal the last ``training_summary`` event in the log, and its head pointers must name
    a chunk of this log with that chunk's roots."""
    path = d / store.SUMMARY_NAME
    last = next(((p, p.summary_event) for p in reversed(parsed) if p.summary_event is not None), None)
    if not path.exists():
        if last is not None:
            problems.append(
                f"{store.SUMMARY_NAME}: is missing, but chunk {last[0].fid} records a training summary: it was deleted "
                f"(or the run that wrote that chunk crashed before writing the file)"
            )
        return
    if not parsed:
        return
    summary = safejson.read_object(path, "training summary")
    s_root, s_chunk = summary.get("merkle_root"), summary.get("chunk_id")
    by_id = {p.fid: p for p in parsed}
    if isinstance(s_chunk, int) and not isinstance(s_chunk, bool):
        if s_chunk in by_id:
            named = by_id[s_chunk]
            if str(s_root).lower() not in (named.root, named.recomputed):
                problems.append(f"{store.SUMMARY_NAME}: merkle_root {_short(str(s_root))} is not chunk {s_chunk}'s root: the summary or the chunk was edited")
            for key in ("log_id", "log_size", "log_root"):
                if key in summary and summary[key] != named.header.get(key):
                    problems.append(f"{store.SUMMARY_NAME}: {key} {str(summary[key])[:64]} is not chunk {s_chunk}'s ({str(named.header.get(key))[:64]}): the summary was edited or belongs to another log")
        elif s_chunk > parsed[-1].fid:
            problems.append(f"{store.SUMMARY_NAME}: names chunk {s_chunk} but the chain ends at chunk {parsed[-1].fid}: chunks at the end were deleted")
    elif s_root is not None and str(s_root).lower() not in {p.root for p in parsed}:
        problems.append(f"{store.SUMMARY_NAME}: merkle_root {_short(str(s_root))} matches no chunk: a chunk was deleted or the root edited")
    if last is None:
        notes.append(f"{store.SUMMARY_NAME} is not recorded in the log (written by a version before summaries were logged): edits to it cannot be detected")
        return
    chunk, event = last
    body = {k: v for k, v in summary.items() if k not in HEAD_KEYS}
    recorded = event.get("summary")
    if not isinstance(recorded, dict) or body != recorded:
        recorded = recorded if isinstance(recorded, dict) else {}
        diff = sorted(k for k in set(body) | set(recorded) if body.get(k) != recorded.get(k))
        problems.append(
            f"{store.SUMMARY_NAME}: differs from the summary recorded in chunk {chunk.fid} on {', '.join(diff[:8])}: it was edited, "
            f"or an older summary was put back"
        )


def _check_remembered(r: RememberedHead, log_id: Optional[str], log_range: CompactRange, leaves: list[bytes],
                      boundaries: dict[str, int], problems: list[str]) -> Optional[dict[str, Any]]:
    """Hold the log to a head seen before: same log, not shorter, and (with a root) an RFC 9162 consistency proof
    from that head to this one. Returns the proof (hex) when one was checked."""
    size = log_range.size
    new_root = log_range.root()
    if r.log_id is not None and log_id != r.log_id:
        problems.append(f"log: this directory holds log {log_id or '(no id, format /1)'}, but {r.source} remembers log {r.log_id}: the log was substituted by another one")
        return None
    old_size = r.size
    if r.root is not None and old_size is None:
        old_size = boundaries.get(r.root.hex())
        if old_size is None:
            problems.append(
                f"log: {r.source} root {_short(r.root.hex())} is not the log root at the end of any chunk: the log was rolled "
                f"back below it or rewritten (pass --min-size with the size printed next to that root to check a root seen elsewhere)"
            )
            return None
    if old_size is not None and size < old_size:
        problems.append(f"log: holds {size} events but {r.source} saw {old_size}: events at the end were removed (rollback)")
        return None
    if r.root is None or old_size is None:
        return None
    if old_size == 0:
        ok, proof = r.root == EMPTY_ROOT, []
    else:
        tree = MerkleTree(leaves)
        proof = tree.consistency_proof(old_size)
        ok = verify_consistency(old_size, size, proof, r.root, new_root)
    if not ok:
        problems.append(
            f"log: is not an extension of the head {r.source} remembers (size {old_size}, root {_short(r.root.hex())}): the "
            f"RFC 9162 consistency proof fails, so events up to that size were changed, or this is another log"
        )
    return {"old_size": old_size, "old_root": r.root.hex(), "new_size": size, "new_root": new_root.hex(),
            "proof": [h.hex() for h in proof], "consistent": ok}


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
    header, events = store.read_chunk(path)
    return path, {**header, "events": events}


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
        for i, line in enumerate(lines):
            store.check_event_line(line, path, i)
        leaves = [leaf_hash(line) for line in lines]
        tree = MerkleTree(leaves)
        if tree.root().hex() != root.lower():
            leaves = None
        elif not isinstance(index, int) or not 0 <= index < len(lines):
            _out_of_range(index, chunk_id, len(lines))
        else:
            event = safejson.loads(lines[index], f"audit chunk {path.name!r}: event {index}")
    if leaves is None:
        data = store.parse_json_bytes(raw, path)
        cid, prev, root, count, events = store.chunk_header(data, path)
        if not isinstance(index, int) or not 0 <= index < len(events):
            _out_of_range(index, chunk_id, len(events))
        try:
            leaves = [leaf_hash(canonical_bytes(e)) for e in events]
        except (TypeError, ValueError, RecursionError):
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
