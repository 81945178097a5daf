"""AuditLogCallback inside a real (tiny, CPU) Lightning fit."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from callbacks.audit_log import AuditLogCallback, dedup_key
from callbacks.events import RUN_ID_ENV, emit
from nethical.audit import verify_directory
from nethical.cli import main
from nethical.exceptions import ConfigError


class TinyModule(pl.LightningModule):
    model_type = "logistic"

    def __init__(self, lr: float = 0.1, api_key: str = "sk-not-for-logs", fail_at_epoch: int = -1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        if self.current_epoch == self.hparams.fail_at_epoch:
            raise RuntimeError("boom")
        x, y = batch
        loss = torch.nn.functional.binary_cross_entropy_with_logits(self.layer(x).squeeze(-1), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.layer(x).squeeze(-1)
        self.log("val/loss", torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
        self.log("val/acc", ((logits > 0).float() == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class TinyData(pl.LightningDataModule):
    input_kind = "tabular"
    split_strategy = "stratified"
    seed = 7

    def setup(self, stage=None):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(48, 4, generator=g)
        y = (x[:, 0] > 0).float()
        self.train, self.val = TensorDataset(x[:32], y[:32]), TensorDataset(x[32:], y[32:])
        self.provenance = {"source": "synthetic", "reason": "unit test"}
        self.split_sizes = {"train": 32, "val": 16, "calibration": 0}

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=16)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=16)


class FakeGate(pl.Callback):
    """Emits what the real PromotionGate emits, in on_fit_end (after the audit callback's on_fit_end)."""

    def on_fit_end(self, trainer, pl_module):
        emit(trainer, "promotion_decision", model_type="logistic", promoted=True, decision="PROMOTED", reasons=["ok"],
             metrics={"accuracy": 0.9, "f1": 0.8, "ece": 0.05}, thresholds={"max_ece": 0.1, "min_accuracy": 0.7},
             counts={"tp": 5, "fp": 1, "tn": 9, "fn": 1, "n": 16}, saved_dir="models/logistic", data_source={"source": "synthetic"})
        emit(trainer, "model_saved", model_type="logistic", path="models/logistic", files={"model.safetensors": "ab" * 32})
        emit(trainer, "governance_summary", data_violations=1, prediction_violations=0, total_violations_detected=1,
             total_actions_blocked=0, by_category={"pii": 1})


@pytest.fixture(autouse=True)
def _run_id(monkeypatch):
    monkeypatch.setenv(RUN_ID_ENV, "test-run-1")


def _fit(audit, *, max_epochs=2, extra=(), ckpt_path=None, module=None, checkpointing=False, root=None):
    trainer = pl.Trainer(accelerator="cpu", max_epochs=max_epochs, logger=False, enable_checkpointing=checkpointing,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[audit, *extra],
                         default_root_dir=root, num_sanity_val_steps=1)
    trainer.fit(module or TinyModule(), datamodule=TinyData(), ckpt_path=ckpt_path)
    return trainer


def _events(d: Path) -> list[dict]:
    return [e for p in sorted(d.glob("chunk_*.json")) for e in json.loads(p.read_text())["events"]]


def test_fit_writes_verified_log_and_summary(tmp_path, caplog, capsys):
    d = tmp_path / "audit"
    with caplog.at_level(logging.INFO):
        _fit(AuditLogCallback(enabled=True, audit_path=str(d)), extra=[FakeGate()])
    events = _events(d)
    types = [e["event_type"] for e in events]
    assert types == ["training_start", "data_loaded", "data_split", "validation_metrics", "validation_metrics",
                     "training_completed", "promotion_decision", "model_saved", "governance_summary", "training_summary"]
    for e in events:
        assert e["model_type"] == "logistic" and e["run_id"] == "test-run-1" and e["timestamp"].endswith("+00:00")
    by_type = {e["event_type"]: e for e in events}
    assert by_type["training_start"]["max_epochs"] == 2 and by_type["training_start"]["seed"] == 7
    assert by_type["training_start"]["hparams"]["api_key"] == "[redacted]" and "sk-not-for-logs" not in json.dumps(events)
    assert by_type["data_loaded"]["provenance"] == {"source": "synthetic", "reason": "unit test"}
    assert by_type["data_split"]["split_sizes"] == {"train": 32, "val": 16, "calibration": 0}
    assert [e["epoch"] for e in events if e["event_type"] == "validation_metrics"] == [0, 1]
    assert set(by_type["validation_metrics"]["metrics"]) == {"val/loss", "val/acc"}
    assert by_type["training_completed"]["epochs_run"] == 2 and by_type["training_completed"]["global_step"] == 4
    assert by_type["model_saved"]["files"] == {"model.safetensors": "ab" * 32}

    summary = json.loads((d / "training_summary.json").read_text())
    chunk = json.loads((d / "chunk_000001.json").read_text())
    assert summary["merkle_root"] == chunk["merkle_root"] and summary["model_type"] == "logistic"
    assert summary["promoted"] is True and summary["metrics"]["f1"] == 0.8
    assert summary["results"]["logistic"]["saved_files"] == {"model.safetensors": "ab" * 32}
    block = {"enabled": True, "data_violations": 1, "prediction_violations": 0,
             "total_violations_detected": 1, "total_actions_blocked": 0, "by_category": {"pii": 1}}
    assert summary["governance"] == {**block, "by_model_type": {"logistic": block}}
    # the summary is the chunk's last event (without its head pointers), and the log head is in the file
    assert events[-1]["summary"] == {k: v for k, v in summary.items() if k not in ("merkle_root", "chunk_id", "log_id", "log_size", "log_root")}
    assert (summary["log_id"], summary["log_size"], summary["log_root"]) == (chunk["log_id"], 10, chunk["log_root"])
    assert f"[INFO] Merkle root: {chunk['merkle_root']}" in capsys.readouterr().out
    assert main(["audit", "verify", str(d)]) == 0


def test_disabled_does_nothing(tmp_path, caplog, capsys):
    d = tmp_path / "audit"
    with caplog.at_level(logging.INFO):
        _fit(AuditLogCallback(enabled=False, audit_path=str(d)), extra=[FakeGate()])
    assert not d.exists()
    assert "Merkle root" not in capsys.readouterr().out


def test_second_run_continues_chain_and_tampering_is_caught(tmp_path, capsys):
    d = tmp_path / "audit"
    _fit(AuditLogCallback(enabled=True, audit_path=str(d), chunk_size=4), max_epochs=1)
    os.environ[RUN_ID_ENV] = "test-run-2"
    second = AuditLogCallback(enabled=True, audit_path=str(d), chunk_size=4)
    _fit(second, max_epochs=1)
    chunks = [json.loads(p.read_text()) for p in sorted(d.glob("chunk_*.json"))]
    assert len(chunks) == 4 and all(c["prev_root"] == p["merkle_root"] for p, c in zip(chunks, chunks[1:]))
    run2 = [c for c in chunks if c["events"][0]["run_id"] == "test-run-2"]
    assert run2[0]["prev_root"] == chunks[1]["merkle_root"]  # first chunk of run 2 chains onto run 1's last root
    assert second.merkle_root == chunks[-1]["merkle_root"]
    assert main(["audit", "verify", str(d)]) == 0
    c = json.loads((d / "chunk_000003.json").read_text())
    c["events"][0]["max_epochs"] = 99
    (d / "chunk_000003.json").write_text(json.dumps(c))
    capsys.readouterr()
    assert main(["audit", "verify", str(d)]) == 1
    captured = capsys.readouterr()
    assert "FAILED: chunk_000003.json (chunk 3)" in captured.out and "listed above" in captured.err


def test_exception_finalizes_what_it_has(tmp_path, caplog, capsys):
    d = tmp_path / "audit"
    with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="boom"):
        _fit(AuditLogCallback(enabled=True, audit_path=str(d)), module=TinyModule(fail_at_epoch=1))
    types = [e["event_type"] for e in _events(d)]
    assert types == ["training_start", "data_loaded", "data_split", "validation_metrics", "training_failed", "training_summary"]
    assert not list(d.glob("journal_*"))
    summary = json.loads((d / "training_summary.json").read_text())
    assert summary["promoted"] is False and summary["results"]["logistic"]["decision"] == "FAILED"
    assert summary["results"]["logistic"]["error_type"] == "RuntimeError" and "boom" not in json.dumps(summary)
    assert verify_directory(d).ok and "Merkle root:" in capsys.readouterr().out


def test_state_dict_roundtrip():
    cb = AuditLogCallback(enabled=True)
    cb._run_ids, cb._written, cb._event_count, cb._started_at = ["r1"], {"training_start|logistic"}, 3, "2026-01-01T00:00:00+00:00"
    state = cb.state_dict()
    assert all(isinstance(v, (list, int, str)) for v in state.values())
    fresh = AuditLogCallback(enabled=True)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state
    assert AuditLogCallback(enabled=False).state_dict() == {}


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match=r"chunk_size=0"):
        AuditLogCallback(enabled=True, chunk_size=0)
    with pytest.raises(ConfigError, match=r"signing_key=.*no such file"):
        AuditLogCallback(enabled=True, signing_key=str(tmp_path / "missing.key"))


def test_dedup_key():
    assert dedup_key({"event_type": "training_start", "model_type": "m", "epoch": 3}) == "training_start|m"
    assert dedup_key({"event_type": "validation_metrics", "model_type": "m", "epoch": 1, "global_step": 4}) == "validation_metrics|m|1|4"
    assert dedup_key({"event_type": "promotion_decision", "model_type": "m", "epoch": 4, "global_step": 8}) == "promotion_decision|m|4|8"
    a = dedup_key({"event_type": "drift", "model_type": "m", "x": 1, "timestamp": "a", "run_id": "r"})
    assert a == dedup_key({"event_type": "drift", "model_type": "m", "x": 1, "timestamp": "b", "run_id": "r2"})
    assert a != dedup_key({"event_type": "drift", "model_type": "m", "x": 2})


def test_resume_neither_repeats_nor_drops(tmp_path):
    d, root = tmp_path / "audit", tmp_path / "ckpt"
    first = AuditLogCallback(enabled=True, audit_path=str(d))
    trainer = _fit(first, max_epochs=2, checkpointing=True, root=str(root))
    ckpt = next(root.rglob("*.ckpt"))
    saved = torch.load(ckpt, weights_only=True)["callbacks"][first.state_key]
    # the last checkpoint is saved before training_completed, so it holds every other key
    assert saved["written_keys"] == [k for k in first.state_dict()["written_keys"] if not k.startswith("training_completed")]
    assert "validation_metrics|logistic|1|4" in saved["written_keys"]
    os.environ[RUN_ID_ENV] = "test-run-resumed"
    resumed = AuditLogCallback(enabled=True, audit_path=str(d))
    _fit(resumed, max_epochs=4, ckpt_path=str(ckpt), extra=[FakeGate()])
    events = _events(d)
    types = [e["event_type"] for e in events]
    assert types.count("training_start") == 1 and types.count("data_loaded") == 1
    assert [e["epoch"] for e in events if e["event_type"] == "validation_metrics"] == [0, 1, 2, 3]
    assert "training_resumed" in types and types.count("training_completed") == 2  # one per fit call
    assert verify_directory(d).ok


def test_resume_from_older_checkpoint_skips_events_written_after_it(tmp_path):
    """Crash-like: events of epoch 1 reached the log but the checkpoint used is from epoch 0."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    d, ckdir = tmp_path / "audit", tmp_path / "ckpt"
    _fit(AuditLogCallback(enabled=True, audit_path=str(d)), max_epochs=2, checkpointing=True,
         extra=[ModelCheckpoint(dirpath=str(ckdir), save_top_k=-1, every_n_epochs=1, filename="{epoch}")])
    ckpt0 = ckdir / "epoch=0.ckpt"
    state = torch.load(ckpt0, weights_only=True)["callbacks"]
    assert not any("validation_metrics|logistic|1|" in k for s in state.values() if "written_keys" in s for k in s["written_keys"])
    os.environ[RUN_ID_ENV] = "test-run-resumed"
    _fit(AuditLogCallback(enabled=True, audit_path=str(d)), max_epochs=3, ckpt_path=str(ckpt0), checkpointing=True,
         extra=[ModelCheckpoint(dirpath=str(ckdir), save_top_k=-1, every_n_epochs=1, filename="{epoch}-r")])
    events = _events(d)
    assert [e["epoch"] for e in events if e["event_type"] == "validation_metrics"] == [0, 1, 2]
    assert [e["event_type"] for e in events].count("training_start") == 1
    assert verify_directory(d).ok


@pytest.mark.slow
def test_ddp_spawn_rank_zero_writes_once(tmp_path):
    d = tmp_path / "audit"
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", max_epochs=2, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[AuditLogCallback(enabled=True, audit_path=str(d))])
    trainer.fit(TinyModule(), datamodule=TinyData())
    events = _events(d)
    assert [e["event_type"] for e in events].count("training_start") == 1
    assert [e["epoch"] for e in events if e["event_type"] == "validation_metrics"] == [0, 1]
    assert {e["run_id"] for e in events} == {"test-run-1"}
    assert verify_directory(d).ok


def test_bombs_left_in_the_audit_dir_do_not_stop_the_next_fit(tmp_path, capsys):
    """#20: a 200,000-deep JSON summary and journal used to kill every later audited run on the directory."""
    d = tmp_path / "audit"
    _fit(AuditLogCallback(enabled=True, audit_path=str(d)), max_epochs=1)
    bomb = b"[" * 200_000 + b"]" * 200_000
    (d / "training_summary.json").write_bytes(b'{"run_id":"x","metrics":' + bomb + b"}")
    (d / "journal_20260101T000000000000Z_1_b0b0b0b0.jsonl").write_bytes(b'{"journal":"nethical-audit-journal/2"}\n{"e":' + bomb + b"}\n")
    os.environ[RUN_ID_ENV] = "test-run-2"
    _fit(AuditLogCallback(enabled=True, audit_path=str(d)), max_epochs=1, extra=[FakeGate()])
    out = capsys.readouterr().out
    assert "Audit: kept aside unverified_20260101T000000000000Z_1_b0b0b0b0.jsonl" in out
    assert json.loads((d / "training_summary.json").read_text())["run_id"] == "test-run-2"
    assert (d / "unverified_20260101T000000000000Z_1_b0b0b0b0.jsonl").exists()
    assert main(["audit", "verify", str(d)]) == 0


def test_directly_recorded_event_is_scrubbed_of_credentials(monkeypatch, tmp_path):
    """An event recorded without emit() (the callback's own data_loaded) still never carries the Kaggle key."""
    import base64
    from types import SimpleNamespace

    key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", key)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    basic = base64.b64encode(f"alice:{key}".encode()).decode()
    callback = AuditLogCallback(enabled=True, audit_path=str(tmp_path / "audit"))
    trainer = SimpleNamespace(current_epoch=0, global_step=0)
    facts = {"provenance": {"reason": f"HTTPError: 401 for key {key}, Authorization: Basic {basic}"}}
    event = callback._event(trainer, TinyModule(), "data_loaded", facts)
    text = json.dumps(event)
    assert key not in text and basic not in text
    assert event["provenance"]["reason"].startswith("HTTPError: 401")
