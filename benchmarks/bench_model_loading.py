#!/usr/bin/env python
"""What the exact skops allow-list costs: audit of ``schema.json`` versus skops' own load, per estimator.

    python benchmarks/bench_model_loading.py [--repeats 7]

Prints one row per estimator: file size, node count, the audit alone (``read_schema`` + ``audit_schema``), a plain
``skops.io.loads`` with the types it reports trusted (what the project did before), and the full guarded load
(``nethical.skops_trust.load_skops``); medians over ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import skops.io as sio  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from nethical.skops_trust import audit_schema, load_skops, read_schema

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    ns = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(size=5000) > 0).astype(int)
    texts = [" ".join(rng.choice(["read", "write", "exec", "open", "close", "mmap"], size=30)) for _ in range(5000)]
    models = {
        "LogisticRegression": LogisticRegression().fit(x, y),
        "HistGradientBoosting (150 iters, default correlation)": HistGradientBoostingClassifier(
            max_iter=150, max_leaf_nodes=15, early_stopping=False, random_state=0).fit(x, y),
        "RandomForest (100 trees)": RandomForestClassifier(n_estimators=100, random_state=0).fit(x, y),
        "TF-IDF 1-3 grams + LogisticRegression (default anomaly)": Pipeline(
            [("ngrams", TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 3))), ("clf", LogisticRegression())]).fit(texts, y),
    }
    header = "| estimator | file KiB | nodes | audit ms | skops.loads ms | guarded load ms | audit share |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, est in models.items():
        data = sio.dumps(est)
        schema = read_schema(data, name)
        nodes, stack = 0, [schema]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                nodes += "__loader__" in item
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        trusted = sio.get_untrusted_types(data=data)
        audit = _median_ms(lambda: audit_schema(read_schema(data, name)), ns.repeats)
        plain = _median_ms(lambda: sio.loads(data, trusted=trusted), ns.repeats)
        guarded = _median_ms(lambda: load_skops(data, name), ns.repeats)
        print(f"| {name} | {len(data) / 1024:.0f} | {nodes} | {audit:.2f} | {plain:.2f} | {guarded:.2f} | "
              f"{audit / guarded:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
