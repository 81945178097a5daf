"""Build, write and plot the ethical drift report over the cohorts in a cohort store.

The report compares every cohort in the store (or a chosen set), not just the current process. Its top level is::

    {"report_id": "drift_YYYYMMDD_HHMMSS[_n]", "start_time": ..., "end_time": ..., "generated_at": ...,
     "store": {"path", "observations", "skipped_lines"},
     "cohorts": {cohort_id: {"action_count", "violation_stats", "avg_risk_score", "risk_distribution", ...}},
     "drift_metrics": {"has_drift", "message", "comparisons": {metric: [per cohort pair]}, "data_drift", ...},
     "recommendations": [...]}

``has_drift`` is true only when some difference is larger than the practical threshold *and* significant at
``alpha`` after Holm's correction over every comparison in the report. Data drift between training sets is reported
under ``drift_metrics.data_drift`` (``has_data_drift``) and feeds the recommendations, but does not set
``has_drift`` on its own: it describes inputs, not model performance.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from nethical.drift import stats
from nethical.drift.observation import SEVERITIES, CohortObservation, risk_level, validate_cohort_id
from nethical.drift.store import CohortStore, StoreIssue
from nethical.exceptions import ConfigError, OutputError

PROPORTION_METRICS = ("accuracy", "precision", "recall")
METRICS = PROPORTION_METRICS + ("ece", "gate_failure_rate")
HIGHER_IS_BETTER = {"accuracy": True, "precision": True, "recall": True, "ece": False, "gate_failure_rate": False}
PSI_THRESHOLD = 0.1  # "moderate shift" by the usual rule of thumb; 0.2 is "significant"
JS_THRESHOLD = 0.1  # Evidently's default for the Jensen-Shannon distance
NONFINITE_THRESHOLD = 0.01
N_BOOT = 2000
BOOT_SEED = 0


@dataclass(frozen=True)
class DriftReportResult:
    """A written report: the dict, its JSON path, the PNG path (when plotted) and the skipped store lines."""

    report: dict
    path: Path
    plot_path: Optional[Path]
    issues: tuple


def generate_report(
    report_dir: Union[str, os.PathLike],
    *,
    cohorts: Optional[Sequence[str]] = None,
    practical_threshold: Union[float, Mapping[str, float]] = 0.05,
    alpha: float = 0.05,
    plot: bool = False,
) -> DriftReportResult:
    """Read the store in ``report_dir``, build the report, write ``drift_<time>.json`` (and a PNG with ``plot``).

    Skipped store lines are returned in ``issues`` (and listed in the report); the caller decides how to warn.

    Raises:
        ConfigError: bad thresholds or a chosen cohort that is not in the store.
        OutputError: the directory cannot be written.
    """
    store = CohortStore(report_dir)
    scan = store.scan()
    report = build_report(
        scan.observations,
        cohorts=cohorts,
        practical_threshold=practical_threshold,
        alpha=alpha,
        store_path=str(store.path),
        store_issues=scan.issues,
    )
    report, path = write_report(report, report_dir)
    plot_path = plot_report(report, path.with_suffix(".png")) if plot else None
    return DriftReportResult(report, path, plot_path, scan.issues)


def build_report(
    observations: Iterable[CohortObservation],
    *,
    cohorts: Optional[Sequence[str]] = None,
    practical_threshold: Union[float, Mapping[str, float]] = 0.05,
    alpha: float = 0.05,
    store_path: Optional[str] = None,
    store_issues: Sequence[StoreIssue] = (),
    generated_at: Optional[datetime] = None,
) -> dict[str, Any]:
    """The report dict over ``observations`` (all cohorts, or only ``cohorts`` in the given order).

    Args:
        observations: store observations in append order.
        cohorts: cohort ids to compare; every one must be present.
        practical_threshold: smallest absolute difference that matters, for every metric or per metric
            (keys from ``accuracy, precision, recall, ece, gate_failure_rate``).
        alpha: family-wise significance level (Holm) and ``1 - alpha`` is the interval confidence.
        store_path: shown in the report.
        store_issues: skipped store lines, listed in the report.
        generated_at: report time (UTC now by default); sets the provisional ``report_id``.
    """
    thresholds = _practical_thresholds(practical_threshold)
    if not 0.0 < float(alpha) < 1.0:
        raise ConfigError(f"drift report alpha={alpha}: must be within (0, 1), e.g. 0.05.")
    alpha = float(alpha)
    confidence = 1.0 - alpha
    generated_at = generated_at or datetime.now(timezone.utc)
    observations = list(observations)

    grouped: dict[str, list[CohortObservation]] = {}
    for obs in observations:
        grouped.setdefault(obs.cohort_id, []).append(obs)
    if cohorts:
        chosen = [validate_cohort_id(c, "cohorts") for c in cohorts]
        missing = [c for c in chosen if c not in grouped]
        if missing:
            raise ConfigError(
                f"drift report --cohorts {' '.join(missing)}: not in the store. Available: {sorted(grouped)}."
            )
        grouped = {c: grouped[c] for c in dict.fromkeys(chosen)}

    selected = [o for group in grouped.values() for o in group]
    times = sorted(o.timestamp for o in selected)
    now_iso = generated_at.isoformat()
    report: dict[str, Any] = {
        "report_id": "drift_" + generated_at.strftime("%Y%m%d_%H%M%S"),
        "start_time": times[0] if times else now_iso,
        "end_time": times[-1] if times else now_iso,
        "generated_at": now_iso,
        "store": {
            "path": store_path,
            "observations": len(selected),
            "skipped_lines": [{"line": i.line, "reason": i.reason} for i in store_issues],
        },
        "cohorts": {cid: _cohort_block(obs, confidence) for cid, obs in grouped.items()},
    }

    ids = list(grouped)
    if len(ids) < 2:
        if not ids:
            message = (
                f"Nothing to compare: the cohort store{' at ' + store_path if store_path else ''} holds no "
                "observations" + (" (all lines were skipped)" if store_issues else "") + "."
            )
            recs = ["Record cohorts first: train with --enable-drift-tracking --cohort-id <name> (twice or more)."]
        else:
            message = f"Nothing to compare: only one cohort ({ids[0]!r}) is in the store; drift needs two or more."
            recs = [f"Train another cohort (e.g. --cohort-id {ids[0]}_v2) to compare it with {ids[0]!r}."]
        recs = _gate_recommendations(grouped) + recs
        report["drift_metrics"] = {
            "has_drift": False,
            "message": message,
            "n_comparisons": 0,
            "comparisons": {m: [] for m in METRICS},
            "drifted": [],
            "method": _method(thresholds, alpha),
            "data_drift": {"has_data_drift": False, "pairs": []},
        }
        report["recommendations"] = recs
        return _json_safe(report)

    pairs = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    comparisons = {m: [] for m in METRICS}
    flat: list[dict[str, Any]] = []
    pooled = {cid: _pooled(obs) for cid, obs in grouped.items()}
    ece_summaries = {cid: stats.ece_summary(pooled[cid]["bins"], N_BOOT, BOOT_SEED) for cid in ids}
    for a, b in pairs:
        pa, pb = pooled[a], pooled[b]
        for metric in PROPORTION_METRICS + ("gate_failure_rate",):
            (ka, na), (kb, nb) = pa[metric], pb[metric]
            c = stats.compare_proportions(ka, na, kb, nb, confidence)
            entry = _entry(metric, a, b, c.value_a, c.value_b, c.difference, c.ci, c.p_value)
            entry.update({"n_a": na, "n_b": nb, "test": "two-proportion z-test; Newcombe interval"})
            comparisons[metric].append(entry)
            flat.append(entry)
        e = stats.compare_ece_summaries(ece_summaries[a], ece_summaries[b], confidence, n_boot=N_BOOT)
        entry = _entry("ece", a, b, e.value_a, e.value_b, e.difference, e.ci, e.p_value)
        entry.update({"difference_bias_corrected": e.difference_bias_corrected, "n_boot": e.n_boot,
                      "test": f"excess-ECE difference, bootstrap standard error (seed {BOOT_SEED})"})
        comparisons["ece"].append(entry)
        flat.append(entry)

    adjusted = stats.holm_adjust([e["p_value"] for e in flat])
    for entry, p_adj in zip(flat, adjusted):
        diff = entry["difference"]
        entry["p_value_adjusted"] = p_adj
        entry["significant"] = bool(p_adj < alpha)
        entry["practical"] = bool(_finite(diff) and abs(diff) > thresholds[entry["metric"]])
        entry["drift"] = entry["significant"] and entry["practical"]
        better = HIGHER_IS_BETTER[entry["metric"]]
        entry["direction"] = "none" if not _finite(diff) or diff == 0 else (
            "better" if (diff > 0) == better else "worse"
        )

    drifted = sorted((e for e in flat if e["drift"]), key=lambda e: (e["p_value_adjusted"], -abs(e["difference"])))
    data_drift = _data_drift(grouped, pairs, alpha)
    report["drift_metrics"] = {
        "has_drift": bool(drifted),
        "message": _message(drifted, len(ids), len(flat), thresholds, alpha, data_drift),
        "n_comparisons": len(flat),
        "comparisons": comparisons,
        "drifted": [_brief(e) for e in drifted],
        "method": _method(thresholds, alpha),
        "data_drift": data_drift,
    }
    report["recommendations"] = _recommendations(drifted, grouped, data_drift, len(ids))
    return _json_safe(report)


def write_report(report: Mapping[str, Any], report_dir: Union[str, os.PathLike]) -> tuple[dict, Path]:
    """Write ``report`` as ``<report_id>.json`` atomically and without overwriting anything.

    A complete temporary file is hard-linked to the final name (which fails if the name exists), so readers never
    see a partial report and two reports made in the same second get ``drift_..._1.json``, ``drift_..._2.json``.

    Returns:
        The report with its final ``report_id`` and the path written.

    Raises:
        OutputError: the directory cannot be created or written.
    """
    directory = Path(report_dir)
    base = str(report["report_id"])
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".drift_tmp_", suffix=".json", dir=directory)
        os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"drift report: cannot write to {directory} ({exc.strerror}). HINT: pass a writable --drift-report-dir."
        ) from exc
    tmp = Path(tmp_name)
    try:
        for n in range(10000):
            report_id = base if n == 0 else f"{base}_{n}"
            final = dict(report, report_id=report_id)
            target = directory / f"{report_id}.json"
            if target.exists():
                continue
            data = (json.dumps(final, indent=2, allow_nan=False) + "\n").encode("utf-8")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # filesystem without hard links: exclusive create, then write
                try:
                    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(out, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            return final, target
        raise OutputError(f"drift report: 10000 reports named {base}* already exist in {directory}.")
    except OSError as exc:
        raise OutputError(f"drift report: cannot write to {directory} ({exc.strerror}).") from exc
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass


def plot_report(report: Mapping[str, Any], path: Union[str, os.PathLike]) -> Path:
    """PNG comparing cohorts: accuracy, precision, recall and ECE with their intervals, one point per cohort.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cohorts = report.get("cohorts", {})
    names = list(cohorts)
    fig = Figure(figsize=(max(6.0, 1.2 * len(names) + 4), 7), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, sharex=True)
    for ax, metric in zip(axes.ravel(), ("accuracy", "precision", "recall", "ece")):
        xs = np.arange(len(names))
        values, lows, highs = [], [], []
        for name in names:
            m = cohorts[name].get("metrics", {}).get(metric, {})
            v = m.get("value")
            lo, hi = (m.get("ci") or [v, v])
            values.append(np.nan if v is None else v)
            lows.append(0.0 if v is None or lo is None else max(0.0, v - lo))
            highs.append(0.0 if v is None or hi is None else max(0.0, hi - v))
        ax.errorbar(xs, values, yerr=[lows, highs], fmt="o", capsize=4)
        ax.set_title(metric if metric != "ece" else "ECE (lower is better)")
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.grid(True, alpha=0.3)
    drift = report.get("drift_metrics", {})
    fig.suptitle(f"{report.get('report_id', 'drift')}: drift detected = {drift.get('has_drift')}", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    try:
        fig.savefig(out, format="png")
    except OSError as exc:
        raise OutputError(f"drift report: cannot write the plot {out} ({exc.strerror}).") from exc
    return out


def summary_lines(report: Mapping[str, Any], top: int = 3) -> list[str]:
    """The lines printed after a report: id, drift flag, message and the top recommendations."""
    drift = report.get("drift_metrics", {})
    lines = [
        f"Drift Report ID: {report.get('report_id')}",
        f"Drift detected: {bool(drift.get('has_drift'))}",
        f"Drift summary: {drift.get('message', '')}",
    ]
    recs = list(report.get("recommendations", []))[:top]
    if recs:
        lines.append("Top recommendations:")
        lines.extend(f"  {i}. {r}" for i, r in enumerate(recs, start=1))
    return lines


# ----------------------------------------------------------------------------------------------------- helpers


def _practical_thresholds(value: Union[float, Mapping[str, float]]) -> dict[str, float]:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(METRICS))
        if unknown:
            raise ConfigError(f"drift report practical_threshold keys {unknown} unknown. Valid: {list(METRICS)}.")
        out = {m: 0.05 for m in METRICS}
        out.update({k: float(v) for k, v in value.items()})
    else:
        out = {m: float(value) for m in METRICS}
    for metric, thr in out.items():
        if not 0.0 <= thr <= 1.0:
            raise ConfigError(
                f"drift report practical_threshold={thr} for {metric}: must be within [0, 1], e.g. 0.05."
            )
    return out


def _pooled(observations: Sequence[CohortObservation]) -> dict[str, Any]:
    tp = sum(o.tp for o in observations)
    fp = sum(o.fp for o in observations)
    tn = sum(o.tn for o in observations)
    fn = sum(o.fn for o in observations)
    failures = sum(1 for o in observations if not o.gate_passed)
    return {
        "accuracy": (tp + tn, tp + fp + tn + fn),
        "precision": (tp, tp + fp),
        "recall": (tp, tp + fn),
        "gate_failure_rate": (failures, len(observations)),
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0,
        "bins": _pooled_bins(observations),
    }


def _pooled_bins(observations: Sequence[CohortObservation]) -> dict[str, list[float]]:
    """Sum calibration bins of observations sharing the bin layout of the latest one."""
    latest = len(observations[-1].calibration_bins["count"])
    same = [o.calibration_bins for o in observations if len(o.calibration_bins["count"]) == latest]
    return {
        key: [float(sum(b[key][i] for b in same)) for i in range(latest)] for key in ("count", "sum_prob", "sum_pos")
    }


def _cohort_block(observations: Sequence[CohortObservation], confidence: float) -> dict[str, Any]:
    violations = [v for o in observations for v in o.violations]
    risks = [o.risk_score for o in observations]
    pooled = _pooled(observations)
    metrics: dict[str, Any] = {}
    for metric in PROPORTION_METRICS:
        k, n = pooled[metric]
        metrics[metric] = {"value": k / n if n else None, "ci": list(stats.wilson_interval(k, n, confidence)),
                           "k": k, "n": n}
    metrics["f1"] = {"value": pooled["f1"]}
    metrics["ece"] = {
        "value": stats.ece_from_bins(pooled["bins"]),
        "ci": list(stats.ece_interval(pooled["bins"], confidence, n_boot=N_BOOT, seed=BOOT_SEED)),
    }
    failures, runs = pooled["gate_failure_rate"]
    by_severity = Counter(v.get("severity", "low") for v in violations)
    return {
        "action_count": len(observations),
        "violation_stats": {
            "total_count": len(violations),
            "by_type": dict(Counter(v.get("type", "unknown") for v in violations)),
            "by_severity": {s: by_severity[s] for s in SEVERITIES if by_severity[s]},
        },
        "avg_risk_score": float(np.mean(risks)),
        "risk_distribution": dict(Counter(risk_level(r) for r in risks)),
        "model_types": sorted({o.model_type for o in observations}),
        "run_ids": list(dict.fromkeys(o.run_id for o in observations)),
        "first_seen": min(o.timestamp for o in observations),
        "last_seen": max(o.timestamp for o in observations),
        "validation_size": sum(o.validation_size for o in observations),
        "train_sizes": [o.train_size for o in observations],
        "metrics": metrics,
        "gate": {"runs": runs, "failures": failures, "failure_rate": failures / runs if runs else None,
                 "violations": [dict(v, model_type=o.model_type) for o in observations for v in o.violations]},
        "data_fingerprints": list(dict.fromkeys(o.data_fingerprint for o in observations if o.data_fingerprint)),
    }


def _entry(metric: str, a: str, b: str, va: float, vb: float, diff: float, ci: Sequence[float], p: float) -> dict:
    return {"metric": metric, "cohort_a": a, "cohort_b": b, "value_a": va, "value_b": vb, "difference": diff,
            "ci": [float(ci[0]), float(ci[1])], "p_value": float(p)}


def _brief(e: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("metric", "cohort_a", "cohort_b", "value_a", "value_b", "difference", "ci", "p_value_adjusted",
            "direction")
    return {k: e[k] for k in keys}


def _method(thresholds: Mapping[str, float], alpha: float) -> dict[str, Any]:
    return {
        "alpha": alpha,
        "confidence": 1.0 - alpha,
        "practical_threshold": dict(thresholds),
        "correction": "holm",
        "proportions": "pooled two-proportion z-test, Newcombe hybrid score interval (method 10), Wilson per cohort",
        "ece": "difference of excess ECE (ECE minus a perfectly calibrated model's ECE at the same size, by "
        f"consistency resampling), normal interval with parametric-bootstrap standard error, {N_BOOT} replicates, "
        f"seed {BOOT_SEED}; the interval is for that size-bias-corrected difference",
        "difference": "cohort_b - cohort_a (cohort_b is the later cohort)",
        "data_drift": "a feature drifts when its two-sample KS test is significant (Holm over the pair's tests) and "
        f"PSI (10 reference-quantile bins) >= {PSI_THRESHOLD} or Jensen-Shannon distance (base 2) >= {JS_THRESHOLD}; "
        f"or when its share of non-finite values changes by > {NONFINITE_THRESHOLD} significantly; or it has no "
        "finite values",
    }


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def _message(drifted, n_cohorts, n_comp, thresholds, alpha, data_drift) -> str:
    if drifted:
        parts = []
        for e in drifted[:3]:
            verb = "rose" if e["difference"] > 0 else "fell"
            parts.append(
                f"{e['metric']} {verb} by {abs(e['difference']):.3f} from cohort {e['cohort_a']!r} to "
                f"{e['cohort_b']!r} ({e['value_a']:.3f} -> {e['value_b']:.3f}, "
                f"{100 * (1 - alpha):.0f}% CI [{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}], "
                f"Holm p={_fmt_p(e['p_value_adjusted'])})"
            )
        more = f"; and {len(drifted) - 3} more" if len(drifted) > 3 else ""
        text = "Drift detected: " + "; ".join(parts) + more + "."
    else:
        thr = sorted(set(thresholds.values()))
        text = (
            f"No significant drift across {n_cohorts} cohorts ({n_comp} comparisons; practical threshold "
            f"{thr[0] if len(thr) == 1 else thresholds}, alpha {alpha}, Holm correction)."
        )
    if data_drift.get("has_data_drift"):
        bits = [
            f"{', '.join(p['drifted_features'][:5])} ({p['cohort_a']!r} -> {p['cohort_b']!r})"
            for p in data_drift["pairs"] if p.get("drifted_features")
        ]
        text += " Training-data drift in features: " + "; ".join(bits[:3]) + "."
    return text


def _gate_recommendations(grouped: Mapping[str, Sequence[CohortObservation]]) -> list[str]:
    found = []
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    for cid, observations in grouped.items():
        for o in observations:
            for v in o.violations:
                found.append((order.get(v.get("severity"), 9), cid, o.model_type, v))
    recs = []
    for _, cid, model_type, v in sorted(found, key=lambda t: t[0]):
        kind = v.get("type")
        if kind == "calibration_error":
            recs.append(
                f"Cohort {cid!r} ({model_type}) failed the promotion gate on calibration_error (ECE {v['value']:.3f} > "
                f"max {v['threshold']:.3f}, severity {v['severity']}): recalibrate it (temperature or isotonic scaling "
                "on the calibration split) before promotion."
            )
        elif kind == "low_accuracy":
            recs.append(
                f"Cohort {cid!r} ({model_type}) failed the promotion gate on low_accuracy (accuracy {v['value']:.3f} < "
                f"min {v['threshold']:.3f}, severity {v['severity']}): retrain it with more or cleaner data, other "
                "hyperparameters or another model type."
            )
        else:
            reasons = "; ".join(v.get("reasons", [])) or "no reason given"
            recs.append(f"Cohort {cid!r} ({model_type}) failed the promotion gate ({reasons}): review the gate result.")
    return recs


def _recommendations(drifted, grouped, data_drift, n_cohorts) -> list[str]:
    recs: list[str] = []
    drifted_features = {(p["cohort_a"], p["cohort_b"]): p["drifted_features"] for p in data_drift["pairs"]
                        if p.get("drifted_features")}
    by_pair: dict[tuple[str, str], list[dict]] = {}
    for e in drifted:
        by_pair.setdefault((e["cohort_a"], e["cohort_b"]), []).append(e)
    for (a, b), entries in by_pair.items():
        worse = [e for e in entries if e["direction"] == "worse"]
        better = [e for e in entries if e["direction"] == "better"]
        perf = [e for e in worse if e["metric"] in PROPORTION_METRICS]
        if perf:
            hints = {"precision": " (more false positives)", "recall": " (more missed positives)"}
            changes = ", ".join(_change(e) + hints.get(e["metric"], "") for e in perf)
            why = []
            size_a, size_b = _train_size(grouped[a]), _train_size(grouped[b])
            if size_a and size_b and size_b < 0.5 * size_a:
                why.append(f"it trained on {size_b} rows vs {size_a}: give it more training data")
            features = drifted_features.get((a, b))
            if features:
                why.append(f"its training data drifted on feature(s) {', '.join(features[:5])}: check how they are "
                           "produced (a broken or missing feature?)")
            recs.append(f"Investigate cohort {b!r}: {changes} vs {a!r}; retrain it"
                        + ("; " + "; ".join(why) if why else "") + ".")
        for e in worse:
            if e["metric"] == "ece":
                if perf:
                    recs.append(f"Investigate cohort {b!r}: {_change(e)} vs {a!r}; its accuracy metrics dropped too, "
                                "so retrain it first, then recalibrate.")
                else:
                    recs.append(f"Investigate cohort {b!r}: {_change(e)} vs {a!r}; recalibrate it (temperature or "
                                "isotonic scaling on the calibration split); accuracy did not drift, so retraining is "
                                "not needed.")
            elif e["metric"] == "gate_failure_rate":
                recs.append(f"Investigate cohort {b!r}: {_change(e)} vs {a!r}; see its promotion-gate violations.")
        if better:
            recs.append(f"Cohort {b!r} improved over {a!r}: {', '.join(_change(e) for e in better)}; consider "
                        "promoting its configuration.")
    perf_pairs = {pair for pair, entries in by_pair.items()
                  if any(e["metric"] in PROPORTION_METRICS and e["direction"] == "worse" for e in entries)}
    for p in data_drift["pairs"]:
        if p.get("drifted_features") and (p["cohort_a"], p["cohort_b"]) not in perf_pairs:
            details = ", ".join(
                f"{f} (PSI {p['features'][f]['psi']:.2f})" if p["features"][f].get("psi") is not None else f
                for f in p["drifted_features"][:5]
            )
            recs.append(f"Training data of cohort {p['cohort_b']!r} drifted from {p['cohort_a']!r} on {details}; "
                        "check how those features are produced before trusting the comparison.")
    recs.extend(_gate_recommendations(grouped))
    if not recs:
        recs.append(f"No drift between the {n_cohorts} cohorts and no gate failures: no action needed; keep tracking "
                    "new cohorts.")
    return list(dict.fromkeys(recs))


def _change(e: Mapping[str, Any]) -> str:
    d = e["difference"]
    return f"{e['metric']} {'rose' if d > 0 else 'fell'} by {abs(d):.3f} ({e['value_a']:.3f} -> {e['value_b']:.3f})"


def _train_size(observations: Sequence[CohortObservation]) -> Optional[int]:
    sizes = [o.train_size for o in observations if o.train_size]
    return int(np.median(sizes)) if sizes else None


def _cohort_samples(observations: Sequence[CohortObservation]) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """Per feature: pooled sample and non-finite counts over the cohort's distinct training sets."""
    by_fp: dict[str, dict] = {}
    for o in observations:
        if o.feature_profile:
            by_fp.setdefault(o.data_fingerprint or o.observation_id, o.feature_profile)
    features: dict[str, dict[str, Any]] = {}
    for profile in by_fp.values():
        for name, info in profile.items():
            f = features.setdefault(name, {"parts": [], "n": 0, "n_nonfinite": 0})
            f["parts"].append(np.asarray(info.get("sample", []), dtype=np.float64))
            f["n"] += int(info.get("n", 0))
            f["n_nonfinite"] += int(info.get("n_nonfinite", 0))
    for f in features.values():
        f["sample"] = np.concatenate(f.pop("parts")) if f["parts"] else np.empty(0)
    return tuple(sorted(by_fp)), features


def _data_drift(grouped, pairs, alpha) -> dict[str, Any]:
    profiles = {cid: _cohort_samples(obs) for cid, obs in grouped.items()}
    out_pairs = []
    for a, b in pairs:
        (fps_a, feats_a), (fps_b, feats_b) = profiles[a], profiles[b]
        entry: dict[str, Any] = {"cohort_a": a, "cohort_b": b, "same_data": bool(fps_a) and fps_a == fps_b,
                                 "features": {}, "drifted_features": []}
        if not feats_a or not feats_b:
            entry["note"] = "no feature profile stored for " + (a if not feats_a else b)
            out_pairs.append(entry)
            continue
        if entry["same_data"]:
            entry["note"] = "both cohorts trained on the same data (equal fingerprints)"
            out_pairs.append(entry)
            continue
        common = sorted(set(feats_a) & set(feats_b))
        entry["only_in_a"] = sorted(set(feats_a) - set(feats_b))
        entry["only_in_b"] = sorted(set(feats_b) - set(feats_a))
        tests: list[tuple[str, str, float]] = []  # (feature, test, raw p): one Holm family per cohort pair
        for name in common:
            fa, fb = feats_a[name], feats_b[name]
            nf = stats.compare_proportions(fa["n_nonfinite"], fa["n"], fb["n_nonfinite"], fb["n"])
            info: dict[str, Any] = {"nonfinite_fraction_a": nf.value_a, "nonfinite_fraction_b": nf.value_b,
                                    "nonfinite_p_value": nf.p_value}
            tests.append((name, "nonfinite", nf.p_value))
            if fa["sample"].size and fb["sample"].size:
                d = stats.feature_drift(fa["sample"], fb["sample"])
                info.update(psi=d.psi, ks_statistic=d.ks_statistic, ks_p_value=d.ks_p_value,
                            js_distance=d.js_distance, n_a=d.n_reference, n_b=d.n_current)
                tests.append((name, "ks", d.ks_p_value))
            else:
                info.update(psi=None, ks_statistic=None, ks_p_value=None, js_distance=None,
                            note="no finite values in cohort " + (a if not fa["sample"].size else b))
            entry["features"][name] = info
        for (name, test, _), p_adj in zip(tests, stats.holm_adjust([t[2] for t in tests])):
            entry["features"][name][f"{test}_p_value_adjusted"] = p_adj
        for name in common:
            info = entry["features"][name]
            reasons = []
            if info["psi"] is None:
                reasons.append("no finite values")
            elif info["ks_p_value_adjusted"] < alpha and (info["psi"] >= PSI_THRESHOLD
                                                         or info["js_distance"] >= JS_THRESHOLD):
                reasons.append(
                    f"distribution shift: PSI {info['psi']:.2f}, JS {info['js_distance']:.2f}, "
                    f"KS p={_fmt_p(info['ks_p_value_adjusted'])} (Holm)"
                )
            nf_a, nf_b = info["nonfinite_fraction_a"] or 0.0, info["nonfinite_fraction_b"] or 0.0
            if info["nonfinite_p_value_adjusted"] < alpha and abs(nf_b - nf_a) > NONFINITE_THRESHOLD:
                reasons.append(f"share of missing/non-finite values changed ({nf_a:.1%} -> {nf_b:.1%})")
            info["drifted"] = bool(reasons)
            info["reasons"] = reasons
            if reasons:
                entry["drifted_features"].append(name)
        entry["drifted_features"].sort(key=lambda f: -_psi_or_inf(entry["features"][f]))
        out_pairs.append(entry)
    return {"has_data_drift": any(p["drifted_features"] for p in out_pairs), "pairs": out_pairs}


def _psi_or_inf(info: Mapping[str, Any]) -> float:
    value = info.get("psi")
    return float("inf") if value is None else float(value)


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
