"""Confidence intervals for the gate's metrics and paired tests for champion/challenger, as plain numpy functions.

Two kinds of interval, both at confidence level ``1 - alpha`` (default 95%):

* **Proportions** — accuracy, precision, recall and the majority-class rate are binomial proportions ``k / n``;
  their interval is the Wilson score interval (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``),
  which keeps its coverage near the stated level for small ``n`` and rates near 0 or 1, where the normal
  approximation fails.
* **Everything else** — balanced accuracy, F1, AUROC, Brier score and ECE — gets a seeded percentile bootstrap:
  ``n_bootstrap`` resamples of the validation rows drawn with replacement (the same seed gives the same interval),
  the metric recomputed on each, and the ``alpha/2`` and ``1 - alpha/2`` percentiles of the results.

A resample is held as a row of multiplicities ``w`` (how often each row was drawn), so every metric is a weighted
sum over the rows and a whole block of resamples is one matrix product. The paired tests reuse the same resamples
for two models scored on the same rows: the champion/challenger comparison uses McNemar's exact test on the rows
where exactly one of the two models is right (accuracy) and the paired bootstrap of the ECE difference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from nethical.exceptions import ConfigError
from nethical.metrics import bin_indices

DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP = 1000
MIN_BOOTSTRAP = 200  # fewer resamples leave the 2.5% / 97.5% percentiles resting on a handful of draws
DEFAULT_BOOTSTRAP_SEED = 0
_BLOCK = 100  # resamples per matrix product at most
_BLOCK_CELLS = 2_000_000  # and at most this many (resample, row) cells per block (16 MB of float64), for large splits

WILSON = "wilson"
BOOTSTRAP = "bootstrap"


@dataclass(frozen=True)
class Interval:
    """A point value with its two-sided interval and how the interval was computed."""

    value: Optional[float]
    low: Optional[float]
    high: Optional[float]
    method: str

    def to_dict(self) -> Dict[str, Optional[float]]:
        return asdict(self)


def check_confidence(confidence: float) -> float:
    if not isinstance(confidence, (int, float)) or math.isnan(confidence) or not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence={confidence!r} must be strictly between 0 and 1 (--confidence-level), e.g. 0.95.")
    return float(confidence)


def check_bootstrap(n_bootstrap: int) -> int:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < MIN_BOOTSTRAP:
        raise ConfigError(f"n_bootstrap={n_bootstrap!r} must be a whole number >= {MIN_BOOTSTRAP} (--bootstrap-samples), "
                          f"e.g. {DEFAULT_BOOTSTRAP}.")
    return int(n_bootstrap)


def _clean(x: float) -> Optional[float]:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def wilson(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Tuple[float, float]:
    """Wilson score interval of the proportion ``k / n`` (NaNs when ``n == 0``)."""
    from scipy.stats import binomtest

    if n <= 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def proportion(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    low, high = wilson(k, n, confidence)
    return Interval(_clean(k / n) if n else None, _clean(low), _clean(high), WILSON)


def resample_weights(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of bootstrap multiplicities, shape ``(block, n)`` float64: row ``b`` says how often each row was drawn."""
    rng = np.random.default_rng(seed)
    done = 0
    block = max(1, min(_BLOCK, _BLOCK_CELLS // max(n, 1)))
    while done < n_bootstrap:
        b = min(block, n_bootstrap - done)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        w = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        done += b
        yield w


# ---------------------------------------------------------------------- weighted metrics over a block of resamples
class _Rows:
    """Per-row quantities of one model's predictions that every weighted metric needs."""

    def __init__(self, probs: np.ndarray, labels: np.ndarray, n_bins: int, threshold: float = 0.5) -> None:
        self.p = np.asarray(probs, dtype=np.float64).ravel()
        self.y = np.asarray(labels).ravel().astype(bool)
        pred = self.p >= threshold
        self.correct = (pred == self.y).astype(np.float64)
        self.tp = (pred & self.y).astype(np.float64)
        self.fp = (pred & ~self.y).astype(np.float64)
        self.fn = (~pred & self.y).astype(np.float64)
        self.tn = (~pred & ~self.y).astype(np.float64)
        self.sq = (self.p - self.y) ** 2
        idx = bin_indices(self.p, n_bins)
        onehot = np.zeros((self.p.size, n_bins))
        onehot[np.arange(self.p.size), idx] = 1.0
        self.bin_gap = onehot * (self.p - self.y)[:, None]  # per row: its contribution to (sum_prob - sum_pos) of its bin
        order = np.argsort(self.p, kind="mergesort")
        sp = self.p[order]
        self.order = order
        # start and end (exclusive) of the run of equal scores each sorted position belongs to (ties count 1/2)
        starts = np.r_[0, np.flatnonzero(np.diff(sp)) + 1]
        ends = np.r_[starts[1:], sp.size]
        run = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, sp.size]))
        self.run_start, self.run_end = starts[run], ends[run]
        self.y_sorted = self.y[order]


def _block_metrics(r: _Rows, w: np.ndarray) -> Dict[str, np.ndarray]:
    n = w.sum(axis=1)
    tp, fp, fn, tn = w @ r.tp, w @ r.fp, w @ r.fn, w @ r.tn
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "accuracy": (w @ r.correct) / n,
            "balanced_accuracy": 0.5 * (tp / (tp + fn) + tn / (tn + fp)),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
            "brier": (w @ r.sq) / n,
            "ece": np.abs(w @ r.bin_gap).sum(axis=1) / n,
        }
        ws = w[:, r.order]
        neg = ws * (~r.y_sorted)
        cum = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(neg, axis=1)], axis=1)
        below = cum[:, r.run_start]
        tied = cum[:, r.run_end] - below
        pos_w = ws * r.y_sorted
        n_pos, n_neg = pos_w.sum(axis=1), neg.sum(axis=1)
        out["auroc"] = (pos_w * (below + 0.5 * tied)).sum(axis=1) / (n_pos * n_neg)
    return out


def _percentiles(values: np.ndarray, confidence: float) -> Tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - confidence
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


BOOTSTRAPPED = ("balanced_accuracy", "f1", "auroc", "brier", "ece")


def metric_intervals(probs: np.ndarray, labels: np.ndarray, point: Dict[str, float], n_bins: int = 10,
                     confidence: float = DEFAULT_CONFIDENCE, n_bootstrap: int = DEFAULT_BOOTSTRAP,
                     seed: int = DEFAULT_BOOTSTRAP_SEED, threshold: float = 0.5) -> Dict[str, Dict[str, Optional[float]]]:
    """Every gate metric with its interval: ``{"accuracy": {"value", "low", "high", "method"}, ...}``.

    ``point`` holds the point values (from :func:`nethical.metrics.binary_metrics`); the majority-class rate,
    accuracy, precision and recall get Wilson intervals, the rest a seeded percentile bootstrap.
    """
    confidence, n_bootstrap = check_confidence(confidence), check_bootstrap(n_bootstrap)
    probs = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    n = int(y.size)
    pred = probs >= threshold
    n_pos = int(y.sum())
    tp = int((pred & y).sum())
    correct = int((pred == y).sum())
    out = {
        "majority_rate": proportion(max(n_pos, n - n_pos), n, confidence).to_dict(),
        "accuracy": proportion(correct, n, confidence).to_dict(),
        "precision": proportion(tp, int(pred.sum()), confidence).to_dict(),
        "recall": proportion(tp, n_pos, confidence).to_dict(),
    }
    boot = {name: [] for name in BOOTSTRAPPED}
    rows = _Rows(probs, y, n_bins, threshold)
    for w in resample_weights(n, n_bootstrap, seed):
        block = _block_metrics(rows, w)
        for name in BOOTSTRAPPED:
            boot[name].append(block[name])
    for name in BOOTSTRAPPED:
        low, high = _percentiles(np.concatenate(boot[name]), confidence)
        out[name] = Interval(_clean(point.get(name, float("nan"))), _clean(low), _clean(high), BOOTSTRAP).to_dict()
    return out


# ---------------------------------------------------------------------- paired comparison of two models
@dataclass(frozen=True)
class PairedResult:
    """Challenger minus champion on the same rows: accuracy (McNemar exact) and ECE reduction (paired bootstrap)."""

    rows: int
    accuracy_gain: float
    champion_only_right: int   # McNemar's b: rows the champion gets right and the challenger wrong
    challenger_only_right: int  # McNemar's c
    mcnemar_p: float
    ece_reduction: float        # champion ECE - challenger ECE (> 0: the challenger is better calibrated)
    ece_reduction_low: float
    ece_reduction_high: float
    confidence: float

    def to_dict(self) -> Dict[str, float]:
        return {k: (round(v, 8) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value (a binomial test of ``c`` successes in ``b + c`` trials at 1/2); 1 when b+c=0."""
    from scipy.stats import binomtest

    if b + c == 0:
        return 1.0
    return float(binomtest(int(c), int(b + c), 0.5).pvalue)


def paired_compare(challenger_probs: np.ndarray, champion_probs: np.ndarray, labels: np.ndarray, n_bins: int = 10,
                   confidence: float = DEFAULT_CONFIDENCE, n_bootstrap: int = DEFAULT_BOOTSTRAP,
                   seed: int = DEFAULT_BOOTSTRAP_SEED, threshold: float = 0.5) -> PairedResult:
    """Compare two models scored on the same rows (see the module docstring)."""
    from nethical.metrics import expected_calibration_error

    confidence, n_bootstrap = check_confidence(confidence), check_bootstrap(n_bootstrap)
    y = np.asarray(labels).ravel().astype(bool)
    a = np.asarray(challenger_probs, dtype=np.float64).ravel()
    c_ = np.asarray(champion_probs, dtype=np.float64).ravel()
    if not (a.shape == c_.shape == y.shape):
        raise ValueError(f"paired_compare: shapes differ ({a.shape}, {c_.shape}, {y.shape}).")
    right_new, right_old = (a >= threshold) == y, (c_ >= threshold) == y
    b = int((right_old & ~right_new).sum())
    c = int((right_new & ~right_old).sum())
    new_rows, old_rows = _Rows(a, y, n_bins, threshold), _Rows(c_, y, n_bins, threshold)
    diffs = []
    for w in resample_weights(y.size, n_bootstrap, seed):
        n = w.sum(axis=1)
        diffs.append(np.abs(w @ old_rows.bin_gap).sum(axis=1) / n - np.abs(w @ new_rows.bin_gap).sum(axis=1) / n)
    low, high = _percentiles(np.concatenate(diffs), confidence)
    return PairedResult(
        rows=int(y.size),
        accuracy_gain=float(right_new.mean() - right_old.mean()) if y.size else 0.0,
        champion_only_right=b, challenger_only_right=c, mcnemar_p=mcnemar_exact(b, c),
        ece_reduction=expected_calibration_error(c_, y, n_bins) - expected_calibration_error(a, y, n_bins),
        ece_reduction_low=low, ece_reduction_high=high, confidence=confidence,
    )


def format_vs(value: float, threshold: float, min_digits: int = 4, max_digits: int = 10) -> str:
    """``value`` with enough decimals that it visibly sits on its true side of ``threshold``
    (``0.849956`` against ``0.85`` prints as ``0.84996``, not ``0.8500``)."""
    if value is None or not math.isfinite(value):
        return "nan"
    if value == threshold or math.isclose(value, threshold, rel_tol=0.0, abs_tol=1e-12):
        return f"{value:.{min_digits}f}"
    for d in range(min_digits, max_digits + 1):
        text = f"{value:.{d}f}"
        shown = float(text)
        if (shown < threshold) == (value < threshold) and (shown > threshold) == (value > threshold):
            return text
    return repr(float(value))

