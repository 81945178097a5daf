"""``nethical audit verify|proof|show|keygen``: inspect and check an audit directory without Lightning.

Exit codes: 0 intact / done; 1 verification failed (what and where is printed); 2 bad input (missing or unreadable
directory, a chunk that is not JSON or has a wrong ``event_count``, an index out of range, ...). Nothing in the audit
directory is ever written by these commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nethical.audit import store
from nethical.audit.log import read_journal
from nethical.audit.signing import generate_keypair
from nethical.audit.verify import build_proof, check_directory, load_chunk, parse_chunk_id, verify_directory
from nethical.exceptions import AuditIntegrityError, DataError

_COMMON_FIELDS = ("event_type", "model_type", "timestamp", "run_id")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``audit`` and its sub-subcommands to the ``nethical`` tool parser."""
    audit = subparsers.add_parser("audit", help="verify, prove and show Merkle audit logs", description=__doc__.splitlines()[0])
    sub = audit.add_subparsers(dest="audit_command", required=True)

    p = sub.add_parser("verify", help="recompute every chunk root and the chain; exit 1 when tampered")
    p.add_argument("directory", help="the audit directory (the --audit-path of the run)")
    p.add_argument("--public-key", default=None, help="Ed25519 public key PEM: require and check chunk signatures")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
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


def _verify(ns: argparse.Namespace) -> int:
    report = verify_directory(ns.directory, public_key=ns.public_key)
    if ns.json:
        print(json.dumps({
            "ok": report.ok,
            "directory": report.directory,
            "chunks": len(report.chunks),
            "events": report.events,
            "pending_events": report.pending_events,
            "head_root": report.head_root,
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
        first = report.problems[0]
        more = f" (+{len(report.problems) - 1} more above)" if len(report.problems) > 1 else ""
        raise AuditIntegrityError(f"audit verify: {report.directory} failed verification: {first}{more}")
    if not ns.json:
        signed = f", {report.signatures_checked} signatures valid" if report.signatures_checked else ""
        print(
            f"OK: {len(report.chunks)} chunks, {report.events} events, chain intact{signed}; "
            f"head root {report.head_root or '(none yet)'}"
        )
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
    if not files and not journals:
        raise DataError(f"audit show: no audit chunks (chunk_*.json) in {str(d)!r}; pass the --audit-path used for training.")
    for fid, path in files:
        data = store.read_json_file(path)
        cid, prev, root, count, events = store.chunk_header(data, path)
        signed = " signed" if isinstance(data.get("signature"), dict) else ""
        print(f"chunk {cid} ({path.name}): {count} events, root {root}, prev {prev or 'null'}, "
              f"{data.get('created_at', '?')} .. {data.get('finalized_at', '?')}{signed}")
        if not ns.no_events:
            for i, event in enumerate(events):
                print(f"  [{i:>5}] {event.get('timestamp', '?'):<32} {str(event.get('event_type', '?')):<20} "
                      f"{str(event.get('model_type', '-')):<18} {_facts(event)}")
    for journal in journals:
        content = read_journal(journal)
        print(f"open journal {journal.name}: {len(content.lines)} events not yet finalized")
        if not ns.no_events:
            for i, line in enumerate(content.lines):
                event = json.loads(line)
                print(f"  [{i:>5}] {event.get('timestamp', '?'):<32} {str(event.get('event_type', '?')):<20} "
                      f"{str(event.get('model_type', '-')):<18} {_facts(event)}")
    sys.stdout.flush()
    return 0


def _keygen(ns: argparse.Namespace) -> int:
    key_path, pub_path = generate_keypair(ns.prefix)
    print(f"wrote private key {key_path} (mode 0600; keep it secret) and public key {pub_path}")
    print(f"train with --audit-signing-key {key_path}; verify with `nethical audit verify DIR --public-key {pub_path}`")
    return 0
