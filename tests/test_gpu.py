"""The GPU path: runs where CUDA is available, skips cleanly elsewhere (CI has no GPU)."""

from __future__ import annotations

import json

import pytest
import torch

from nethical.cli.classic import main as classic_main

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_transformer_trains_on_gpu_in_mixed_precision(tmp_cwd, precision):
    rc = classic_main(["--model-type", "simple_transformer", "--epochs", "1", "--num-samples", "1000",
                       "--accelerator", "gpu", "--devices", "1", "--precision", precision, "--no-tensorboard",
                       "--promotion-min-accuracy", "0", "--promotion-max-ece", "1"])
    assert rc == 0
    card = json.loads((tmp_cwd / "models" / "current" / "simple_transformer" / "model_card.json").read_text())
    assert card["config"]["trainer"]["precision"] == precision
    assert card["config"]["trainer"]["accelerator"] == "CUDAAccelerator"
    # it learned: better than always answering the majority class of the validation split
    counts = card["counts"]
    majority = max(counts["tp"] + counts["fn"], counts["tn"] + counts["fp"]) / counts["n"]
    assert card["metrics"]["accuracy"] > majority + 0.05


@pytest.mark.gpu
@requires_cuda
def test_all_types_on_gpu(tmp_cwd):
    assert classic_main(["--model-type", "all", "--epochs", "1", "--num-samples", "800", "--accelerator", "gpu",
                         "--devices", "1", "--no-tensorboard", "--promotion-min-accuracy", "0",
                         "--promotion-max-ece", "1"]) == 0
    cards = [json.loads(p.read_text()) for p in (tmp_cwd / "models" / "current").glob("*/model_card.json")]
    assert sorted(c["model_type"] for c in cards) == ["anomaly", "correlation", "heuristic", "logistic", "simple_transformer"]
    for card in cards:
        assert card["config"]["trainer"]["accelerator"] == "CUDAAccelerator"


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("model_type", ["logistic", "heuristic"])
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_cheap_models_take_many_steps_per_call_on_gpu_in_mixed_precision(tmp_cwd, model_type, precision):
    """Several optimizer steps per Lightning step (lightning_modules/fast_steps.py) through Lightning's
    manual_backward and optimizer wrapper, so 16-mixed gradient scaling applies to every step."""
    rc = classic_main(["--model-type", model_type, "--epochs", "2", "--num-samples", "4000", "--accelerator", "gpu",
                       "--devices", "1", "--precision", precision, "--no-tensorboard", "--promotion-min-accuracy", "0",
                       "--promotion-max-ece", "1"])
    assert rc == 0
    card = json.loads((tmp_cwd / "models" / "current" / model_type / "model_card.json").read_text())
    assert card["config"]["trainer"]["precision"] == precision
    assert card["metrics"]["accuracy"] > 0.8  # the synthetic risk task is learnable to ~0.9
