"""The append-only, chunked, chained audit log writer."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

from filelock import FileLock, Timeout

from nethical.audit import store
from nethical.audit.canonical import encode_event
from nethical.audit.compact_range import CompactRange
from nethical.audit.merkle import leaf_hash
from nethical.audit.signing import load_private_key, sign_tree_head, tree_head
from nethical.exceptions import ConfigError, DataError, OutputError
from nethical.fileio import fsync_dir


def utc_now() -> str:
    """ISO-8601 UTC timestamp with microseconds."""
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class ChunkInfo:
    """What finalizing one chunk produced."""

    chunk_id: int
    merkle_root: str
    prev_root: Optional[str]
    event_count: int
    path: Path


@dataclass(frozen=True)
class Journal:
    """The readable content of a journal file: its header, complete event lines, and what was cut off."""

    header: dict[str, Any]
    lines: list[bytes]
    dropped_lines: int  # complete lines after the first unparsable one (disk corruption; normally 0)
    torn_bytes: int  # bytes of a final line cut short by a crash (no trailing newline)


def read_journal(path: Path) -> Journal:
    """Parse a journal: the header line, then canonical event lines up to the first incomplete or invalid one."""
    data = path.read_bytes()
    parts = data.split(b"\n")
    torn = len(parts[-1])  # text after the last newline was never completed
    parts = parts[:-1]
    header: dict[str, Any] = {}
    if parts:
        try:
            header = json.loads(parts[0])
        except ValueError:
            header = {}
    lines: list[bytes] = []
    body = parts[1:] if header else parts
    for i, line in enumerate(body):
        try:
            ok = isinstance(json.loads(line), dict)
        except ValueError:
            ok = False
        if not ok:
            return Journal(header if isinstance(header, dict) else {}, lines, len(body) - i, torn)
        lines.append(line)
    return Journal(header if isinstance(header, dict) else {}, lines, 0, torn)


class AuditLog:
    """Append events to a tamper-evident log of RFC 9162 Merkle chunks chained by ``prev_root``.

    Writing: each event's canonical JSON line goes to this writer's own journal file and is flushed to the operating
    system at once (a killed process loses nothing already appended; ``fsync`` runs at most every
    ``fsync_interval`` seconds and on every finalize, for power loss). A running :class:`CompactRange` keeps the
    chunk's root current in ``O(log n)``. When ``chunk_size`` events are in, or on :meth:`finalize`/:meth:`close`,
    the journal becomes ``chunk_<id>.json`` (atomic rename) under the directory lock; only then does it get its
    place in the chain (``chunk_id`` = last id + 1, ``prev_root`` = last chunk's root). Two writers on one directory
    therefore never block each other while appending, never interleave events inside a chunk, and never lose events:
    the chain simply holds their chunks in the order they were finalized.

    Recovery: opening a log finalizes *orphaned* journals (left by a writer that crashed: their ``.lock`` is free)
    into chunks first, so a crash loses at most a torn final line.

    Args:
        directory: the audit directory (created if missing).
        chunk_size: events per chunk (>= 1).
        signing_key: path of an Ed25519 private key PEM; when given each chunk carries a signed tree head.
        lock_timeout: seconds to wait for the directory lock before failing with :class:`OutputError`.
        fsync_interval: seconds between ``fsync`` calls of the open journal (0 = after every event).
        recover: finalize orphaned journals on open (default ``True``).

    Example:
        >>> with AuditLog(tmp_dir, chunk_size=1000) as log:      # doctest: +SKIP
        ...     log.append({"event_type": "training_start", "model_type": "logistic"})
        >>> log.last_chunk.merkle_root                             # doctest: +SKIP
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        chunk_size: int = 10000,
        signing_key: Optional[str | os.PathLike[str]] = None,
        *,
        lock_timeout: float = 120.0,
        fsync_interval: float = 1.0,
        recover: bool = True,
    ) -> None:
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ConfigError(f"AuditLog(chunk_size={chunk_size!r}) must be a positive integer, e.g. 10000.")
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"AuditLog(directory={str(self.directory)!r}) cannot be created ({exc.strerror or exc}); pass a writable --audit-path.") from None
        if not self.directory.is_dir() or not os.access(self.directory, os.W_OK | os.X_OK):
            raise OutputError(f"AuditLog(directory={str(self.directory)!r}) is not a writable directory; pass a writable --audit-path.")
        self.chunk_size = chunk_size
        self.fsync_interval = fsync_interval
        self._signer = load_private_key(signing_key) if signing_key else None
        self._dir_lock = FileLock(str(self.directory / store.DIR_LOCK_NAME), timeout=lock_timeout)
        self._lock_timeout = lock_timeout
        self._journal_path: Optional[Path] = None
        self._journal_lock: Optional[FileLock] = None
        self._journal_file = None
        self._journal_id = ""
        self._created_at = ""
        self._range = CompactRange()
        self._last_sync = 0.0
        self._head_cache: Optional[tuple[int, str]] = None  # (chunk_id, root) of the last chunk this object saw
        self.chunks: list[ChunkInfo] = []  # chunks finalized by this object, in order
        self.recovered: list[ChunkInfo] = []  # orphaned journals turned into chunks when this log opened
        self.total_events = 0
        with self._locked():
            self._chain_head()  # fails early (before any training) when the chain cannot be continued
            if recover:
                self._recover_orphans()

    # ------------------------------------------------------------------ public API
    @property
    def pending(self) -> int:
        """Events in the open (not yet finalized) chunk."""
        return self._range.size

    @property
    def pending_root(self) -> str:
        """Hex root of the open chunk's events so far (the empty-tree root when none)."""
        return self._range.root().hex()

    @property
    def last_chunk(self) -> Optional[ChunkInfo]:
        """The last chunk this writer finalized (or recovered), if any."""
        return self.chunks[-1] if self.chunks else (self.recovered[-1] if self.recovered else None)

    def head(self) -> Optional[tuple[int, str]]:
        """``(chunk_id, merkle_root)`` of the newest chunk in the directory (any writer), or ``None``."""
        with self._locked():
            return self._chain_head()

    def append(self, event: Mapping[str, Any]) -> int:
        """Append one event (a JSON object); return its leaf index within the open chunk.

        The event is stored as its canonical JSON (NaN/inf become ``null``, tuples lists); its leaf is
        ``SHA-256(0x00 || canonical bytes)``.
        """
        if type(event) is not dict and not isinstance(event, Mapping):
            raise DataError(f"AuditLog.append(event={type(event).__name__}) needs a dict (a JSON object).")
        line = encode_event(event)
        if self._journal_file is None:
            self._open_journal()
        try:
            self._journal_file.write(line + b"\n")
            self._journal_file.flush()
            now = time.monotonic()
            if now - self._last_sync >= self.fsync_interval:
                os.fsync(self._journal_file.fileno())
                self._last_sync = now
        except OSError as exc:
            raise OutputError(f"AuditLog: cannot append to {self._journal_path.name!r} in {str(self.directory)!r} ({exc.strerror or exc}); check free space.") from None
        index = self._range.size
        self._range.append(leaf_hash(line))
        self.total_events += 1
        if self._range.size >= self.chunk_size:
            self.finalize()
        return index

    def extend(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Append several events in order."""
        for event in events:
            self.append(event)

    def finalize(self) -> Optional[ChunkInfo]:
        """Turn the open journal into the next chunk of the chain; ``None`` when no event is pending."""
        if self._journal_file is None:
            return None
        try:
            self._journal_file.flush()
            os.fsync(self._journal_file.fileno())
        finally:
            self._journal_file.close()
            self._journal_file = None
        journal = self._journal_path
        count, root = self._range.size, self._range.root().hex()
        info = None
        with self._locked():
            if count:
                info = self._write_chunk(journal, self._read_lines(journal, count), count, root, self._created_at)
                self.chunks.append(info)
            self._discard_journal(journal, self._journal_lock)
        self._journal_path, self._journal_lock, self._range = None, None, CompactRange()
        return info

    def close(self) -> Optional[ChunkInfo]:
        """Finalize the open chunk (if any). The log can still be appended to afterwards."""
        return self.finalize()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write_summary(self, update) -> dict[str, Any]:
        """Read ``training_summary.json`` (or ``{}``), apply ``update(existing) -> new`` and write it atomically,
        all under the directory lock, so two runs never lose each other's results."""
        path = self.directory / store.SUMMARY_NAME
        with self._locked():
            existing: dict[str, Any] = {}
            if path.exists():
                try:
                    existing = store.read_json_file(path, "training summary")
                except DataError:
                    existing = {}  # a broken summary is replaced; chunks, not the summary, are the evidence
            new = update(existing)
            store.write_json_atomic(path, new)
        return new

    # ------------------------------------------------------------------ internals
    def _locked(self):
        try:
            return self._dir_lock.acquire(timeout=self._lock_timeout)
        except Timeout:
            raise OutputError(
                f"AuditLog: the audit directory {str(self.directory)!r} stayed locked by another run for "
                f"{self._lock_timeout:.0f}s ({store.DIR_LOCK_NAME}); wait for it or use another --audit-path."
            ) from None

    def _chain_head(self) -> Optional[tuple[int, str]]:
        chunks = store.list_chunks(self.directory)
        if not chunks:
            return None
        last_id, path = chunks[-1]
        if self._head_cache and self._head_cache[0] == last_id:
            return self._head_cache
        cid, _, root, _, _ = store.chunk_header({**store.read_header(path), "events": []}, path)
        if cid != last_id:
            raise DataError(f"audit chunk {path.name!r} says chunk_id {cid}, so the chain cannot be continued; run `nethical audit verify {self.directory}`.")
        self._head_cache = (last_id, root)
        return self._head_cache

    def _open_journal(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self._journal_id = f"{stamp}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        path = self.directory / f"journal_{self._journal_id}.jsonl"
        lock = FileLock(str(path.with_suffix(".lock")), timeout=0)
        lock.acquire()  # fresh unique name: never contended; held until this journal is finalized
        self._created_at = utc_now()
        header = {"journal": store.JOURNAL_FORMAT, "journal_id": self._journal_id, "created_at": self._created_at, "pid": os.getpid()}
        try:
            f = open(path, "xb")
            f.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            lock.release()
            raise OutputError(f"AuditLog: cannot create a journal in {str(self.directory)!r} ({exc.strerror or exc}); check free space and permissions.") from None
        fsync_dir(self.directory)
        self._journal_path, self._journal_lock, self._journal_file = path, lock, f
        self._last_sync = time.monotonic()

    @staticmethod
    def _read_lines(path: Path, count: int) -> Iterator[bytes]:
        with open(path, "rb") as f:
            f.readline()  # header
            for _ in range(count):
                yield f.readline().rstrip(b"\n")

    def _write_chunk(self, journal: Path, lines: Iterable[bytes], count: int, root: str, created_at: str) -> ChunkInfo:
        head = self._chain_head()
        chunk_id = head[0] + 1 if head else 1
        prev_root = head[1] if head else None
        finalized_at = utc_now()
        header: dict[str, Any] = {
            "chunk_id": chunk_id,
            "prev_root": prev_root,
            "merkle_root": root,
            "event_count": count,
            "created_at": created_at or finalized_at,
            "finalized_at": finalized_at,
            "format": store.CHUNK_FORMAT,
            "leaf_encoding": store.LEAF_ENCODING,
            "journal_id": journal.stem[len("journal_"):],
        }
        if self._signer is not None:
            header["signature"] = sign_tree_head(self._signer, tree_head(chunk_id, count, root, finalized_at, prev_root))
        path = self.directory / store.chunk_filename(chunk_id)
        if path.exists():  # never overwrite evidence (only possible if someone renamed chunks by hand)
            raise DataError(f"audit chunk {path.name!r} already exists but the chain head is chunk {chunk_id - 1}; run `nethical audit verify {self.directory}`.")
        store.write_atomic(path, store.chunk_bytes(header, lines))
        self._head_cache = (chunk_id, root)
        return ChunkInfo(chunk_id, root, prev_root, count, path)

    def _discard_journal(self, journal: Path, lock: Optional[FileLock]) -> None:
        try:
            journal.unlink()
        except FileNotFoundError:
            pass
        fsync_dir(self.directory)
        if lock is not None:
            lock.release()
        try:
            journal.with_suffix(".lock").unlink()
        except FileNotFoundError:
            pass

    def _recover_orphans(self) -> None:
        for journal in store.list_journals(self.directory):
            if journal == self._journal_path:
                continue
            lock = FileLock(str(journal.with_suffix(".lock")), timeout=0)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # a live writer owns it
            try:
                if not journal.exists():
                    continue
                content = read_journal(journal)
                journal_id = journal.stem[len("journal_"):]
                if content.lines and not self._already_finalized(journal_id, content.header.get("created_at", "")):
                    cr = CompactRange.of_lines(content.lines)
                    info = self._write_chunk(journal, content.lines, cr.size, cr.root().hex(), content.header.get("created_at", ""))
                    self.recovered.append(info)
                self._discard_journal(journal, lock)
                lock = None
            finally:
                if lock is not None:
                    lock.release()

    def _already_finalized(self, journal_id: str, created_at: str) -> bool:
        """A crash between writing a chunk and deleting its journal leaves both: look for the chunk (newest first)."""
        for _, path in reversed(store.list_chunks(self.directory)):
            try:
                data = store.read_header(path)
            except DataError:
                return False
            if data.get("journal_id") == journal_id:
                return True
            if created_at and str(data.get("finalized_at", "")) < created_at:
                return False
        return False


def append_events(
    directory: str | os.PathLike[str],
    events: Iterable[Mapping[str, Any]],
    *,
    run_id: Optional[str] = None,
    model_type: Optional[str] = None,
    chunk_size: int = 10000,
    signing_key: Optional[str | os.PathLike[str]] = None,
) -> Optional[ChunkInfo]:
    """Append ``events`` to the log in ``directory`` as whole chunk(s) and return the last chunk written.

    For callers outside a Lightning fit (e.g. the classic CLI's ``batch_start``/``batch_end`` for
    ``--model-type all``). Missing ``timestamp``, ``run_id`` and ``model_type`` fields are filled in. When
    ``training_summary.json`` belongs to the same ``run_id``, its ``merkle_root`` and ``chunk_id`` move to the new
    chain head so the summary keeps naming the newest root.
    """
    log = AuditLog(directory, chunk_size=chunk_size, signing_key=signing_key)
    for event in events:
        full = dict(event)
        if "event_type" not in full:
            raise DataError("append_events: every event needs an 'event_type' field, e.g. {'event_type': 'batch_start', ...}.")
        full.setdefault("timestamp", utc_now())
        if run_id is not None:
            full.setdefault("run_id", run_id)
        if model_type is not None:
            full.setdefault("model_type", model_type)
        log.append(full)
    info = log.close() or log.last_chunk
    if info is not None and run_id is not None and (log.directory / store.SUMMARY_NAME).exists():
        def _move_head(existing: dict[str, Any]) -> dict[str, Any]:
            if existing.get("run_id") == run_id:
                existing = dict(existing, merkle_root=info.merkle_root, chunk_id=info.chunk_id)
            return existing

        log.write_summary(_move_head)
    return info
