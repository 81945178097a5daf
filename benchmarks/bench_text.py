"""Text models against the ten-line baseline, side by side: same rows, same near-duplicate-aware split, several seeds.

    nice -n 10 python benchmarks/bench_text.py                       # all four shared text sets, 3 seeds
    python benchmarks/bench_text.py --datasets sms_spam --seeds 1 --max-rows 2000   # a quick look

For every data set in ``../shared/datasets`` (jailbreak_prompts, sms_spam, hate_speech as toxic = hate or offensive,
governance_corpus harmful vs benign) and every seed:

1. Rows are grouped so that near-duplicates never straddle the split: texts equal after lower-casing, digits → 0 and
   whitespace squeezing, or with binary character-5-gram cosine ≥ 0.7, fall in one group (connected components).
   Groups, not rows, are shuffled with the seed; 20% of the rows (whole groups) validate.
2. ``simple_transformer`` is trained through the project's datamodule base class, model class and promotion gate with
   its **default settings** (``configs/simple_transformer.yaml``'s model and data arguments; the calibration slice
   is 10% of the training rows, carved by group order), timed, and scored on the validation rows.
3. The baseline — TF-IDF (word 1–2-grams + character 3–5-grams, sublinear tf) + logistic regression (scikit-learn
   defaults otherwise) — is fitted on the same training rows (training + calibration slice) and scored on the same
   validation rows.

Prints one markdown table per data set (mean ± standard deviation over seeds) and a summary with the differences.
Torch runs with ``--threads`` threads (default 1: on a shared machine 2 threads spin against other jobs).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / ".." / "shared" / "datasets"

from datamodules.base import BaseDataModule  # noqa: E402
from nethical.data.prepared import PreparedData  # noqa: E402
from nethical.metrics import binary_metrics  # noqa: E402

DATASETS = ("jailbreak_prompts", "sms_spam", "hate_speech", "governance_corpus")
METRICS = ("accuracy", "f1", "auroc", "ece")


class PreparedDataModule(BaseDataModule):
    """Serves one in-memory PreparedData (already in split order) through the project's split/encode/batch code."""

    def __init__(self, data: PreparedData, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data

    def load(self) -> PreparedData:
        return self.data


# ---------------------------------------------------------------------------------------------- loading
def load(name: str) -> Tuple[List[str], np.ndarray]:
    import pandas as pd

    if name == "jailbreak_prompts":
        df = pd.read_csv(DATA / name / "train.csv")
        return df["prompt"].fillna("").astype(str).tolist(), (df["type"] == "jailbreak").to_numpy(dtype=np.int64)
    if name == "sms_spam":
        texts, labels = [], []
        with open(DATA / name / "SMSSpamCollection", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            for row in reader:
                labels.append(int(row[0] == "spam"))
                texts.append(row[1] if len(row) > 1 else "")
        return texts, np.asarray(labels, dtype=np.int64)
    if name == "hate_speech":
        df = pd.read_csv(DATA / name / "labeled_data.csv")
        return df["tweet"].astype(str).tolist(), df["class"].isin([0, 1]).to_numpy(dtype=np.int64)
    if name == "governance_corpus":
        rows = [json.loads(line) for line in (DATA / name / "dev.jsonl").read_text(encoding="utf-8").splitlines() if line]
        return [r["text"] for r in rows], np.asarray([int(bool(r["harmful"])) for r in rows], dtype=np.int64)
    raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")


def near_duplicate_groups(texts: List[str], threshold: float = 0.7, chunk: int = 2000) -> np.ndarray:
    """Group id per text: exact duplicates after normalising, and binary char-5-gram cosine >= ``threshold``."""
    import re

    from scipy.sparse.csgraph import connected_components
    from scipy.sparse import coo_matrix
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import normalize

    norm = [re.sub(r"\s+", " ", re.sub(r"\d", "0", t.lower())).strip() for t in texts]
    n = len(norm)
    first: Dict[str, int] = {}
    rows, cols = [], []
    for i, t in enumerate(norm):
        j = first.setdefault(t, i)
        if j != i:
            rows.append(i)
            cols.append(j)
    vec = HashingVectorizer(analyzer="char", ngram_range=(5, 5), n_features=2 ** 20, binary=True, norm=None,
                            alternate_sign=False, lowercase=False)
    x = normalize(vec.transform(norm).astype(np.float32))
    for lo in range(0, n, chunk):
        sims = (x[lo:lo + chunk] @ x.T).tocoo()
        keep = (sims.data >= threshold) & (sims.row + lo < sims.col)
        rows.extend((sims.row[keep] + lo).tolist())
        cols.extend(sims.col[keep].tolist())
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def grouped_order(groups: np.ndarray, seed: int, val_share: float = 0.2) -> Tuple[np.ndarray, int]:
    """Row order (training groups first, validation groups last) and the number of training rows."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.unique(groups))
    sizes = np.bincount(groups)
    n_val_target = int(round(len(groups) * val_share))
    val_groups, count = set(), 0
    for g in ids:
        if count >= n_val_target:
            break
        val_groups.add(int(g))
        count += int(sizes[g])
    rank = {int(g): k for k, g in enumerate(ids)}
    is_val = np.array([int(g) in val_groups for g in groups])
    order = sorted(range(len(groups)), key=lambda i: (bool(is_val[i]), rank[int(groups[i])], i))
    return np.asarray(order), int((~is_val).sum())


# ---------------------------------------------------------------------------------------------- the two contenders
def default_args() -> Tuple[Dict[str, Any], Dict[str, Any], int]:
    """The model's init args, the data args that shape the text, and max_epochs, from the shipped config."""
    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "simple_transformer.yaml").read_text())
    data = cfg["data"]["init_args"]
    keep = {k: data[k] for k in ("batch_size", "max_length", "truncation", "calibration_ratio") if k in data}
    return dict(cfg["model"]["init_args"]), keep, int(cfg["trainer"]["max_epochs"])


def train_model(texts: List[str], labels: np.ndarray, n_train: int, seed: int, overrides: Dict[str, Any]) -> Dict[str, Any]:
    import lightning.pytorch as pl

    from callbacks.promotion_gate import PromotionGate
    from lightning_modules.simple_transformer import SimpleTransformerClassifier

    model_args, data_args, epochs = default_args()
    model_args.update({k: v for k, v in overrides.items() if k in model_args or not k.startswith("data.")})
    for k, v in overrides.items():
        if k.startswith("data."):
            data_args[k[5:]] = v
    epochs = int(model_args.pop("max_epochs", epochs))
    pl.seed_everything(seed, verbose=False)
    data = PreparedData(kind="text", labels=labels, texts=texts, provenance={"source": "bench"})
    dm = PreparedDataModule(data, num_samples=None, seed=seed, split_strategy="temporal",
                            train_ratio=n_train / len(labels), **{"calibration_ratio": 0.1, **data_args})
    model = SimpleTransformerClassifier(**model_args)
    gate = PromotionGate(save=False)
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, callbacks=[gate], num_sanity_val_steps=0)
    started = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    seconds = time.perf_counter() - started
    assert dm.split_sizes["val"] == len(labels) - n_train, dm.split_sizes
    n_fit = dm.split_sizes["train"]
    x_val = dm.tensors("val")["x"]
    t0 = time.perf_counter()
    model.predict_proba(x_val, batch_size=256)
    predict_s = time.perf_counter() - t0
    m = gate.result["metrics"]
    return {**{k: float(m[k]) for k in METRICS}, "seconds": seconds, "epochs": int(trainer.current_epoch),
            "train_rows_per_s": n_fit * trainer.current_epoch / seconds, "predict_rows_per_s": len(x_val) / predict_s,
            "promoted": bool(gate.result["promoted"])}


def baseline(texts: List[str], labels: np.ndarray, n_train: int) -> Dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    est = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                   TfidfVectorizer(analyzer="char", ngram_range=(3, 5), sublinear_tf=True)),
                        LogisticRegression(max_iter=2000))
    started = time.perf_counter()
    est.fit(texts[:n_train], labels[:n_train])
    seconds = time.perf_counter() - started
    probs = est.predict_proba(texts[n_train:])[:, 1]
    m = binary_metrics(probs, labels[n_train:])
    return {**{k: float(m[k]) for k in METRICS}, "seconds": seconds}


# ---------------------------------------------------------------------------------------------- report
def _ms(values: List[float], digits: int = 3) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1) if a.size > 1 else 0.0:.{digits}f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--max-rows", type=int, default=None, help="use the first N rows of each set (after shuffling by seed 0)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model argument (or data.KEY) for a what-if run; the docs quote defaults only")
    p.add_argument("--json", default=None, help="also write every run's numbers to this file")
    ns = p.parse_args()
    import torch

    torch.set_num_threads(ns.threads)
    overrides = {k: json.loads(v) if v[:1] in "[{0123456789-tf" else v for k, v in (s.split("=", 1) for s in ns.set)}
    if not DATA.is_dir():
        print(f"no shared data sets at {DATA}; nothing to measure")
        return 0
    all_runs: Dict[str, List[Dict[str, Any]]] = {}
    summary = []
    for name in ns.datasets.split(","):
        texts, labels = load(name)
        if ns.max_rows and len(texts) > ns.max_rows:
            pick = np.sort(np.random.default_rng(0).permutation(len(texts))[: ns.max_rows])
            texts, labels = [texts[i] for i in pick], labels[pick]
        t0 = time.perf_counter()
        groups = near_duplicate_groups(texts)
        print(f"\n### {name}: {len(texts)} rows, positive rate {labels.mean():.3f}, {np.unique(groups).size} near-duplicate "
              f"groups (grouping took {time.perf_counter() - t0:.1f} s)", flush=True)
        runs = []
        for seed in range(ns.seeds):
            order, n_train = grouped_order(groups, seed)
            t, y = [texts[i] for i in order], labels[order]
            model = train_model(t, y, n_train, seed, overrides)
            base = baseline(t, y, n_train)
            runs.append({"seed": seed, "model": model, "baseline": base})
            print(f"seed {seed}: model " + " ".join(f"{k}={model[k]:.4f}" for k in METRICS)
                  + f" epochs={model['epochs']} {model['seconds']:.0f}s | baseline "
                  + " ".join(f"{k}={base[k]:.4f}" for k in METRICS), flush=True)
        all_runs[name] = runs
        print(f"\n| {name} | " + " | ".join(METRICS) + " | train s | train rows/s | predict rows/s |")
        print("|---|" + "---:|" * (len(METRICS) + 3))
        m = [r["model"] for r in runs]
        b = [r["baseline"] for r in runs]
        print("| simple_transformer | " + " | ".join(_ms([r[k] for r in m]) for k in METRICS)
              + f" | {np.mean([r['seconds'] for r in m]):.1f} | {np.mean([r['train_rows_per_s'] for r in m]):.0f}"
              + f" | {np.mean([r['predict_rows_per_s'] for r in m]):.0f} |")
        print("| TF-IDF + LR | " + " | ".join(_ms([r[k] for r in b]) for k in METRICS)
              + f" | {np.mean([r['seconds'] for r in b]):.1f} | - | - |")
        diff = {k: [x[k] - z[k] for x, z in zip(m, b)] for k in METRICS}
        summary.append((name, len(texts), diff, sum(x["promoted"] for x in m), len(m)))
    print("\n| data | rows | Δ accuracy (model − baseline) | Δ AUROC | Δ ECE | model promoted |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, diff, promoted, total in summary:
        print(f"| {name} | {n} | {_ms(diff['accuracy'])} | {_ms(diff['auroc'], 4)} | {_ms(diff['ece'])} | {promoted}/{total} |")
    if ns.json:
        Path(ns.json).write_text(json.dumps(all_runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
