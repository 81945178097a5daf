"""The new model types end to end through the classic CLI: saved files, cards, prediction, ``--model-type all``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nethical.cli import main as nethical_main
from nethical.cli import classic
from nethical.cli.classic import main as classic_main
from nethical.metrics import binary_metrics
from nethical.registry import load_model
from nethical.registry_cli import predict_rows

# one epoch on 300 rows: these tests check saving and prediction, so the gate is relaxed, skill criterion included
# (a one-epoch transformer has not learned to rank yet; tests/test_models_champion.py covers the skill criterion)
TINY = ["--num-samples", "300", "--epochs", "1", "--batch-size", "64", "--promotion-min-accuracy", "0",
        "--promotion-max-ece", "1", "--promotion-min-skill", "off"]
# after one epoch the transformer predicts one class for every row, which the gate never promotes, even relaxed
EXTRA = {"simple_transformer": ["--epochs", "2"]}
TASKS = {"simple_transformer": "short_requests", "anomaly": "action_sequences", "correlation": "agent_activity"}
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _card(model_dir: Path) -> dict:
    return json.loads((model_dir / "model_card.json").read_text())


def _datamodule(model_type: str):
    """The datamodule exactly as the classic CLI built it for TINY."""
    import yaml

    from datamodules.synthetic import SyntheticDataModule

    args = yaml.safe_load((CONFIGS / f"{model_type}.yaml").read_text())["data"]["init_args"]
    args.update(num_samples=300, batch_size=64, seed=42)
    dm = SyntheticDataModule(**args)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("model_type", sorted(TASKS))
def test_trains_saves_and_predicts_like_in_training(tmp_cwd, capsys, model_type):
    assert classic_main(["--model-type", model_type, *TINY, *EXTRA.get(model_type, [])]) == 0
    out = capsys.readouterr().out
    assert f"PROMOTED {model_type}: accuracy=" in out
    model_dir = tmp_cwd / "models" / "current" / model_type
    card = _card(model_dir)
    assert card["model_type"] == model_type and card["data_source"]["task"] == TASKS[model_type]
    assert set(card["files"]) >= {"metrics.json", "reliability.png"}
    assert (model_dir / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert card["calibration"]["ece_after"] == pytest.approx(card["metrics"]["ece"], abs=1e-6)
    assert list(Path("lightning_logs", model_type).glob("version_0/events.out.tfevents.*"))
    # prediction from the saved model equals what the gate scored during training
    dm = _datamodule(model_type)
    val = dm.split("val")
    rows = ([{"text": t} for t in val.texts] if val.texts is not None
            else [dict(zip(val.feature_names, map(float, r))) for r in val.features])
    probs = np.array(predict_rows(model_dir, rows))
    again = binary_metrics(probs, val.labels)
    assert again["accuracy"] == pytest.approx(card["metrics"]["accuracy"], abs=1e-9)
    assert again["ece"] == pytest.approx(card["metrics"]["ece"], abs=1e-5)
    model, _ = load_model(model_dir)
    assert np.allclose(model.predict_proba_split(dm, "val"), probs, atol=1e-5)


def test_transformer_card_records_temperature_calibration(tmp_cwd):
    assert classic_main(["--model-type", "simple_transformer", *TINY, *EXTRA["simple_transformer"], "--no-tensorboard"]) == 0
    card = _card(tmp_cwd / "models" / "current" / "simple_transformer")
    cal = card["calibration"]
    assert cal["method"] == "temperature" and cal["applied"] is True and cal["calibration_rows"] == 24
    assert cal["temperature"] == pytest.approx(card["temperature"]) and "ece_before" in cal


def test_wrong_input_kind_is_one_clear_error(tmp_cwd, capsys):
    bad = tmp_cwd / "bad.yaml"
    bad.write_text((CONFIGS / "correlation.yaml").read_text().replace("task: agent_activity", "task: short_requests"))
    rc = classic_main(["--model-type", "correlation", *TINY, "--no-tensorboard", "--config", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    line = next(l for l in err.splitlines() if l.startswith("error: "))
    assert "'correlation' expects numeric feature columns, but the data provides text input" in line
    assert "raise DataError" not in err  # one line, no traceback


def _configs_dir(tmp: Path, types, broken: str = "") -> Path:
    d = tmp / "cfg"
    d.mkdir()
    for t in types:
        text = (CONFIGS / f"{t}.yaml").read_text()
        if t == broken:  # an estimator with no probabilities: fails when the model is built
            text = text.replace("sklearn.linear_model.LogisticRegression", "sklearn.cluster.KMeans").replace(
                "C: 4.0\n        max_iter: 2000", "n_clusters: 2")
        (d / f"{t}.yaml").write_text(text)
    return d


def test_all_keeps_going_after_a_failing_type_and_exits_nonzero(tmp_cwd, capsys, monkeypatch):
    monkeypatch.setattr(classic, "CONFIG_DIR", _configs_dir(tmp_cwd, ["anomaly", "correlation"], broken="anomaly"))
    rc = classic_main(["--model-type", "all", *TINY, "--no-tensorboard"])
    out = capsys.readouterr().out
    assert rc == 1
    summary = out[out.index("Training summary:"):]
    assert "anomaly" in summary and "FAILED" in summary and "no predict_proba or decision_function" in summary
    assert "correlation" in summary and "models/current/correlation" in summary
    assert (tmp_cwd / "models" / "current" / "correlation" / "model.skops").is_file()


@pytest.mark.slow
def test_all_five_types_in_one_process(tmp_cwd, capsys):
    rc = classic_main(["--model-type", "all", *TINY, *EXTRA["simple_transformer"], "--no-tensorboard"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = out[out.index("Training summary:"):].splitlines()
    for t in ("heuristic", "logistic", "simple_transformer", "anomaly", "correlation"):
        assert any(line.startswith(t) and "models/current/" + t in line for line in summary), summary
        assert (tmp_cwd / "models" / "current" / t / "model_card.json").is_file()


def test_predict_command_scores_sequences_from_a_file(tmp_cwd, capsys):
    assert classic_main(["--model-type", "anomaly", *TINY, "--no-tensorboard"]) == 0
    rows = tmp_cwd / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"text": t}) for t in ["", "never_seen tokens only",
                                                                   "whoami sudo exploit_kernel dump_credentials upload"]) + "\n")
    capsys.readouterr()
    assert nethical_main(["predict", "--model-dir", "models/current/anomaly", "--input", str(rows)]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3 and all(0 < l["probability"] < 1 for l in lines)
    assert lines[2]["probability"] > lines[0]["probability"]
