"""DriftCallback with a tiny LightningModule, a fake datamodule and a fake promotion gate."""

from __future__ import annotations

import csv
import json
import logging

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from callbacks.drift import DriftCallback
from callbacks.events import RUN_ID_ENV, emit
from nethical.drift import CohortStore
from nethical.exceptions import ConfigError


class TinyModule(pl.LightningModule):
    model_type = "logistic"

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(self.layer(x).squeeze(-1), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class TinyData(pl.LightningDataModule):
    def __init__(self, seed=0, n=64, broken=False):
        super().__init__()
        self.seed, self.n, self.broken = seed, n, broken

    def setup(self, stage=None):
        g = torch.Generator().manual_seed(self.seed)
        self.x = torch.randn(self.n, 2, generator=g)
        if self.broken:
            self.x[:, 1] = 0.0
        self.y = (self.x[:, 0] > 0).float()
        self.provenance = {"source": "synthetic", "reason": "test", "seed": self.seed}
        self.split_sizes = {"train": self.n, "val": 200, "calibration": 20}

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x, self.y), batch_size=32)

    def profile_features(self, split):
        assert split == "train"
        return {"f0": self.x[:, 0].numpy(), "f1": self.x[:, 1].numpy()}


def gate_facts(accuracy_k=180, n=200, ece=0.03, model_type="logistic"):
    tp = accuracy_k // 2
    tn = accuracy_k - tp
    fp = (n - accuracy_k) // 2
    fn = n - accuracy_k - fp
    promoted = accuracy_k / n >= 0.8 and ece <= 0.1
    half = n // 2
    return {"model_type": model_type, "promoted": promoted, "decision": "PROMOTED" if promoted else "CANDIDATE",
            "reasons": [], "metrics": {"accuracy": accuracy_k / n, "precision": tp / (tp + fp),
                                       "recall": tp / (tp + fn), "f1": 0.9, "auroc": 0.95, "ece": ece, "loss": 0.3},
            "thresholds": {"max_ece": 0.1, "min_accuracy": 0.8},
            "counts": {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": n},
            "calibration_bins": {"n_bins": 2, "count": [half, n - half], "sum_prob": [0.25 * half, 0.75 * (n - half)],
                                 "sum_pos": [round(0.25 * half), round(0.75 * (n - half))]},
            "saved_dir": "models/logistic", "data_source": {"source": "synthetic"}}


class FakeGate(pl.Callback):
    def __init__(self, facts):
        self.facts = facts

    def on_fit_end(self, trainer, pl_module):
        emit(trainer, "promotion_decision", **self.facts)


class EventRecorder(pl.Callback):
    def __init__(self):
        self.events = []

    def record_event(self, trainer, pl_module, event_type, facts):
        self.events.append((event_type, facts))


@pytest.fixture
def info_lines(capsys):
    """The [INFO]/[WARN] status lines printed so far (prefix removed), read lazily from captured stdout."""

    class _Lines(list):
        def _refresh(self):
            out = capsys.readouterr().out
            for line in out.splitlines():
                if line.startswith(("[INFO] ", "[WARN] ")):
                    self.append(line.split("] ", 1)[1])
                elif line.startswith("  "):  # continuation lines of a block (e.g. numbered recommendations)
                    self.append(line)

        def clear(self):
            self._refresh()
            super().clear()

        def __iter__(self):
            self._refresh()
            return super().__iter__()

        def __contains__(self, item):
            self._refresh()
            return super().__contains__(item)

        def __eq__(self, other):
            self._refresh()
            return list(self) == other

        def __repr__(self):
            return repr(list(super().__iter__()))

    yield _Lines()


@pytest.fixture(autouse=True)
def fixed_run_id(monkeypatch):
    monkeypatch.setenv(RUN_ID_ENV, "20260102T030405Z-abcd1234")


def fit(tmp_path, drift, facts, data=None, logger=False):
    recorder = EventRecorder()
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", devices=1, logger=logger, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
        callbacks=[recorder, FakeGate(facts), drift],
    )
    trainer.fit(TinyModule(), datamodule=data or TinyData())
    return recorder.events


def test_disabled_does_nothing(tmp_path):
    drift = DriftCallback(enabled=False, report_dir=str(tmp_path / "drift"))
    events = fit(tmp_path, drift, gate_facts())
    assert not (tmp_path / "drift").exists()
    assert [e for e, _ in events] == ["promotion_decision"]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "x\ny", ""])
def test_bad_cohort_id_fails_at_construction(bad):
    with pytest.raises(ConfigError, match=r"DriftCallback\(cohort_id\)"):
        DriftCallback(enabled=True, cohort_id=bad)


@pytest.mark.parametrize("kwargs, match", [({"alpha": 0.0}, "alpha=0.0"), ({"practical_threshold": 2}, "=2")])
def test_bad_thresholds_fail_at_construction(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DriftCallback(enabled=True, **kwargs)


def test_two_runs_with_different_cohorts_give_one_report_holding_both(tmp_path, info_lines):
    report_dir = tmp_path / "drift"
    fit(tmp_path, DriftCallback(enabled=True, report_dir=str(report_dir), cohort_id="baseline"), gate_facts())
    info_lines.clear()
    drift = DriftCallback(enabled=True, report_dir=str(report_dir), cohort_id="small_data", plot=True)
    events = fit(tmp_path, drift, gate_facts(accuracy_k=120), data=TinyData(seed=1, n=40, broken=True))

    ours = [line for line in info_lines if "rift" in line or "cohort" in line.lower()]
    assert ours[:3] == ["Ethical drift tracking enabled", "Training cohort ID: small_data",
                        "Generating ethical drift report"]
    report_id = drift.last_report.report["report_id"]
    assert f"Drift Report ID: {report_id}" in info_lines
    assert "Drift detected: True" in info_lines
    assert any(line.startswith("  1. Investigate cohort 'small_data' (logistic): accuracy fell") for line in info_lines)

    report = json.loads((report_dir / f"{report_id}.json").read_text())
    assert list(report["cohorts"]) == ["baseline", "small_data"]
    assert report["drift_metrics"]["has_drift"] is True
    assert "accuracy" in [d["metric"] for d in report["drift_metrics"]["drifted"]]
    assert report["drift_metrics"]["data_drift"]["pairs"][0]["columns"]["f1"]["drifted"] is True
    assert (report_dir / f"{report_id}.png").is_file()
    assert [o.cohort_id for o in CohortStore(report_dir).read()] == ["baseline", "small_data"]
    small = CohortStore(report_dir).read(cohorts=["small_data"])[0]
    assert small.split_sizes["train"] == 40 and small.provenance["seed"] == 1
    assert sum(small.feature_profile["f0"]["counts"]) == 40  # every training row is profiled

    kinds = [e for e, _ in events]
    assert kinds == ["promotion_decision", "drift_observation", "drift_report"]
    facts = dict(events)
    assert facts["drift_observation"]["cohort_id"] == "small_data"
    assert facts["drift_observation"]["violations"][0]["type"] == "low_accuracy"
    assert facts["drift_report"]["report_id"] == report_id and facts["drift_report"]["has_drift"] is True


def test_default_cohort_id_comes_from_model_type_and_run_timestamp(tmp_path, info_lines):
    drift = DriftCallback(enabled=True, report_dir=str(tmp_path / "drift"))
    fit(tmp_path, drift, gate_facts())
    assert "Training cohort ID: logistic_20260102_030405" in info_lines
    assert CohortStore(tmp_path / "drift").cohort_ids() == ["logistic_20260102_030405"]
    assert "Nothing to compare" in drift.last_report.report["drift_metrics"]["message"]


def test_resumed_run_does_not_append_twice_and_state_round_trips(tmp_path):
    report_dir = tmp_path / "drift"
    first = DriftCallback(enabled=True, report_dir=str(report_dir))
    fit(tmp_path, first, gate_facts())
    state = first.state_dict()
    assert state["run_id"] == "20260102T030405Z-abcd1234"
    assert state["cohort_ids"] == {"logistic": "logistic_20260102_030405"}
    assert len(state["recorded"]) == 1

    resumed = DriftCallback(enabled=True, report_dir=str(report_dir))
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    fit(tmp_path, resumed, gate_facts())  # same decision again after a resume
    assert len(CohortStore(report_dir).read()) == 1

    fresh_instance = DriftCallback(enabled=True, report_dir=str(report_dir))  # no state: the store dedups
    fit(tmp_path, fresh_instance, gate_facts())
    assert len((report_dir / "cohorts.jsonl").read_text().splitlines()) == 1


def test_cohort_metrics_go_to_the_logger(tmp_path):
    logger = CSVLogger(tmp_path, name="logs")
    fit(tmp_path, DriftCallback(enabled=True, report_dir=str(tmp_path / "drift"), cohort_id="c"),
        gate_facts(accuracy_k=170, ece=0.04), logger=logger)
    rows = list(csv.DictReader(open(f"{logger.log_dir}/metrics.csv")))
    row = next(r for r in rows if r.get("drift/accuracy"))
    assert float(row["drift/accuracy"]) == pytest.approx(0.85)
    assert float(row["drift/ece"]) == pytest.approx(0.04)
    assert float(row["drift/risk_score"]) == pytest.approx(0.15)
    assert float(row["drift/promoted"]) == 1.0


def test_unwritable_report_dir_warns_and_keeps_training_result(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    drift = DriftCallback(enabled=True, report_dir=str(blocker / "drift"), cohort_id="c")
    events = fit(tmp_path, drift, gate_facts())
    assert "[WARN] Ethical drift tracking could not record cohort 'c'" in capsys.readouterr().out
    report = dict(events)["drift_report"]
    assert report["report_id"] is None and "drift report" in report["error"]


def test_tensorboard_logger_accepts_metrics_after_fit(tmp_path):
    pytest.importorskip("tensorboard")
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp_path, name="tb")
    fit(tmp_path, DriftCallback(enabled=True, report_dir=str(tmp_path / "drift"), cohort_id="c"), gate_facts(),
        logger=logger)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logger.log_dir)
    acc.Reload()
    assert acc.Scalars("drift/accuracy")[-1].value == pytest.approx(0.9)


@pytest.mark.slow
def test_ddp_spawn_two_ranks_append_once_and_write_one_report(tmp_path):
    report_dir = tmp_path / "drift"
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
        callbacks=[FakeGate(gate_facts()), DriftCallback(enabled=True, report_dir=str(report_dir), cohort_id="ddp")],
    )
    trainer.fit(TinyModule(), datamodule=TinyData())
    assert len((report_dir / "cohorts.jsonl").read_text().splitlines()) == 1
    assert len(list(report_dir.glob("drift_*.json"))) == 1


def test_promotion_decision_without_counts_warns_and_records_nothing(tmp_path, capsys):
    facts = gate_facts()
    del facts["counts"]
    drift = DriftCallback(enabled=True, report_dir=str(tmp_path / "drift"), cohort_id="c")
    events = fit(tmp_path, drift, facts)
    assert "[WARN] Ethical drift tracking skipped logistic: bad promotion_decision facts" in capsys.readouterr().out
    assert [e for e, _ in events] == ["promotion_decision"]
    assert CohortStore(tmp_path / "drift").read() == []


def test_tensorboard_gets_the_pictures_of_the_top_shifted_columns(tmp_path):
    pytest.importorskip("tensorboard")
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    report_dir = str(tmp_path / "drift")
    fit(tmp_path, DriftCallback(enabled=True, report_dir=report_dir, cohort_id="base"), gate_facts())
    logger = TensorBoardLogger(tmp_path, name="tb")
    drift = DriftCallback(enabled=True, report_dir=report_dir, cohort_id="broken")
    fit(tmp_path, drift, gate_facts(), data=TinyData(seed=1, broken=True), logger=logger)
    assert drift.last_report.report["drift_metrics"]["data_drift"]["pairs"][0]["drifted_features"] == ["f1"]
    acc = EventAccumulator(logger.log_dir, size_guidance={"images": 0})
    acc.Reload()
    assert {"drift/metrics", "drift/top_shifted_columns"} <= set(acc.Tags()["images"])
    assert acc.Images("drift/top_shifted_columns")[-1].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
