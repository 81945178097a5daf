"""What the CLIs print and write for a user: quiet fits, --verbose, predict help, LightningCLI predict/test, and what
TensorBoard shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "configs" / "logistic.yaml")


def test_predict_help_shows_its_own_options(capsys):
    from nethical.cli import main

    assert main(["predict", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--model-dir" in out and "--input" in out and "--ckpt_path" in out  # ours, naming the LightningCLI form
    assert "--trainer.max_epochs" not in out


def test_all_groups_its_runs_under_one_parent(tmp_cwd, capsys, monkeypatch):
    from nethical.cli.classic import main

    monkeypatch.setenv("NETHICAL_RUN_ID", "grouped-run")
    assert main(["--model-type", "all", "--print-args"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert all("--trainer.logger.init_args.save_dir lightning_logs/all-grouped-run" in line for line in lines)
    assert main(["--model-type", "logistic", "--print-args"]) == 0
    assert "--trainer.logger.init_args.save_dir" not in capsys.readouterr().out  # one type: the config's logs dir


def test_describe_data_names_the_source():
    from types import SimpleNamespace

    from callbacks.plain_progress import describe_data

    assert describe_data(SimpleNamespace(provenance={"source": "synthetic", "task": "risk"})) == "synthetic risk data"
    assert "fallback" in describe_data(SimpleNamespace(provenance={"source": "synthetic", "task": "risk", "requested": {}}))
    assert describe_data(SimpleNamespace(provenance={"source": "csv", "files": [{"path": "a/b.csv"}]})) == "a/b.csv"
    assert describe_data(SimpleNamespace(provenance={"source": "kaggle", "kaggle": [{"slug": "o/n"}]})) == "kaggle o/n"


def _cli(args, cwd: Path, **env_extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    env.pop("NETHICAL_RUN_ID", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_fit_is_quiet_verbose_is_not_and_predict_test_tensorboard_deliver(tmp_path: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    quiet = _cli(["nethical.cli.classic", "--model-type", "heuristic", "--epochs", "2", "--num-samples", "300"], tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    lines = quiet.stdout.splitlines()
    assert lines[0] == "[INFO] heuristic: synthetic risk data, 300 rows (240 train / 60 val), 2 epochs"
    assert sum(line.startswith("[heuristic] epoch ") for line in lines) == 2  # plain lines: not a terminal
    assert any(line.startswith(("[INFO] PROMOTED heuristic", "[INFO] CANDIDATE heuristic")) for line in lines)
    promoted = any(line.startswith("[INFO] PROMOTED heuristic") for line in lines)
    # header, epochs, decision, summary table; a model not promoted also gets one line of reasons in words (after
    # the decision line; its table row names the missed criteria)
    assert len(lines) == 1 + 2 + 1 + 4 + (0 if promoted else 1)

    loud = _cli(["nethical.cli.classic", "--model-type", "heuristic", "--epochs", "1", "--num-samples", "300",
                 "--verbose", "--no-tensorboard"], tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert "GPU available" in loud.stderr and "Trainable params" in loud.stdout + loud.stderr

    # TensorBoard: one HParams record with real metrics and the user's hyperparameters
    run_dir = next((tmp_path / "lightning_logs" / "heuristic").glob("version_*"))
    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    assert metric_tags == {"val/acc", "val/ece", "val/auroc"}
    hparam_names = {h.name for h in experiment.hparam_infos}
    assert {"Model type", "data/batch_size", "model/lr", "promoted", "gate/accuracy", "gate/ece"} <= hparam_names
    assert not any(name.split("/")[-1].startswith("_") for name in hparam_names)
    scalars = acc.Tags()["scalars"]
    assert "hp_metric" not in scalars and not any(tag.startswith("gate/") for tag in scalars)
    assert len(acc.Scalars("val/acc")) == 2  # a series: one point per epoch
    assert any(tag.startswith("summary/decision") for tag in acc.Tags()["tensors"])

    fit = _cli(["nethical.cli", "fit", "--config", CONFIG, "--trainer.max_epochs", "1",
                "--data.init_args.num_samples", "300"], tmp_path)
    assert fit.returncode == 0, fit.stderr
    ckpt = "checkpoints/logistic/last.ckpt"
    test = _cli(["nethical.cli", "test", "--config", CONFIG, "--ckpt_path", ckpt, "--data.init_args.num_samples", "300"], tmp_path)
    assert test.returncode == 0, test.stderr
    assert "test re-scores the validation split" in test.stdout
    pred = _cli(["nethical.cli", "predict", "--config", CONFIG, "--ckpt_path", ckpt, "--data.init_args.num_samples", "300"], tmp_path)
    assert pred.returncode == 0, pred.stderr
    files = list((tmp_path / "predictions" / "logistic").glob("*.jsonl"))
    assert len(files) == 1 and f"wrote 60 predictions (validation split) to {files[0].relative_to(tmp_path)}" in pred.stdout
    rows = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(60))
    assert all(0.0 <= r["probability"] <= 1.0 and r["label"] == int(r["probability"] >= 0.5) and r["target"] in (0, 1)
               for r in rows)


def test_summary_row_names_each_missed_criterion_once():
    from nethical.cli.classic import format_summary

    row = {"model_type": "logistic", "metrics": {"accuracy": 0.975, "majority_rate": 0.975, "auroc": 0.5476, "ece": 0.0048},
           "promoted": False, "decision": "CANDIDATE", "seconds": 1.8, "saved_dir": "models/candidates/logistic/r1",
           "failed_criteria": [
               "predicts the majority class (0) for every row: accuracy 0.9750 equals the majority rate 0.9750; it "
               "learned nothing a constant cannot do (constant_prediction)",
               "accuracy 95% lower bound 0.9634 <= the majority rate 0.97500 (no_skill: not confidently better)",
               "auroc 95% lower bound 0.4296 <= 0.5 (no_skill: ranks positives above negatives no better than chance)"]}
    lines = format_summary([row]).splitlines()
    assert len(lines) == 4  # title, header, rule, one row: the reasons in words were printed after the decision
    assert lines[-1].endswith("models/candidates/logistic/r1  (missed: constant_prediction, no_skill)")
