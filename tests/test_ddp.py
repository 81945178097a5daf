"""A 2-process CPU DDP run (gloo) with audit, governance, drift and the promotion gate on.

Exactly one set of files, validation metrics under DDP equal single-process evaluation of the same weights (every
model type, both CLIs), and no hang.
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


def _single_process_val_metrics(model_type: str, ckpt_path: Path, *overrides: str) -> dict:
    """Metrics of the checkpoint's weights on the validation split, evaluated in this one process."""
    from nethical.cli.lightning_cli import NethicalCLI
    from nethical.metrics import binary_metrics

    cli = NethicalCLI(args=["--config", str(ROOT / "configs" / f"{model_type}.yaml"), *overrides], run=False)
    dm, model = cli.datamodule, cli.model
    dm.setup("fit")
    ckpt = torch.load(ckpt_path, weights_only=True, map_location="cpu")
    model.build(dm.input_spec)
    model.on_load_checkpoint(ckpt)  # the scikit-learn adapter's fitted estimator
    model.load_state_dict(ckpt["state_dict"], strict=False)
    return binary_metrics(model.predict_proba_split(dm, "val"), dm.labels("val"))


def _assert_logged_equal_single(logged: dict, single: dict) -> None:
    assert logged["val/acc"] == pytest.approx(single["accuracy"], abs=1e-6)
    assert logged["val/f1"] == pytest.approx(single["f1"], abs=1e-6)
    assert logged["val/ece"] == pytest.approx(single["ece"], abs=1e-5)
    assert logged["val/auroc"] == pytest.approx(single["auroc"], abs=1e-5)


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


@pytest.mark.slow
def test_ddp_all_types_one_set_of_files_and_adapter_metrics_equal_single_process(tmp_path):
    ddp_dir, single_dir = tmp_path / "ddp", tmp_path / "single"
    ddp_dir.mkdir()
    single_dir.mkdir()
    common = ["--epochs", "1", "--num-samples", "800", "--promotion-min-accuracy", "0", "--promotion-max-ece", "1"]
    proc = _train(ddp_dir, "--model-type", "all", *common, *DDP, "--enable-audit", "--enable-governance",
                  "--enable-drift-tracking")
    assert proc.returncode == 0, proc.stderr[-3000:]
    types = ["heuristic", "logistic", "simple_transformer", "anomaly", "correlation"]
    # keyed by model type: a one-epoch transformer may be a candidate (it can predict one class for every row)
    cards = {c["model_type"]: c for c in (json.loads(p.read_text()) for p in (ddp_dir / "models").rglob("model_card.json"))}
    assert sorted(cards) == sorted(types)
    assert len((ddp_dir / "training_drift_reports" / "cohorts.jsonl").read_text().splitlines()) == 5
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "training_audit_logs"],
                            cwd=ddp_dir, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    events = [e for c in sorted((ddp_dir / "training_audit_logs").glob("chunk_*.json"))
              for e in json.loads(c.read_text())["events"]]
    assert [e["event_type"] for e in events].count("batch_start") == 1
    assert [e["event_type"] for e in events].count("batch_end") == 1
    assert [e["event_type"] for e in events].count("model_saved") == 5
    # every type: the validation metrics logged under DDP (torchmetrics synced over the 2 ranks' shards) equal a
    # single-process evaluation of the same weights on the whole validation split
    for model_type in types:
        logged = _scalars(next((ddp_dir / "lightning_logs").glob(f"all-*/{model_type}/version_*")))
        single = _single_process_val_metrics(model_type, ddp_dir / "checkpoints" / model_type / "last.ckpt",
                                             "--data.init_args.num_samples", "800")
        _assert_logged_equal_single(logged, single)
    # the scikit-learn adapter fits the same estimator on the full training split on every rank, so its metrics
    # under DDP equal a single-process run's exactly
    for model_type in ("anomaly", "correlation"):
        single = _train(single_dir, "--model-type", model_type, *common, "--no-tensorboard")
        assert single.returncode == 0, single.stderr[-3000:]
        one = json.loads((single_dir / "models" / "current" / model_type / "model_card.json").read_text())
        assert cards[model_type]["metrics"] == pytest.approx(one["metrics"], abs=1e-9)


@pytest.mark.slow
def test_nethical_fit_ddp_config_gives_single_process_validation_metrics(tmp_path):
    """`nethical fit` composed with configs/trainer/cpu_ddp.yaml: the shared defaults keep Lightning's sampler off
    (the datamodule already shards), so the transformer's synced metrics cover every validation row exactly once."""
    cmd = [sys.executable, "-m", "nethical.cli", "fit", "--config", str(ROOT / "configs" / "simple_transformer.yaml"),
           "--config", str(ROOT / "configs" / "trainer" / "cpu_ddp.yaml"), "--trainer.max_epochs", "1",
           "--data.init_args.num_samples", "330", "--gate.min_accuracy", "0", "--gate.max_ece", "1"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logged = _scalars(next((tmp_path / "lightning_logs" / "simple_transformer").glob("version_*")))
    single = _single_process_val_metrics("simple_transformer", tmp_path / "checkpoints" / "simple_transformer" / "last.ckpt",
                                         "--data.init_args.num_samples", "330")
    _assert_logged_equal_single(logged, single)
