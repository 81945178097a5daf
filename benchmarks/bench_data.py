"""Real-data loading benchmark: prints a markdown table (docs/benchmarks.md holds a measured copy).

    python benchmarks/bench_data.py [--rows 200000] [--big-factor 6]

Each measurement runs in a fresh subprocess so its peak RSS (``ru_maxrss`` after the imports, subtracted) belongs
to that step alone:

1. ``pandas.read_csv`` of a 200,000-row CSV (numeric, categorical and short text columns) — the reference.
2. ``load_table`` + ``prepare_table`` (what :class:`~datamodules.file.FileDataModule` does), cold ``datasets`` cache.
3. The same again: the Arrow cache is hit, nothing is parsed.
4. One epoch of batches (256 rows): an HF ``Dataset`` read row by row through a DataLoader, against slicing
   pre-built tensors as :class:`~datamodules.base.BaseDataModule` does.
5. Preparing a CSV ``--big-factor`` times larger: peak memory against the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np, pandas as pd, torch, datasets
from nethical.data.files import CsvOptions, load_table
from nethical.data.columns import ColumnOptions
from nethical.data.prepare import prepare_table
step, path, cache = {step!r}, {path!r}, {cache!r}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
extra = {{}}
if step == "pandas":
    df = pd.read_csv(path)
    extra["rows"] = len(df)
elif step in ("prepare", "big"):
    loaded = load_table([path], "csv", CsvOptions(), cache)
    prepared = prepare_table(loaded.table, "tabular", ColumnOptions(drop_columns=("note",)), path)
    extra.update(rows=len(prepared.data), cache_hit=loaded.cache_hit, features=len(prepared.data.feature_names),
                 output_mib=prepared.data.features.nbytes / 2**20)
elif step in ("iter_rows", "iter_slices"):
    loaded = load_table([path], "csv", CsvOptions(), cache)
    prepared = prepare_table(loaded.table, "tabular", ColumnOptions(drop_columns=("note",)), path)
    x = torch.from_numpy(prepared.data.features)
    y = torch.from_numpy(prepared.data.labels)
    t = time.perf_counter()
    if step == "iter_rows":
        ds = datasets.Dataset.from_dict({{"x": prepared.data.features.tolist(), "y": prepared.data.labels.tolist()}}).with_format("torch")
        t = time.perf_counter()
        for batch in torch.utils.data.DataLoader(ds, batch_size=256):
            pass
    else:
        from datamodules.base import _SliceDataset
        from torch.utils.data import BatchSampler, DataLoader, SequentialSampler
        sl = _SliceDataset({{"x": x, "y": y}})
        t = time.perf_counter()
        for batch in DataLoader(sl, sampler=BatchSampler(SequentialSampler(sl), 256, False), batch_size=None):
            pass
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mib": (peak - base) / 1024, **extra}}))
"""


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    services = np.array([f"svc{i}" for i in range(60)])
    frame = pd.DataFrame({
        "duration": rng.integers(0, 5000, rows),
        "src_bytes": rng.lognormal(6, 2, rows).round(2),
        "dst_bytes": rng.lognormal(5, 2, rows).round(2),
        "rate": rng.random(rows).round(4),
        "count": rng.poisson(20, rows),
        "protocol": rng.choice(["tcp", "udp", "icmp"], rows),
        "service": services[rng.zipf(1.5, rows) % 60],
        "note": rng.choice(["ok", "retry after timeout", "connection reset by peer"], rows),
        "label": rng.choice(["normal", "attack"], rows, p=[0.6, 0.4]),
    })
    frame["label"] = np.where(frame["label"] == "attack", "malicious", "benign")
    frame.to_csv(path, index=False)


def measure(step: str, path: Path, cache: Path) -> dict:
    code = CHILD.format(root=str(ROOT), step=step, path=str(path), cache=str(cache))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--big-factor", type=int, default=6)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path, big_path = tmp / "rows.csv", tmp / "big.csv"
        write_csv(csv_path, args.rows)
        mib = csv_path.stat().st_size / 2**20
        results = {
            "pandas": measure("pandas", csv_path, tmp / "cache"),
            "cold": measure("prepare", csv_path, tmp / "cache"),
            "warm": measure("prepare", csv_path, tmp / "cache"),
            "iter_rows": measure("iter_rows", csv_path, tmp / "cache"),
            "iter_slices": measure("iter_slices", csv_path, tmp / "cache"),
        }
        write_csv(big_path, args.rows * args.big_factor, seed=1)
        big_mib = big_path.stat().st_size / 2**20
        results["big"] = measure("big", big_path, tmp / "cache")
    r = results
    print(f"CPU cores: {os.cpu_count()}; {args.rows:,} rows, {mib:.1f} MiB CSV; big file {args.rows * args.big_factor:,} rows, {big_mib:.1f} MiB\n")
    print("| step | seconds | peak RSS over baseline (MiB) | vs pandas.read_csv |")
    print("|---|---:|---:|---|")
    p = r["pandas"]
    print(f"| pandas.read_csv | {p['seconds']:.2f} | {p['peak_mib']:.0f} | 1.00x |")
    for key, label in (("cold", "load + prepare (cold cache: parse into Arrow)"), ("warm", "load + prepare (second load: cache hit)")):
        v = r[key]
        print(f"| {label} | {v['seconds']:.2f} | {v['peak_mib']:.0f} | {v['seconds'] / p['seconds']:.2f}x time, "
              f"{v['peak_mib'] / max(p['peak_mib'], 1):.2f}x memory (cache_hit={v['cache_hit']}) |")
    ir, isl = r["iter_rows"], r["iter_slices"]
    print(f"| one epoch, HF Dataset row by row (batch 256) | {ir['seconds']:.2f} | - | - |")
    print(f"| one epoch, slicing pre-built tensors (batch 256) | {isl['seconds']:.3f} | - | {ir['seconds'] / max(isl['seconds'], 1e-9):.0f}x faster than row by row |")
    b = r["big"]
    print(f"| prepare {args.big_factor}x larger CSV ({big_mib:.0f} MiB, cold) | {b['seconds']:.2f} | {b['peak_mib']:.0f} | "
          f"peak = {b['peak_mib'] / big_mib:.2f}x file size (limit 3x); the float32 output matrix alone "
          f"({b['features']} features) is {b['output_mib']:.0f} MiB = {b['output_mib'] / big_mib:.2f}x |")


if __name__ == "__main__":
    main()
