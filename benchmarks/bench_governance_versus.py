"""Governance engine, this working tree against an earlier commit, side by side in one process.

Run from the project root (a git checkout)::

    python benchmarks/bench_governance_versus.py --rev caaced9
    python benchmarks/bench_governance_versus.py --rev HEAD~3 --rounds 15
    python benchmarks/bench_governance_versus.py --rev caaced9 --jailbreak-sensitivity standard

The ``nethical`` package of ``--rev`` is extracted with ``git archive`` into a temporary folder and imported under
another name, so both engines scan the same ~200-character pieces (``bench_governance.py``'s per-source pieces) in
the same process, alternating every round (old-new, new-old, ...): machine noise hits both alike. Prints CPU
microseconds per text (best round), the speed-up, and how many pieces got a different decision or violations.
Both engines run with their own defaults unless ``--jailbreak-sensitivity`` sets the same one for both (to compare
code at equal settings across a change of default).
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_governance import _texts_200  # noqa: E402
from nethical.governance import GovernanceConfig, GovernanceEngine  # noqa: E402

_IMPORT = re.compile(r"^(\s*(?:from|import)\s+)nethical(?=[.\s])", re.M)


def load_revision(rev: str, into: Path) -> tuple[Any, Any]:
    """``(GovernanceEngine, GovernanceConfig)`` of ``rev``, imported as package ``nethical_rev`` from ``into``."""
    try:
        blob = subprocess.run(["git", "archive", "--format=tar", rev, "nethical"], cwd=ROOT, check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SystemExit(f"error: cannot read revision {rev!r} with git archive ({detail.decode().strip() or exc}); "
                         f"run from a git checkout and name an existing commit.") from None
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # the archive is this repository's own history
    pkg = into / "nethical_rev"
    (into / "nethical").rename(pkg)
    for path in pkg.rglob("*.py"):
        path.write_text(_IMPORT.sub(r"\1nethical_rev", path.read_text(encoding="utf-8")), encoding="utf-8")
    sys.path.insert(0, str(into))
    from nethical_rev.governance import GovernanceConfig as OldConfig  # type: ignore[import-not-found]
    from nethical_rev.governance import GovernanceEngine as Old  # type: ignore[import-not-found]

    return Old, OldConfig


def _key(result: Any) -> tuple:
    return result.decision, [(v.category, v.type, v.span, v.confidence) for v in result.violations]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the commit to compare against (e.g. HEAD~1, a hash)")
    parser.add_argument("--pieces", type=int, default=1000, help="pieces of 200 characters per source")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--jailbreak-sensitivity", choices=("standard", "high"), default=None,
                        help="the same sensitivity for both engines (default: each engine's own default)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    with tempfile.TemporaryDirectory() as tmp:
        Old, OldConfig = load_revision(args.rev, Path(tmp))
        level = args.jailbreak_sensitivity
        if level is None:
            engines = {args.rev: Old(), "working tree": GovernanceEngine()}
        else:
            engines = {args.rev: Old(OldConfig(jailbreak_sensitivity=level)),
                       "working tree": GovernanceEngine(GovernanceConfig(jailbreak_sensitivity=level))}
        setting = "each engine's defaults" if level is None else f"jailbreak_sensitivity={level!r} for both"
        print(f"# Governance engine: working tree vs {args.rev} ({setting}; one process, alternating rounds, CPU "
              f"time, best of {args.rounds})\n")
        print(f"| text | {args.rev} µs/text | working tree µs/text | speed-up | working tree texts/s | "
              f"pieces with other findings |")
        print("|---|---:|---:|---:|---:|---:|")
        old, new = engines.values()
        for name, texts in _texts_200(args.pieces).items():
            changed = sum(_key(old.scan(t)) != _key(new.scan(t)) for t in texts)
            best = {label: float("inf") for label in engines}
            order = list(engines.items())
            for r in range(args.rounds):
                for label, engine in (order if r % 2 else order[::-1]):
                    start = time.process_time()
                    for t in texts:
                        engine.scan(t)
                    best[label] = min(best[label], (time.process_time() - start) / len(texts) * 1e6)
            a, b = best[args.rev], best["working tree"]
            print(f"| {name} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {1e6 / b:,.0f} | {changed}/{len(texts)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
