"""Binary-classification metrics as plain numpy functions.

The torchmetrics classes in :mod:`lightning_modules.components.calibration` wrap the calibration maths here, so the
numbers logged during training and the numbers the promotion gate decides on come from one definition.

Expected calibration error (ECE) here is the l1 binary calibration error of P(y=1): predictions are put into
``n_bins`` equal-width bins ``[0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1]`` (the last bin is closed, so p = 1 lands in
it and p = 0 lands in the first), and

    ECE = sum_b (count_b / N) * | mean_prob_b - positive_rate_b |

Empty bins contribute nothing. Bin index is ``min(floor(p * n), n - 1)``, computed exactly for p = 0 and p = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np


@dataclass(frozen=True)
class CalibrationBins:
    """Per-bin sufficient statistics: enough to recompute ECE or draw a reliability diagram later."""

    count: np.ndarray  # int64, shape (n_bins,)
    sum_prob: np.ndarray  # float64, shape (n_bins,)
    sum_pos: np.ndarray  # int64, shape (n_bins,)

    @property
    def n_bins(self) -> int:
        return int(self.count.shape[0])

    def to_dict(self) -> dict:
        return {
            "n_bins": self.n_bins,
            "count": [int(c) for c in self.count],
            "sum_prob": [float(s) for s in self.sum_prob],
            "sum_pos": [int(s) for s in self.sum_pos],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "CalibrationBins":
        return cls(
            count=np.asarray(data["count"], dtype=np.int64),
            sum_prob=np.asarray(data["sum_prob"], dtype=np.float64),
            sum_pos=np.asarray(data["sum_pos"], dtype=np.int64),
        )


def bin_indices(probs: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin index of each probability; p = 1 goes to the last bin, p = 0 to the first."""
    if n_bins < 1:
        raise ValueError(f"n_bins={n_bins} must be >= 1.")
    probs = np.asarray(probs, dtype=np.float64)
    return np.clip(np.floor(probs * n_bins).astype(np.int64), 0, n_bins - 1)


def calibration_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> CalibrationBins:
    """Count, summed probability and positives per equal-width bin of P(y=1)."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(np.int64)
    idx = bin_indices(probs, n_bins)
    return CalibrationBins(
        count=np.bincount(idx, minlength=n_bins).astype(np.int64),
        sum_prob=np.bincount(idx, weights=probs, minlength=n_bins),
        sum_pos=np.bincount(idx, weights=labels, minlength=n_bins).astype(np.int64),
    )


def ece_from_bins(bins: CalibrationBins) -> float:
    """l1 expected calibration error from per-bin sums (0.0 for an empty input)."""
    total = bins.count.sum()
    if total == 0:
        return 0.0
    nonempty = bins.count > 0
    gap = np.abs(bins.sum_prob[nonempty] - bins.sum_pos[nonempty]) / bins.count[nonempty]
    return float(np.sum(gap * bins.count[nonempty]) / total)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """l1 binary ECE of P(y=1) over ``n_bins`` equal-width bins (see the module docstring)."""
    return ece_from_bins(calibration_bins(probs, labels, n_bins))


def confusion_counts(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> Dict[str, int]:
    """tp/fp/tn/fn at ``threshold`` (a prediction is positive when p >= threshold)."""
    pred = np.asarray(probs).ravel() >= threshold
    true = np.asarray(labels).ravel().astype(bool)
    return {
        "tp": int(np.sum(pred & true)),
        "fp": int(np.sum(pred & ~true)),
        "tn": int(np.sum(~pred & ~true)),
        "fn": int(np.sum(~pred & true)),
        "n": int(true.size),
    }


def auroc(probs: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN when only one class is present."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(probs, kind="mergesort")
    sorted_p = probs[order]
    ranks = np.empty_like(probs)
    # average ranks over ties
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10, threshold: float = 0.5) -> Dict[str, float]:
    """Accuracy, balanced accuracy, precision, recall, F1, AUROC, Brier score and ECE of P(y=1) predictions, plus
    the majority-class rate of ``labels`` (the accuracy of always predicting the commoner class); 0.0 where a ratio is
    undefined."""
    c = confusion_counts(probs, labels, threshold)
    n = max(c["n"], 1)
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(np.float64)
    n_pos = c["tp"] + c["fn"]
    tpr = c["tp"] / n_pos if n_pos else 0.0
    tnr = c["tn"] / (c["tn"] + c["fp"]) if c["tn"] + c["fp"] else 0.0
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (c["tp"] + c["tn"]) / n,
        "majority_rate": max(n_pos, c["n"] - n_pos) / n,
        "balanced_accuracy": 0.5 * (tpr + tnr),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auroc": auroc(probs, labels),
        "brier": float(np.mean((p - y) ** 2)) if y.size else 0.0,
        "ece": expected_calibration_error(probs, labels, n_bins),
    }
