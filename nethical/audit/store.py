"""File layout of an audit directory: chunk files, journals, the summary and the lock (plain functions).

::

    DIR/chunk_000001.json        one finalized chunk (chunk ids are a 1-based sequence, zero-padded to 6 digits)
    DIR/journal_<id>.jsonl       the open chunk of a running (or crashed) writer: a header line, then one event per line
    DIR/journal_<id>.lock        held by the writer while it runs; a journal whose lock is free is an orphan
    DIR/training_summary.json    the run summary (see nethical.audit.summary); its content is also an event in the log
    DIR/log.json                 the log id, created when the log is first used (chunks carry it too)
    DIR/unverified_<id>.jsonl    an orphaned journal that could not be authenticated: kept aside, never in the log
    DIR/.audit.lock              the directory lock, held only while a chunk is appended to the chain
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional

from nethical.audit import safejson
from nethical.fileio import atomic_write_chunks
from nethical.exceptions import DataError

CHUNK_FORMAT = "nethical-audit-chunk/2"  # /2 adds log_id, log_size, log_root, log_range and a signed checkpoint
CHUNK_FORMAT_V1 = "nethical-audit-chunk/1"
JOURNAL_FORMAT = "nethical-audit-journal/2"  # /2: lines may carry a chained HMAC (see nethical.audit.log)
LOG_FORMAT = "nethical-audit-log/1"
LOG_ID_NAME = "log.json"
UNVERIFIED_RE = re.compile(r"^unverified_([A-Za-z0-9_.-]+)\.jsonl$")
LEAF_ENCODING = "rfc9162-sha256/canonical-json"
CHUNK_RE = re.compile(r"^chunk_(\d+)\.json$")
JOURNAL_RE = re.compile(r"^journal_([A-Za-z0-9_.-]+)\.jsonl$")
SUMMARY_NAME = "training_summary.json"
DIR_LOCK_NAME = ".audit.lock"
HEADER_KEYS = ("chunk_id", "prev_root", "merkle_root", "event_count", "created_at", "finalized_at")


def chunk_filename(chunk_id: int) -> str:
    """``chunk_000042.json``: zero-padded so names sort in chain order."""
    return f"chunk_{chunk_id:06d}.json"


def list_chunks(directory: Path) -> list[tuple[int, Path]]:
    """``(chunk_id, path)`` of every ``chunk_<id>.json`` in ``directory``, by id."""
    found = []
    for name in os.listdir(directory):
        m = CHUNK_RE.match(name)
        if m:
            found.append((int(m.group(1)), directory / name))
    return sorted(found)


def list_journals(directory: Path) -> list[Path]:
    """Every ``journal_<id>.jsonl`` in ``directory``, oldest first (journal ids start with a UTC timestamp)."""
    return sorted(directory / n for n in os.listdir(directory) if JOURNAL_RE.match(n))


def list_unverified(directory: Path) -> list[Path]:
    """Orphaned journals kept aside because they could not be authenticated (``unverified_<id>.jsonl``)."""
    return sorted(directory / n for n in os.listdir(directory) if UNVERIFIED_RE.match(n))


def read_json_file(path: Path, what: str = "audit chunk") -> dict[str, Any]:
    """Parse a JSON object file; unreadable, non-JSON, too deep or too large files raise a one-line
    :class:`DataError` (exit 2)."""
    return parse_json_bytes(read_bytes(path, what), path, what)


def read_bytes(path: Path, what: str = "audit chunk") -> bytes:
    """The bytes of ``path``; an unreadable file raises a one-line :class:`DataError` (exit 2)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{what} {path.name!r} in {str(path.parent)!r} cannot be read ({exc.strerror or exc}); check its permissions.") from None


def read_header(path: Path) -> dict[str, Any]:
    """A chunk's header fields (everything but ``events``) from its first line when the file has the writer's
    layout (:func:`chunk_bytes`), so finding the chain head after a crash costs one line, not the whole chunk; any
    other layout falls back to a full parse."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
            second = fh.readline(len(_EVENTS_OPEN) + 2)
    except OSError as exc:
        raise DataError(f"audit chunk {path.name!r} in {str(path.parent)!r} cannot be read ({exc.strerror or exc}); check its permissions.") from None
    if first.endswith(b",\n") and second.rstrip(b"\n") == _EVENTS_OPEN:
        try:
            header = safejson.loads(first[:-2] + b"}", "chunk header", max_bytes=1 << 20, max_depth=4)
        except DataError:
            header = None
        if isinstance(header, dict) and "events" not in header:
            return header
    data = read_json_file(path)
    return {k: v for k, v in data.items() if k != "events"}


def parse_json_bytes(raw: bytes, path: Path, what: str = "audit chunk") -> dict[str, Any]:
    """Parse ``raw`` (the content of ``path``) as a JSON object, or raise a one-line :class:`DataError`.

    Nesting is bounded (an event may nest :data:`safejson.MAX_DEPTH` levels; a chunk adds two) before parsing.
    """
    if safejson.nesting_depth(raw, safejson.MAX_DEPTH + 2) is not None:
        raise DataError(f"{what} {path.name!r} in {str(path.parent)!r} nests JSON deeper than {safejson.MAX_DEPTH} levels per event (the audit limit); the file was damaged or forged, restore it from a backup.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"{what} {path.name!r} in {str(path.parent)!r} is not valid JSON ({str(exc)[:120]}); restore it from a backup (nothing was changed).") from None
    if not isinstance(data, dict):
        raise DataError(f"{what} {path.name!r} in {str(path.parent)!r} holds a JSON {type(data).__name__}, not an object; restore it from a backup.")
    return data


def chunk_header(chunk: dict[str, Any], path: Path) -> tuple[int, Optional[str], str, int, list]:
    """Check a chunk's field types; return ``(chunk_id, prev_root, merkle_root, event_count, events)``.

    A missing field or a field of the wrong type is malformed input (:class:`DataError`, exit 2); whether the values
    are *right* is for the verifier to decide.
    """
    def bad(field: str, expected: str) -> DataError:
        got = chunk.get(field, "<missing>")
        shown = repr(got) if not isinstance(got, (list, dict)) else type(got).__name__
        return DataError(f"audit chunk {path.name!r}: field {field!r} is {shown[:80]}, expected {expected}; the file is malformed, restore it from a backup.")

    cid = chunk.get("chunk_id")
    if not isinstance(cid, int) or isinstance(cid, bool) or cid < 1:
        raise bad("chunk_id", "a positive integer")
    prev = chunk.get("prev_root", "<missing>")
    if prev is not None and not isinstance(prev, str):
        raise bad("prev_root", "a hex string or null")
    root = chunk.get("merkle_root")
    if not isinstance(root, str):
        raise bad("merkle_root", "a hex string")
    count = chunk.get("event_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise bad("event_count", "a non-negative integer")
    events = chunk.get("events")
    if not isinstance(events, list) or any(not isinstance(e, dict) for e in events):
        raise bad("events", "a list of JSON objects")
    return cid, prev, root, count, events


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``path`` via a hidden temporary file + fsync + ``os.replace`` (+ directory fsync): readers see the old
    or the new file."""
    atomic_write_chunks(path, chunks, sync_dir=True)


def chunk_bytes(header: dict[str, Any], event_lines: Iterable[bytes]) -> Iterable[bytes]:
    """The bytes of a chunk file: the header fields on the first line, then one canonical event per line."""
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    yield head[:-1] + b',\n"events":['
    first = True
    for line in event_lines:
        yield (b"\n" if first else b",\n") + line
        first = False
    yield b"]}\n" if first else b"\n]}\n"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Pretty JSON (indent 2, UTF-8) written atomically."""
    write_atomic(path, [json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False).encode("utf-8") + b"\n"])


_EVENTS_OPEN = b'"events":['


def split_chunk_bytes(raw: bytes) -> Optional[tuple[dict[str, Any], list[bytes]]]:
    """Split a chunk file written by :func:`chunk_bytes` into its header and its raw event lines, or ``None``.

    Only an exact match of the writer's layout is accepted (header line, ``"events":[`` line, one event per line,
    ``]}``); anything else returns ``None`` and callers fall back to a full JSON parse. When the SHA-256 leaves of
    these raw lines give the stored root, the lines are byte for byte the canonical events the writer hashed, so
    verifying needs no JSON re-encoding at all.
    """
    parts = raw.split(b"\n")
    if len(parts) < 4 or parts[1] != _EVENTS_OPEN or parts[-1] != b"" or not parts[0].endswith(b","):
        return None
    try:
        header = safejson.loads(parts[0][:-1] + b"}", "chunk header", max_bytes=1 << 20, max_depth=4)
    except DataError:
        return None
    if not isinstance(header, dict) or "events" in header:
        return None
    body = parts[2:-2]
    if parts[-2] != b"]}" or not body or body[-1].endswith(b","):
        return None
    lines = [line[:-1] for line in body[:-1]]
    if any(not line.endswith(b",") for line in body[:-1]):
        return None
    lines.append(body[-1])
    if any(not (line.startswith(b"{") and line.endswith(b"}")) for line in lines):
        return None
    return header, lines


def check_event_line(line: bytes, path: Path, index: int) -> None:
    """A stored event line within the audit limits (size, nesting), or a one-line :class:`DataError` naming it.

    The common case (short, shallow) costs two ``bytes.count`` calls; the message is only built on failure."""
    if len(line) <= safejson.MAX_EVENT_BYTES and line.count(b"[") + line.count(b"{") <= safejson.MAX_DEPTH:
        return
    safejson.check_bounds(line, f"audit chunk {path.name!r} in {str(path.parent)!r}: event {index}")


def read_chunk(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(header, events)`` of a chunk file, every event parsed within the audit limits (for ``show`` and readers
    that need the events themselves, not only their hashes)."""
    raw = read_bytes(path)
    split = split_chunk_bytes(raw)
    if split is None:
        data = parse_json_bytes(raw, path)
        chunk_header(data, path)
        return {k: v for k, v in data.items() if k != "events"}, data["events"]
    header, lines = split
    events = []
    for i, line in enumerate(lines):
        event = safejson.loads(line, f"audit chunk {path.name!r} in {str(path.parent)!r}: event {i}")
        if not isinstance(event, dict):
            raise DataError(f"audit chunk {path.name!r} in {str(path.parent)!r}: event {i} is not a JSON object; the file is malformed, restore it from a backup.")
        events.append(event)
    chunk_header({**header, "events": events}, path)
    return header, events
