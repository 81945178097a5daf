"""Statistics behind the drift report: pure functions over counts and samples (numpy + scipy, no Lightning).

Conventions used throughout:

* A *difference* is always ``b - a``: cohort ``b`` (the later one) relative to cohort ``a`` (the baseline).
* Intervals are two-sided at ``confidence`` (default 0.95).
* Proportions come from stored counts, so every statistic can be recomputed from the cohort store.

Choices, with their reasons:

* Proportions (accuracy, precision, recall, gate-failure rate): Wilson score interval per cohort, Newcombe's hybrid
  score interval (method 10 of Newcombe 1998) for the difference, and the pooled two-proportion z-test for the
  p-value (identical to Pearson's chi-square test on the 2x2 table without continuity correction).
* ECE: computed from the per-bin calibration counts (``count``, ``sum_prob``, ``sum_pos``). Its interval and
  p-value come from a seeded parametric bootstrap over those counts (bin occupancy ~ multinomial, positives within
  a bin ~ binomial at the bin's observed rate, mean confidence of a bin kept), because ECE has no simple analytic
  sampling distribution. ECE's upward bias grows as the validation set shrinks, so the difference of two cohorts is
  tested on *excess* ECE (ECE minus the ECE a perfectly calibrated model shows with the same bins, by consistency
  resampling) with a normal interval whose standard error comes from the bootstrap. A single cohort's interval is
  the bootstrap percentile interval re-centred on its estimate.
* Multiple comparisons: Holm's step-down method (controls the family-wise error rate under any dependence, which
  matters because the tests of one cohort pair share data).
* Sample-level helpers (PSI over reference-quantile bins, KS, Jensen-Shannon on samples) are kept for callers of
  this module; the report's per-column tests over whole training splits live in :mod:`nethical.drift.columns`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as _sps
from scipy.spatial.distance import jensenshannon as _jensenshannon

from nethical.metrics import CalibrationBins
from nethical.metrics import ece_from_bins as metric_ece_from_bins

PSI_EPS = 1e-4


@dataclass(frozen=True)
class ProportionComparison:
    """Comparison of two proportions ``k_a/n_a`` (baseline) and ``k_b/n_b``.

    Attributes:
        value_a: ``k_a / n_a`` (``nan`` when ``n_a == 0``).
        value_b: ``k_b / n_b``.
        difference: ``value_b - value_a``.
        ci: Newcombe hybrid score interval of the difference.
        p_value: two-sided pooled two-proportion z-test.
    """

    value_a: float
    value_b: float
    difference: float
    ci: tuple[float, float]
    p_value: float


@dataclass(frozen=True)
class EceComparison:
    """Comparison of the ECE of two cohorts (``b - a``) with a bootstrap interval and p-value.

    ``difference`` is the raw ``ece_b - ece_a``; ``difference_bias_corrected`` is the difference of the excess ECEs
    (ECE minus what a perfectly calibrated model shows at the same size), the centre of ``ci``; ``p_value`` tests
    it (see :func:`compare_ece`).
    """

    value_a: float
    value_b: float
    difference: float
    difference_bias_corrected: float
    ci: tuple[float, float]
    p_value: float
    n_boot: int


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one numeric feature between a reference and a current sample."""

    psi: float
    ks_statistic: float
    ks_p_value: float
    js_distance: float
    n_reference: int
    n_current: int


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be within (0, 1), e.g. 0.95.")
    return float(_sps.norm.ppf(0.5 + confidence / 2.0))


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"counts k={k}, n={n} must satisfy 0 <= k <= n.")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``k / n``.

    Args:
        k: successes.
        n: trials; ``n == 0`` gives the uninformative ``(0.0, 1.0)``.
        confidence: two-sided confidence level.

    Returns:
        ``(lower, upper)``.

    Example:
        >>> [round(x, 4) for x in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    _check_counts(k, n)
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(k_a: int, n_a: int, k_b: int, n_b: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for ``k_b/n_b - k_a/n_a``.

    Example:
        Newcombe (1998), example (a): 56/70 vs 48/80 gives 0.0524 to 0.3339 for ``56/70 - 48/80``.

        >>> [round(x, 4) for x in newcombe_interval(48, 80, 56, 70)]
        [0.0524, 0.3339]
    """
    _check_counts(k_a, n_a)
    _check_counts(k_b, n_b)
    if n_a == 0 or n_b == 0:
        return (-1.0, 1.0)
    p_a, p_b = k_a / n_a, k_b / n_b
    l_a, u_a = wilson_interval(k_a, n_a, confidence)
    l_b, u_b = wilson_interval(k_b, n_b, confidence)
    d = p_b - p_a
    lower = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    upper = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return (max(-1.0, lower), min(1.0, upper))


def two_proportion_p_value(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (equal to Pearson's chi-square without correction).

    Returns 1.0 when either sample is empty or the pooled proportion is 0 or 1 (no evidence of a difference).
    """
    _check_counts(k_a, n_a)
    _check_counts(k_b, n_b)
    if n_a == 0 or n_b == 0:
        return 1.0
    pooled = (k_a + k_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0.0:
        return 1.0
    z = (k_b / n_b - k_a / n_a) / se
    return float(min(1.0, 2.0 * _sps.norm.sf(abs(z))))


def compare_proportions(k_a: int, n_a: int, k_b: int, n_b: int, confidence: float = 0.95) -> ProportionComparison:
    """Difference ``k_b/n_b - k_a/n_a`` with its Newcombe interval and z-test p-value."""
    value_a = k_a / n_a if n_a else float("nan")
    value_b = k_b / n_b if n_b else float("nan")
    diff = value_b - value_a if n_a and n_b else float("nan")
    return ProportionComparison(
        value_a=value_a,
        value_b=value_b,
        difference=diff,
        ci=newcombe_interval(k_a, n_a, k_b, n_b, confidence),
        p_value=two_proportion_p_value(k_a, n_a, k_b, n_b),
    )


def _bins_arrays(bins: Mapping[str, Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = np.asarray(bins["count"], dtype=np.float64)
    sum_prob = np.asarray(bins["sum_prob"], dtype=np.float64)
    sum_pos = np.asarray(bins["sum_pos"], dtype=np.float64)
    if not (count.shape == sum_prob.shape == sum_pos.shape) or count.ndim != 1:
        raise ValueError(
            f"calibration bins must have equal-length 'count', 'sum_prob' and 'sum_pos' lists; got lengths "
            f"{count.size}, {sum_prob.size}, {sum_pos.size}."
        )
    if np.any(count < 0) or np.any(sum_pos < 0) or np.any(sum_pos > count):
        raise ValueError("calibration bins must satisfy 0 <= sum_pos <= count in every bin.")
    return count, sum_prob, sum_pos


def ece_from_bins(bins: Mapping[str, Sequence[float]]) -> float:
    """Expected calibration error from per-bin counts: ``sum_b |sum_pos_b - sum_prob_b| / N``.

    The one definition in :mod:`nethical.metrics` (the value the gate decides on); this wrapper validates the
    mapping and returns ``nan`` rather than 0 for an empty input.

    Args:
        bins: mapping with ``count`` (examples per bin), ``sum_prob`` (sum of predicted P(y=1) per bin) and
            ``sum_pos`` (positives per bin).

    Returns:
        ECE in ``[0, 1]``; ``nan`` when there are no examples.
    """
    count, sum_prob, sum_pos = _bins_arrays(bins)
    if count.sum() == 0:
        return float("nan")
    return metric_ece_from_bins(CalibrationBins(count=count.astype(np.int64), sum_prob=sum_prob,
                                                sum_pos=np.rint(sum_pos).astype(np.int64)))


def _bootstrap_ece(bins: Mapping[str, Sequence[float]], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    count, sum_prob, sum_pos = _bins_arrays(bins)
    total = int(count.sum())
    if total == 0:
        return np.full(n_boot, np.nan)
    occupancy = count / total
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.where(count > 0, sum_prob / np.maximum(count, 1), 0.0)
        pos_rate = np.where(count > 0, sum_pos / np.maximum(count, 1), 0.0)
    boot_counts = rng.multinomial(total, occupancy, size=n_boot)  # (n_boot, n_bins)
    boot_pos = rng.binomial(boot_counts, np.clip(pos_rate, 0.0, 1.0))
    return np.abs(boot_pos - boot_counts * mean_prob).sum(axis=1) / total


def ece_interval(
    bins: Mapping[str, Sequence[float]], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Seeded bootstrap interval for the ECE of one cohort, re-centred on the observed ECE.

    ECE is biased upwards (it sums absolute values), so the raw percentile interval often lies above the estimate.
    The bootstrap replicates are shifted by their mean bias (``mean(ece*) - ece``) before taking percentiles, and the
    interval is clipped to ``[0, 1]`` and widened to contain the estimate.
    """
    _z(confidence)
    ece = ece_from_bins(bins)
    boot = _bootstrap_ece(bins, n_boot, np.random.default_rng(seed))
    if math.isnan(ece):
        return (0.0, 1.0)
    alpha = 1.0 - confidence
    shifted = boot - (boot.mean() - ece)
    lo, hi = np.quantile(shifted, [alpha / 2, 1 - alpha / 2])
    return (float(max(0.0, min(lo, ece))), float(min(1.0, max(hi, ece))))


def _null_ece(bins: Mapping[str, Sequence[float]], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """ECE of a perfectly calibrated model with the same bins (consistency resampling, Broecker & Smith 2007)."""
    count, sum_prob, _ = _bins_arrays(bins)
    total = count.sum()
    mean_prob = np.where(count > 0, sum_prob / np.maximum(count, 1), 0.0)
    pos = rng.binomial(count.astype(np.int64), np.clip(mean_prob, 0.0, 1.0), size=(n_boot, count.size))
    return np.abs(pos - count * mean_prob).sum(axis=1) / total


def compare_ece(
    bins_a: Mapping[str, Sequence[float]],
    bins_b: Mapping[str, Sequence[float]],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> EceComparison:
    """ECE difference ``b - a`` with a size-bias-corrected interval and p-value from a seeded bootstrap.

    ECE is biased upwards by sampling noise, and more so for a small validation set: a perfectly calibrated model
    scored on 60 examples shows an ECE near 0.1. Comparing raw ECEs would flag validation size as drift. So each
    cohort's *excess* ECE is its ECE minus the mean ECE a perfectly calibrated model with the same bins would show
    (consistency resampling); the difference of excess ECEs is tested with a normal interval whose standard error
    comes from a parametric bootstrap of each cohort's ECE (bin occupancy ~ multinomial, positives per bin ~
    binomial at the observed rate). ``difference`` stays the raw ``ece_b - ece_a``.

    Args:
        bins_a: calibration bins of the baseline cohort (see :func:`ece_from_bins`).
        bins_b: calibration bins of the compared cohort.
        confidence: two-sided confidence level of the interval.
        n_boot: bootstrap replicates per cohort.
        seed: seed; the same inputs and seed give the same result (identical cohorts give exactly 0).
    """
    return compare_ece_summaries(
        ece_summary(bins_a, n_boot, seed), ece_summary(bins_b, n_boot, seed), confidence, n_boot
    )


def ece_summary(bins: Mapping[str, Sequence[float]], n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(ece, excess_ece, bootstrap_variance)`` of one cohort, the inputs of :func:`compare_ece_summaries`.

    ``excess_ece`` is the ECE minus the mean ECE of a perfectly calibrated model with the same bins.
    """
    ece = ece_from_bins(bins)
    if math.isnan(ece):
        return (ece, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    null_mean = float(_null_ece(bins, n_boot, rng).mean())
    boot = _bootstrap_ece(bins, n_boot, rng)
    return (ece, ece - null_mean, float(boot.var(ddof=1)))


def compare_ece_summaries(
    summary_a: tuple[float, float, float], summary_b: tuple[float, float, float], confidence: float = 0.95,
    n_boot: int = 2000,
) -> EceComparison:
    """:func:`compare_ece` from two :func:`ece_summary` results (lets a report compute each cohort once)."""
    z = _z(confidence)
    (ece_a, excess_a, var_a), (ece_b, excess_b, var_b) = summary_a, summary_b
    if math.isnan(ece_a) or math.isnan(ece_b):
        return EceComparison(ece_a, ece_b, float("nan"), float("nan"), (-1.0, 1.0), 1.0, n_boot)
    corrected = excess_b - excess_a
    se = math.sqrt(var_a + var_b)
    if se == 0.0:
        p_value = 1.0 if corrected == 0.0 else 0.0
    else:
        p_value = float(min(1.0, 2.0 * _sps.norm.sf(abs(corrected) / se)))
    ci = (corrected - z * se, corrected + z * se)
    return EceComparison(ece_a, ece_b, ece_b - ece_a, corrected, (float(ci[0]), float(ci[1])), p_value, n_boot)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values (family-wise error rate), in the input order.

    Example:
        >>> holm_adjust([0.01, 0.04, 0.03, 0.005])
        [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return [float(f"{float(x):.15g}") for x in adjusted]  # 15 significant digits: tiny p-values stay > 0


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[np.isfinite(arr)]


def quantile_bin_proportions(
    reference: Sequence[float], current: Sequence[float], n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Share of each sample in bins cut at the reference's quantiles (ties merged, outer bins open-ended)."""
    if n_bins < 2:
        raise ValueError(f"n_bins={n_bins} must be at least 2.")
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("both samples need at least one finite value.")
    interior = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    ref_idx = np.searchsorted(interior, ref, side="right")
    cur_idx = np.searchsorted(interior, cur, side="right")
    k = interior.size + 1
    ref_p = np.bincount(ref_idx, minlength=k) / ref.size
    cur_p = np.bincount(cur_idx, minlength=k) / cur.size
    return ref_p, cur_p


def psi(reference: Sequence[float], current: Sequence[float], n_bins: int = 10, eps: float = PSI_EPS) -> float:
    """Population stability index ``sum (cur - ref) * ln(cur / ref)`` over quantile bins of ``reference``.

    Empty bins are floored at ``eps`` (Evidently uses 0.0001) so the log stays finite. Non-finite values are ignored.
    """
    ref_p, cur_p = quantile_bin_proportions(reference, current, n_bins)
    ref_p = np.maximum(ref_p, eps)
    cur_p = np.maximum(cur_p, eps)
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


def ks_test(reference: Sequence[float], current: Sequence[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: ``(statistic, two-sided p-value)`` (scipy's ``ks_2samp``)."""
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("both samples need at least one finite value.")
    # exact for small samples, asymptotic otherwise: the exact method's fallback warning never reaches the output
    result = _sps.ks_2samp(ref, cur, method="exact" if ref.size * cur.size <= 10_000 else "asymp")
    return float(result.statistic), float(result.pvalue)


def js_distance(reference: Sequence[float], current: Sequence[float], n_bins: int = 10) -> float:
    """Jensen-Shannon distance (base 2, in ``[0, 1]``) between the samples' quantile-bin distributions."""
    ref_p, cur_p = quantile_bin_proportions(reference, current, n_bins)
    return float(_jensenshannon(ref_p, cur_p, base=2.0))


def feature_drift(reference: Sequence[float], current: Sequence[float], n_bins: int = 10) -> FeatureDrift:
    """PSI, KS and Jensen-Shannon for one feature (non-finite values ignored; raises if either sample is empty)."""
    ref, cur = _finite(reference), _finite(current)
    ks_stat, ks_p = ks_test(ref, cur)
    ref_p, cur_p = quantile_bin_proportions(ref, cur, n_bins)
    floor_ref, floor_cur = np.maximum(ref_p, PSI_EPS), np.maximum(cur_p, PSI_EPS)
    return FeatureDrift(
        psi=float(np.sum((floor_cur - floor_ref) * np.log(floor_cur / floor_ref))),
        ks_statistic=ks_stat,
        ks_p_value=ks_p,
        js_distance=float(_jensenshannon(ref_p, cur_p, base=2.0)),
        n_reference=int(ref.size),
        n_current=int(cur.size),
    )
