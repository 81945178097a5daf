"""How well do rules, the learned detector and both together flag the governance corpus? Nested, grouped CV.

    nice -n 10 python benchmarks/bench_governance_detector.py [--corpus DIR] [--outer 5] [--inner 5]
                                                            [--include-copyleft]

Rows are grouped by near-duplicate template (:func:`nethical.governance.detector.template_groups`). For each of
``--outer`` grouped folds the detector is trained on the other folds exactly as ``nethical governance train`` does
(its thresholds come from an *inner* grouped CV of those training rows only), then the held-out fold is scored by the
rules (the default engine), by the detector, and by both (flagged = either). Nothing is tuned on the rows that are
reported. By default the training rows leave out the sources the shipped detector leaves out
(``build_default.EXCLUDED_SOURCES``); the test folds keep every row. Prints recall per category and the benign
false-positive rate with 95% Wilson intervals, for every stored false-positive target (the sensitivity trade-off).
Takes 5-15 minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nethical.governance import GovernanceEngine  # noqa: E402
from nethical.governance import detector as det  # noqa: E402
from nethical.governance.build_default import DEFAULT_CORPUS, EXCLUDED_SOURCES, RECIPE  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    ap.add_argument("--outer", type=int, default=5)
    ap.add_argument("--inner", type=int, default=RECIPE["folds"])
    ap.add_argument("--include-copyleft", action="store_true")
    ap.add_argument("--limit", type=int, default=None)
    ns = ap.parse_args()
    from sklearn.model_selection import GroupKFold

    path = Path(ns.corpus) / "dev.jsonl"
    if not path.is_file():
        print(f"skip: {path} not found", file=sys.stderr)
        return 0
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()][: ns.limit]
    texts = [r["text"] for r in rows]
    harmful = np.array([0 if r["category"] == det.BENIGN else 1 for r in rows])
    names = np.array([r["category"] for r in rows])
    index = {c: i for i, c in enumerate(det.LEARNED_CATEGORIES)}
    cat_idx = np.array([index.get(r["category"], 0) for r in rows])
    trainable = np.array([ns.include_copyleft or r["source"] not in EXCLUDED_SOURCES for r in rows])
    started = time.perf_counter()
    rules = np.array([r.flagged for r in GovernanceEngine().scan_many(texts)])
    groups = det.template_groups(texts)
    x = det.featurize(texts, RECIPE["n_features"])
    model_flags = {str(t): np.zeros(len(rows), dtype=bool) for t in det.FP_TARGETS}
    for k, (tr, te) in enumerate(GroupKFold(ns.outer).split(x, harmful, groups)):
        tr = tr[trainable[tr]]
        gov = det.cross_validate([texts[i] for i in tr], harmful[tr], cat_idx[tr], RECIPE["n_features"], RECIPE["c"],
                                 ns.inner, RECIPE["seed"])
        w, b = det.fit_weights(x[tr], harmful[tr], cat_idx[tr], RECIPE["c"], RECIPE["seed"])
        p, cats = det.score(x[te], w, b)
        top = cats.argmax(axis=1)
        for t, thr in gov["thresholds"].items():
            tv = np.array([thr[c] for c in det.LEARNED_CATEGORIES])
            model_flags[t][te] = p >= tv[top]
        print(f"fold {k + 1}/{ns.outer} done ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    print(f"governance corpus dev.jsonl: {len(rows)} rows, {int(groups.max()) + 1} template groups, outer {ns.outer} / "
          f"inner {ns.inner} grouped folds; detector trained {'with' if ns.include_copyleft else 'without'} "
          f"{', '.join(EXCLUDED_SOURCES)}")

    def fmt(e: dict) -> str:
        lo, hi = e["ci95"]
        return f"{e['rate']:.3f} [{lo:.2f}, {hi:.2f}]" if e["rate"] is not None else "-"

    table = {"rules only": det.evaluate(rules, harmful == 1, names)}
    for t in det.FP_TARGETS:
        table[f"model @{t:g}"] = det.evaluate(model_flags[str(t)], harmful == 1, names)
        table[f"rules+model @{t:g}"] = det.evaluate(rules | model_flags[str(t)], harmful == 1, names)
    cats = [c for c in det.LEARNED_CATEGORIES if c in set(names)]
    header = f"| {'engine':<20} | {'benign FP':<20} | {'recall (all)':<20} | " + " | ".join(f"{c:<20}" for c in cats) + " |"
    print(header)
    print("|" + "|".join("-" * (len(h) + 0) for h in header.split("|")[1:-1]) + "|")
    for name, ev in table.items():
        print(f"| {name:<20} | {fmt(ev['benign_fp']):<20} | {fmt(ev['recall']):<20} | "
              + " | ".join(f"{fmt(ev['recall_by_category'][c]):<20}" for c in cats) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
