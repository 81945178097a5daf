"""The gate's statistics: intervals that cover at their stated rate, the skill rule, the paired champion test,
sampling that keeps the task, and the fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, f1_score, roc_auc_score

from nethical.champion import decide, not_comparable, other_dataset
from nethical.exceptions import ConfigError, DataError, ModelLoadError
from nethical.fingerprint import data_fingerprint, verify_card_fingerprint
from nethical.intervals import _block_metrics, _Rows, format_vs, metric_intervals, paired_compare, wilson
from nethical.metrics import binary_metrics, confusion_counts
from nethical.promotion import GateThresholds, gate_decision
from nethical.data.splits import sample_rows, split_indices


def _scores(n: int, pos_rate: float, separation: float, seed: int):
    """Calibrated scores: y is drawn from the probability itself."""
    rng = np.random.default_rng(seed)
    logits = 2 * separation * rng.normal(size=n) + np.log(pos_rate / (1 - pos_rate))
    p = 1 / (1 + np.exp(-logits))
    return p, (rng.random(n) < p).astype(int)


def _decide(probs, y, thresholds=GateThresholds()):
    m = binary_metrics(probs, y)
    ci = metric_intervals(probs, y, m, n_bootstrap=300)
    return gate_decision(m, thresholds, ci, confusion_counts(probs, y))


def test_weighted_metrics_match_sklearn_on_a_resample():
    p, y = _scores(500, 0.3, 1.0, 0)
    p = np.round(p, 2)  # ties
    idx = np.random.default_rng(1).integers(0, 500, 500)
    w = np.bincount(idx, minlength=500)[None].astype(float)
    got = {k: float(v[0]) for k, v in _block_metrics(_Rows(p, y, 10), w).items()}
    pr, yr = p[idx], y[idx]
    assert got["auroc"] == pytest.approx(roc_auc_score(yr, pr), abs=1e-12)
    assert got["f1"] == pytest.approx(f1_score(yr, pr >= 0.5), abs=1e-12)
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(yr, pr >= 0.5), abs=1e-12)
    assert got["brier"] == pytest.approx(brier_score_loss(yr, pr), abs=1e-12)
    assert got["ece"] == pytest.approx(binary_metrics(pr, yr)["ece"], abs=1e-12)


def test_wilson_interval_covers_the_true_accuracy_at_about_the_stated_rate():
    rng = np.random.default_rng(0)
    true, n, sims = 0.9, 150, 2000
    hits = 0
    for k in rng.binomial(n, true, size=sims):
        low, high = wilson(int(k), n, 0.95)
        hits += low <= true <= high
    assert 0.93 <= hits / sims <= 0.97


def test_bootstrap_auroc_interval_covers_the_true_auroc_at_about_the_stated_rate():
    # the population AUROC of two unit normals 2*s apart is Phi(2*s / sqrt(2))
    from scipy.stats import norm

    s = 0.5
    true = float(norm.cdf(2 * s / np.sqrt(2)))
    sims, hits = 150, 0
    for seed in range(sims):
        rng = np.random.default_rng(seed)
        y = (rng.random(300) < 0.5).astype(int)
        p = 1 / (1 + np.exp(-(rng.normal(size=300) + 2 * s * (y - 0.5))))
        ci = metric_intervals(p, y, binary_metrics(p, y), n_bootstrap=200, seed=seed)["auroc"]
        hits += ci["low"] <= true <= ci["high"]
    assert 0.88 <= hits / sims <= 0.99  # 95% nominal; the percentile bootstrap runs slightly narrow at n = 300


def test_a_constant_predictor_never_promotes_and_says_so_in_words():
    y = np.r_[np.ones(25), np.zeros(975)].astype(int)
    promoted, reasons = _decide(np.full(1000, 0.025), y)
    assert promoted is False
    text = " ".join(reasons)
    assert "predicts the majority class (0) for every row: accuracy 0.9750 equals the majority rate 0.9750" in text
    # the seed's two criteria alone pass it
    assert "accuracy 0.9750 >= min_accuracy 0.85" in text and "ece 0.0000 <= max_ece 0.08" in text


def test_noise_scores_on_imbalanced_data_have_no_skill():
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.03).astype(int)
    p = np.clip(0.03 + rng.normal(0, 0.2, 2000), 0, 1)  # some rows cross 0.5: not a constant, still no skill
    promoted, reasons = _decide(p, y, GateThresholds(min_accuracy=0.0, max_ece=1.0))
    assert promoted is False and any("no_skill" in r for r in reasons)


def test_a_model_with_skill_passes_and_min_skill_tightens_or_switches_off():
    p, y = _scores(2000, 0.5, 3.0, 4)
    assert _decide(p, y)[0] is True
    assert _decide(p, y, GateThresholds(min_skill=0.95))[0] is False
    off = _decide(np.full(1000, 0.2), (np.arange(1000) < 100).astype(int), GateThresholds(min_skill=None))
    assert off[0] is False and any("constant_prediction" in r for r in off[1]) and not any("no_skill" in r for r in off[1])


def test_numbers_show_their_side_of_the_threshold():
    assert format_vs(0.849956, 0.85) == "0.84996"
    assert format_vs(0.85, 0.85) == "0.8500"
    promoted, reasons = gate_decision({"accuracy": 0.849956, "ece": 0.05}, GateThresholds())
    assert promoted is False and reasons[0].startswith("accuracy 0.84996 < min_accuracy 0.85")


def test_a_tiny_difference_is_a_tie_and_a_large_one_replaces():
    p, y = _scores(2000, 0.5, 1.0, 5)
    nudged = np.clip(p + 0.0004 * np.sign(0.5 - p), 0, 1)  # 0.0004-level change in every probability
    r = decide(paired_compare(nudged, p, y))
    assert r.outcome == "tie" and r.replace is False and "within the noise" in r.reason
    worse = np.clip(p * 0.5 + 0.25 + np.random.default_rng(0).normal(0, 0.15, 2000), 0, 1)  # noisier, less sharp
    assert decide(paired_compare(p, worse, y)).outcome == "replace"
    lost = decide(paired_compare(worse, p, y))
    assert lost.outcome == "worse" and lost.reason.startswith("champion kept: challenger is significantly worse")
    # a margin on top of significance: a significant gain below min_improvement is still a tie
    assert decide(paired_compare(p, worse, y), min_improvement=0.5).outcome == "tie"
    # negative: prefer the newer model unless significantly worse by more than the margin
    assert decide(paired_compare(nudged, p, y), min_improvement=-0.01).outcome == "replace"


def test_dataset_rules_keep_real_models_away_from_the_demo():
    demo = {"dataset": "synthetic:risk", "source": "synthetic"}
    a = {"dataset": "file:a.csv", "source": "file"}
    b = {"dataset": "file:b.csv", "source": "file"}
    assert other_dataset(demo, a).replace is True
    assert other_dataset(a, demo, "replace").replace is False
    assert other_dataset(a, b).replace is False and other_dataset(a, b, "replace").replace is True
    with pytest.raises(ConfigError, match="on_new_dataset='sometimes'"):
        other_dataset(a, b, "sometimes")
    r = not_comparable("input rows lack feature column(s) ['x']")
    assert r.replace and not r.compared and "decided by the gate alone" in r.reason


def test_fingerprint_detects_edits():
    prov = {"source": "file", "files": [{"path": "/x/a.csv", "sha256": "ab" * 32}], "label_column": "label",
            "label_mapping": {"positive": ["1"]}}
    fp = data_fingerprint(prov, {"kind": "tabular", "feature_names": ["f1"]})
    assert fp["dataset"] == "file:a.csv"
    card = {"data_fingerprint": fp, "training_rows": {"file": "train_rows.u64"}, "files": {"train_rows.u64": "00"}}
    assert verify_card_fingerprint(card, "m") == fp
    card["data_fingerprint"] = {**fp, "schema": {"kind": "tabular", "feature_names": ["f2"]}}
    with pytest.raises(ModelLoadError, match="does not match its sha256"):
        verify_card_fingerprint(card, "m")
    with pytest.raises(ModelLoadError, match="has no data fingerprint"):
        verify_card_fingerprint({}, "m")


@pytest.mark.parametrize("kwargs, match", [
    ({"confidence": 1.0}, "confidence=1.0"), ({"confidence": 0.0}, "confidence=0.0"),
    ({"n_bootstrap": 10}, "n_bootstrap=10"), ({"min_skill": 1.0}, "min_skill=1.0"),
    ({"max_ece": -0.1}, "max_ece=-0.1"),
])
def test_bad_gate_settings_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match.replace(".", "\\.")):
        GateThresholds(**kwargs)


def test_sampling_is_seeded_stratified_and_keeps_row_order():
    labels = np.r_[np.zeros(9000), np.ones(1000)].astype(int)  # class-sorted file: a head would hold no positive
    idx, info = sample_rows(labels, 1000, seed=1)
    assert np.all(np.diff(idx) > 0) and idx.size == 1000
    assert labels[idx].sum() == 100 and info["method"] == "seeded stratified random sample" and info["seed"] == 1
    again, _ = sample_rows(labels, 1000, seed=1)
    other, _ = sample_rows(labels, 1000, seed=2)
    assert np.array_equal(idx, again) and not np.array_equal(idx, other)
    everything, info = sample_rows(labels, None)
    assert everything.size == 10000 and info["method"] == "all rows"


def test_a_validation_split_without_a_handful_of_each_class_is_refused():
    labels = np.r_[np.ones(10), np.zeros(990)].astype(int)  # the positives sit in the training part
    with pytest.raises(DataError, match="holds 0 positive and 200 negative rows.*--split-strategy stratified"):
        split_indices(labels, "temporal", 0.8)
    assert split_indices(labels, "stratified", 0.5).val.size == 500

