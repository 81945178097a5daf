import numpy as np
import pytest

from nethical.data.splits import split_indices
from nethical.data.synthetic import generate, risk_features
from nethical.exceptions import ConfigError, DataError
from nethical.promotion import GateThresholds, gate_decision


def test_temporal_split_keeps_time_order_and_carves_calibration_from_train():
    s = split_indices(np.zeros(100) + np.arange(100) % 2, "temporal", 0.8, calibration_ratio=0.25)
    assert s.train.tolist() == list(range(60))
    assert s.calibration.tolist() == list(range(60, 80))
    assert s.val.tolist() == list(range(80, 100))


@pytest.mark.parametrize("strategy", ["random", "stratified"])
def test_seeded_splits_are_deterministic_and_disjoint(strategy):
    labels = (np.arange(1000) % 5 == 0).astype(int)
    a = split_indices(labels, strategy, 0.7, 0.1, seed=3)
    b = split_indices(labels, strategy, 0.7, 0.1, seed=3)
    c = split_indices(labels, strategy, 0.7, 0.1, seed=4)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("train", "val", "calibration"))
    assert not np.array_equal(a.val, c.val)
    union = np.concatenate([a.train, a.val, a.calibration])
    assert np.unique(union).size == union.size == 1000


def test_stratified_split_keeps_class_balance():
    labels = (np.arange(1000) % 10 == 0).astype(int)  # 10% positives
    s = split_indices(labels, "stratified", 0.8, seed=0)
    assert labels[s.val].mean() == pytest.approx(0.1, abs=0.005)
    assert labels[s.train].mean() == pytest.approx(0.1, abs=0.005)


def test_split_errors_name_the_problem():
    with pytest.raises(ConfigError, match="split_strategy='weekly'"):
        split_indices(np.zeros(100), "weekly")
    with pytest.raises(ConfigError, match="train_ratio=1.0"):
        split_indices(np.zeros(100), "random", 1.0)
    with pytest.raises(DataError, match="validation split"):
        split_indices(np.zeros(40), "temporal", 0.9)


def test_synthetic_risk_data_is_seeded_and_noise_is_documented_rate():
    a, b = risk_features(2000, seed=5), risk_features(2000, seed=5)
    assert np.array_equal(a.features, b.features) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(risk_features(2000, seed=6).labels, a.labels)
    clean = risk_features(20000, seed=1, label_noise=0.0).labels
    noisy = risk_features(20000, seed=1, label_noise=0.2).labels
    assert (clean != noisy).mean() == pytest.approx(0.2, abs=0.01)  # flips happen at the documented rate
    data = generate("risk", 100, seed=1)
    assert data.kind == "tabular" and data.provenance["source"] == "synthetic" and len(data) == 100


@pytest.mark.parametrize(
    "acc, ece, expected",
    [(0.90, 0.05, True), (0.85, 0.08, True), (0.849, 0.05, False), (0.90, 0.081, False), (float("nan"), 0.0, False)],
)
def test_gate_decision(acc, ece, expected):
    promoted, reasons = gate_decision({"accuracy": acc, "ece": ece}, GateThresholds())
    assert promoted is expected
    assert len(reasons) == 2
    if not expected and acc == 0.849:
        assert "low_accuracy" in reasons[0]
    if not expected and ece == 0.081:
        assert "calibration_error" in reasons[1]


@pytest.mark.parametrize("kwargs", [{"max_ece": 1.5}, {"min_accuracy": -0.1}, {"max_ece": float("nan")}])
def test_thresholds_outside_unit_interval_are_rejected(kwargs):
    with pytest.raises(ConfigError, match="must be within \\[0, 1\\]"):
        GateThresholds(**kwargs)
