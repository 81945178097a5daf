"""Champion and challenger: the comparison rule and the files it moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nethical.champion import compare, not_comparable
from nethical.cli.classic import main as classic_main
from nethical.exceptions import ConfigError

TINY = ["--model-type", "correlation", "--num-samples", "300", "--epochs", "1", "--batch-size", "64",
        "--promotion-min-accuracy", "0", "--promotion-max-ece", "1", "--no-tensorboard"]


@pytest.mark.parametrize(
    "challenger, champion, tol, replace",
    [
        ({"accuracy": 0.90, "ece": 0.05}, {"accuracy": 0.90, "ece": 0.05}, 0.0, True),   # equal: not worse
        ({"accuracy": 0.91, "ece": 0.04}, {"accuracy": 0.90, "ece": 0.05}, 0.0, True),
        ({"accuracy": 0.89, "ece": 0.04}, {"accuracy": 0.90, "ece": 0.05}, 0.0, False),  # worse accuracy
        ({"accuracy": 0.91, "ece": 0.06}, {"accuracy": 0.90, "ece": 0.05}, 0.0, False),  # worse ECE
        ({"accuracy": 0.89, "ece": 0.055}, {"accuracy": 0.90, "ece": 0.05}, -0.02, True),  # within tolerance
        ({"accuracy": 0.905, "ece": 0.045}, {"accuracy": 0.90, "ece": 0.05}, 0.01, False),  # not enough gain
    ],
)
def test_compare(challenger, champion, tol, replace):
    result = compare(challenger, champion, tol, "run-1")
    assert result.compared and result.replace is replace and result.champion_run_id == "run-1"
    assert ("champion kept" in result.reason) is (not replace)


def test_bad_tolerance_and_not_comparable():
    with pytest.raises(ConfigError, match="min_improvement=2"):
        compare({"accuracy": 1, "ece": 0}, {"accuracy": 1, "ece": 0}, 2)
    r = not_comparable("input rows lack feature column(s) ['x']")
    assert r.replace and not r.compared and "decided by the gate alone" in r.reason


def _card(d: Path) -> dict:
    return json.loads((d / "model_card.json").read_text())


def test_champion_replaced_archived_or_kept_with_reason(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    first = _card(current)
    assert first["champion_comparison"]["compared"] is False
    # same seed, same data: not worse, so it replaces the champion, which moves to archive/ with its card
    assert classic_main(TINY) == 0
    second = _card(current)
    cmp = second["champion_comparison"]
    assert cmp["compared"] and cmp["replace"] and cmp["champion_run_id"] == first["run_id"]
    archived = tmp_cwd / "models" / "archive" / "correlation" / first["run_id"]
    assert _card(archived)["run_id"] == first["run_id"] and (archived / "model.skops").is_file()
    # demanding an improvement keeps the champion; the challenger is a candidate with the reason
    capsys.readouterr()
    assert classic_main([*TINY, "--min-improvement", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "CANDIDATE correlation" in out and "champion kept" in out
    assert _card(current)["run_id"] == second["run_id"]
    cand = next((tmp_cwd / "models" / "candidates" / "correlation").iterdir())
    card = _card(cand)
    assert card["promoted"] is False and any("champion kept" in r for r in card["reasons"])
    assert card["champion_comparison"]["replace"] is False


def test_champion_that_cannot_score_the_data_falls_back_to_the_gate(tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    assert classic_main(TINY) == 0
    card = _card(current)
    card["input_spec"]["feature_names"] = ["a", "b", "c", "d", "e"]  # a champion trained on other columns
    (current / "model_card.json").write_text(json.dumps(card))
    capsys.readouterr()
    assert classic_main(TINY) == 0
    out = capsys.readouterr().out
    assert "cannot score this validation data" in out and "PROMOTED correlation" in out
    new = _card(current)
    assert new["champion_comparison"]["compared"] is False and "lack feature column" in new["champion_comparison"]["reason"]


def test_min_improvement_flag_is_validated(tmp_cwd, capsys):
    assert classic_main([*TINY, "--min-improvement", "3"]) == 2
    assert "--min-improvement 3.0 must be within [-1, 1]" in capsys.readouterr().err
