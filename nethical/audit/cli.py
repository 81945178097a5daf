"""``nethical audit verify|proof|show|keygen``: inspect and check an audit directory without Lightning.

Exit codes: 0 intact / done; 1 verification failed (what and where is printed); 2 bad input (missing or unreadable
directory, a chunk that is not JSON or has a wrong ``event_count``, an index out of range, ...). Nothing in the audit
directory is ever written by these commands.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from nethical.audit import safejson, store
from nethical.audit.checkpoint import is_log_id, origin_of
from nethical.audit.log import read_journal
from nethical.audit.signing import generate_keypair
from nethical.audit.verify import RememberedHead, build_proof, check_directory, load_chunk, parse_chunk_id, verify_directory
from nethical.exceptions import AuditIntegrityError, ConfigError, DataError

STATE_FORMAT = "nethical-audit-verify-state/1"

_COMMON_FIELDS = ("event_type", "model_type", "timestamp", "run_id")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``audit`` and its sub-subcommands to the ``nethical`` tool parser."""
    audit = subparsers.add_parser("audit", help="verify, prove and show Merkle audit logs", description=__doc__.splitlines()[0])
    sub = audit.add_subparsers(dest="audit_command", required=True)

    p = sub.add_parser("verify", help="recompute every chunk root and the chain; exit 1 when tampered")
    p.add_argument("directory", help="the audit directory (the --audit-path of the run)")
    p.add_argument("--public-key", default=None, help="Ed25519 public key PEM: require and check chunk signatures")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--expect-root", default=None, metavar="ROOT",
                   help="a log root seen before (hex or base64): the log must still extend it (RFC 9162 consistency proof)")
    p.add_argument("--min-size", default=None, type=int, metavar="N",
                   help="the log must hold at least N events; with --expect-root, N is the size that root belongs to")
    p.add_argument("--state", default=None, metavar="FILE",
                   help="remembered head: hold the log to the head stored in FILE (log id, size, root), then store the "
                        "new head there after a successful check (created on first use), as `rekor-cli loginfo` does")
    p.set_defaults(func=_verify)

    p = sub.add_parser("proof", help="print the RFC 9162 inclusion proof of one event as JSON")
    p.add_argument("directory")
    p.add_argument("--chunk", required=True, help="chunk id (e.g. 1 or 000001)")
    p.add_argument("--index", required=True, type=int, help="0-based index of the event in the chunk")
    p.set_defaults(func=_proof)

    p = sub.add_parser("show", help="list chunks and their events")
    p.add_argument("directory")
    p.add_argument("--chunk", default=None, help="only this chunk id")
    p.add_argument("--no-events", action="store_true", help="list chunks only")
    p.set_defaults(func=_show)

    p = sub.add_parser("keygen", help="write an Ed25519 key pair PREFIX.key (private, 0600) and PREFIX.pub")
    p.add_argument("prefix", help="output path prefix, e.g. keys/audit")
    p.set_defaults(func=_keygen)


def _parse_root(text: str, flag: str) -> bytes:
    value = text.strip()
    try:
        raw = bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"audit verify {flag} {text[:80]!r} is not a SHA-256 root; pass the 64 hex digits (or base64) printed as the log root by `nethical audit verify`.")
    return raw


def _read_state(path: Path) -> Optional[RememberedHead]:
    if not path.exists():
        return None
    data = safejson.read_object(path, "audit verify --state file", max_bytes=safejson.MAX_HEADER_BYTES, max_depth=2)
    size, root, log_id = data.get("size"), data.get("root"), data.get("log_id")
    ok = (data.get("format") == STATE_FORMAT and isinstance(size, int) and not isinstance(size, bool) and size >= 0
          and isinstance(root, str) and len(root) == 64 and (log_id is None or is_log_id(log_id)))
    try:
        raw = bytes.fromhex(root) if ok else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise DataError(f"audit verify --state {str(path)!r} is not a {STATE_FORMAT} file (size, root, log_id); pass the file an earlier verify wrote, or a new path to start one.")
    return RememberedHead(size=size, root=raw, log_id=log_id, source=f"--state {path.name}")


def _write_state(path: Path, report) -> None:
    state = {"format": STATE_FORMAT, "log_id": report.log_id, "origin": origin_of(report.log_id) if report.log_id else None,
             "size": report.log_size, "root": report.log_root, "directory": os.path.abspath(report.directory),
             "verified_at": datetime.now(timezone.utc).isoformat()}
    store.write_json_atomic(path, state)


def _verify(ns: argparse.Namespace) -> int:
    remembered: list[RememberedHead] = []
    if ns.min_size is not None and ns.min_size < 0:
        raise ConfigError(f"audit verify --min-size {ns.min_size} must be >= 0 (the number of events the log held when you saw it).")
    if ns.expect_root is not None or ns.min_size is not None:
        root = _parse_root(ns.expect_root, "--expect-root") if ns.expect_root is not None else None
        source = "--expect-root" if root is not None else "--min-size"
        remembered.append(RememberedHead(size=ns.min_size, root=root, source=source))
    state_path = Path(ns.state) if ns.state else None
    state = _read_state(state_path) if state_path is not None else None
    if state is not None:
        remembered.append(state)
    report = verify_directory(ns.directory, public_key=ns.public_key, remembered=remembered)
    if ns.json:
        print(json.dumps({
            "ok": report.ok,
            "directory": report.directory,
            "chunks": len(report.chunks),
            "events": report.events,
            "pending_events": report.pending_events,
            "head_root": report.head_root,
            "log_id": report.log_id,
            "log_size": report.log_size,
            "log_root": report.log_root,
            "consistency": report.consistency,
            "signatures_checked": report.signatures_checked,
            "problems": list(report.problems),
            "notes": list(report.notes),
        }, indent=2))
    else:
        for note in report.notes:
            print(f"note: {note}")
        for problem in report.problems:
            print(f"FAILED: {problem}")
    if not report.ok:
        if ns.json:  # nothing was printed: the one line names the first problem
            first = report.problems[0]
            more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
            raise AuditIntegrityError(f"audit verify: {report.directory} failed verification: {first}{more}")
        count = len(report.problems)
        raise AuditIntegrityError(f"audit verify: {report.directory} failed verification: {count} problem"
                                  f"{'s' if count != 1 else ''} listed above")
    if state_path is not None and report.chunks:
        _write_state(state_path, report)
    if not ns.json:
        signed = f", {report.signatures_checked} signatures valid" if report.signatures_checked else ""
        print(
            f"OK: {len(report.chunks)} chunks, {report.events} events, chain intact{signed}; "
            f"head root {report.head_root or '(none yet)'}"
        )
        if report.chunks:
            print(f"log {report.log_id or '(no id: written before log ids)'}: size {report.log_size}, root {report.log_root}")
        if report.consistency is not None:
            c = report.consistency
            print(f"consistent with the remembered head (size {c['old_size']} -> {c['new_size']}, RFC 9162 proof of {len(c['proof'])} hashes)")
        if state_path is not None and report.chunks:
            print(f"{'remembered' if state is None else 'updated'} head in {state_path}: size {report.log_size}, root {report.log_root}")
    return 0


def _proof(ns: argparse.Namespace) -> int:
    proof = build_proof(ns.directory, parse_chunk_id(ns.chunk), ns.index)
    print(json.dumps(proof, indent=2, ensure_ascii=False))
    return 0


def _facts(event: dict[str, Any], width: int = 110) -> str:
    parts = []
    for key in sorted(k for k in event if k not in _COMMON_FIELDS):
        value = json.dumps(event[key], ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}={value if len(value) <= 40 else value[:37] + '...'}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 3] + "..."


def _show(ns: argparse.Namespace) -> int:
    d = check_directory(ns.directory, "show")
    if ns.chunk is not None:
        cid = parse_chunk_id(ns.chunk)
        files = [(cid, load_chunk(d, cid, "show")[0])]
    else:
        files = store.list_chunks(d)
    journals = [] if ns.chunk is not None else store.list_journals(d)
    aside = [] if ns.chunk is not None else store.list_unverified(d)
    if not files and not journals and not aside:
        raise DataError(f"audit show: no audit chunks (chunk_*.json) in {str(d)!r}; pass the --audit-path used for training.")
    for fid, path in files:
        data, events = store.read_chunk(path)  # bounded: a forged 200,000-deep event is a one-line error
        cid, prev, root, count, _ = store.chunk_header({**data, "events": []}, path)
        signed = " signed" if isinstance(data.get("signature"), dict) else ""
        recovered = " recovered" if data.get("recovered") is True else ""
        log = f", log size {data['log_size']}" if isinstance(data.get("log_size"), int) else ""
        print(f"chunk {cid} ({path.name}): {count} events, root {root}, prev {prev or 'null'}{log}, "
              f"{data.get('created_at', '?')} .. {data.get('finalized_at', '?')}{signed}{recovered}")
        if not ns.no_events:
            for i, event in enumerate(events):
                _print_event(i, event)
    for journal, label in [(j, "open journal") for j in journals] + [(a, "kept aside (unverified, not in the log)") for a in aside]:
        content = read_journal(journal)
        print(f"{label} {journal.name}: {len(content.lines)} events not yet finalized" if label == "open journal"
              else f"{label} {journal.name}: {len(content.lines)} events")
        if not ns.no_events:
            for i, line in enumerate(content.lines):
                _print_event(i, json.loads(line))  # read_journal kept only bounded JSON objects
    sys.stdout.flush()
    return 0


def _print_event(i: int, event: dict[str, Any]) -> None:
    print(f"  [{i:>5}] {str(event.get('timestamp', '?')):<32} {str(event.get('event_type', '?')):<20} "
          f"{str(event.get('model_type', '-')):<18} {_facts(event)}")


def _keygen(ns: argparse.Namespace) -> int:
    from nethical.audit.checkpoint import verifier_key
    from nethical.audit.signing import load_public_key

    key_path, pub_path = generate_keypair(ns.prefix)
    print(f"wrote private key {key_path} (mode 0600; keep it secret) and public key {pub_path}")
    print(f"signed-note verifier key (for C2SP tools): {verifier_key(load_public_key(pub_path))}")
    print(f"train with --audit-signing-key {key_path}; verify with `nethical audit verify DIR --public-key {pub_path}`")
    return 0
