"""Per-column drift tests on whole-split profiles: values against scipy, the issue's missed cases, precision."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as sps

from nethical.drift.columns import (
    MAX_EXACT_VALUES,
    SKETCH_QUANTILES,
    THRESHOLDS,
    compare_categorical,
    compare_numeric,
    compare_profiles,
    decide,
    merge_profiles,
    profile_categorical,
    profile_column,
    profile_numeric,
)
from nethical.drift.profile import normalize_profile, summarize_features
from nethical.drift.stats import holm_adjust


def status(test, alpha=0.05):
    return decide(test, test.p_value, test.nonfinite_p_value, alpha, THRESHOLDS)[0]


def test_mostly_constant_feature_is_flagged_now():
    # the example: PSI = JS = 0 before, because the quantile bins collapsed into one
    t = compare_numeric(profile_numeric([0] * 950 + [1] * 50), profile_numeric([1] * 1000))
    assert t.statistic == pytest.approx(0.95)
    assert t.effects["mass_shift"] == pytest.approx(0.95)
    assert t.effects["psi"] > 1.0 and t.effects["js"] > 0.5
    assert 0.0 < t.p_value < 1e-300  # tiny, but a float above zero
    assert status(t) == "drifted"


@pytest.mark.parametrize("seed", [0, 1])
def test_ks_on_exact_counts_equals_scipy_on_all_rows(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.poisson(14, 20000), rng.poisson(13.6, 15000)
    t = compare_numeric(profile_numeric(a), profile_numeric(b))
    ref = sps.ks_2samp(a, b, method="asymp")
    assert profile_numeric(a)["exact"] is True
    assert t.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert t.components["ks"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert t.p_value == pytest.approx(min(1.0, 2 * min(t.components["ks"], t.components["point_mass"])))
    assert t.effects["wasserstein_raw"] == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-9)


def test_sketch_keeps_ks_within_its_documented_precision():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(size=60000), rng.lognormal(0.03, 1.0, size=50000)
    pa = profile_numeric(a)
    assert pa["exact"] is False and len(pa["values"]) <= SKETCH_QUANTILES
    t = compare_numeric(pa, profile_numeric(b))
    assert abs(t.statistic - sps.ks_2samp(a, b, method="asymp").statistic) <= 2.0 / SKETCH_QUANTILES


def test_zero_inflation_change_is_a_point_mass_shift():
    rng = np.random.default_rng(4)
    a = np.where(rng.uniform(size=30000) < 0.54, 0.0, rng.lognormal(6, 2, 30000))
    b = np.where(rng.uniform(size=30000) < 0.42, 0.0, rng.lognormal(6, 2, 30000))
    t = compare_numeric(profile_numeric(a), profile_numeric(b))
    assert t.top_changes[0]["value"] == 0.0
    assert t.effects["mass_shift"] == pytest.approx(0.12, abs=0.015)
    assert status(t) == "drifted"


def test_same_distribution_on_large_samples_is_not_flagged():
    rng = np.random.default_rng(5)
    x = rng.normal(size=200000)
    t = compare_numeric(profile_numeric(x[:100000]), profile_numeric(x[100000:]))
    assert status(t) == "stable"
    assert max(t.effects["wasserstein"], t.effects["psi"], t.effects["mass_shift"]) < 0.02


def test_significant_but_tiny_shift_is_reported_as_such():
    rng = np.random.default_rng(6)
    t = compare_numeric(profile_numeric(rng.normal(size=300000)), profile_numeric(rng.normal(0.03, 1, 300000)))
    assert t.p_value < 1e-6
    state, reasons = decide(t, t.p_value, t.nonfinite_p_value, 0.05, THRESHOLDS)
    assert state == "significant_small" and "below its threshold" in reasons[0]


def test_categorical_test_covers_every_level_including_one_cohort_only():
    a = profile_categorical(["http"] * 600 + ["telnet"] * 18 + ["domain_u"] * 74 + ["x"] * 308)
    b = profile_categorical(["http"] * 600 + ["telnet"] * 72 + ["domain_u"] * 40 + ["new_level"] * 288)
    t = compare_categorical(a, b)
    table = np.array([[600, 74, 18, 308, 0], [600, 40, 72, 0, 288]])
    assert t.p_value == pytest.approx(sps.chi2_contingency(table, correction=False).pvalue)
    only = {c["value"]: c["only_in"] for c in t.top_changes}
    assert only["x"] == "a" and only["new_level"] == "b"
    assert status(t) == "drifted"


def test_label_prior_is_a_column():
    rng = np.random.default_rng(7)
    prof_a = summarize_features({"f": rng.normal(size=2000)}, labels=(rng.uniform(size=2000) < 0.404).astype(int))
    prof_b = summarize_features({"f": rng.normal(size=2000)}, labels=(rng.uniform(size=2000) < 0.597).astype(int))
    t = compare_profiles(prof_a["__label__"], prof_b["__label__"])
    assert t.kind == "categorical" and status(t) == "drifted"
    assert {c["value"] for c in t.top_changes} == {"0", "1"}


def test_string_columns_get_categorical_profiles_and_numbers_numeric():
    assert profile_column(np.array(["a", "b", "a"], dtype=object))["counts"] == {"a": 2, "b": 1}
    p = profile_column(np.array([1.0, np.nan, 1.0, 2.0]))
    assert p["kind"] == "numeric" and p["n_nonfinite"] == 1 and p["values"] == [1.0, 2.0] and p["counts"] == [2, 1]


def test_profiles_merge_to_the_profile_of_all_rows():
    rng = np.random.default_rng(8)
    a, b = rng.integers(0, 50, 3000), rng.integers(0, 60, 2000)
    merged = merge_profiles(profile_numeric(a), profile_numeric(b))
    whole = profile_numeric(np.concatenate([a, b]))
    assert merged["values"] == whole["values"] and merged["counts"] == pytest.approx(whole["counts"])
    assert merged["std"] == pytest.approx(whole["std"])


def test_old_sample_profiles_are_still_read():
    old = {"n": 5000, "n_nonfinite": 0, "mean": 0.0, "std": 1.0, "min": -1.0, "max": 1.0, "sample": [-1.0, 0.0, 1.0]}
    p = normalize_profile(old)
    assert p["kind"] == "numeric" and p["sampled"] is True and sum(p["counts"]) == 3


def test_no_library_warnings_and_tiny_p_values_survive_holm():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = compare_numeric(profile_numeric(np.arange(5000.0)), profile_numeric(np.arange(5000.0) + 900))
        small = compare_numeric(profile_numeric([1.0, 2.0, 3.0]), profile_numeric([1.0, 2.0, 4.0]))
    assert 0.0 < t.p_value < 1e-50
    assert 0.0 < holm_adjust([1e-200, 0.5])[0] == pytest.approx(2e-200)
    assert small.p_value > 0.05


def test_exact_counts_cap_is_what_the_docs_say():
    assert profile_numeric(np.arange(MAX_EXACT_VALUES, dtype=float))["exact"] is True
    assert profile_numeric(np.arange(MAX_EXACT_VALUES + 1, dtype=float))["exact"] is False


NSL_KDD = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "nsl_kdd" / \
    "nsl_kdd_train20.csv"


@pytest.mark.skipif(not NSL_KDD.is_file(), reason="shared NSL-KDD data not present")
def test_real_data_random_halves_are_quiet_and_a_zero_share_change_is_caught():
    import csv

    from nethical.drift import column_drift

    with open(NSL_KDD, newline="") as fh:
        rows = list(csv.DictReader(fh))
    drop = {"attack_type", "difficulty", "is_attack"}
    names = [c for c in rows[0] if c not in drop]
    categorical = {"protocol_type", "service", "flag"}
    order = np.random.default_rng(0).permutation(len(rows))
    halves = [[rows[i] for i in order[: len(rows) // 2]], [rows[i] for i in order[len(rows) // 2:]]]

    def columns(part, zero_extra=0.0):
        out = {c: (np.asarray([r[c] for r in part], dtype=object) if c in categorical
                   else np.asarray([float(r[c]) for r in part])) for c in names}
        if zero_extra:
            nonzero = np.flatnonzero(out["dst_bytes"] != 0)
            out["dst_bytes"][nonzero[: int(zero_extra * len(part))]] = 0.0
        labels = np.asarray([r["is_attack"] in ("1", "True", "true") for r in part], dtype=int)
        return summarize_features(out, labels)

    a, b = columns(halves[0]), columns(halves[1])
    assert column_drift(a, b)["drifted_features"] == []
    shifted = column_drift(a, columns(halves[1], zero_extra=0.10))
    assert shifted["drifted_features"] == ["dst_bytes"]
    top = shifted["columns"]["dst_bytes"]["top_changes"][0]
    assert top["value"] == 0.0 and top["share_b"] - top["share_a"] == pytest.approx(0.10, abs=0.02)
