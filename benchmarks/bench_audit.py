"""Benchmark the Merkle audit log: append rate, verify time and proof time, next to the plain-hashlib floor.

Usage::

    python benchmarks/bench_audit.py                  # 1,000,000 events (about 1-2 minutes on one core)
    python benchmarks/bench_audit.py --events 100000  # quicker

Prints a markdown table. Everything runs in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nethical.audit import AuditLog, verify_directory  # noqa: E402
from nethical.audit.canonical import canonical_bytes  # noqa: E402
from nethical.audit.merkle import inclusion_proof, leaf_hash, root, verify_inclusion  # noqa: E402
from nethical.audit.tree import MerkleTree  # noqa: E402
from nethical.audit.verify import _leaves_of, build_proof  # noqa: E402


def make_event(i: int) -> dict:
    """A realistic validation-metrics-sized event (about 330 bytes of canonical JSON)."""
    return {
        "event_type": "validation_metrics",
        "model_type": "simple_transformer",
        "timestamp": "2026-11-26T08:41:43.123456+00:00",
        "run_id": "20261126T084143Z-1a2b3c4d",
        "epoch": i // 100,
        "global_step": i,
        "metrics": {"val/acc": 0.91 + (i % 7) / 1000, "val/auroc": 0.95, "val/ece": 0.031, "val/f1": 0.88, "val/loss": 0.2 + (i % 13) / 1000},
    }


def bench_floor(n: int, batch: int = 100_000) -> tuple[float, float, int]:
    """Seconds to SHA-256 every event's bytes as leaves with hashlib only, and to build the full RFC tree too."""
    leaf_s = total_bytes = 0
    leaves: list[bytes] = []
    sha = hashlib.sha256
    for start in range(0, n, batch):
        data = [canonical_bytes(make_event(i)) for i in range(start, min(n, start + batch))]
        total_bytes += sum(map(len, data))
        t = time.perf_counter()
        leaves.extend(sha(b"\x00" + d).digest() for d in data)
        leaf_s += time.perf_counter() - t
    t = time.perf_counter()
    root(leaves)
    node_s = time.perf_counter() - t
    return leaf_s, leaf_s + node_s, total_bytes


def bench_append(directory: Path, n: int, chunk_size: int, signing_key=None) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) to append ``n`` events, chunks finalized (fsync'd) along the way."""
    events = (make_event(i) for i in range(n))
    t, c = time.perf_counter(), time.process_time()
    with AuditLog(directory, chunk_size=chunk_size, signing_key=signing_key) as log:
        for event in events:
            log.append(event)
    return time.perf_counter() - t, time.process_time() - c


def bench_proofs(n: int) -> dict[str, float]:
    leaves = [leaf_hash(canonical_bytes(make_event(i))) for i in range(n)]
    t = time.perf_counter()
    tree = MerkleTree(leaves)
    build_s = time.perf_counter() - t
    rng = random.Random(0)
    idx = [rng.randrange(n) for _ in range(10_000)]
    t = time.perf_counter()
    for i in idx:
        tree.inclusion_proof(i)
    per_proof = (time.perf_counter() - t) / len(idx)
    t = time.perf_counter()
    for i in idx[:1000]:
        assert verify_inclusion(leaves[i], i, n, tree.inclusion_proof(i), tree.root())
    per_verify = (time.perf_counter() - t) / 1000
    t = time.perf_counter()
    naive = inclusion_proof(leaves, idx[0])  # recomputes every sibling subtree from the leaves: O(n) per proof
    naive_s = time.perf_counter() - t
    assert naive == tree.inclusion_proof(idx[0])
    return {"build": build_s, "proof": per_proof, "verify": per_verify, "naive": naive_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=10_000, help="events per chunk for the append/verify log")
    parser.add_argument("--skip-cli-proof", action="store_true", help="skip writing one N-event chunk for the CLI proof timing")
    args = parser.parse_args()
    n = args.events
    tmp = Path(tempfile.mkdtemp(prefix="bench_audit_"))
    try:
        leaf_floor, tree_floor, total_bytes = bench_floor(n)
        gc.collect()
        append_s, append_cpu = bench_append(tmp / "log", n, args.chunk_size)
        t, c = time.perf_counter(), time.process_time()
        report = verify_directory(tmp / "log")
        verify_s, verify_cpu = time.perf_counter() - t, time.process_time() - c
        assert report.ok and report.events == n
        from nethical.audit.signing import generate_keypair

        key, pub = generate_keypair(tmp / "bench")
        signed_s, signed_cpu = bench_append(tmp / "signed", n, args.chunk_size, signing_key=key)
        t, c = time.perf_counter(), time.process_time()
        signed_report = verify_directory(tmp / "signed", public_key=pub)
        signed_verify_s, signed_verify_cpu = time.perf_counter() - t, time.process_time() - c
        assert signed_report.ok and signed_report.signatures_checked == -(-n // args.chunk_size)
        t = time.perf_counter()  # the fallback path: full JSON parse + canonical re-encoding of every event
        for chunk in sorted((tmp / "log").glob("chunk_*.json")):
            events = json.loads(chunk.read_bytes())["events"]
            _leaves_of(events)
        slow_s = time.perf_counter() - t
        gc.collect()
        proofs = bench_proofs(n)
        gc.collect()
        cli = None
        if not args.skip_cli_proof:
            one = tmp / "one_chunk"
            one_append = bench_append(one, n, n)[0]
            t = time.perf_counter()
            proof = build_proof(one, 1, n // 2)
            cli = (time.perf_counter() - t, one_append)
            assert proof["tree_size"] == n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    mb = total_bytes / 1e6
    print(f"\n{n:,} events ({mb:.0f} MB of canonical JSON, {total_bytes / n:.0f} B/event), chunks of {args.chunk_size:,}; "
          f"Python {sys.version.split()[0]}\n")
    print("| Measurement | Wall time | CPU time | Rate (wall) | vs hashlib leaf floor |")
    print("|---|---:|---:|---:|---:|")
    print(f"| Floor: SHA-256 leaf hashes of the same bytes (hashlib only) | {leaf_floor:.2f} s | | {n / leaf_floor:,.0f} ev/s | 1.0x |")
    print(f"| Floor: leaves + all RFC 9162 node hashes (hashlib only) | {tree_floor:.2f} s | | {n / tree_floor:,.0f} ev/s | {tree_floor / leaf_floor:.1f}x |")
    print(f"| `AuditLog.append` (canonical JSON, journal write + flush per event, leaf, O(log n) root; {n // args.chunk_size} chunks finalized with fsync) | {append_s:.2f} s | {append_cpu:.2f} s | {n / append_s:,.0f} ev/s | {append_s / leaf_floor:.1f}x |")
    print(f"| `verify_directory` = `nethical audit verify` ({n // args.chunk_size} chunk files: read, bound-check and hash raw canonical lines, chunk and log roots, chain, summary) | {verify_s:.2f} s | {verify_cpu:.2f} s | {n / verify_s:,.0f} ev/s | {verify_s / leaf_floor:.1f}x |")
    print(f"| `AuditLog.append` with `--audit-signing-key` (+ chained HMAC per journal line, signed checkpoint per chunk) | {signed_s:.2f} s | {signed_cpu:.2f} s | {n / signed_s:,.0f} ev/s | {signed_s / leaf_floor:.1f}x |")
    print(f"| `nethical audit verify --public-key` of that log (+ {signed_report.signatures_checked} Ed25519 checkpoint signatures) | {signed_verify_s:.2f} s | {signed_verify_cpu:.2f} s | {n / signed_verify_s:,.0f} ev/s | {signed_verify_s / leaf_floor:.1f}x |")
    print(f"| verify fallback for re-formatted/tampered files: full JSON parse + canonical re-encoding + hash | {slow_s:.2f} s | | {n / slow_s:,.0f} ev/s | {slow_s / leaf_floor:.1f}x |")
    print(f"| `MerkleTree` build over {n:,} leaf hashes (once) | {proofs['build']:.2f} s | | | |")
    print(f"| Inclusion proof from the built tree (mean of 10,000) | {proofs['proof'] * 1e6:.1f} µs | | | |")
    print(f"| Verify one inclusion proof (RFC 9162 §2.1.3.2, mean of 1,000) | {proofs['verify'] * 1e6:.1f} µs | | | |")
    print(f"| Naive proof recomputing every sibling subtree from the leaves (one proof) | {proofs['naive']:.2f} s | | | |")
    if cli:
        print(f"| `nethical audit proof` on one {n:,}-event chunk (read, hash lines, build tree, path) | {cli[0]:.2f} s | | | |")
        print(f"| (append of that single {n:,}-event chunk) | {cli[1]:.2f} s | | {n / cli[1]:,.0f} ev/s | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
