import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from lightning_modules.components.calibration import BinaryECE
from nethical.metrics import auroc, bin_indices, binary_metrics, calibration_bins, expected_calibration_error


def test_ece_hand_computed():
    # bins of width 0.5: [0, 0.5) holds 0.2, 0.4 (labels 0, 1); [0.5, 1] holds 0.6, 1.0 (labels 1, 1)
    probs = np.array([0.2, 0.4, 0.6, 1.0])
    labels = np.array([0, 1, 1, 1])
    # bin0: mean p 0.3, rate 0.5 -> gap 0.2; bin1: mean p 0.8, rate 1.0 -> gap 0.2; weights 1/2 each
    assert expected_calibration_error(probs, labels, n_bins=2) == pytest.approx(0.2)


def test_p_zero_and_one_land_in_edge_bins_exactly():
    idx = bin_indices(np.array([0.0, 1.0, 0.1, 0.0999999, 0.9, 0.5]), 10)
    assert idx.tolist() == [0, 9, 1, 0, 9, 5]
    bins = calibration_bins(np.array([0.0, 1.0]), np.array([0, 1]), 10)
    assert bins.count.sum() == 2 and bins.count[0] == 1 and bins.count[9] == 1
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([0, 1]), 10) == 0.0
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([1, 0]), 10) == 1.0


def test_perfectly_calibrated_large_sample_has_small_ece():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(p, y, 10) < 0.01
    assert expected_calibration_error(np.clip(p + 0.2, 0, 1), y, 10) > 0.15


def test_torchmetrics_ece_matches_numpy_and_accumulates_over_batches():
    rng = np.random.default_rng(1)
    p = rng.random(1000)
    p[:5] = 1.0
    p[5:10] = 0.0
    y = (rng.random(1000) < 0.7 * p).astype(int)
    metric = BinaryECE(n_bins=15)
    for i in range(0, 1000, 128):
        metric.update(torch.tensor(p[i : i + 128]), torch.tensor(y[i : i + 128]))
    assert float(metric.compute()) == pytest.approx(expected_calibration_error(p, y, 15), abs=1e-6)
    assert metric.bins().count.tolist() == calibration_bins(p, y, 15).count.tolist()


def test_binary_metrics_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.6 * y + 0.5 * rng.random(500) - 0.1, 0, 1)
    m = binary_metrics(p, y)
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p))


def test_auroc_with_ties_matches_sklearn_and_is_nan_for_one_class():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.5, 0.5, 0.5, 0.9, 0.1, 0.1])
    assert auroc(p, y) == pytest.approx(roc_auc_score(y, p))
    assert np.isnan(auroc(np.array([0.2, 0.3]), np.array([1, 1])))
