"""Benchmark the five model types: synthetic quality bar, real public data against plain scikit-learn baselines,
the effect of post-hoc calibration, and ``--model-type all`` wall time.

    python benchmarks/bench_models.py                # everything (CPU: ~15-30 min on 2 cores)
    python benchmarks/bench_models.py --skip-all     # real data and calibration only
    python benchmarks/bench_models.py --skip-real    # synthetic --model-type all only

Real data comes from ``../shared/datasets`` (read here with pandas/csv: the project's own file loaders are separate),
is turned into :class:`~nethical.data.prepared.PreparedData` and trained through the project's datamodule base
class, model classes and promotion gate (``save=False``), on a stratified 80/20 split (seed 42). Baselines use the
very same train/validation rows. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / ".." / "shared" / "datasets"

from datamodules.base import BaseDataModule  # noqa: E402
from nethical.data.prepared import PreparedData  # noqa: E402
from nethical.metrics import binary_metrics  # noqa: E402


class PreparedDataModule(BaseDataModule):
    """Serves one in-memory PreparedData through the project's split/encode/batch code."""

    def __init__(self, data: PreparedData, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data

    def load(self) -> PreparedData:
        return self.data


# ---------------------------------------------------------------------------------------------- loading
def load_jailbreak() -> PreparedData:
    import pandas as pd

    df = pd.read_csv(DATA / "jailbreak_prompts" / "train.csv")
    return PreparedData(kind="text", labels=(df["type"] == "jailbreak").astype(int).to_numpy(),
                        texts=df["prompt"].fillna("").astype(str).tolist(), provenance={"source": "file", "name": "jailbreak_prompts"})


def load_sms() -> PreparedData:
    texts, labels = [], []
    with open(DATA / "sms_spam" / "SMSSpamCollection", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            labels.append(int(row[0] == "spam"))
            texts.append(row[1] if len(row) > 1 else "")
    return PreparedData(kind="text", labels=np.array(labels), texts=texts, provenance={"source": "file", "name": "sms_spam"})


def load_adfa() -> PreparedData:
    import pandas as pd

    df = pd.read_csv(DATA / "adfa_ld_syscalls" / "adfa_ld_traces.csv")
    return PreparedData(kind="sequence", labels=df["label"].astype(int).to_numpy(),
                        texts=df["syscalls"].fillna("").astype(str).tolist(), provenance={"source": "file", "name": "adfa_ld_syscalls"})


def load_nsl_kdd() -> PreparedData:
    import pandas as pd

    df = pd.read_csv(DATA / "nsl_kdd" / "nsl_kdd_train20.csv")
    drop = {"attack_type", "difficulty", "is_attack", "protocol_type", "service", "flag"}
    cols = [c for c in df.columns if c not in drop and pd.api.types.is_numeric_dtype(df[c])]
    labels = (df["attack_type"] != "normal").astype(int).to_numpy()
    return PreparedData(kind="tabular", labels=labels, features=df[cols].to_numpy(dtype=np.float32), feature_names=cols,
                        provenance={"source": "file", "name": "nsl_kdd"})


# ---------------------------------------------------------------------------------------------- training
def train_project_model(model: Any, data: PreparedData, epochs: int, max_length: int = 256, batch_size: int = 32,
                        calibration_ratio: float = 0.1) -> Dict[str, Any]:
    import lightning.pytorch as pl

    from callbacks.promotion_gate import PromotionGate

    pl.seed_everything(42, verbose=False)
    dm = PreparedDataModule(data, batch_size=batch_size, num_samples=None, seed=42, split_strategy="stratified",
                            train_ratio=0.8, calibration_ratio=calibration_ratio if model.calibration != "none" else 0.0,
                            max_length=max_length)
    gate = PromotionGate(save=False)
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, callbacks=[gate], num_sanity_val_steps=0)
    started = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    r = gate.result
    return {"metrics": r["metrics"], "calibration": r["calibration"], "seconds": time.perf_counter() - started, "dm": dm}


def baseline(dm: BaseDataModule, kind: str, which: str) -> Dict[str, float]:
    """A plain scikit-learn model on the datamodule's own train (+ calibration) and validation rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def rows(split: str) -> Any:
        part = dm.split(split)
        return part.features if kind == "tabular" else part.texts

    parts = [s for s in ("train", "calibration") if dm.split_sizes.get(s)]
    y_train = np.concatenate([dm.labels(s) for s in parts])
    if kind == "tabular":
        x_train = np.concatenate([rows(s) for s in parts])
    else:
        x_train = [t for s in parts for t in rows(s)]
    if which == "tfidf_lr":
        analyzer = {"analyzer": "word", "token_pattern": r"\S+"} if kind == "sequence" else {"sublinear_tf": True}
        est = make_pipeline(TfidfVectorizer(**analyzer), LogisticRegression(max_iter=2000))
    elif which == "length_lr":
        from sklearn.preprocessing import FunctionTransformer

        est = make_pipeline(FunctionTransformer(lambda t: np.log1p(np.array([[len(s)] for s in t], dtype=float))),
                            LogisticRegression())
    else:
        est = HistGradientBoostingClassifier(random_state=0)
    est.fit(x_train, y_train)
    probs = est.predict_proba(rows("val"))[:, 1]
    return binary_metrics(probs, dm.labels("val"))


def real_data(epochs: int) -> List[Dict[str, Any]]:
    from lightning_modules.anomaly import AnomalySequenceClassifier
    from lightning_modules.correlation import CorrelationClassifier
    from lightning_modules.heuristic import HeuristicScorecard
    from lightning_modules.logistic import LogisticClassifier
    from lightning_modules.simple_transformer import SimpleTransformerClassifier

    jobs: List[tuple] = [
        ("jailbreak_prompts", load_jailbreak, "simple_transformer", lambda: SimpleTransformerClassifier(), 512, ["tfidf_lr", "length_lr"]),
        ("sms_spam", load_sms, "simple_transformer", lambda: SimpleTransformerClassifier(), 256, ["tfidf_lr", "length_lr"]),
        ("adfa_ld_syscalls", load_adfa, "anomaly", lambda: AnomalySequenceClassifier(calibration="sigmoid"), 512, ["tfidf_lr"]),
        ("nsl_kdd", load_nsl_kdd, "logistic", lambda: LogisticClassifier(), 256, ["hgb"]),
        ("nsl_kdd", load_nsl_kdd, "heuristic", lambda: HeuristicScorecard(), 256, ["hgb"]),
        ("nsl_kdd", load_nsl_kdd, "correlation", lambda: CorrelationClassifier(), 256, ["hgb"]),
    ]
    out = []
    for name, loader, model_type, make, max_length, baselines in jobs:
        if not (DATA / name).is_dir():
            print(f"skip {name}: {DATA / name} not found", file=sys.stderr)
            continue
        data = loader()
        model = make()
        res = train_project_model(model, data, epochs, max_length=max_length, batch_size=32 if data.kind == "text" else 64)
        row = {"data": name, "model": model_type, "rows": len(data), **res}
        row["baselines"] = {b: baseline(res["dm"], data.kind, b) for b in baselines}
        print(f"done {name} {model_type} in {res['seconds']:.0f}s", file=sys.stderr, flush=True)
        out.append(row)
    return out


def calibration_effect() -> List[Dict[str, Any]]:
    """ECE on the synthetic validation split with and without each model's calibration (sklearn types only: the
    transformer's before/after comes from its own card, where it is measured in the same run)."""
    from datamodules.synthetic import SyntheticDataModule
    from lightning_modules.anomaly import AnomalySequenceClassifier
    from lightning_modules.correlation import CorrelationClassifier

    out = []
    for model_type, task, make in (("anomaly", "action_sequences", AnomalySequenceClassifier),
                                   ("correlation", "agent_activity", CorrelationClassifier)):
        for method in ("none", "sigmoid", "isotonic"):
            import lightning.pytorch as pl

            from callbacks.promotion_gate import PromotionGate

            dm = SyntheticDataModule(task=task, num_samples=10000, seed=42, calibration_ratio=0.1, max_length=512)
            gate = PromotionGate(save=False)
            trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                                 enable_model_summary=False, accelerator="cpu", devices=1, callbacks=[gate],
                                 num_sanity_val_steps=0)
            trainer.fit(make(calibration=method), datamodule=dm)
            out.append({"model": model_type, "method": method, **gate.result["metrics"]})
    return out


def model_type_all(num_samples: int, epochs: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nethical.cli.classic", "--model-type", "all", "--num-samples", str(num_samples),
               "--epochs", str(epochs), "--no-tensorboard"]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - started
    out = proc.stdout
    summary = out[out.index("Training summary:"):] if "Training summary:" in out else out[-3000:] + proc.stderr[-3000:]
    return {"rc": proc.returncode, "seconds": seconds, "summary": summary}


def _f(x: Optional[float]) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--num-samples", type=int, default=10000)
    ap.add_argument("--skip-all", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-calibration", action="store_true")
    ns = ap.parse_args()
    import torch

    print(f"torch threads: {torch.get_num_threads()}, cpu count: {os.cpu_count()}, load average: {os.getloadavg()}\n")
    if not ns.skip_all:
        res = model_type_all(ns.num_samples, ns.epochs)
        print(f"## `nethical-train --model-type all --num-samples {ns.num_samples} --epochs {ns.epochs}`\n")
        print(f"exit code {res['rc']}, wall time {res['seconds']:.0f} s\n\n```\n{res['summary'].strip()}\n```\n", flush=True)
    if not ns.skip_calibration:
        print("## Calibration on synthetic data (validation split, 10% calibration slice)\n")
        print("| model | calibration | accuracy | ECE |\n|---|---|---:|---:|")
        for r in calibration_effect():
            print(f"| {r['model']} | {r['method']} | {_f(r['accuracy'])} | {_f(r['ece'])} |")
        print(flush=True)
    if not ns.skip_real:
        rows = real_data(ns.epochs)
        print("## Real data (stratified 80/20 split, seed 42; baselines on the same rows)\n")
        print("| data | rows | model | accuracy | F1 | AUROC | ECE | ECE before calibration | seconds |"
              " baseline | baseline acc | baseline F1 | baseline AUROC | baseline ECE |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for r in rows:
            m, cal = r["metrics"], r["calibration"]
            first = True
            for bname, b in r["baselines"].items():
                lead = (f"| {r['data']} | {r['rows']} | {r['model']} | {_f(m['accuracy'])} | {_f(m['f1'])} | "
                        f"{_f(m['auroc'])} | {_f(m['ece'])} | {_f(cal.get('ece_before')) if cal['method'] != 'none' else '-'} | "
                        f"{r['seconds']:.0f} |") if first else "| | | | | | | | | |"
                print(f"{lead} {bname} | {_f(b['accuracy'])} | {_f(b['f1'])} | {_f(b['auroc'])} | {_f(b['ece'])} |")
                first = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
