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

from nethical.audit import safejson, store
from nethical.audit.canonical import encode_event, normalize_event
from nethical.audit.journal import (  # noqa: F401  (read_journal and Journal are part of this module's API)
    _MAC_LEN,
    Journal,
    _header_mac,
    _line_mac,
    journal_mac_key,
    read_journal,
    run_secret_mac_key,
)
from nethical.audit.checkpoint import checkpoint_body, is_log_id, sign_note
from nethical.audit.compact_range import CompactRange
from nethical.audit.merkle import leaf_hash
from nethical.audit.signing import key_fingerprint, load_private_key
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


@dataclass
class _Head:
    """The chain head: the newest chunk's id and root, the log id, and the whole log's compact range."""

    chunk_id: int
    root: str
    log_id: Optional[str]
    log_range: CompactRange


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

    The log: every event of every chunk, in chain order, is also a leaf of one RFC 9162 tree, the *log*. Each chunk
    records the log's id (created at first use, ``log.json``), its size and root after the chunk (``log_size``,
    ``log_root``) and the compact range the next chunk continues from; with a signing key the chunk carries a
    C2SP checkpoint of that head as a signed note (:mod:`nethical.audit.checkpoint`).

    Recovery: opening a log looks at *orphaned* journals (left by a writer that crashed: their ``.lock`` is free).
    One whose chained HMAC verifies under this log's key (:func:`journal_mac_key`: only a run holding the signing key
    writes one) becomes the next chunk, marked ``recovered``; any other (unsigned run, forged, damaged) is renamed
    ``unverified_<id>.jsonl``: kept for a human, never added to the log, never signed.

    Args:
        directory: the audit directory (created if missing).
        chunk_size: events per chunk (>= 1).
        signing_key: path of an Ed25519 private key PEM; when given each chunk carries a signed checkpoint and the
            journal lines an HMAC.
        lock_timeout: seconds to wait for the directory lock before failing with :class:`OutputError`.
        fsync_interval: seconds between ``fsync`` calls of the open journal (0 = after every event).
        recover: handle orphaned journals on open (default ``True``); ``False`` leaves them to
            :meth:`recover_orphans`, which can also try per-run secrets of earlier processes.
        journal_secret: without a signing key, a random per-run secret that keys this writer's journal HMAC
            (:func:`run_secret_mac_key`); the audit callback keeps it in its checkpoint state so a resumed fit can
            recover the journal of the process that crashed.

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
        journal_secret: Optional[bytes] = None,
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
        self._leaves: list[bytes] = []  # leaf hashes of the open chunk (the log range is extended at finalize)
        self._mac: bytes = b""  # the last line's HMAC of the open journal
        self._last_sync = 0.0
        self._head_cache: Optional[_Head] = None  # the last chunk this object saw
        self.chunks: list[ChunkInfo] = []  # chunks finalized by this object, in order
        self.recovered: list[ChunkInfo] = []  # authenticated orphaned journals turned into chunks when this log opened
        self.set_aside: list[Path] = []  # orphaned journals that did not authenticate, renamed unverified_<id>.jsonl
        self.total_events = 0
        with self._locked():
            head = self._chain_head()  # fails early (before any training) when the chain cannot be continued
            self.log_id = self._log_identity(head)
            if self._signer is not None:
                self._mac_key: Optional[bytes] = journal_mac_key(self._signer, self.log_id)
            elif journal_secret:
                self._mac_key = run_secret_mac_key(journal_secret, self.log_id)
            else:
                self._mac_key = None
            if recover:
                self._recover_orphans([self._mac_key] if self._mac_key else [])

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
            head = self._chain_head()
        return (head.chunk_id, head.root) if head else None

    def log_head(self) -> tuple[str, int, str]:
        """``(log_id, log_size, log_root)`` of the whole log as the directory holds it now (any writer)."""
        with self._locked():
            head = self._chain_head()
        rng = head.log_range if head else CompactRange()
        return self.log_id, rng.size, rng.root().hex()

    def append(self, event: Mapping[str, Any]) -> int:
        """Append one event (a JSON object); return its leaf index within the open chunk.

        The event is stored as its canonical JSON (NaN/inf become ``null``, tuples lists); its leaf is
        ``SHA-256(0x00 || canonical bytes)``. An event above the audit limits (1 MiB, 32 levels of nesting) is a
        :class:`DataError`, so every event written can be read back.
        """
        if type(event) is not dict and not isinstance(event, Mapping):
            raise DataError(f"AuditLog.append(event={type(event).__name__}) needs a dict (a JSON object).")
        line = encode_event(event)
        if len(line) > safejson.MAX_EVENT_BYTES or line.count(b"[") + line.count(b"{") > safejson.MAX_DEPTH:
            safejson.check_bounds(line, f"audit event {str(event.get('event_type', '?'))[:60]!r}")
        if self._journal_file is None:
            self._open_journal()
        leaf = leaf_hash(line)
        try:
            if self._mac_key is not None:
                self._mac = _line_mac(self._mac_key, self._mac, line)
                self._journal_file.write(self._mac.hex().encode("ascii") + b" " + line + b"\n")
            else:
                self._journal_file.write(line + b"\n")
            self._journal_file.flush()
            now = time.monotonic()
            if now - self._last_sync >= self.fsync_interval:
                os.fsync(self._journal_file.fileno())
                self._last_sync = now
        except OSError as exc:
            raise OutputError(f"AuditLog: cannot append to {self._journal_path.name!r} in {str(self.directory)!r} ({exc.strerror or exc}); check free space.") from None
        index = self._range.size
        self._range.append(leaf)
        self._leaves.append(leaf)
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
                info = self._write_chunk(journal, self._read_lines(journal, count), self._leaves, root, self._created_at)
                self.chunks.append(info)
            self._discard_journal(journal, self._journal_lock)
        self._journal_path, self._journal_lock, self._range, self._leaves = None, None, CompactRange(), []
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
        all under the directory lock, so two runs never lose each other's results. This only moves the file; use
        :meth:`commit_summary` to put a new summary into the log."""
        path = self.directory / store.SUMMARY_NAME
        with self._locked():
            new = update(self._read_summary(path))
            store.write_json_atomic(path, new)
        return new

    def commit_summary(self, update, *, model_type: Optional[str] = None, run_id: Optional[str] = None) -> tuple[dict[str, Any], ChunkInfo]:
        """Record a new ``training_summary.json`` in the log, then write the file; return ``(summary, chunk)``.

        Under the directory lock: read the current summary (``{}`` when missing or unreadable), apply
        ``update(existing) -> new``, append a ``training_summary`` event holding the new summary without its head
        pointers (:data:`nethical.audit.summary.HEAD_KEYS`), finalize the open chunk, then write the file with the
        pointers set to that chunk. So every summary a verifier sees must equal the last ``training_summary`` event
        in the log: an edited ``metrics`` or ``promoted``, or an older summary put back, is detected.
        """
        from nethical.audit.summary import HEAD_KEYS, with_head  # summary imports nothing from here; kept local for clarity

        path = self.directory / store.SUMMARY_NAME
        with self._locked():
            new = update(self._read_summary(path))
            body = normalize_event({k: v for k, v in new.items() if k not in HEAD_KEYS})
            event: dict[str, Any] = {"event_type": "training_summary", "timestamp": utc_now(), "summary": body}
            if model_type is not None:
                event["model_type"] = model_type
            if run_id is not None or "run_id" in body:
                event["run_id"] = run_id if run_id is not None else body["run_id"]
            self.append(event)
            info = self.finalize() or self.chunks[-1]  # append finalizes by itself when it filled the chunk
            head = self._chain_head()
            final = with_head(body, chunk_id=info.chunk_id, merkle_root=info.merkle_root, log_id=self.log_id,
                              log_size=head.log_range.size, log_root=head.log_range.root().hex())
            store.write_json_atomic(path, final)
        return final, info

    # ------------------------------------------------------------------ internals
    def _locked(self):
        try:
            return self._dir_lock.acquire(timeout=self._lock_timeout)
        except Timeout:
            raise OutputError(
                f"AuditLog: the audit directory {str(self.directory)!r} stayed locked by another run for "
                f"{self._lock_timeout:.0f}s ({store.DIR_LOCK_NAME}); wait for it or use another --audit-path."
            ) from None

    def _read_summary(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        try:
            return safejson.read_object(path, "training summary")
        except DataError:
            return {}  # a broken (or forged, oversized, deeply nested) summary is replaced; the log is the evidence

    def _chain_head(self) -> Optional[_Head]:
        chunks = store.list_chunks(self.directory)
        if not chunks:
            return None
        last_id, path = chunks[-1]
        if self._head_cache and self._head_cache.chunk_id == last_id:
            return self._head_cache
        header = store.read_header(path)
        cid, _, root, _, _ = store.chunk_header({**header, "events": []}, path)
        if cid != last_id:
            raise DataError(f"audit chunk {path.name!r} says chunk_id {cid}, so the chain cannot be continued; run `nethical audit verify {self.directory}`.")
        log_id = header.get("log_id")
        if log_id is None and header.get("format", store.CHUNK_FORMAT_V1) == store.CHUNK_FORMAT_V1:
            rng = self._range_of_all(chunks)  # an older log without log fields: hash its events once
        else:
            rng = self._range_from_header(header, path)
        self._head_cache = _Head(last_id, root.lower(), log_id, rng)
        return self._head_cache

    def _range_from_header(self, header: Mapping[str, Any], path: Path) -> CompactRange:
        bad = DataError(f"audit chunk {path.name!r}: its log fields (log_id, log_size, log_root, log_range) are missing or inconsistent, so the log cannot be continued; run `nethical audit verify {self.directory}`.")
        if not is_log_id(header.get("log_id")) or not isinstance(header.get("log_range"), list):
            raise bad
        try:
            rng = CompactRange.from_dict({"size": header.get("log_size"), "hashes": header["log_range"]})
        except (TypeError, ValueError):
            raise bad from None
        if rng.size != header.get("log_size") or rng.root().hex() != str(header.get("log_root", "")).lower():
            raise bad
        return rng

    def _range_of_all(self, chunks: list[tuple[int, Path]]) -> CompactRange:
        rng = CompactRange()
        for _, path in chunks:
            split = store.split_chunk_bytes(store.read_bytes(path))
            lines = split[1] if split is not None else [encode_event(e) for e in store.read_chunk(path)[1]]
            for line in lines:
                rng.append(leaf_hash(line))
        return rng

    def _log_identity(self, head: Optional[_Head]) -> str:
        """The log id: the newest chunk's, else ``log.json``'s, else a new random one written to ``log.json``."""
        path = self.directory / store.LOG_ID_NAME
        stored = None
        if path.exists():
            try:
                data = safejson.read_object(path, "audit log id file", max_bytes=safejson.MAX_HEADER_BYTES, max_depth=2)
            except DataError:
                if head is not None and head.log_id is not None:
                    return head.log_id  # the chunks name the log; `verify` reports the damaged file
                raise
            stored = data.get("log_id")
            if not is_log_id(stored):
                if head is not None and head.log_id is not None:
                    return head.log_id
                raise DataError(f"audit log id file {str(path)!r} holds no valid log_id (32 hex digits); restore it from a backup, or delete it when the directory holds no chunks.")
        if head is not None and head.log_id is not None:
            if stored is not None and stored != head.log_id:
                raise DataError(f"audit directory {str(self.directory)!r}: {store.LOG_ID_NAME} names log {stored} but chunk {head.chunk_id} belongs to log {head.log_id}; the directory was mixed with another log, run `nethical audit verify {self.directory}`.")
            return head.log_id
        if stored is not None:
            return stored
        log_id = uuid.uuid4().hex
        store.write_json_atomic(path, {"format": store.LOG_FORMAT, "log_id": log_id, "created_at": utc_now()})
        return log_id

    def _open_journal(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self._journal_id = f"{stamp}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        path = self.directory / f"journal_{self._journal_id}.jsonl"
        lock = FileLock(str(path.with_suffix(".lock")), timeout=0)
        lock.acquire()  # fresh unique name: never contended; held until this journal is finalized
        self._created_at = utc_now()
        header: dict[str, Any] = {"journal": store.JOURNAL_FORMAT, "journal_id": self._journal_id, "created_at": self._created_at,
                                  "pid": os.getpid(), "log_id": self.log_id, "mac": None}
        if self._mac_key is not None:
            header["mac"] = "hmac-sha256"
            self._mac = _header_mac(self._mac_key, header)
            header["header_mac"] = self._mac.hex()
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
                line = f.readline().rstrip(b"\n")
                if line[:1] != b"{":  # "<hex mac> {...}"
                    line = line[_MAC_LEN + 1:]
                yield line

    def _write_chunk(self, journal: Path, lines: Iterable[bytes], leaves: list[bytes], root: str, created_at: str,
                     recovered: bool = False, journal_id: Optional[str] = None) -> ChunkInfo:
        head = self._chain_head()
        chunk_id = head.chunk_id + 1 if head else 1
        prev_root = head.root if head else None
        log_range = CompactRange.from_dict(head.log_range.to_dict()) if head else CompactRange()
        for leaf in leaves:
            log_range.append(leaf)
        log_root = log_range.root()
        finalized_at = utc_now()
        count = len(leaves)
        header: dict[str, Any] = {
            "chunk_id": chunk_id,
            "prev_root": prev_root,
            "merkle_root": root,
            "event_count": count,
            "created_at": created_at or finalized_at,
            "finalized_at": finalized_at,
            "format": store.CHUNK_FORMAT,
            "leaf_encoding": store.LEAF_ENCODING,
            "journal_id": journal_id or journal.stem[len("journal_"):],
            "log_id": self.log_id,
            "log_size": log_range.size,
            "log_root": log_root.hex(),
            "log_range": log_range.to_dict()["hashes"],
        }
        if recovered:
            header["recovered"] = True
        if self._signer is not None:
            body = checkpoint_body(self.log_id, log_range.size, log_root, [chunk_extension(chunk_id, root, finalized_at)])
            header["signature"] = {
                "algorithm": "ed25519",
                "format": "c2sp-signed-note",
                "key_fingerprint": key_fingerprint(self._signer.public_key()),
                "note": sign_note(self._signer, body),
            }
        path = self.directory / store.chunk_filename(chunk_id)
        if path.exists():  # never overwrite evidence (only possible if someone renamed chunks by hand)
            raise DataError(f"audit chunk {path.name!r} already exists but the chain head is chunk {chunk_id - 1}; run `nethical audit verify {self.directory}`.")
        store.write_atomic(path, store.chunk_bytes(header, lines))
        self._head_cache = _Head(chunk_id, root, self.log_id, log_range)
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

    def _set_aside(self, journal: Path, lock: Optional[FileLock]) -> None:
        """Rename an orphan that did not authenticate to ``unverified_<id>.jsonl``: out of the log, kept for a human."""
        target = self.directory / f"unverified_{journal.stem[len('journal_'):]}.jsonl"
        try:
            os.replace(journal, target)
        except FileNotFoundError:
            target = None
        fsync_dir(self.directory)
        if lock is not None:
            lock.release()
        try:
            journal.with_suffix(".lock").unlink()
        except FileNotFoundError:
            pass
        if target is not None:
            self.set_aside.append(target)

    def recover_orphans(self, secrets: Iterable[bytes] = ()) -> None:
        """Handle orphaned journals now: finalize those that authenticate under this log's signing key or one of
        the per-run ``secrets`` (see ``journal_secret``), keep the rest aside. Fills :attr:`recovered` and
        :attr:`set_aside`."""
        run_keys = [run_secret_mac_key(s, self.log_id) for s in secrets if s]
        keys = ([self._mac_key] if self._mac_key else []) + run_keys
        with self._locked():
            self._recover_orphans(keys)
            if run_keys:  # another run may have kept our crashed process's journal aside before we resumed
                self._recover_set_aside(run_keys)

    def _recover_set_aside(self, keys: list[bytes]) -> None:
        for path in store.list_unverified(self.directory):
            if path in self.set_aside:
                continue
            try:
                content = read_journal(path, keys)
            except OSError:
                continue
            if not (content.authenticated and content.lines and content.header.get("log_id") == self.log_id):
                continue
            journal_id = path.stem[len("unverified_"):]
            if not self._already_finalized(journal_id, str(content.header.get("created_at", ""))):
                cr = CompactRange.of_lines(content.lines)
                info = self._write_chunk(path, content.lines, [leaf_hash(x) for x in content.lines], cr.root().hex(),
                                         str(content.header.get("created_at", "")), recovered=True, journal_id=journal_id)
                self.recovered.append(info)
            path.unlink()
            fsync_dir(self.directory)

    def _recover_orphans(self, keys: list[bytes]) -> None:
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
                try:
                    content = read_journal(journal, keys)
                except OSError:
                    content = None
                journal_id = journal.stem[len("journal_"):]
                if content is not None and content.lines and content.header.get("log_id") == self.log_id and \
                        self._already_finalized(journal_id, str(content.header.get("created_at", ""))):
                    self._discard_journal(journal, lock)  # crashed between writing its chunk and removing it
                elif content is not None and not content.lines and not content.dropped_lines and not content.torn_bytes:
                    self._discard_journal(journal, lock)  # a header and nothing else: nothing to keep
                elif content is not None and content.authenticated and content.header.get("log_id") == self.log_id:
                    cr = CompactRange.of_lines(content.lines)
                    leaves = [leaf_hash(line) for line in content.lines]
                    info = self._write_chunk(journal, content.lines, leaves, cr.root().hex(),
                                             str(content.header.get("created_at", "")), recovered=True)
                    self.recovered.append(info)
                    self._discard_journal(journal, lock)
                else:
                    self._set_aside(journal, lock)
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


def chunk_extension(chunk_id: int, root_hex: str, finalized_at: str) -> str:
    """The checkpoint extension line naming the chunk: ``chunk <id> <base64 chunk root> <finalized_at>``."""
    import base64

    return f"chunk {chunk_id} {base64.b64encode(bytes.fromhex(root_hex)).decode('ascii')} {finalized_at}"


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
    ``training_summary.json`` belongs to the same ``run_id``, its head pointers (``merkle_root``, ``chunk_id``,
    ``log_size``, ``log_root``) move to the new chain head so the summary keeps naming the newest root; its content
    is unchanged, so it still equals the last ``training_summary`` event in the log.
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
        header = store.read_header(info.path)
        log_size, log_root = header.get("log_size"), header.get("log_root")

        def _move_head(existing: dict[str, Any]) -> dict[str, Any]:
            if existing.get("run_id") == run_id:
                existing = dict(existing, merkle_root=info.merkle_root, chunk_id=info.chunk_id)
                if "log_size" in existing:
                    existing.update(log_size=log_size, log_root=log_root)
            return existing

        log.write_summary(_move_head)
    return info
