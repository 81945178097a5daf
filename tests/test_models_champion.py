"""Champion and challenger: the comparison rule and the files it moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nethical.cli.classic import main as classic_main

TINY = ["--model-type", "correlation", "--num-samples", "300", "--epochs", "1", "--batch-size", "64",
        "--promotion-min-accuracy", "0", "--promotion-max-ece", "1", "--no-tensorboard"]


def _card(d: Path) -> dict:
    return json.loads((d / "model_card.json").read_text())


def test_identical_rerun_is_a_no_op(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    first = _card(current)
    assert first["champion_comparison"]["outcome"] == "no_champion" and first["weights_sha256"]
    before = sorted(p.relative_to(tmp_cwd) for p in (tmp_cwd / "models").rglob("*") if ".staging" not in p.parts)
    # same seed, same data: the same weights, so nothing is saved, moved or archived
    capsys.readouterr()
    assert classic_main(TINY) == 0
    out = capsys.readouterr().out
    assert "UNCHANGED correlation" in out and "identical to the champion" in out
    after = sorted(p.relative_to(tmp_cwd) for p in (tmp_cwd / "models").rglob("*") if ".staging" not in p.parts)
    assert after == before and not (tmp_cwd / "models" / "archive").exists()
    assert _card(current)["run_id"] == first["run_id"]


def test_other_seed_on_the_same_synthetic_task_is_a_tie_that_archives_nothing(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    first = _card(current)
    capsys.readouterr()
    assert classic_main([*TINY, "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "TIE correlation" in out and "within the noise" in out and "CANDIDATE" not in out
    assert _card(current)["run_id"] == first["run_id"] and not (tmp_cwd / "models" / "archive").exists()
    cand = _card(next((tmp_cwd / "models" / "candidates" / "correlation").iterdir()))
    cmp = cand["champion_comparison"]
    assert cmp["outcome"] == "tie" and cmp["compared"] and cmp["paired_test"]["mcnemar_p"] >= 0.05
    assert cand["decision"] == "TIE" and cand["gate_passed"] is True

    # demanding a margin on top of significance cannot turn a tie into a replacement
    assert classic_main([*TINY, "--seed", "8", "--min-improvement", "0.05"]) == 0
    assert _card(current)["run_id"] == first["run_id"]


def test_champion_that_cannot_score_the_data_falls_back_to_the_gate(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    card = _card(current)
    card["input_spec"]["feature_names"] = ["a", "b", "c", "d", "e"]  # a champion trained on other columns
    (current / "model_card.json").write_text(json.dumps(card))
    capsys.readouterr()
    assert classic_main([*TINY, "--seed", "5"]) == 0  # another seed: other weights, so not an identical no-op
    out = capsys.readouterr().out
    assert "cannot score this validation data" in out and "PROMOTED correlation" in out
    new = _card(current)
    assert new["champion_comparison"]["compared"] is False and "lack feature column" in new["champion_comparison"]["reason"]


def test_min_improvement_flag_is_validated(tmp_cwd, capsys):
    assert classic_main([*TINY, "--min-improvement", "3"]) == 2
    assert "--min-improvement 3.0 must be within [-1, 1]" in capsys.readouterr().err
    assert not (tmp_cwd / "models").exists()


def _noise_csv(path: Path, n: int = 3000, positive_rate: float = 0.03, seed: int = 0, signal: float = 0.0) -> Path:
    """Five features and a label; ``signal`` > 0 shifts the positives' first feature (0: pure noise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive_rate).astype(int)
    x = rng.normal(size=(n, 5))
    x[:, 0] += signal * y
    lines = ["f1,f2,f3,f4,f5,label"] + [",".join(f"{v:.5f}" for v in row) + f",{lab}" for row, lab in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


REAL = ["--model-type", "correlation", "--epochs", "1", "--batch-size", "64", "--no-tensorboard", "--label-column", "label"]


def test_noise_features_on_imbalanced_data_never_promote_and_the_reason_names_the_majority_rate(tmp_cwd, capsys):
    data = _noise_csv(tmp_cwd / "imb.csv")
    assert classic_main(["--model-type", "logistic", "--epochs", "2", "--no-tensorboard", "--data-path", str(data),
                         "--label-column", "label"]) == 0
    out = capsys.readouterr().out
    assert "CANDIDATE logistic" in out and "PROMOTED" not in out
    assert "majority rate" in out and "no_skill" in out
    card = _card(next((tmp_cwd / "models" / "candidates" / "logistic").iterdir()))
    m, ci = card["metrics"], card["intervals"]
    assert card["promoted"] is False and card["gate_passed"] is False
    assert ci["accuracy"]["low"] <= m["majority_rate"] and ci["accuracy"]["method"] == "wilson"
    assert ci["auroc"]["method"] == "bootstrap" and ci["auroc"]["low"] < 0.5 < ci["auroc"]["high"]
    for key in ("majority_rate", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "auroc", "brier", "ece"):
        assert set(ci[key]) == {"value", "low", "high", "method"}, key
    # the plain criteria alone would have promoted it: that is what the skill criterion is for
    assert m["accuracy"] >= 0.85 and m["ece"] <= 0.08
    assert not (tmp_cwd / "models" / "current").exists()


def test_champion_is_never_scored_on_its_own_training_rows(tmp_cwd, capsys):
    data = _noise_csv(tmp_cwd / "signal.csv", n=1500, positive_rate=0.4, signal=2.5)
    common = [*REAL, "--data-path", str(data), "--split-strategy", "random"]
    assert classic_main(common) == 0
    first = _card(tmp_cwd / "models" / "current" / "correlation")
    assert first["training_rows"]["rows"] == 1200 and first["training_rows"]["split"]["seed"] == 42
    capsys.readouterr()
    assert classic_main([*common, "--seed", "7"]) == 0
    cand_dir = tmp_cwd / "models" / "candidates" / "correlation"
    card = _card(next(cand_dir.iterdir())) if cand_dir.exists() else _card(tmp_cwd / "models" / "current" / "correlation")
    rows = card["champion_comparison"]["rows"] or {}
    # about 80% of the new validation rows were the champion's training rows: they are left out of the comparison
    assert rows["validation"] == 300 and rows["champion_trained_on"] > 150
    assert rows["compared"] == rows["validation"] - rows["champion_trained_on"] - rows["challenger_trained_on"] or \
        rows["compared"] <= rows["validation"] - rows["champion_trained_on"]
    assert card["champion_comparison"]["paired_test"]["rows"] == rows["compared"]


def test_a_dataset_change_never_silently_replaces_a_champion(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0  # the synthetic demo
    demo = _card(current)
    assert demo["data_fingerprint"]["dataset"] == "synthetic:agent_activity"
    a = _noise_csv(tmp_cwd / "a.csv", n=1000, positive_rate=0.4, signal=3.0)
    b = _noise_csv(tmp_cwd / "b.csv", n=1000, positive_rate=0.4, signal=3.0, seed=1)
    capsys.readouterr()
    # the first real model is not blocked by the demo, which is archived with the reason
    assert classic_main([*REAL, "--data-path", str(a)]) == 0
    out = capsys.readouterr().out
    assert "PROMOTED correlation" in out and "yields to the first model trained on real data" in out
    real = _card(current)
    assert real["data_fingerprint"]["dataset"] == "file:a.csv"
    assert (tmp_cwd / "models" / "archive" / "correlation" / demo["run_id"]).is_dir()
    # another dataset: a candidate, the champion stays
    assert classic_main([*REAL, "--data-path", str(b)]) == 0
    out = capsys.readouterr().out
    assert "KEPT correlation" in out and "never replaces it silently" in out and "--on-new-dataset replace" in out
    assert _card(current)["run_id"] == real["run_id"]
    # the demo never archives a real model
    assert classic_main([*TINY, "--seed", "3"]) == 0
    assert "synthetic demo data" in capsys.readouterr().out and _card(current)["run_id"] == real["run_id"]
    assert len(list((tmp_cwd / "models" / "archive" / "correlation").iterdir())) == 1
    # on purpose: --on-new-dataset replace
    assert classic_main([*REAL, "--data-path", str(b), "--on-new-dataset", "replace"]) == 0
    assert _card(current)["data_fingerprint"]["dataset"] == "file:b.csv"


@pytest.mark.parametrize("edit", ["drop", "tamper"])
def test_a_champion_card_with_a_missing_or_tampered_fingerprint_stops_the_run(tmp_cwd, capsys, edit):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    card = _card(current)
    if edit == "drop":
        del card["data_fingerprint"]
    else:
        card["data_fingerprint"]["dataset"] = "synthetic:something_else"
    (current / "model_card.json").write_text(json.dumps(card))
    snapshot = {p: p.read_bytes() for p in (tmp_cwd / "models").rglob("*") if p.is_file()}
    capsys.readouterr()
    assert classic_main([*TINY, "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "fingerprint" in err
    assert {p: p.read_bytes() for p in (tmp_cwd / "models").rglob("*") if p.is_file()} == snapshot


@pytest.mark.parametrize("flags, message", [
    (["--promotion-min-skill", "1.5"], "--promotion-min-skill '1.5' must be a number in [-1, 1) or off"),
    (["--confidence-level", "1.0"], "--confidence-level 1.0 must be strictly between 0 and 1"),
    (["--confidence-level", "0"], "--confidence-level 0.0 must be strictly between 0 and 1"),
    (["--bootstrap-samples", "50"], "--bootstrap-samples 50 is too few"),
    (["--promotion-max-ece", "1.2"], "--promotion-max-ece 1.2 must be within [0, 1]"),
])
def test_bad_gate_flags_exit_2_and_write_nothing(tmp_cwd, capsys, flags, message):
    assert classic_main([*TINY, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ")
    assert not (tmp_cwd / "models").exists()


def test_skill_criterion_off_restores_the_plain_criteria(tmp_cwd, capsys):
    data = _noise_csv(tmp_cwd / "imb.csv", n=2000, positive_rate=0.05)
    common = ["--model-type", "logistic", "--epochs", "1", "--no-tensorboard", "--data-path", str(data),
              "--label-column", "label", "--promotion-min-skill", "off"]
    assert classic_main(common) == 0
    out = capsys.readouterr().out
    # only a constant prediction is still refused with the criterion off; the reason says so
    assert "CANDIDATE logistic" in out and "constant_prediction" in out and "no_skill" not in out


def _noise_text_csv(path: Path, n: int = 1200, positive_rate: float = 0.05, seed: int = 0) -> Path:
    """Texts of random words from one vocabulary whatever the label: nothing to learn."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "beta", "gamma", "delta", "login", "report", "upload", "query", "sudo", "export"])
    y = (rng.random(n) < positive_rate).astype(int)
    lines = ["text,label"] + [" ".join(rng.choice(words, size=rng.integers(3, 9))) + f",{lab}" for lab in y]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("model_type", ["anomaly", pytest.param("simple_transformer", marks=pytest.mark.slow)])
def test_a_text_model_on_noise_with_few_positives_never_promotes(tmp_cwd, capsys, model_type):
    data = _noise_text_csv(tmp_cwd / "noise_text.csv")
    flag = "--sequence-column" if model_type == "anomaly" else "--text-column"
    assert classic_main(["--model-type", model_type, "--epochs", "1", "--batch-size", "64", "--no-tensorboard",
                         "--data-path", str(data), "--label-column", "label", flag, "text"]) == 0
    out = capsys.readouterr().out
    assert f"CANDIDATE {model_type}" in out and "majority rate" in out
    assert not (tmp_cwd / "models" / "current").exists()
    card = _card(next((tmp_cwd / "models" / "candidates" / model_type).iterdir()))
    assert any("no_skill" in r or "constant_prediction" in r for r in card["failed_criteria"])
