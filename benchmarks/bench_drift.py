"""Data-drift detection: this project's per-column tests side by side with Evidently, on shifts of known size.

Run from the project root::

    python benchmarks/bench_drift.py                                   # ours only
    python benchmarks/bench_drift.py --evidently-python /tmp/evidently-venv/bin/python --seeds 3 \
        --evidently-cache /tmp/evidently_flags.json      # the second run reuses Evidently's answers

Evidently is optional and never a dependency: give the Python of a virtual environment that has it
(``python -m venv /tmp/evidently-venv && /tmp/evidently-venv/bin/pip install evidently "pandas<2.3"``); it runs in a
subprocess with its ``DataDriftPreset`` at default settings (per column: KS p-value / chi-square p-value up to 1000
rows, normed Wasserstein / Jensen-Shannon distance at 0.1 above).

Pairs are built from the shared NSL-KDD file (``../shared/datasets/nsl_kdd/nsl_kdd_train20.csv``; 41 features and the
label ``is_attack``): per seed the rows are split at random into a reference and a current half (or two samples of
``--small`` rows each), and one shift of known size is injected into the current part:

* ``none``: nothing (every flagged column is a false alarm),
* ``trivial_mean``: ``dst_host_srv_count`` + 0.02 std, rounded to whole counts (+2: real, but below any practical
  size: should not be flagged),
* ``mean_shift``: ``dst_host_srv_count`` + 0.25 std, rounded (+25),
* ``variance``: ``dst_host_count`` spread 1.5 x around its mean (rounded, floored at 0),
* ``zero_inflation``: non-zero ``dst_bytes`` values set to 0 until the zero share is 10 points higher (54% -> 64%),
* ``new_level``: 10% of ``service`` replaced by a level the reference never saw,
* ``prior_shift``: half of the attack rows dropped from the current part (positive rate ~0.47 -> ~0.30).

Detection = the injected column (the label for ``prior_shift``) is flagged; false alarms = other columns flagged in
pairs where they were not touched (``prior_shift`` excluded: dropping attack rows really moves other columns).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nethical.drift import column_drift, summarize_features  # noqa: E402
from nethical.drift.columns import LABEL_COLUMN  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "nsl_kdd" / "nsl_kdd_train20.csv"
LABEL = "is_attack"
DROP = ("attack_type", "difficulty")
SCENARIOS = ("none", "trivial_mean", "mean_shift", "variance", "zero_inflation", "new_level", "prior_shift")
TARGET = {"none": None, "trivial_mean": "dst_host_srv_count", "mean_shift": "dst_host_srv_count",
          "variance": "dst_host_count", "zero_inflation": "dst_bytes", "new_level": "service", "prior_shift": LABEL}
PRACTICAL = ("mean_shift", "variance", "zero_inflation", "new_level", "prior_shift")

EVIDENTLY_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
out = {}
for item in json.load(open(sys.argv[1])):
    ref, cur = pd.read_parquet(item["ref"]), pd.read_parquet(item["cur"])
    snap = Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    flagged = []
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            method, value, thr = cfg.get("method", ""), m["value"], cfg.get("threshold")
            is_p = "p_value" in method or "test" in method.lower()
            if (value < thr) if is_p else (value >= thr):
                flagged.append(cfg["column"])
    out[item["key"]] = flagged
json.dump(out, open(sys.argv[2], "w"))
"""


def load() -> Any:
    import pandas as pd

    df = pd.read_csv(DATA).drop(columns=[c for c in DROP if c], errors="ignore")
    df[LABEL] = df[LABEL].astype(bool).astype(int)
    return df


def make_pair(df: Any, scenario: str, seed: int, n: Optional[int]) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(df))
    half = len(df) // 2
    ref_idx, cur_idx = idx[:half], idx[half:]
    if n:
        ref_idx, cur_idx = ref_idx[:n], cur_idx[: n * (2 if scenario == "prior_shift" else 1)]
    ref, cur = df.iloc[ref_idx].copy(), df.iloc[cur_idx].copy()
    col = TARGET[scenario]
    # integer columns stay integer (a shift that made every value new would be detected for the wrong reason)
    from pandas.api.types import is_integer_dtype

    keep = (lambda v: np.round(v)) if col in df and is_integer_dtype(df[col]) else (lambda v: v)
    if scenario in ("trivial_mean", "mean_shift"):
        cur[col] = keep(cur[col] + (0.02 if scenario == "trivial_mean" else 0.25) * df[col].std())
    elif scenario == "variance":
        mean = df[col].mean()
        cur[col] = np.maximum(0, keep(mean + (cur[col] - mean) * 1.5))
    elif scenario == "zero_inflation":  # the share of zeros rises by 10 points
        nonzero = np.flatnonzero(cur[col].to_numpy() != 0)
        hit = rng.choice(nonzero, size=min(nonzero.size, int(round(0.10 * len(cur)))), replace=False)
        cur.loc[cur.index[hit], col] = 0
    elif scenario == "new_level":
        hit = rng.uniform(size=len(cur)) < 0.10
        cur.loc[cur.index[hit], col] = "brand_new_service"
    elif scenario == "prior_shift":
        attacks = np.flatnonzero(cur[LABEL].to_numpy() == 1)
        drop = rng.choice(attacks, size=attacks.size // 2, replace=False)
        cur = cur.drop(index=cur.index[drop])
        if n:
            cur = cur.iloc[:n]
    return ref, cur


def profile(frame: Any) -> dict[str, Any]:
    from pandas.api.types import is_numeric_dtype

    feats = {c: (frame[c].to_numpy(dtype=np.float64) if is_numeric_dtype(frame[c]) else frame[c].to_numpy(dtype=object))
             for c in frame.columns if c != LABEL}
    return summarize_features(feats, labels=frame[LABEL].to_numpy())


def ours(ref: Any, cur: Any) -> list[str]:
    result = column_drift(profile(ref), profile(cur))
    return [LABEL if c == LABEL_COLUMN else c for c in result["drifted_features"]]


def score(flagged: list[str], scenario: str, columns: list[str]) -> tuple[Optional[bool], int, int]:
    """(target detected or None, off-target columns flagged, off-target columns considered)."""
    target = TARGET[scenario]
    if scenario == "prior_shift":
        return target in flagged, 0, 0
    others = [c for c in columns if c != target]
    return (None if target is None else target in flagged), sum(c in flagged for c in others), len(others)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--small", type=int, default=1000, help="rows per side of the small pairs (0: skip them)")
    p.add_argument("--evidently-python", default=None, help="python of a venv with evidently (optional)")
    p.add_argument("--evidently-cache", default=None,
                   help="JSON file of Evidently's flagged columns per pair: read when it exists (Evidently is then not "
                        "run; the pairs are the same for the same seeds and sizes), written after a run")
    ns = p.parse_args(argv)
    if not DATA.is_file():
        print(f"error: {DATA} not found; this benchmark needs the shared NSL-KDD file.", file=sys.stderr)
        return 2
    df = load()
    columns = [c for c in df.columns]
    sizes = [None] + ([ns.small] if ns.small else [])
    results: dict[str, dict[str, list]] = {}
    timings = {"ours": 0.0, "evidently": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        cache = Path(ns.evidently_cache) if ns.evidently_cache else None
        cached = json.loads(cache.read_text()) if cache is not None and cache.is_file() else None
        for size in sizes:
            for scenario in SCENARIOS:
                for seed in range(ns.seeds):
                    ref, cur = make_pair(df, scenario, seed, size)
                    key = f"{size or 'half'}|{scenario}|{seed}"
                    start = time.perf_counter()
                    results.setdefault(key, {})["ours"] = ours(ref, cur)
                    timings["ours"] += time.perf_counter() - start
                    results[key]["n"] = [len(ref), len(cur)]
                    if ns.evidently_python and not cached:
                        ref.to_parquet(Path(tmp, f"{len(jobs)}_ref.parquet"))
                        cur.to_parquet(Path(tmp, f"{len(jobs)}_cur.parquet"))
                        jobs.append({"key": key, "ref": str(Path(tmp, f"{len(jobs)}_ref.parquet")),
                                     "cur": str(Path(tmp, f"{len(jobs)}_cur.parquet"))})
        if cached is not None:
            for key, flagged in cached.items():
                if key in results:
                    results[key]["evidently"] = flagged
            missing = [k for k in results if "evidently" not in results[k]]
            if missing:
                print(f"error: {cache} lacks {len(missing)} pair(s), e.g. {missing[0]}; delete it to rerun Evidently.",
                      file=sys.stderr)
                return 2
        elif ns.evidently_python:
            Path(tmp, "jobs.json").write_text(json.dumps(jobs))
            Path(tmp, "run.py").write_text(EVIDENTLY_SCRIPT)
            start = time.perf_counter()
            proc = subprocess.run([ns.evidently_python, str(Path(tmp, "run.py")), str(Path(tmp, "jobs.json")),
                                   str(Path(tmp, "out.json"))], capture_output=True, text=True)
            timings["evidently"] = time.perf_counter() - start
            if proc.returncode != 0:
                print(f"error: Evidently failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                return 2
            flagged_by_pair = json.loads(Path(tmp, "out.json").read_text())
            for key, flagged in flagged_by_pair.items():
                results[key]["evidently"] = flagged
            if cache is not None:
                cache.write_text(json.dumps(flagged_by_pair, indent=0))
    tools = ["ours"] + (["evidently"] if ns.evidently_python or cached is not None else [])
    print(f"NSL-KDD ({len(df)} rows, {len(columns) - 1} features + label), {ns.seeds} seeds per cell")
    header = f"{'rows/side':>10} {'scenario':<15}" + "".join(f" {t + ' detected':>18} {t + ' off-target':>20}"
                                                             for t in tools)
    print(header)
    print("-" * len(header))
    for size in sizes:
        for scenario in SCENARIOS:
            keys = [f"{size or 'half'}|{scenario}|{seed}" for seed in range(ns.seeds)]
            n = results[keys[0]]["n"]
            cells = []
            for tool in tools:
                scored = [score(results[k][tool], scenario, columns) for k in keys]
                det = [d for d, _, _ in scored if d is not None]
                off = sum(o for _, o, _ in scored)
                total = sum(t for _, _, t in scored)
                det_text = f"{sum(det)}/{len(det)}" if det else "-"
                off_text = f"{off}/{total} ({off / total:.1%})" if total else "-"
                cells.append(f" {det_text:>18} {off_text:>20}")
            print(f"{n[0]:>10} {scenario:<15}" + "".join(cells))
    print(f"\ntime: ours {timings['ours']:.1f}s (profiles + tests)"
          + (f", Evidently {timings['evidently']:.1f}s (subprocess, including its import)"
             if ns.evidently_python and cached is None else ", Evidently from the cache" if cached is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
