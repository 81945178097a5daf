"""A 2-process CPU DDP run (gloo) with audit, governance, drift and the promotion gate on.

Exactly one set of files, validation metrics under DDP equal single-process evaluation of the same weights, and
no hang.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
DDP = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp"]
ON = ["--enable-audit", "--enable-governance", "--enable-drift-tracking", "--cohort-id", "ddp"]


def _train(cwd: Path, *flags: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "training" / "train_any_model.py"), *flags]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def _scalars(log_dir: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: acc.Scalars(tag)[-1].value for tag in acc.Tags()["scalars"]}


@pytest.mark.slow
def test_two_process_ddp_writes_one_set_of_files_and_exact_metrics(tmp_path):
    proc = _train(tmp_path, "--model-type", "logistic", "--epochs", "2", "--num-samples", "2000", *DDP, *ON)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.count("PROMOTED logistic") + out.count("CANDIDATE logistic") == 1  # printed by rank zero only
    assert out.count("Merkle root:") == 1
    # one saved model, one audit chain, one drift observation
    saved = [p for p in (tmp_path / "models").rglob("model_card.json")]
    assert len(saved) == 1
    chunks = sorted((tmp_path / "training_audit_logs").glob("chunk_*.json"))
    assert len(chunks) == 1
    events = json.loads(chunks[0].read_text())["events"]
    types = [e["event_type"] for e in events]
    for once in ("training_start", "data_loaded", "data_split", "training_completed", "promotion_decision", "model_saved"):
        assert types.count(once) == 1, (once, types)
    assert [e["epoch"] for e in events if e["event_type"] == "validation_metrics"] == [0, 1]
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "training_audit_logs"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert len((tmp_path / "training_drift_reports" / "cohorts.jsonl").read_text().splitlines()) == 1
    card = json.loads(saved[0].read_text())
    assert card["config"]["trainer"]["world_size"] == 2

    # validation metrics synced across the 2 ranks equal a single-process evaluation of the same weights
    from datamodules.synthetic import SyntheticDataModule
    from lightning_modules.logistic import LogisticClassifier
    from nethical.metrics import binary_metrics

    ckpt = torch.load(tmp_path / "checkpoints" / "logistic" / "last.ckpt", weights_only=True, map_location="cpu")
    dm = SyntheticDataModule(num_samples=2000, seed=42)
    dm.setup("fit")
    model = LogisticClassifier()
    model.build(dm.input_spec)
    model.load_state_dict(ckpt["state_dict"], strict=False)
    probs = model.predict_proba(dm.tensors("val")["x"]).numpy()
    single = binary_metrics(probs, dm.labels("val"))
    logged = _scalars(next((tmp_path / "lightning_logs" / "logistic").glob("version_*")))
    assert logged["val/acc"] == pytest.approx(single["accuracy"], abs=1e-6)
    assert logged["val/ece"] == pytest.approx(single["ece"], abs=1e-5)
    assert logged["val/f1"] == pytest.approx(single["f1"], abs=1e-6)
    assert logged["val/auroc"] == pytest.approx(single["auroc"], abs=1e-5)
