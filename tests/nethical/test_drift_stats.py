"""Known-value tests of nethical.drift.stats (textbook examples and independent formulas)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from nethical.drift import stats


# Newcombe (1998), Statistics in Medicine 17:857-872, Table I (Wilson score, method 3) and Table II (method 10).
@pytest.mark.parametrize(
    "k, n, expected",
    [(81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)), (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718)),
     (0, 10, (0.0, 0.2775))],
)
def test_wilson_matches_newcombe_table(k, n, expected):
    lo, hi = stats.wilson_interval(k, n)
    assert (round(lo, 4), round(hi, 4)) == expected


@pytest.mark.parametrize(
    "a, b, expected",
    [((48, 80), (56, 70), (0.0524, 0.3339)),  # example (a): 56/70 - 48/80
     ((3, 10), (9, 10), (0.1705, 0.8090)),  # example (b)
     ((2, 7), (6, 7), (0.0582, 0.8062)),  # example (c)
     ((0, 29), (5, 56), (-0.0381, 0.1926)),  # example (d)
     ((0, 20), (0, 10), (-0.1611, 0.2775)),  # example (e)
     ((0, 10), (0, 10), (-0.2775, 0.2775)),  # example (f)
     ((0, 20), (10, 10), (0.6791, 1.0)),  # example (g)
     ((0, 10), (10, 10), (0.6075, 1.0))],  # example (h)
)
def test_newcombe_matches_paper_examples(a, b, expected):
    lo, hi = stats.newcombe_interval(a[0], a[1], b[0], b[1])
    assert (round(lo, 4), round(hi, 4)) == expected


@pytest.mark.parametrize("ka, na, kb, nb", [(45, 100, 60, 100), (900, 1000, 870, 1000), (3, 40, 12, 35)])
def test_two_proportion_p_equals_pearson_chi_square(ka, na, kb, nb):
    table = [[ka, na - ka], [kb, nb - kb]]
    expected = chi2_contingency(table, correction=False).pvalue
    assert stats.two_proportion_p_value(ka, na, kb, nb) == pytest.approx(expected, rel=1e-9)


def test_two_proportion_degenerate_cases_give_no_evidence():
    assert stats.two_proportion_p_value(0, 50, 0, 60) == 1.0
    assert stats.two_proportion_p_value(50, 50, 60, 60) == 1.0
    assert stats.two_proportion_p_value(0, 0, 3, 10) == 1.0
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"k=5, n=3"):
        stats.wilson_interval(5, 3)


def test_compare_proportions_direction_is_b_minus_a():
    c = stats.compare_proportions(90, 100, 60, 100)
    assert c.difference == pytest.approx(-0.3)
    assert c.ci[0] < -0.3 < c.ci[1] < 0
    assert c.p_value < 1e-5


def _bins_from(y, p, n_bins=10):
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return {
        "n_bins": n_bins,
        "count": np.bincount(idx, minlength=n_bins).tolist(),
        "sum_prob": np.bincount(idx, weights=p, minlength=n_bins).tolist(),
        "sum_pos": np.bincount(idx, weights=y, minlength=n_bins).astype(int).tolist(),
    }


def test_ece_from_bins_equals_weighted_gap_formula():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p ** 2).astype(int)
    bins = _bins_from(y, p)
    idx = np.minimum((p * 10).astype(int), 9)
    expected = sum(
        (idx == b).mean() * abs(y[idx == b].mean() - p[idx == b].mean()) for b in range(10) if (idx == b).any()
    )
    assert stats.ece_from_bins(bins) == pytest.approx(expected, abs=1e-12)
    assert math.isnan(stats.ece_from_bins({"count": [0, 0], "sum_prob": [0, 0], "sum_pos": [0, 0]}))


def test_ece_comparison_identical_cohorts_is_null_and_seeded():
    rng = np.random.default_rng(2)
    p = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < p).astype(int)
    bins = _bins_from(y, p)
    c1 = stats.compare_ece(bins, bins, seed=7)
    c2 = stats.compare_ece(bins, bins, seed=7)
    assert c1 == c2
    assert c1.difference == 0.0
    assert c1.difference_bias_corrected == 0.0
    assert c1.ci[0] < 0 < c1.ci[1]
    assert c1.p_value == 1.0


def test_ece_comparison_detects_miscalibration_and_interval_contains_estimate():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    over = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))  # overconfident, same ranking
    good, bad = _bins_from(y, p), _bins_from(y, over)
    c = stats.compare_ece(good, bad)
    assert c.difference > 0.1
    assert c.ci[0] > 0 and c.p_value < 0.01
    lo, hi = stats.ece_interval(good)
    assert lo <= stats.ece_from_bins(good) <= hi


def test_ece_difference_from_validation_size_alone_is_not_significant():
    rng = np.random.default_rng(4)
    p_big, p_small = rng.uniform(size=5000), rng.uniform(size=60)
    big = _bins_from((rng.uniform(size=5000) < p_big).astype(int), p_big)
    small = _bins_from((rng.uniform(size=60) < p_small).astype(int), p_small)
    c = stats.compare_ece(big, small)
    assert c.value_b > 5 * c.value_a  # 60 examples inflate ECE...
    assert c.difference_bias_corrected < c.difference / 2  # ...the excess-ECE correction removes most of it...
    assert c.p_value > 0.05  # ...and it is not called significant


def test_holm_known_values():
    assert stats.holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm_adjust([]) == []


def test_psi_textbook_value_and_identity():
    ref = np.repeat(np.arange(10.0), 100)  # deciles: one value per bin
    assert stats.psi(ref, ref) == 0.0
    cur = np.concatenate([np.repeat(np.arange(5.0), 150), np.repeat(np.arange(5.0, 10.0), 50)])
    ref_p = np.full(10, 0.1)
    cur_p = np.array([0.15] * 5 + [0.05] * 5)
    expected = float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))
    assert stats.psi(ref, cur) == pytest.approx(expected)
    assert expected == pytest.approx(0.25 * math.log(3))  # 5 * 0.05 * ln 1.5 + 5 * 0.05 * ln 2


def test_psi_constant_broken_feature_is_huge_and_ignores_nan():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=1000)
    assert stats.psi(ref, np.zeros(500)) > 1.0
    assert stats.psi(np.append(ref, np.nan), ref) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="finite"):
        stats.psi(ref, [np.nan])


def test_ks_and_js_match_scipy():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=300), rng.normal(0.5, 1, size=400)
    stat, p = stats.ks_test(a, b)
    ref = ks_2samp(a, b, method="asymp")  # 300 x 400 > 10,000: the asymptotic p-value, no exact-method warning
    assert (stat, p) == pytest.approx((ref.statistic, ref.pvalue))
    ref_p, cur_p = stats.quantile_bin_proportions(a, b)
    m = (ref_p + cur_p) / 2
    kl = lambda x, y: sum(xi * math.log2(xi / yi) for xi, yi in zip(x, y) if xi > 0)  # noqa: E731
    assert stats.js_distance(a, b) == pytest.approx(math.sqrt((kl(ref_p, m) + kl(cur_p, m)) / 2))
    assert stats.js_distance(a, a) == pytest.approx(0.0, abs=1e-7)
