"""Ethical drift tracking end to end through the classic CLI.

Runs under pytest and as a script: ``python tests/test_train_drift_tracking.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nethical.cli import main as nethical_main  # noqa: E402
from nethical.cli.classic import main as classic_main  # noqa: E402

BASE = ["--model-type", "logistic", "--epochs", "1", "--no-tensorboard", "--enable-drift-tracking",
        "--drift-report-dir", "drift"]


def _latest_report(drift: Path) -> dict:
    reports = sorted(drift.glob("drift_*.json"), key=lambda p: p.stat().st_mtime)
    assert reports, "no drift report written"
    return json.loads(reports[-1].read_text())


def test_two_runs_with_different_cohorts_give_one_report_holding_both_and_same_data_no_drift(tmp_cwd, capsys):
    assert classic_main([*BASE, "--num-samples", "2000", "--cohort-id", "baseline"]) == 0
    out = capsys.readouterr().out
    assert "[INFO] Ethical drift tracking enabled" in out and "[INFO] Training cohort ID: baseline" in out
    assert classic_main([*BASE, "--num-samples", "2000", "--cohort-id", "retrain"]) == 0
    out = capsys.readouterr().out
    assert "[INFO] Generating ethical drift report" in out and "[INFO] Drift detected: False" in out
    report = _latest_report(tmp_cwd / "drift")
    assert f"[INFO] Drift Report ID: {report['report_id']}" in out
    assert set(report["cohorts"]) == {"baseline", "retrain"}
    assert report["drift_metrics"]["has_drift"] is False  # same seed, same data, same model
    for cohort in report["cohorts"].values():
        assert cohort["action_count"] == 1 and "avg_risk_score" in cohort and "violation_stats" in cohort
    store = (tmp_cwd / "drift" / "cohorts.jsonl").read_text().splitlines()
    assert len(store) == 2


def test_cohort_trained_on_far_too_little_data_is_flagged_with_a_recommendation(tmp_cwd, capsys):
    assert classic_main([*BASE, "--num-samples", "4000", "--cohort-id", "full"]) == 0
    # 0.5% of 4000 rows = 20 training rows; the validation split stays large enough to measure the loss
    assert classic_main([*BASE, "--num-samples", "4000", "--train-ratio", "0.005", "--cohort-id", "tiny_train",
                         "--promotion-min-accuracy", "0.95"]) == 0
    out = capsys.readouterr().out
    report = _latest_report(tmp_cwd / "drift")
    assert report["drift_metrics"]["has_drift"] is True
    drifted = {d["metric"] for d in report["drift_metrics"]["drifted"]}
    # 20 training rows and one step leave the model under-fitted and badly calibrated: ECE and recall move
    assert drifted & {"accuracy", "recall", "ece"}, drifted
    message = report["drift_metrics"]["message"]
    assert "tiny_train" in message and any(metric in message for metric in drifted)
    assert any("tiny_train" in r and "20 rows" in r for r in report["recommendations"])
    assert "[INFO] Drift detected: True" in out
    by_type = report["cohorts"]["tiny_train"]["violation_stats"]["by_type"]
    assert by_type.get("low_accuracy") == 1 and by_type.get("calibration_error") == 1
    assert report["cohorts"]["full"]["violation_stats"]["total_count"] == 0


@pytest.mark.parametrize("cohort", ["../escape", "a/b", "bad\x07id", ".."])
def test_unsafe_cohort_ids_are_rejected_before_anything_is_written(tmp_cwd, capsys, cohort):
    assert classic_main([*BASE, "--num-samples", "500", "--cohort-id", cohort]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "cohort" in err
    assert list(tmp_cwd.iterdir()) == []


def test_drift_report_command_rebuilds_from_the_store(tmp_cwd, capsys):
    assert classic_main([*BASE, "--num-samples", "1000", "--cohort-id", "a"]) == 0
    assert classic_main([*BASE, "--num-samples", "1000", "--seed", "7", "--cohort-id", "b"]) == 0
    before = set((tmp_cwd / "drift").glob("drift_*.json"))
    capsys.readouterr()
    assert nethical_main(["drift", "report", "--drift-report-dir", "drift", "--cohorts", "a", "b", "--plot"]) == 0
    out = capsys.readouterr().out
    new = set((tmp_cwd / "drift").glob("drift_*.json")) - before
    assert len(new) == 1
    report = json.loads(next(iter(new)).read_text())
    assert set(report["cohorts"]) == {"a", "b"} and f"Drift Report ID: {report['report_id']}" in out
    assert next(iter(new)).with_suffix(".png").is_file()
    assert nethical_main(["drift", "report", "--drift-report-dir", "no_such_dir"]) == 2


def test_example_trains_two_cohorts_and_prints_their_comparison(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_with_drift_tracking.py"), "--num-samples", "800", "--epochs", "1",
         "--out-dir", "ex", "--second-model", "heuristic"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Cohort comparison" in proc.stdout
    assert "logistic_seed1" in proc.stdout and "heuristic_seed2" in proc.stdout
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    report = json.loads((tmp_path / "ex" / "drift" / f"{summary['report_id']}.json").read_text())
    assert summary["has_drift"] == report["drift_metrics"]["has_drift"]
    assert set(report["cohorts"]) == {"logistic_seed1", "heuristic_seed2"}
    # named on purpose, the two model types are compared, and labelled as such
    assert all(e["cross_model_type"] for e in report["drift_metrics"]["comparisons"]["accuracy"])
    assert "compares different model types (logistic vs heuristic)" in report["drift_metrics"]["message"]
    assert "Old model on new data (transfer)" in proc.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))


def _write_csv(path: Path, seed: int, flipped: bool, n: int = 1500) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    kind = rng.choice(["web", "mail", "dns"] if not flipped else ["web", "mail", "ssh"], size=n)
    score = (x1 - 2 * x2) if flipped else (x1 + 2 * x2)  # a concept change: the old model ranks rows wrongly
    label = (score + 0.3 * rng.normal(size=n) > 0).astype(int)
    lines = ["x1,x2,kind,label"] + [f"{a:.5f},{b:.5f},{k},{y}" for a, b, k, y in zip(x1, x2, kind, label)]
    path.write_text("\n".join(lines) + "\n")


def test_old_model_on_new_data_is_the_headline_and_a_moved_model_is_skipped_with_the_reason(tmp_cwd, capsys):
    import shutil

    _write_csv(tmp_cwd / "old.csv", 0, flipped=False)
    _write_csv(tmp_cwd / "new.csv", 1, flipped=True)
    common = [*BASE, "--epochs", "3", "--label-column", "label", "--models-dir", "models"]
    assert classic_main([*common, "--data-path", "old.csv", "--cohort-id", "old"]) == 0
    assert classic_main([*common, "--data-path", "new.csv", "--cohort-id", "new"]) == 0
    out = capsys.readouterr().out
    report = _latest_report(tmp_cwd / "drift")
    transfer = report["drift_metrics"]["transfer"][0]
    assert transfer["model_cohort"] == "old" and transfer["data_cohort"] == "new" and not transfer["skipped"]
    acc = next(e for e in transfer["comparisons"] if e["metric"] == "accuracy")
    assert acc["value_a"] > 0.9 and acc["value_b"] < 0.75 and acc["drift"] and acc["ci"][1] < 0
    message = report["drift_metrics"]["message"]
    assert message.startswith("Drift detected: the logistic model of cohort 'old' loses")
    assert "on the data of cohort 'new'" in message
    assert "[INFO] Drift detected: True" in out
    # causes: same configuration, different data; the new level 'ssh' is seen in one cohort only
    cause = report["drift_metrics"]["causes"][0]
    assert cause["config"] == "same" and cause["data"] == "different"
    kind = report["drift_metrics"]["data_drift"]["pairs"][0]["columns"]["kind"]
    assert kind["kind"] == "categorical" and kind["drifted"]
    assert {c["value"]: c["only_in"] for c in kind["top_changes"]}["ssh"] == "b"

    # the old model is moved away: the transfer is skipped with the reason and the rest is still reported
    store_before = (tmp_cwd / "drift" / "cohorts.jsonl").read_bytes()
    moved = Path(transfer["model_dir"])
    shutil.move(str(moved), str(tmp_cwd / "elsewhere"))
    assert nethical_main(["drift", "report", "--drift-report-dir", "drift", "--html", "--reverse-transfer"]) == 0
    out = capsys.readouterr().out
    assert "Transfer skipped ('old' model on 'new' data):" in out and "moved or deleted" in out
    report = _latest_report(tmp_cwd / "drift")
    assert report["drift_metrics"]["transfer"][0]["skipped"] is True
    reverse = report["drift_metrics"]["transfer"][1]  # the new model, still in place, on the old rows
    assert (reverse["model_cohort"], reverse["data_cohort"], reverse["skipped"]) == ("new", "old", False)
    assert report["drift_metrics"]["data_drift"]["has_data_drift"] is True
    assert (tmp_cwd / "drift" / f"{report['report_id']}.html").read_bytes().startswith(b"<!doctype html>")
    assert (tmp_cwd / "drift" / "cohorts.jsonl").read_bytes() == store_before
