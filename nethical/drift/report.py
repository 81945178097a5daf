"""Build, write and plot the ethical drift report over the cohorts in a cohort store.

The report compares every cohort in the store (or a chosen set). Its top level is::

    {"report_id": "drift_YYYYMMDD_HHMMSS[_n]", "start_time": ..., "end_time": ..., "generated_at": ...,
     "store": {"path", "observations", "skipped_lines"},
     "cohorts": {cohort_id: {"action_count", "violation_stats", "avg_risk_score", "model_types", "metrics", ...}},
     "drift_metrics": {"has_drift", "message", "comparisons": {metric: [...]}, "transfer": [...],
                       "significant_small": [...], "data_drift": {...}, "causes": [...], "skipped_pairs": [...]},
     "recommendations": [...]}

Pairs: two cohorts are compared *per model type they share* (a ``--model-type all`` run under default cohort ids
gives one cohort per type, and those are never compared with each other). Cohorts that share no model type are
compared only when the caller names them explicitly (``cohorts=``), and then every entry carries
``cross_model_type: true`` and the message says so.

``has_drift`` is true when a performance difference is larger than the practical threshold *and* significant at
``alpha`` after Holm's correction over every performance comparison of the report. Performance comparisons are of two
kinds: each cohort's model on its own validation rows (``comparisons``) and the *transfer* test, the earlier cohort's
saved model scored on the later cohort's validation rows (``transfer``), which is the headline when it drifts. Data
drift between training sets (``data_drift``) feeds the message, the causes and the recommendations but does not set
``has_drift`` on its own.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from nethical.drift import stats
from nethical.fileio import new_temp_file
from nethical.drift.columns import LABEL_COLUMN, THRESHOLDS
from nethical.drift.data_drift import CORRECTIONS
from nethical.drift.data_drift import causes as _causes
from nethical.drift.data_drift import check_overrides as _check_overrides
from nethical.drift.data_drift import column_drift, parse_column_override  # noqa: F401 - re-exported
from nethical.drift.data_drift import data_drift as _data_drift
from nethical.drift.pictures import plot_columns, plot_report, write_html
from nethical.drift.observation import SEVERITIES, CohortObservation, risk_level, validate_cohort_id
from nethical.drift.store import CohortStore, StoreIssue
from nethical.drift.transfer import TransferSkipped, bins_count, score
from nethical.exceptions import ConfigError, OutputError

PROPORTION_METRICS = ("accuracy", "precision", "recall")
METRICS = PROPORTION_METRICS + ("ece", "gate_failure_rate")
TRANSFER_METRICS = PROPORTION_METRICS + ("ece",)
HIGHER_IS_BETTER = {"accuracy": True, "precision": True, "recall": True, "ece": False, "gate_failure_rate": False}
N_BOOT = 2000
BOOT_SEED = 0


@dataclass(frozen=True)
class DriftReportResult:
    """A written report: the dict, its JSON path, the PNG paths (when plotted), the HTML path and skipped lines."""

    report: dict
    path: Path
    plot_path: Optional[Path]
    issues: tuple
    columns_plot_path: Optional[Path] = None
    html_path: Optional[Path] = None


def generate_report(
    report_dir: Union[str, os.PathLike],
    *,
    cohorts: Optional[Sequence[str]] = None,
    practical_threshold: Union[float, Mapping[str, float]] = 0.05,
    alpha: float = 0.05,
    plot: bool = False,
    html_report: bool = False,
    transfer: bool = True,
    reverse_transfer: bool = False,
    column_overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
    correction: str = "holm",
) -> DriftReportResult:
    """Read the store in ``report_dir``, build the report, write ``drift_<time>.json`` (PNGs with ``plot``, a
    self-contained HTML page with ``html_report``). The store itself is only read, never rewritten.

    Skipped store lines are returned in ``issues`` (and listed in the report); the caller decides how to warn.

    Raises:
        ConfigError: bad thresholds or overrides, or a chosen cohort that is not in the store.
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
        report_dir=report_dir if transfer else None,
        reverse_transfer=reverse_transfer,
        column_overrides=column_overrides,
        correction=correction,
    )
    report, path = write_report(report, report_dir)
    plot_path = columns_path = html_path = None
    if plot or html_report:
        plot_path = plot_report(report, path.with_suffix(".png"))
        columns_path = plot_columns(report, path.with_name(path.stem + "_columns.png"))
    if html_report:
        html_path = write_html(report, path.with_suffix(".html"), [p for p in (plot_path, columns_path) if p])
    return DriftReportResult(report, path, plot_path, scan.issues, columns_path, html_path)


def build_report(
    observations: Iterable[CohortObservation],
    *,
    cohorts: Optional[Sequence[str]] = None,
    practical_threshold: Union[float, Mapping[str, float]] = 0.05,
    alpha: float = 0.05,
    store_path: Optional[str] = None,
    store_issues: Sequence[StoreIssue] = (),
    generated_at: Optional[datetime] = None,
    report_dir: Optional[Union[str, os.PathLike]] = None,
    reverse_transfer: bool = False,
    column_overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
    correction: str = "holm",
) -> dict[str, Any]:
    """The report dict over ``observations`` (all cohorts, or only ``cohorts`` in the given order).

    Args:
        observations: store observations in append order.
        cohorts: cohort ids to compare; every one must be present. Naming cohorts also allows comparing cohorts
            of different model types (labelled ``cross_model_type``).
        practical_threshold: smallest absolute difference that matters, for every metric or per metric
            (keys from ``accuracy, precision, recall, ece, gate_failure_rate``).
        alpha: family-wise significance level (Holm) and ``1 - alpha`` is the interval confidence.
        store_path: shown in the report.
        store_issues: skipped store lines, listed in the report.
        generated_at: report time (UTC now by default); sets the provisional ``report_id``.
        report_dir: where the cohorts' validation rows are kept; ``None`` skips the transfer test.
        reverse_transfer: also score the later cohort's model on the earlier cohort's rows.
        column_overrides: per column, ``{"effects": [...], "thresholds": {effect: value}, "skip": bool}``.
        correction: ``"holm"`` (family-wise error rate) or ``"bh"`` (Benjamini-Hochberg false discovery rate) over
            the column tests of a cohort pair.
    """
    thresholds = _practical_thresholds(practical_threshold)
    if not 0.0 < float(alpha) < 1.0:
        raise ConfigError(f"drift report alpha={alpha}: must be within (0, 1), e.g. 0.05.")
    if correction not in CORRECTIONS:
        raise ConfigError(f"drift report correction={correction!r}: use one of {', '.join(CORRECTIONS)}.")
    overrides = _check_overrides(column_overrides)
    alpha = float(alpha)
    confidence = 1.0 - alpha
    generated_at = generated_at or datetime.now(timezone.utc)
    observations = list(observations)

    grouped: dict[str, list[CohortObservation]] = {}
    for obs in observations:
        grouped.setdefault(obs.cohort_id, []).append(obs)
    explicit = bool(cohorts)
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
    mixed = {cid: report["cohorts"][cid]["model_types"] for cid in grouped
             if len(report["cohorts"][cid]["model_types"]) > 1}
    for cid, kinds in mixed.items():
        report["cohorts"][cid]["note"] = (f"holds {len(kinds)} model types ({', '.join(kinds)}): the metrics of this "
                                          "block pool them; comparisons between cohorts are made per model type")

    ids = list(grouped)
    pairs, skipped = _pairs(grouped, explicit)
    empty_metrics = {
        "has_drift": False, "n_comparisons": 0, "comparisons": {m: [] for m in METRICS}, "transfer": [],
        "drifted": [], "significant_small": [], "method": _method(thresholds, alpha, correction),
        "data_drift": {"has_data_drift": False, "pairs": []}, "causes": [], "skipped_pairs": skipped,
        "mixed_model_types": mixed,
    }
    if not pairs:
        if not ids:
            message = (
                f"Nothing to compare: the cohort store{' at ' + store_path if store_path else ''} holds no "
                "observations" + (" (all lines were skipped)" if store_issues else "") + "."
            )
            recs = ["Record cohorts first: train with --enable-drift-tracking --cohort-id <name> (twice or more)."]
        elif len(ids) == 1:
            message = f"Nothing to compare: only one cohort ({ids[0]!r}) is in the store; drift needs two or more."
            recs = [f"Train another cohort (e.g. --cohort-id {ids[0]}_v2) to compare it with {ids[0]!r}."]
        else:
            message = (f"Nothing to compare: the {len(ids)} cohorts share no model type, and cohorts of different "
                       "model types are compared only when named with --cohorts.")
            recs = ["Train the same model type in another cohort, or name two cohorts with --cohorts to compare "
                    "different model types on purpose."]
        if mixed:
            message += " " + _mixed_note(mixed)
        report["drift_metrics"] = dict(empty_metrics, message=message)
        report["recommendations"] = _gate_recommendations(grouped) + recs
        return _json_safe(report)

    comparisons = {m: [] for m in METRICS}
    flat: list[dict[str, Any]] = []
    ece_cache: dict[Any, tuple] = {}

    def ece_summary(key: Any, bins: Mapping[str, Any]) -> tuple:
        if key not in ece_cache:
            ece_cache[key] = stats.ece_summary(bins, N_BOOT, BOOT_SEED)
        return ece_cache[key]

    for pair in pairs:
        a, b, mt = pair["cohort_a"], pair["cohort_b"], pair["model_type"]
        pa, pb = _pooled(pair["obs_a"]), _pooled(pair["obs_b"])
        label = {"model_type": mt, "cross_model_type": pair["cross"]}
        for metric in PROPORTION_METRICS + ("gate_failure_rate",):
            (ka, na), (kb, nb) = pa[metric], pb[metric]
            c = stats.compare_proportions(ka, na, kb, nb, confidence)
            entry = _entry(metric, a, b, c.value_a, c.value_b, c.difference, c.ci, c.p_value)
            entry.update(label, n_a=na, n_b=nb, test="two-proportion z-test; Newcombe interval")
            comparisons[metric].append(entry)
            flat.append(entry)
        e = stats.compare_ece_summaries(ece_summary((a, mt, "own"), pa["bins"]), ece_summary((b, mt, "own"), pb["bins"]),
                                        confidence, n_boot=N_BOOT)
        entry = _entry("ece", a, b, e.value_a, e.value_b, e.difference, e.ci, e.p_value)
        entry.update(label, difference_bias_corrected=e.difference_bias_corrected, n_boot=e.n_boot,
                     test=f"excess-ECE difference, bootstrap standard error (seed {BOOT_SEED})")
        comparisons["ece"].append(entry)
        flat.append(entry)

    transfers: list[dict[str, Any]] = []
    if report_dir is not None:
        for pair in pairs:
            if pair["cross"]:
                continue
            directions = [(pair["obs_a"][-1], pair["obs_b"][-1])]
            if reverse_transfer:
                directions.append((pair["obs_b"][-1], pair["obs_a"][-1]))
            for model_obs, rows_obs in directions:
                transfers.append(_transfer(model_obs, rows_obs, report_dir, confidence, ece_summary, flat))

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

    key = lambda e: (e["p_value_adjusted"], -abs(e["difference"]))  # noqa: E731
    drifted = sorted((e for e in flat if e["drift"]), key=key)
    small = sorted((e for e in flat if e["significant"] and not e["practical"]), key=key)
    data_drift = _data_drift(grouped, pairs, alpha, overrides, correction)
    causes = [_causes(pair, data_drift) for pair in pairs]
    report["drift_metrics"] = {
        "has_drift": bool(drifted),
        "message": _message(drifted, small, len(ids), len(flat), thresholds, alpha, data_drift, causes, skipped,
                            mixed),
        "n_comparisons": len(flat),
        "comparisons": comparisons,
        "transfer": transfers,
        "drifted": [_brief(e) for e in drifted],
        "significant_small": [_brief(e) for e in small],
        "method": _method(thresholds, alpha, correction),
        "data_drift": data_drift,
        "causes": causes,
        "skipped_pairs": skipped,
        "mixed_model_types": mixed,
    }
    report["recommendations"] = _recommendations(drifted, grouped, data_drift, causes, len(ids))
    return _json_safe(report)


# ----------------------------------------------------------------------------------------------------- pairs


def _pairs(grouped: Mapping[str, Sequence[CohortObservation]], explicit: bool) -> tuple[list[dict], list[dict]]:
    """Compared pairs (per shared model type, or cross-type when named explicitly) and skipped pairs with reasons."""
    ids = list(grouped)
    types = {cid: list(dict.fromkeys(o.model_type for o in grouped[cid])) for cid in ids}
    pairs: list[dict] = []
    skipped: list[dict] = []
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            a, b = ids[i], ids[j]
            shared = [t for t in types[a] if t in types[b]]
            for t in shared:
                pairs.append({"cohort_a": a, "cohort_b": b, "model_type": t, "cross": False,
                              "obs_a": [o for o in grouped[a] if o.model_type == t],
                              "obs_b": [o for o in grouped[b] if o.model_type == t]})
            if shared:
                continue
            kinds = f"{'/'.join(types[a])} vs {'/'.join(types[b])}"
            if explicit:
                pairs.append({"cohort_a": a, "cohort_b": b, "model_type": kinds, "cross": True,
                              "obs_a": list(grouped[a]), "obs_b": list(grouped[b])})
            else:
                skipped.append({"cohort_a": a, "cohort_b": b, "model_types": kinds,
                                "reason": f"different model types ({kinds}); name both with --cohorts to compare "
                                          "them on purpose"})
    return pairs, skipped


def _mixed_note(mixed: Mapping[str, Sequence[str]]) -> str:
    return " ".join(f"Cohort {c!r} holds {len(t)} model types ({', '.join(t)}); they are compared per model type, "
                    "never pooled." for c, t in mixed.items())


# ----------------------------------------------------------------------------------------------------- transfer


def _transfer(model_obs: CohortObservation, rows_obs: CohortObservation, report_dir: Any, confidence: float,
              ece_summary: Any, flat: list) -> dict[str, Any]:
    """Score ``model_obs``'s model on ``rows_obs``'s rows; add its comparisons with its own validation to ``flat``."""
    out: dict[str, Any] = {"model_cohort": model_obs.cohort_id, "data_cohort": rows_obs.cohort_id,
                           "model_type": model_obs.model_type, "model_run_id": model_obs.run_id}
    try:
        scored = score(model_obs, rows_obs, report_dir, n_bins=bins_count(model_obs))
    except TransferSkipped as exc:
        out.update(skipped=True, reason=str(exc), comparisons=[])
        return out
    c = scored["counts"]
    own = model_obs.counts
    pairs = {
        "accuracy": ((own["tp"] + own["tn"], own["tp"] + own["fp"] + own["tn"] + own["fn"]), (c["tp"] + c["tn"], c["n"])),
        "precision": ((own["tp"], own["tp"] + own["fp"]), (c["tp"], c["tp"] + c["fp"])),
        "recall": ((own["tp"], own["tp"] + own["fn"]), (c["tp"], c["tp"] + c["fn"])),
    }
    entries = []
    for metric, ((ka, na), (kb, nb)) in pairs.items():
        comp = stats.compare_proportions(ka, na, kb, nb, confidence)
        entry = _entry(metric, model_obs.cohort_id, rows_obs.cohort_id, comp.value_a, comp.value_b, comp.difference,
                       comp.ci, comp.p_value)
        entry.update(kind="transfer", model_type=model_obs.model_type, cross_model_type=False, n_a=na, n_b=nb,
                     test="two-proportion z-test; Newcombe interval",
                     meaning=f"{model_obs.cohort_id!r}'s model on its own validation rows (a) vs on "
                             f"{rows_obs.cohort_id!r}'s validation rows (b)")
        entries.append(entry)
    e = stats.compare_ece_summaries(ece_summary((model_obs.observation_id, "own"), model_obs.calibration_bins),
                                    ece_summary((model_obs.observation_id, rows_obs.observation_id),
                                                scored["calibration_bins"]), confidence, n_boot=N_BOOT)
    entry = _entry("ece", model_obs.cohort_id, rows_obs.cohort_id, e.value_a, e.value_b, e.difference, e.ci,
                   e.p_value)
    entry.update(kind="transfer", model_type=model_obs.model_type, cross_model_type=False,
                 difference_bias_corrected=e.difference_bias_corrected, n_boot=e.n_boot,
                 test=f"excess-ECE difference, bootstrap standard error (seed {BOOT_SEED})")
    entries.append(entry)
    flat.extend(entries)
    new_model = rows_obs.counts
    out.update(skipped=False, model_dir=scored["model_dir"], n_rows=scored["n"], counts=c,
               data_cohort_own_accuracy=(new_model["tp"] + new_model["tn"]) / max(1, new_model["n"]),
               comparisons=entries)
    return out


# ----------------------------------------------------------------------------------------------------- text


def _method(thresholds: Mapping[str, float], alpha: float, correction: str = "holm") -> dict[str, Any]:
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
        "transfer": "the earlier cohort's saved model scored on the later cohort's validation rows through "
        "nethical predict's path, compared with its own validation result (same tests as above, same Holm family)",
        "data_drift": "per column on all training rows: numeric -> KS (asymptotic p) with normed Wasserstein, PSI "
        "over point-mass + reference-quantile bins and the largest point-mass share change; categorical and the "
        "label -> chi-square over every level with Jensen-Shannon distance and the largest level share change; the "
        f"non-finite share -> two-proportion test. {'Holm' if correction == 'holm' else 'Benjamini-Hochberg'} over "
        "all tests of a cohort pair. A column drifts when its test is significant and one effect reaches its "
        f"threshold {dict(THRESHOLDS)}; significant with every effect below is reported as significant_small",
        "data_correction": correction,
    }


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _fmt_p(p: float) -> str:
    return f"{p:.2g}"


def _transfer_text(e: Mapping[str, Any], alpha: float) -> str:
    d = e["difference"]
    verb = ("loses" if d < 0 else "gains") if HIGHER_IS_BETTER[e["metric"]] else ("gains" if d > 0 else "loses")
    what = e["metric"] if e["metric"] != "ece" else "calibration (ECE)"
    return (f"the {e['model_type']} model of cohort {e['cohort_a']!r} {verb} {abs(d):.3f} {what} "
            f"({e['value_a']:.3f} -> {e['value_b']:.3f}, {100 * (1 - alpha):.0f}% CI [{e['ci'][0]:+.3f}, "
            f"{e['ci'][1]:+.3f}], Holm p={_fmt_p(e['p_value_adjusted'])}) on the data of cohort {e['cohort_b']!r}")


def _own_text(e: Mapping[str, Any], alpha: float) -> str:
    verb = "rose" if e["difference"] > 0 else "fell"
    cross = " [different model types]" if e.get("cross_model_type") else f" [{e.get('model_type')}]"
    return (f"{e['metric']} {verb} by {abs(e['difference']):.3f} from cohort {e['cohort_a']!r} to {e['cohort_b']!r}"
            f"{cross} ({e['value_a']:.3f} -> {e['value_b']:.3f}, {100 * (1 - alpha):.0f}% CI "
            f"[{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}], Holm p={_fmt_p(e['p_value_adjusted'])})")


def _message(drifted, small, n_cohorts, n_comp, thresholds, alpha, data_drift, causes, skipped, mixed) -> str:
    transfer = [e for e in drifted if e.get("kind") == "transfer" and e["direction"] == "worse"]
    own = [e for e in drifted if e.get("kind") != "transfer"]
    parts = [_transfer_text(e, alpha) for e in transfer[:2]] + [_own_text(e, alpha) for e in own[:3]]
    if parts:
        rest = len(transfer[:2]) + len(own[:3])
        more = f"; and {len(drifted) - rest} more" if len(drifted) > rest else ""
        text = "Drift detected: " + "; ".join(parts) + more + "."
    else:
        thr = sorted(set(thresholds.values()))
        text = (f"No significant drift across {n_cohorts} cohorts ({n_comp} comparisons; practical threshold "
                f"{thr[0] if len(thr) == 1 else thresholds}, alpha {alpha}, Holm correction).")
    if small:
        text += (f" {len(small)} significant change(s) below the practical threshold, e.g. "
                 + ", ".join(f"{e['metric']} {e['difference']:+.3f} ({e['cohort_a']!r} -> {e['cohort_b']!r})"
                             for e in small[:2]) + ".")
    if data_drift.get("has_data_drift"):
        bits = []
        for p in data_drift["pairs"]:
            if p.get("drifted_features"):
                n = sum(1 for c in p["drifted_features"] if c != LABEL_COLUMN)
                shown = ", ".join(("class balance" if c == LABEL_COLUMN else c) for c in p["drifted_features"][:5])
                bits.append(f"{n} of {p.get('n_columns')} columns shifted ({shown}) from {p['cohort_a']!r} to "
                            f"{p['cohort_b']!r}")
        text += " Training-data drift: " + "; ".join(bits[:3]) + "."
    labelled = [c for c in causes if c["cross_model_type"]]
    if labelled:
        text += " Note: " + "; ".join(f"{c['cohort_a']!r} vs {c['cohort_b']!r} compares different model types "
                                      f"({c['model_type']})" for c in labelled[:2]) + "."
    if skipped:
        text += f" {len(skipped)} cohort pair(s) of different model types not compared."
    if mixed:
        text += " " + _mixed_note(mixed)
    return text


def _change(e: Mapping[str, Any]) -> str:
    d = e["difference"]
    return f"{e['metric']} {'rose' if d > 0 else 'fell'} by {abs(d):.3f} ({e['value_a']:.3f} -> {e['value_b']:.3f})"


def _recommendations(drifted, grouped, data_drift, causes, n_cohorts) -> list[str]:
    recs: list[str] = []
    cause = {(c["cohort_a"], c["cohort_b"], c["model_type"]): c for c in causes}
    for e in drifted:
        if e.get("kind") == "transfer" and e["direction"] == "worse":
            c = cause.get((e["cohort_a"], e["cohort_b"], e["model_type"])) or cause.get(
                (e["cohort_b"], e["cohort_a"], e["model_type"]))
            why = f" ({c['attribution']})" if c else ""
            head = _transfer_text(e, 0.05).split(" (")[0]
            recs.append(f"Performance drift: {head} ({e['value_a']:.3f} -> {e['value_b']:.3f}) on the data of cohort "
                        f"{e['cohort_b']!r}{why}; retrain on data like {e['cohort_b']!r}'s before serving it there.")
    by_pair: dict[tuple, list[dict]] = {}
    for e in drifted:
        if e.get("kind") != "transfer":
            by_pair.setdefault((e["cohort_a"], e["cohort_b"], e["model_type"]), []).append(e)
    for (a, b, mt), entries in by_pair.items():
        c = cause.get((a, b, mt))
        why = c["attribution"] if c else ""
        worse = [e for e in entries if e["direction"] == "worse"]
        better = [e for e in entries if e["direction"] == "better"]
        perf = [e for e in worse if e["metric"] in PROPORTION_METRICS]
        if perf:
            hints = {"precision": " (more false positives)", "recall": " (more missed positives)"}
            changes = ", ".join(_change(e) + hints.get(e["metric"], "") for e in perf)
            extra = []
            size_a, size_b = _train_size(grouped[a]), _train_size(grouped[b])
            if size_a and size_b and size_b < 0.5 * size_a:
                extra.append(f"it trained on {size_b} rows vs {size_a}: give it more training data")
            recs.append(f"Investigate cohort {b!r} ({mt}): {changes} vs {a!r}; {why}"
                        + ("; " + "; ".join(extra) if extra else "") + ".")
        for e in worse:
            if e["metric"] == "ece":
                if perf:
                    recs.append(f"Investigate cohort {b!r} ({mt}): {_change(e)} vs {a!r}; its accuracy metrics dropped "
                                "too, so retrain it first, then recalibrate.")
                else:
                    recs.append(f"Investigate cohort {b!r} ({mt}): {_change(e)} vs {a!r}; recalibrate it (temperature "
                                "or isotonic scaling on the calibration split); accuracy did not drift, so retraining "
                                "is not needed.")
            elif e["metric"] == "gate_failure_rate":
                recs.append(f"Investigate cohort {b!r} ({mt}): {_change(e)} vs {a!r}; see its promotion-gate "
                            "violations.")
        if better:
            gains = ", ".join(_change(e) for e in better)
            if c and c["config"] == "different" and c["data"] == "same" and not c["cross_model_type"]:
                recs.append(f"Cohort {b!r} ({mt}) improved over {a!r} on the same data: {gains}; {why}; consider "
                            "promoting its configuration.")
            else:
                recs.append(f"Cohort {b!r} ({mt}) scores higher than {a!r} on its own validation rows: {gains}; "
                            f"{why or 'causes unknown'}; this is not evidence for its configuration.")
    for p in data_drift["pairs"]:
        if p.get("drifted_features"):
            details = ", ".join(_column_brief(f, p["columns"][f]) for f in p["drifted_features"][:5])
            recs.append(f"Training data of cohort {p['cohort_b']!r} shifted from {p['cohort_a']!r} on {details}; "
                        "check how those columns are produced and whether the models still fit the new data.")
        elif p.get("note", "").startswith("the cohorts share no feature column"):
            recs.append(f"Cohorts {p['cohort_a']!r} and {p['cohort_b']!r}: {p['note']}; they describe different "
                        "data sets.")
    recs.extend(_gate_recommendations(grouped))
    if not recs:
        recs.append(f"No drift between the {n_cohorts} cohorts and no gate failures: no action needed; keep tracking "
                    "new cohorts.")
    return list(dict.fromkeys(recs))


def _column_brief(name: str, info: Mapping[str, Any]) -> str:
    label = "class balance" if name == LABEL_COLUMN else name
    changes = info.get("top_changes") or []
    if changes and info.get("kind") != "numeric" or (changes and info.get("effects_used") == ["mass_shift"]):
        c = changes[0]
        return f"{label} ({c['value']}: {c['share_a']:.1%} -> {c['share_b']:.1%})"
    eff = info.get("effects") or {}
    if changes and (eff.get("mass_shift") or 0) >= THRESHOLDS["mass_shift"]:
        c = changes[0]
        return f"{label} (share of {c['value']:g}: {c['share_a']:.1%} -> {c['share_b']:.1%})"
    if _finite(eff.get("wasserstein")):
        return f"{label} (Wasserstein {eff['wasserstein']:.2f} std, PSI {eff.get('psi', float('nan')):.2f})"
    return label


def _train_size(observations: Sequence[CohortObservation]) -> Optional[int]:
    sizes = [o.train_size for o in observations if o.train_size]
    return int(np.median(sizes)) if sizes else None


def summary_lines(report: Mapping[str, Any], top: int = 3) -> list[str]:
    """The lines printed after a report: id, drift flag, message and the top recommendations."""
    drift = report.get("drift_metrics", {})
    lines = [
        f"Drift Report ID: {report.get('report_id')}",
        f"Drift detected: {bool(drift.get('has_drift'))}",
        f"Drift summary: {drift.get('message', '')}",
    ]
    skipped = [t for t in drift.get("transfer", []) if t.get("skipped")]
    for t in skipped[:2]:
        lines.append(f"Transfer skipped ({t['model_cohort']!r} model on {t['data_cohort']!r} data): {t['reason']}")
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
        "avg_risk_score": round(float(np.mean(risks)), 6),
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
    out = {k: e[k] for k in keys}
    out.update(kind=e.get("kind", "own"), model_type=e.get("model_type"), cross_model_type=bool(e.get("cross_model_type")))
    return out


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
        fd, tmp_name = new_temp_file(directory, ".drift_tmp_", ".json")
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
