"""Audit log append and verify CPU time, this working tree against an earlier commit, on the same events.

Run from the project root (a git checkout)::

    python benchmarks/bench_audit_versus.py --rev 434547d
    python benchmarks/bench_audit_versus.py --rev HEAD~5 --events 100000 --rounds 5

The ``nethical`` package of ``--rev`` is extracted with ``git archive`` into a temporary folder. Each side runs in its
own subprocess (the package is imported there as ``nethical``), alternating old-new, new-old, ... every round so
machine noise hits both alike; each writes its own log of the same events (``bench_audit.make_event``), then
verifies it. Prints the best CPU seconds per side and the ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from nethical.audit import AuditLog, verify_directory
assert Path(sys.modules["nethical"].__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), "wrong nethical imported"
exec(sys.argv[2])  # bench_audit.make_event's source: bench_audit itself imports this tree's nethical
n, chunk = int(sys.argv[3]), int(sys.argv[4])
tmp = Path(tempfile.mkdtemp(prefix="bench_audit_versus_"))
try:
    c = time.process_time()
    with AuditLog(tmp / "log", chunk_size=chunk) as log:
        for i in range(n):
            log.append(make_event(i))
    append = time.process_time() - c
    c = time.process_time()
    report = verify_directory(tmp / "log")
    verify = time.process_time() - c
    assert report.ok and report.events >= n
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps({"append": append, "verify": verify}))
"""


def extract(rev: str, into: Path) -> Path:
    """``git archive`` of ``nethical/`` at ``rev`` into ``into``; returns the folder to put on ``sys.path``."""
    data = subprocess.run(["git", "archive", rev, "nethical"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(package_root: Path, events: int, chunk: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import inspect

    from bench_audit import make_event

    source = inspect.getsource(make_event)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(package_root), source, str(events), str(chunk)],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the earlier commit, e.g. 434547d")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_audit_rev_") as tmp:
        old_root = extract(args.rev, Path(tmp))
        best = {"old": {"append": 1e9, "verify": 1e9}, "new": {"append": 1e9, "verify": 1e9}}
        for r in range(args.rounds):
            order = [("old", old_root), ("new", ROOT)] if r % 2 == 0 else [("new", ROOT), ("old", old_root)]
            for side, root in order:
                got = run(root, args.events, args.chunk_size)
                for k, v in got.items():
                    best[side][k] = min(best[side][k], v)
    print(f"\n{args.events:,} events, chunks of {args.chunk_size:,}, best of {args.rounds} rounds (CPU seconds); "
          f"old = {args.rev}, new = working tree\n")
    print("| Step | old | new | new / old |")
    print("|---|---:|---:|---:|")
    for k in ("append", "verify"):
        print(f"| {k} | {best['old'][k]:.3f} s | {best['new'][k]:.3f} s | {best['new'][k] / best['old'][k]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
