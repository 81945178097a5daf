"""Drift report over the cohort store: structure, drift decisions, recommendations, data drift and the CLI."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pytest

from nethical.cli import main
from nethical.drift import (
    CohortStore,
    build_report,
    data_fingerprint,
    generate_report,
    observation_from_decision,
    summarize_features,
    write_report,
)
from nethical.drift.stats import holm_adjust
from nethical.exceptions import ConfigError

N_BINS = 10


def scored(seed: int, n: int = 1000, signal: float = 3.0, sharpen: float = 1.0):
    """Validation labels and predicted P(y=1) of a calibrated model of the given strength (optionally miscalibrated)."""
    rng = np.random.default_rng(seed)
    logit = signal * rng.normal(size=n)
    p_true = 1 / (1 + np.exp(-logit))
    y = (rng.uniform(size=n) < p_true).astype(int)
    p = 1 / (1 + np.exp(-sharpen * logit))  # sharpen > 1: overconfident, same ranking, same accuracy
    return y, p


def decision(y, p, model_type="logistic", max_ece=0.1, min_accuracy=0.7):
    pred = (p >= 0.5).astype(int)
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    tn, fn = int(((pred == 0) & (y == 0)).sum()), int(((pred == 0) & (y == 1)).sum())
    idx = np.minimum((p * N_BINS).astype(int), N_BINS - 1)
    bins = {"n_bins": N_BINS, "count": np.bincount(idx, minlength=N_BINS).tolist(),
            "sum_prob": np.bincount(idx, weights=p, minlength=N_BINS).tolist(),
            "sum_pos": np.bincount(idx, weights=y, minlength=N_BINS).astype(int).tolist()}
    acc = (tp + tn) / len(y)
    ece = float(np.abs(np.array(bins["sum_pos"]) - np.array(bins["sum_prob"])).sum() / len(y))
    promoted = ece <= max_ece and acc >= min_accuracy
    return {"model_type": model_type, "promoted": promoted, "decision": "PROMOTED" if promoted else "CANDIDATE",
            "reasons": [], "metrics": {"accuracy": acc, "precision": tp / max(tp + fp, 1),
                                       "recall": tp / max(tp + fn, 1), "f1": 0.0, "auroc": 0.0, "ece": ece,
                                       "loss": 0.0},
            "thresholds": {"max_ece": max_ece, "min_accuracy": min_accuracy},
            "counts": {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": len(y)}, "calibration_bins": bins,
            "saved_dir": "models/x", "data_source": {"source": "synthetic", "reason": "test"}}


def train_features(seed: int, n: int = 2000, broken: bool = False):
    rng = np.random.default_rng(seed)
    feats = {"x1": rng.normal(size=n), "x2": rng.exponential(size=n)}
    if broken:
        feats["x2"] = np.zeros(n)  # the pipeline lost this feature
    return feats


def record(store, cohort, y, p, feats, run, ts="2026-01-01T00:00:00+00:00", model_type="logistic"):
    sizes = {"train": len(next(iter(feats.values()))), "val": len(y), "calibration": 100}
    prov = {"source": "synthetic", "reason": "test"}
    o = observation_from_decision(
        decision(y, p, model_type), cohort_id=cohort, run_id=run, timestamp=ts, provenance=prov, split_sizes=sizes,
        feature_profile=summarize_features(feats), data_fingerprint=data_fingerprint(prov, sizes, feats),
    )
    assert store.append(o)
    return o


def test_empty_store_report_says_nothing_to_compare(tmp_path):
    result = generate_report(tmp_path)
    report = json.loads(result.path.read_text())
    assert re.fullmatch(r"drift_\d{8}_\d{6}", report["report_id"])
    assert result.path.name == report["report_id"] + ".json"
    assert report["cohorts"] == {}
    assert report["drift_metrics"]["has_drift"] is False
    assert report["drift_metrics"]["message"].startswith("Nothing to compare")
    assert "no observations" in report["drift_metrics"]["message"]
    assert set(report) >= {"report_id", "start_time", "end_time", "cohorts", "drift_metrics", "recommendations"}


def test_one_cohort_has_nothing_to_compare(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "only", y, p, train_features(0), "r1")
    report = generate_report(tmp_path).report
    assert report["drift_metrics"]["has_drift"] is False
    assert "only one cohort ('only')" in report["drift_metrics"]["message"]
    block = report["cohorts"]["only"]
    assert block["action_count"] == 1
    assert block["violation_stats"] == {"total_count": 0, "by_type": {}, "by_severity": {}}
    assert block["avg_risk_score"] == pytest.approx(1 - block["metrics"]["accuracy"]["value"])
    assert block["risk_distribution"] == {"low": 1}


def test_same_seed_and_data_gives_no_drift(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "run_a", y, p, train_features(0), "r1", "2026-01-01T00:00:00+00:00")
    record(store, "run_b", y, p, train_features(0), "r2", "2026-01-02T00:00:00+00:00")
    report = generate_report(tmp_path).report
    dm = report["drift_metrics"]
    assert dm["has_drift"] is False
    assert dm["message"].startswith("No significant drift across 2 cohorts")
    assert dm["n_comparisons"] == 5
    assert all(c["difference"] == 0 and not c["drift"] for cs in dm["comparisons"].values() for c in cs)
    assert dm["data_drift"]["pairs"][0]["same_data"] is True
    assert dm["data_drift"]["has_data_drift"] is False
    assert report["start_time"] == "2026-01-01T00:00:00+00:00" and report["end_time"] == "2026-01-02T00:00:00+00:00"
    assert "no action needed" in report["recommendations"][0]


def test_far_too_little_data_flags_accuracy_and_names_it(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0, signal=3.0)
    record(store, "full_data", y, p, train_features(0, n=5000), "r1")
    y2, p2 = scored(1, signal=0.4)  # a model that barely learned
    record(store, "tiny_data", y2, p2, train_features(1, n=40), "r2")
    report = generate_report(tmp_path).report
    dm = report["drift_metrics"]
    assert dm["has_drift"] is True
    acc = dm["comparisons"]["accuracy"][0]
    assert (acc["cohort_a"], acc["cohort_b"]) == ("full_data", "tiny_data")
    assert (acc["direction"], acc["drift"]) == ("worse", True)
    assert acc["ci"][1] < -0.05
    assert "accuracy fell by" in dm["message"] and "'full_data' to 'tiny_data'" in dm["message"]
    top = report["recommendations"][0]
    assert "Investigate cohort 'tiny_data'" in top and "accuracy fell" in top
    assert "trained on 40 rows vs 5000" in top
    assert any("low_accuracy" in r and "tiny_data" in r for r in report["recommendations"])
    assert report["cohorts"]["tiny_data"]["violation_stats"]["by_type"] == {"low_accuracy": 1}


def test_broken_feature_flags_accuracy_and_data_drift_on_that_feature(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0, signal=3.0)
    record(store, "healthy", y, p, train_features(0), "r1")
    y2, p2 = scored(2, signal=0.8)
    record(store, "broken_x2", y2, p2, train_features(0, broken=True), "r2")
    report = generate_report(tmp_path).report
    dm = report["drift_metrics"]
    assert dm["has_drift"] is True
    assert dm["drifted"][0]["metric"] in ("accuracy", "precision", "recall")
    pair = dm["data_drift"]["pairs"][0]
    assert pair["drifted_features"] == ["x2"]
    assert pair["columns"]["x2"]["effects"]["psi"] > 1.0 and pair["columns"]["x1"]["drifted"] is False
    assert "x2" in dm["message"]
    assert "1 feature column(s) shifted" in report["recommendations"][0]
    assert any("shifted from 'healthy' on x2" in r for r in report["recommendations"])


def test_miscalibration_only_flags_ece_and_recommends_recalibration(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0, n=2000)
    record(store, "calibrated", y, p, train_features(0), "r1")
    y2, p2 = scored(0, n=2000, sharpen=3.0)
    record(store, "overconfident", y2, p2, train_features(0), "r2")
    report = generate_report(tmp_path).report
    dm = report["drift_metrics"]
    assert [d["metric"] for d in dm["drifted"]] == ["ece"]
    assert dm["comparisons"]["accuracy"][0]["difference"] == 0
    rec = report["recommendations"][0]
    assert "Investigate cohort 'overconfident' (logistic): ece rose" in rec and "recalibrate" in rec
    assert "retraining is not needed" in rec


def test_large_but_insignificant_and_significant_but_small_differences_are_not_drift(tmp_path):
    y, p = scored(0, n=8, signal=3.0)
    y2, p2 = scored(1, n=8, signal=0.3)  # accuracy falls by 0.5 on 8 examples: raw p 0.02, Holm p 0.10
    obs = [observation_from_decision(decision(y, p), cohort_id="a", run_id="1", timestamp="t1"),
           observation_from_decision(decision(y2, p2), cohort_id="b", run_id="2", timestamp="t2")]
    report = build_report(obs)
    acc = report["drift_metrics"]["comparisons"]["accuracy"][0]
    assert abs(acc["difference"]) > 0.05 and acc["significant"] is False and acc["drift"] is False
    y, p = scored(0, n=20000, signal=3.0)
    y2, p2 = scored(1, n=20000, signal=2.0)
    obs = [observation_from_decision(decision(y, p), cohort_id="a", run_id="1", timestamp="t1"),
           observation_from_decision(decision(y2, p2), cohort_id="b", run_id="2", timestamp="t2")]
    big_threshold = build_report(obs, practical_threshold=0.2)["drift_metrics"]
    acc = big_threshold["comparisons"]["accuracy"][0]
    assert acc["significant"] is True and acc["practical"] is False
    assert big_threshold["has_drift"] is False


def test_p_values_are_holm_adjusted_over_all_comparisons(tmp_path):
    store = CohortStore(tmp_path)
    for i, signal in enumerate([3.0, 2.5, 1.0]):
        y, p = scored(i, signal=signal)
        record(store, f"c{i}", y, p, train_features(0), f"r{i}")
    dm = generate_report(tmp_path).report["drift_metrics"]
    flat = [c for a, b in [(x, y) for x in range(3) for y in range(x + 1, 3)]
            for m in ("accuracy", "precision", "recall", "gate_failure_rate", "ece")
            for c in dm["comparisons"][m] if (c["cohort_a"], c["cohort_b"]) == (f"c{a}", f"c{b}")]
    assert len(flat) == dm["n_comparisons"] == 15
    assert [c["p_value_adjusted"] for c in flat] == pytest.approx(holm_adjust([c["p_value"] for c in flat]))
    assert dm["method"]["correction"] == "holm"


def test_chosen_cohorts_and_unknown_cohort(tmp_path):
    store = CohortStore(tmp_path)
    for i in range(3):
        y, p = scored(i)
        record(store, f"c{i}", y, p, train_features(0), f"r{i}")
    report = generate_report(tmp_path, cohorts=["c2", "c0"]).report
    assert list(report["cohorts"]) == ["c2", "c0"]
    with pytest.raises(ConfigError, match=r"--cohorts nope: not in the store. Available: \['c0', 'c1', 'c2'\]"):
        generate_report(tmp_path, cohorts=["nope"])
    with pytest.raises(ConfigError, match=r"\.\."):
        generate_report(tmp_path, cohorts=["../c0"])


def test_two_reports_in_one_second_get_unique_names(tmp_path):
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    report = build_report([], generated_at=when)
    first, p1 = write_report(report, tmp_path)
    second, p2 = write_report(report, tmp_path)
    assert (p1.name, p2.name) == ("drift_20260304_050607.json", "drift_20260304_050607_1.json")
    assert json.loads(p2.read_text())["report_id"] == second["report_id"] == "drift_20260304_050607_1"
    assert not list(tmp_path.glob(".drift_tmp_*"))


def test_corrupted_store_line_is_listed_in_report(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "a", y, p, train_features(0), "r1")
    with open(store.path, "a") as fh:
        fh.write("garbage\n")
    result = generate_report(tmp_path)
    assert [(i.line, i.reason.split(":")[0]) for i in result.issues] == [(2, "invalid JSON")]
    assert result.report["store"]["skipped_lines"][0]["line"] == 2
    assert list(result.report["cohorts"]) == ["a"]


def _two_cohorts(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0, signal=3.0)
    record(store, "base", y, p, train_features(0, n=3000), "r1")
    y2, p2 = scored(1, signal=0.4)
    record(store, "cand", y2, p2, train_features(1, n=30), "r2")


def test_cli_report_prints_summary_and_plots(tmp_path, capsys):
    _two_cohorts(tmp_path)
    rc = main(["drift", "report", "--drift-report-dir", str(tmp_path), "--plot", "--cohorts", "base", "cand"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "Generating ethical drift report"
    report_id = re.search(r"^Drift Report ID: (drift_\d{8}_\d{6}(_\d+)?)$", out, re.M).group(1)
    assert "Drift detected: True" in lines
    assert "Top recommendations:" in lines and "  1. Investigate cohort 'cand'" in out
    assert (tmp_path / f"{report_id}.json").is_file()
    assert (tmp_path / f"{report_id}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, match",
    [(["--drift-report-dir", "{missing}"], "no such directory"),
     (["--drift-report-dir", "{dir}", "--alpha", "1.5"], "--alpha 1.5"),
     (["--drift-report-dir", "{dir}", "--cohorts", "a/b"], "path separators"),
     (["--drift-report-dir", "{dir}", "--cohorts", "nope"], "not in the store")],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, args, match):
    _two_cohorts(tmp_path)
    args = [a.format(missing=str(tmp_path / "missing"), dir=str(tmp_path)) for a in args]
    rc = main(["drift", "report", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and match in err and len(err.strip().splitlines()) == 1


def test_cli_store_with_only_a_corrupt_line_exits_2_naming_it_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "cohorts.jsonl").write_text("{broken\n")
    rc = main(["drift", "report", "--drift-report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "holds no observations" in err and "line 1" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohorts.jsonl"]
    assert (tmp_path / "cohorts.jsonl").read_text() == "{broken\n"


def test_cli_corrupt_line_among_good_ones_is_named_and_the_store_is_not_rewritten(tmp_path, capsys):
    _two_cohorts(tmp_path)
    store = tmp_path / "cohorts.jsonl"
    lines = store.read_text().splitlines(keepends=True)
    store.write_text(lines[0] + "{broken\n" + lines[1])
    before = store.read_bytes()
    rc = main(["drift", "report", "--drift-report-dir", str(tmp_path), "--cohorts", "base", "cand"])
    captured = capsys.readouterr()
    assert rc == 0
    assert f"skipped corrupted line 2 of {store}" in captured.err
    assert "Drift detected: True" in captured.out
    assert store.read_bytes() == before


def test_small_training_set_from_the_same_distribution_is_not_data_drift(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "big", y, p, train_features(0, n=5000), "r1")
    record(store, "small", y, p, train_features(1, n=48), "r2")  # PSI is inflated at n=48, KS is not significant
    pair = generate_report(tmp_path).report["drift_metrics"]["data_drift"]["pairs"][0]
    assert pair["same_data"] is False
    assert pair["drifted_features"] == []
    assert set(pair["columns"]) == {"x1", "x2"}


def test_feature_with_missing_values_is_flagged(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "clean", y, p, train_features(0), "r1")
    feats = train_features(0)
    feats["x1"] = np.where(np.arange(feats["x1"].size) % 5 == 0, np.nan, feats["x1"])  # 20 % lost upstream
    record(store, "holes", y, p, feats, "r2")
    pair = generate_report(tmp_path).report["drift_metrics"]["data_drift"]["pairs"][0]
    assert pair["drifted_features"] == ["x1"]
    assert pair["columns"]["x1"]["reasons"] == ["share of missing/non-finite values changed (0.0% -> 20.0%)"]


def test_cohorts_of_different_model_types_are_not_compared_unless_named(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    y2, p2 = scored(1, signal=0.5)  # a much worse model of another type on another task
    record(store, "logistic_20260101_000000", y, p, train_features(0), "r1", model_type="logistic")
    record(store, "mlp_20260101_000000", y2, p2, train_features(1), "r1", model_type="mlp")
    dm = generate_report(tmp_path).report["drift_metrics"]
    assert dm["has_drift"] is False and dm["n_comparisons"] == 0
    assert dm["skipped_pairs"][0]["model_types"] == "logistic vs mlp"
    assert "share no model type" in dm["message"] and "consider promoting" not in json.dumps(dm)

    named = generate_report(tmp_path, cohorts=["logistic_20260101_000000", "mlp_20260101_000000"]).report
    dm = named["drift_metrics"]
    assert dm["has_drift"] is True
    assert all(e["cross_model_type"] for e in dm["comparisons"]["accuracy"])
    assert "compares different model types (logistic vs mlp)" in dm["message"]
    assert dm["causes"][0]["attribution"].startswith("different model types (logistic vs mlp)")
    assert not any("consider promoting" in r for r in named["recommendations"])


def test_one_cohort_id_over_several_model_types_is_compared_per_type(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    yw, pw = scored(1, signal=0.5)
    for cohort, run in (("all_v1", "r1"), ("all_v2", "r2")):
        record(store, cohort, y, p, train_features(0), run, model_type="logistic")
        weak = (yw, pw) if cohort == "all_v2" else (y, p)
        record(store, cohort, *weak, train_features(0), run, model_type="mlp")
    report = generate_report(tmp_path).report
    dm = report["drift_metrics"]
    assert [e["model_type"] for e in dm["comparisons"]["accuracy"]] == ["logistic", "mlp"]
    assert [d["model_type"] for d in dm["drifted"] if d["metric"] == "accuracy"] == ["mlp"]
    assert dm["mixed_model_types"] == {"all_v1": ["logistic", "mlp"], "all_v2": ["logistic", "mlp"]}
    assert "holds 2 model types (logistic, mlp); they are compared per model type" in dm["message"]


def test_same_configuration_with_shifted_data_is_attributed_to_the_data(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    rng = np.random.default_rng(0)
    config = {"class_path": "lightning_modules.logistic.LogisticClassifier", "init_args": {"lr": 0.01}}
    for cohort, run, rate in (("short", "r1", 0.404), ("long", "r2", 0.597)):
        feats = train_features(0 if cohort == "short" else 1)
        labels = (rng.uniform(size=2000) < rate).astype(int)
        sizes = {"train": 2000, "val": len(y)}
        prov = {"source": "file", "path": f"{cohort}.csv"}
        o = observation_from_decision(
            decision(y, p), cohort_id=cohort, run_id=run, timestamp="2026-01-01T00:00:00+00:00", provenance=prov,
            split_sizes=sizes, feature_profile=summarize_features(feats, labels),
            data_fingerprint=data_fingerprint(prov, sizes, feats), config=config)
        store.append(o)
    report = generate_report(tmp_path).report
    cause = report["drift_metrics"]["causes"][0]
    assert cause["config"] == "same" and cause["data"] == "different"
    assert cause["attribution"].startswith("same configuration; the data differ (positive rate 0.4")
    assert "class balance" in report["drift_metrics"]["message"]


def test_column_overrides_change_the_rule_and_bad_ones_are_refused(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "healthy", y, p, train_features(0), "r1")
    record(store, "broken_x2", y, p, train_features(0, broken=True), "r2")
    base = generate_report(tmp_path).report["drift_metrics"]["data_drift"]["pairs"][0]
    assert base["drifted_features"] == ["x2"]
    skipped = generate_report(tmp_path, column_overrides={"x2": {"skip": True}}).report
    pair = skipped["drift_metrics"]["data_drift"]["pairs"][0]
    assert pair["drifted_features"] == [] and pair["skipped_columns"] == ["x2"]
    lax = generate_report(tmp_path, column_overrides={"x2": {"effects": ["psi"], "thresholds": {"psi": 1e9}}}).report
    assert lax["drift_metrics"]["data_drift"]["pairs"][0]["columns"]["x2"]["status"] == "significant_small"
    with pytest.raises(ConfigError, match="unknown effect"):
        build_report([], column_overrides={"x2": {"effects": ["nope"]}})


@pytest.mark.parametrize("text", ["count", "count=psi", "count=psi:-1", "count=foo:0.2"])
def test_cli_bad_column_override_exits_2(tmp_path, capsys, text):
    _two_cohorts(tmp_path)
    rc = main(["drift", "report", "--drift-report-dir", str(tmp_path), "--column-override", text])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: --column-override") and len(err.strip().splitlines()) == 1


def test_plots_hold_per_column_pictures_and_the_html_is_small_and_self_contained(tmp_path):
    store = CohortStore(tmp_path)
    y, p = scored(0)
    record(store, "healthy", y, p, train_features(0), "r1")
    record(store, "broken_x2", y, p, train_features(0, broken=True), "r2")
    result = generate_report(tmp_path, plot=True, html_report=True)
    assert result.columns_plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = result.html_path.read_text()
    assert page.count("data:image/png;base64,") == 2 and "<script" not in page and "x2" in page
    assert result.html_path.stat().st_size < 1_000_000
    plot = result.report["drift_metrics"]["data_drift"]["pairs"][0]["columns"]["x2"]["plot"]
    assert plot["kind"] == "ecdf" and plot["b"]["x"] == [0.0] and plot["b"]["cdf"] == [1.0]
