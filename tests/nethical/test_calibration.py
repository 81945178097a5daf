"""Temperature scaling and the reliability diagram (pure numpy / matplotlib, no Lightning)."""

from __future__ import annotations

import numpy as np
import pytest

from nethical.calibration import check_method, fit_temperature, save_reliability_png
from nethical.exceptions import ConfigError
from nethical.metrics import calibration_bins, expected_calibration_error


@pytest.mark.parametrize("true_t", [0.5, 1.0, 3.0])
def test_fit_temperature_recovers_the_temperature_that_generated_the_labels(true_t):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, 20000)
    labels = (rng.random(logits.size) < 1 / (1 + np.exp(-logits / true_t))).astype(int)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(true_t, rel=0.08)
    before = expected_calibration_error(1 / (1 + np.exp(-logits)), labels)
    after = expected_calibration_error(1 / (1 + np.exp(-logits / t)), labels)
    assert after <= before + 1e-9 and after < 0.02


def test_fit_temperature_degenerate_inputs_leave_the_model_alone():
    assert fit_temperature(np.array([]), np.array([])) == 1.0
    assert fit_temperature(np.array([1.0, 2.0]), np.array([1, 1])) == 1.0  # one class: nothing to identify
    assert fit_temperature(np.array([np.nan, 1.0, -1.0]), np.array([1, 1, 0])) > 0
    with pytest.raises(ValueError, match="differ in shape"):
        fit_temperature(np.zeros(3), np.zeros(2))


def test_fit_temperature_is_deterministic():
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=500), rng.integers(0, 2, 500)
    assert fit_temperature(z, y) == fit_temperature(z.copy(), y.copy())


def test_check_method_names_the_component_and_the_options():
    assert check_method("M", "sigmoid", ("none", "sigmoid")) == "sigmoid"
    with pytest.raises(ConfigError, match=r"M\(calibration='temperature'\).*none, sigmoid"):
        check_method("M", "temperature", ("none", "sigmoid"))


def test_reliability_png_is_written(tmp_path):
    rng = np.random.default_rng(2)
    p = rng.random(300)
    y = (rng.random(300) < p).astype(int)
    out = tmp_path / "reliability.png"
    save_reliability_png(out, calibration_bins(p, y, 10), "test", before=calibration_bins(p ** 2, y, 10))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
