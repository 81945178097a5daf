"""Data drift between cohorts and the causes of a difference, for the drift report.

* :func:`column_drift` — every shared column of two profiles tested (see :mod:`nethical.drift.columns`), corrected
  over all tests of the pair (Holm or Benjamini-Hochberg), decided against effect-size thresholds with per-column
  overrides, and summarized for the data set.
* ``causes`` — what differs between two cohorts (configuration, data sources, schema, class balance, model type)
  and a sentence attributing a difference to it.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from nethical.drift import stats
from nethical.drift.columns import (
    CATEGORICAL_EFFECTS,
    LABEL_COLUMN,
    NUMERIC_EFFECTS,
    THRESHOLDS,
    compare_profiles,
    decide,
    merge_profiles,
)
from nethical.drift.observation import CohortObservation
from nethical.drift.pictures import PLOT_COLUMNS
from nethical.drift.profile import normalize_profile
from nethical.exceptions import ConfigError

EFFECTS = ("wasserstein", "psi", "js", "mass_shift", "ks")
CORRECTIONS = ("holm", "bh")
DATASET_DRIFT_SHARE = 0.5  # Evidently's default: the data set drifts when half of its columns do
TOP_SHIFTS = 10


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_overrides(overrides: Optional[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for column, spec in (overrides or {}).items():
        if not isinstance(spec, Mapping):
            raise ConfigError(f"drift report column override for {column!r} must be a mapping, e.g. "
                              "{'effects': ['psi'], 'thresholds': {'psi': 0.2}} or {'skip': True}.")
        unknown = sorted(set(spec) - {"effects", "thresholds", "skip"})
        if unknown:
            raise ConfigError(f"drift report column override for {column!r}: unknown keys {unknown}; use effects, "
                              "thresholds or skip.")
        effects = list(spec.get("effects") or [])
        thr = dict(spec.get("thresholds") or {})
        bad = sorted((set(effects) | set(thr)) - set(EFFECTS) - {"nonfinite"})
        if bad:
            raise ConfigError(f"drift report column override for {column!r}: unknown effect(s) {bad}; use "
                              f"{', '.join(EFFECTS)}.")
        for effect, value in thr.items():
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) < math.inf:
                raise ConfigError(f"drift report column override {column}={effect}:{value}: the threshold must be a "
                                  "number >= 0, e.g. 0.2.")
        out[str(column)] = {"effects": effects, "thresholds": {k: float(v) for k, v in thr.items()},
                            "skip": bool(spec.get("skip", False))}
    return out


def parse_column_override(text: str) -> tuple[str, dict[str, Any]]:
    """``COLUMN=skip`` or ``COLUMN=EFFECT:THRESHOLD`` (``count=psi:0.2``) as an override entry.

    Raises:
        ConfigError: the text has another shape.
    """
    column, sep, rule = str(text).rpartition("=")
    if not sep or not column:
        raise ConfigError(f"--column-override {text!r}: use COLUMN=EFFECT:THRESHOLD (e.g. count=psi:0.2) or "
                          "COLUMN=skip.")
    if rule == "skip":
        return column, {"skip": True}
    effect, sep, value = rule.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or effect not in EFFECTS or not math.isfinite(number) or number < 0:
        raise ConfigError(f"--column-override {text!r}: use COLUMN=EFFECT:THRESHOLD with EFFECT one of "
                          f"{', '.join(EFFECTS)} and a threshold >= 0 (e.g. count=psi:0.2), or COLUMN=skip.")
    return column, {"effects": [effect], "thresholds": {effect: number}}


def _cohort_profile(observations: Sequence[CohortObservation]) -> tuple[tuple[str, ...], dict[str, dict]]:
    """Per column: the merged profile over the cohort's distinct training sets (by fingerprint)."""
    by_fp: dict[str, dict] = {}
    for o in observations:
        if o.feature_profile:
            by_fp.setdefault(o.data_fingerprint or o.observation_id, o.feature_profile)
    merged: dict[str, dict] = {}
    for profile in by_fp.values():
        for name, info in profile.items():
            info = normalize_profile(info)
            merged[name] = info if name not in merged else merge_profiles(merged[name], info)
    return tuple(sorted(by_fp)), merged


def _adjust(p_values: Sequence[float], correction: str) -> list[float]:
    if not p_values:
        return []
    if correction == "bh":
        from scipy.stats import false_discovery_control

        return [float(x) for x in false_discovery_control(np.asarray(p_values, dtype=np.float64), method="bh")]
    return stats.holm_adjust(p_values)


def data_drift(grouped, pairs, alpha, overrides, correction) -> dict[str, Any]:
    profiles: dict[str, tuple] = {}
    out_pairs = []
    seen: set = set()
    for pair in pairs:
        a, b = pair["cohort_a"], pair["cohort_b"]
        if (a, b) in seen:
            continue
        seen.add((a, b))
        for cid in (a, b):
            if cid not in profiles:
                profiles[cid] = _cohort_profile(grouped[cid])
        (fps_a, cols_a), (fps_b, cols_b) = profiles[a], profiles[b]
        entry: dict[str, Any] = {"cohort_a": a, "cohort_b": b, "same_data": bool(fps_a) and fps_a == fps_b,
                                 "columns": {}, "drifted_features": [], "significant_small": [], "top_shifts": []}
        if not cols_a or not cols_b:
            entry["note"] = "no column profile stored for " + (a if not cols_a else b)
            out_pairs.append(entry)
            continue
        if entry["same_data"]:
            entry["note"] = "both cohorts trained on the same data (equal fingerprints)"
            out_pairs.append(entry)
            continue
        entry.update(column_drift(cols_a, cols_b, alpha, overrides, correction, a, b))
        out_pairs.append(entry)
    return {"has_data_drift": any(p["drifted_features"] for p in out_pairs), "pairs": out_pairs,
            "dataset_drift_share": DATASET_DRIFT_SHARE, "correction": correction}


def column_drift(
    cols_a: Mapping[str, Mapping[str, Any]],
    cols_b: Mapping[str, Mapping[str, Any]],
    alpha: float = 0.05,
    overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
    correction: str = "holm",
    a: str = "a",
    b: str = "b",
) -> dict[str, Any]:
    """Per-column tests between two profiles (``{column: profile}``, e.g. :func:`summarize_features` outputs) with
    the correction over all their tests, the per-column decision and the dataset-level summary.

    Returns:
        ``{"columns": {name: {...}}, "drifted_features", "significant_small", "only_in_a", "only_in_b",
        "skipped_columns", "n_columns", "share_drifted", "dataset_drift", "top_shifts"}`` (``note`` when the
        profiles share no feature column).
    """
    overrides = check_overrides(overrides)
    entry: dict[str, Any] = {"columns": {}, "drifted_features": [], "significant_small": [], "top_shifts": []}
    common = [c for c in sorted(set(cols_a) & set(cols_b)) if not overrides.get(c, {}).get("skip")]
    entry["only_in_a"] = sorted(set(cols_a) - set(cols_b))
    entry["only_in_b"] = sorted(set(cols_b) - set(cols_a))
    entry["skipped_columns"] = sorted(c for c in set(cols_a) & set(cols_b) if overrides.get(c, {}).get("skip"))
    if not [c for c in common if c != LABEL_COLUMN]:
        entry["note"] = (f"the cohorts share no feature column: {a!r} has {_names(entry['only_in_a'])}, {b!r} has "
                         f"{_names(entry['only_in_b'])}")
    tests: dict[str, Any] = {}
    family: list[tuple[str, str, float]] = []
    for name in common:
        try:
            t = compare_profiles(cols_a[name], cols_b[name])
        except ValueError as exc:
            entry["columns"][name] = {"status": "drifted", "reasons": [f"no values in one cohort ({exc})"]}
            continue
        tests[name] = t
        family.append((name, "distribution", t.p_value))
        family.append((name, "nonfinite", t.nonfinite_p_value))
    adjusted: dict[tuple[str, str], float] = {}
    for (name, which, _), p_adj in zip(family, _adjust([f[2] for f in family], correction)):
        adjusted[(name, which)] = p_adj
    for name, t in tests.items():
        ov = overrides.get(name, {})
        thr = dict(THRESHOLDS, **ov.get("thresholds", {}))
        effects = ov.get("effects") or (NUMERIC_EFFECTS if t.kind == "numeric" else CATEGORICAL_EFFECTS)
        p_adj, nf_adj = adjusted[(name, "distribution")], adjusted[(name, "nonfinite")]
        status, reasons = decide(t, p_adj, nf_adj, alpha, thr, effects)
        entry["columns"][name] = {
            "kind": t.kind, "label": name == LABEL_COLUMN, "test": t.test, "statistic": t.statistic, "p_values": dict(t.components),
            "p_value": t.p_value, "p_value_adjusted": p_adj, "effects": dict(t.effects),
            "effects_used": list(effects), "thresholds": {e: thr.get(e) for e in effects},
            "n_a": t.n_a, "n_b": t.n_b, "nonfinite_fraction_a": t.nonfinite_a,
            "nonfinite_fraction_b": t.nonfinite_b, "nonfinite_p_value": t.nonfinite_p_value,
            "nonfinite_p_value_adjusted": nf_adj, "status": status, "drifted": status == "drifted",
            "reasons": reasons, "top_changes": [dict(c) for c in t.top_changes],
            "plot": _plot_data(cols_a[name], cols_b[name], t.kind),
            **({"sampled": True} if cols_a[name].get("sampled") or cols_b[name].get("sampled") else {}),
        }
    ranked = sorted(entry["columns"], key=lambda c: -_strength(entry["columns"][c]))
    entry["drifted_features"] = [c for c in ranked if entry["columns"][c].get("status") == "drifted"]
    entry["significant_small"] = [c for c in ranked if entry["columns"][c].get("status") == "significant_small"]
    features = [c for c in entry["columns"] if c != LABEL_COLUMN]
    n_drift = sum(1 for c in entry["drifted_features"] if c != LABEL_COLUMN)
    entry["n_columns"] = len(features)
    entry["share_drifted"] = n_drift / len(features) if features else None
    entry["dataset_drift"] = bool(features) and n_drift / len(features) >= DATASET_DRIFT_SHARE
    entry["top_shifts"] = [_shift(c, entry["columns"][c]) for c in entry["drifted_features"][:TOP_SHIFTS]]
    for c in entry["columns"]:  # plot data only for the columns a picture is drawn for
        if c not in entry["drifted_features"][:PLOT_COLUMNS]:
            entry["columns"][c].pop("plot", None)
    return entry


def _names(names: Sequence[str], limit: int = 8) -> str:
    names = [n for n in names if n != LABEL_COLUMN]
    return "[" + ", ".join(names[:limit]) + (f", ... {len(names) - limit} more" if len(names) > limit else "") + "]"


def _strength(info: Mapping[str, Any]) -> float:
    eff = info.get("effects") or {}
    thr = info.get("thresholds") or {}
    ratios = [eff[e] / thr[e] for e in (info.get("effects_used") or []) if _finite(eff.get(e)) and thr.get(e)]
    return max(ratios) if ratios else (math.inf if info.get("status") == "drifted" else 0.0)


def _shift(name: str, info: Mapping[str, Any]) -> dict[str, Any]:
    eff = info.get("effects") or {}
    return {"column": name, "kind": info.get("kind"), "test": info.get("test"),
            "p_value_adjusted": info.get("p_value_adjusted"),
            "effects": {e: eff.get(e) for e in info.get("effects_used", [])}, "reasons": info.get("reasons", []),
            "top_changes": list(info.get("top_changes", []))[:3]}


def _plot_data(a: Mapping[str, Any], b: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Compact data for a per-column picture: ECDFs at <= 200 points (numeric) or the top 10 level shares."""
    if kind == "numeric" and a.get("kind") == "numeric" and b.get("kind") == "numeric":
        out: dict[str, Any] = {"kind": "ecdf"}
        for side, p in (("a", a), ("b", b)):
            v = np.asarray(p.get("values", []), dtype=np.float64)
            w = np.asarray(p.get("counts", []), dtype=np.float64)
            cdf = np.cumsum(w) / w.sum() if w.sum() else w
            keep = np.unique(np.linspace(0, max(0, v.size - 1), min(200, v.size)).astype(int)) if v.size else []
            out[side] = {"x": v[keep].tolist(), "cdf": cdf[keep].tolist()}
        return out
    ca = {str(k): float(v) for k, v in (a.get("counts") or {}).items()} if a.get("kind") != "numeric" else {}
    cb = {str(k): float(v) for k, v in (b.get("counts") or {}).items()} if b.get("kind") != "numeric" else {}
    ta, tb = sum(ca.values()) or 1.0, sum(cb.values()) or 1.0
    levels = sorted(set(ca) | set(cb), key=lambda k: -max(ca.get(k, 0) / ta, cb.get(k, 0) / tb))[:10]
    return {"kind": "bars", "levels": levels, "a": [ca.get(k, 0) / ta for k in levels],
            "b": [cb.get(k, 0) / tb for k in levels]}


# ----------------------------------------------------------------------------------------------------- causes


def _positive_rate(profile_entry: Optional[Mapping[str, Any]], side: str) -> Optional[float]:
    if not profile_entry:
        return None
    changes = {c["value"]: c for c in profile_entry.get("top_changes", [])}
    if "1" in changes:
        return changes["1"][f"share_{side}"]
    return None


def causes(pair: Mapping[str, Any], data_drift: Mapping[str, Any]) -> dict[str, Any]:
    a, b = pair["cohort_a"], pair["cohort_b"]
    oa, ob = pair["obs_a"][-1], pair["obs_b"][-1]
    out: dict[str, Any] = {"cohort_a": a, "cohort_b": b, "model_type": pair["model_type"],
                           "cross_model_type": pair["cross"]}
    if oa.config_hash and ob.config_hash:
        same_config = oa.config_hash == ob.config_hash
        out["config"] = "same" if same_config else "different"
        out["config_differences"] = _config_diff(oa.config, ob.config) if not same_config else []
    else:
        out["config"] = "unknown"
    out["config_hash_a"], out["config_hash_b"] = oa.config_hash, ob.config_hash
    dd = next((p for p in data_drift["pairs"] if p["cohort_a"] == a and p["cohort_b"] == b), {})
    out["data"] = "same" if dd.get("same_data") else ("different" if dd else "unknown")
    prov_a = {k: v for k, v in oa.provenance.items() if k != "rows_used"}
    prov_b = {k: v for k, v in ob.provenance.items() if k != "rows_used"}
    out["sources"] = "same" if prov_a == prov_b else "different"
    out["source_differences"] = sorted(k for k in set(prov_a) | set(prov_b) if prov_a.get(k) != prov_b.get(k))
    out["schema"] = {"only_in_a": [c for c in dd.get("only_in_a", []) if c != LABEL_COLUMN],
                     "only_in_b": [c for c in dd.get("only_in_b", []) if c != LABEL_COLUMN]}
    label = (dd.get("columns") or {}).get(LABEL_COLUMN)
    rate_a, rate_b = _positive_rate(label, "a"), _positive_rate(label, "b")
    out["class_balance"] = {"positive_rate_a": rate_a, "positive_rate_b": rate_b,
                            "status": label.get("status") if label else None}
    out["n_drifted_columns"] = sum(1 for c in dd.get("drifted_features", []) if c != LABEL_COLUMN)
    out["attribution"] = _attribution(out)
    return out


def _config_diff(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            diffs.extend(_config_diff(va, vb, f"{prefix}{k}."))
        elif va != vb:
            diffs.append(f"{prefix}{k} {va!r} -> {vb!r}")
    return diffs[:8]


def _attribution(c: Mapping[str, Any]) -> str:
    bits = []
    cb = c["class_balance"]
    if cb.get("positive_rate_a") is not None and cb.get("positive_rate_b") is not None and \
            cb.get("status") in ("drifted", "significant_small"):
        bits.append(f"positive rate {cb['positive_rate_a']:.3f} -> {cb['positive_rate_b']:.3f}")
    if c.get("n_drifted_columns"):
        bits.append(f"{c['n_drifted_columns']} feature column(s) shifted")
    schema = c["schema"]
    if schema["only_in_a"] or schema["only_in_b"]:
        bits.append(f"schema differs: only in {c['cohort_a']!r} {_names(schema['only_in_a'], 5)}, only in "
                    f"{c['cohort_b']!r} {_names(schema['only_in_b'], 5)}")
    if c["sources"] == "different" and c.get("source_differences"):
        bits.append("sources differ in " + ", ".join(c["source_differences"][:4]))
    data_text = "the data differ" + (f" ({'; '.join(bits)})" if bits else "")
    config_text = ("the configuration differs (" + "; ".join(c.get("config_differences") or ["hash"]) + ")")
    prefix = ""
    if c["cross_model_type"]:
        prefix = (f"different model types ({c['model_type']}): a difference may come from the model type rather "
                  "than drift; ")
    if c["config"] == "unknown":
        cfg = "configuration not recorded"
        return prefix + (f"{cfg}; {data_text}" if c["data"] == "different" else f"{cfg}; same data" if c["data"] == "same"
                         else cfg)
    if c["config"] == "same" and c["data"] == "same":
        return prefix + "same configuration and same data: differences are run-to-run variation"
    if c["config"] == "same":
        return prefix + f"same configuration; {data_text}"
    if c["data"] == "same":
        return prefix + f"same data; {config_text}"
    return prefix + f"both {config_text} and {data_text}: a difference cannot be attributed to one of them"
