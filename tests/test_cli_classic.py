"""The classic flag interface: bad input gives one line, exit 2, no traceback and nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nethical.cli.classic import MODEL_TYPES, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model-type", "transformerx"], "choose one of heuristic, logistic, simple_transformer, anomaly, correlation or all"),
        (["--model-type", "logistic", "--epochs", "0"], "--epochs 0 must be at least 1"),
        (["--model-type", "logistic", "--num-samples", "12"], "--num-samples 12 is too small to split"),
        (["--model-type", "logistic", "--train-ratio", "1.0"], "--train-ratio 1.0 must be strictly between 0 and 1"),
        (["--model-type", "logistic", "--train-ratio", "0"], "--train-ratio 0.0 must be strictly between 0 and 1"),
        (["--model-type", "logistic", "--promotion-max-ece", "1.2"], "--promotion-max-ece 1.2 must be within [0, 1]"),
        (["--model-type", "logistic", "--promotion-min-accuracy", "-0.5"], "--promotion-min-accuracy -0.5 must be within [0, 1]"),
        (["--model-type", "logistic", "--config", "nope.yaml"], "config file 'nope.yaml' does not exist"),
        (["--model-type", "logistic", "--models-dir", "afile/models"], "is a file, not a directory"),
        (["--model-type", "logistic", "--ece-bins", "0"], "--ece-bins 0 must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_cwd, capsys, flags, message):
    (tmp_cwd / "afile").write_text("not a directory")
    before = sorted(p.name for p in tmp_cwd.iterdir())
    rc = main(flags)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_cwd.iterdir()) == before


def test_console_script_exit_code_and_verbose_traceback(tmp_path):
    cmd = [sys.executable, str(ROOT / "training" / "train_any_model.py"), "--model-type", "logistic", "--epochs", "0"]
    quiet = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr and "--epochs 0" in quiet.stderr
    loud = subprocess.run(cmd + ["--verbose"], cwd=tmp_path, capture_output=True, text=True)
    assert loud.returncode == 2 and "Traceback" in loud.stderr
    assert list(tmp_path.iterdir()) == []


def test_print_args_is_the_lightning_cli_translation(tmp_cwd, capsys):
    rc = main(["--model-type", "heuristic", "--epochs", "3", "--num-samples", "500", "--seed", "7",
               "--split-strategy", "stratified", "--promotion-max-ece", "0.1", "--no-tensorboard", "--print-args"])
    out = capsys.readouterr().out.split()
    assert rc == 0
    assert out[:3] == ["nethical", "fit", "--config"] and out[3].endswith("configs/heuristic.yaml")
    pairs = dict(zip(out[4::2], out[5::2]))
    assert pairs["--trainer.max_epochs"] == "3"
    assert pairs["--data.init_args.num_samples"] == "500"
    assert pairs["--seed_everything"] == "7" and pairs["--data.init_args.seed"] == "7"
    assert pairs["--data.init_args.split_strategy"] == "stratified"
    assert pairs["--gate.max_ece"] == "0.1"
    assert pairs["--trainer.logger"] == "false"
    assert list(tmp_cwd.iterdir()) == []


def test_model_types_are_the_five_documented():
    assert MODEL_TYPES == ("heuristic", "logistic", "simple_transformer", "anomaly", "correlation")
