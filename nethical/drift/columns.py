"""Per-column profiles of a whole split and the per-column drift tests run on them (numpy + scipy, no Lightning).

A *column profile* keeps what the tests need from **every row**, small enough for one line of the cohort store:

* numeric column: exact value counts when the column has at most ``MAX_EXACT_VALUES`` distinct finite values
  (after rounding to 7 significant digits); otherwise a quantile sketch: the values at ``SKETCH_QUANTILES`` mid-rank
  quantiles, each carrying ``n / SKETCH_QUANTILES`` rows, equal neighbours merged (so a point mass such as "54% zeros"
  stays a point mass). Precision of a sketch: every empirical-CDF value is within ``1 / SKETCH_QUANTILES`` (0.0005)
  of the truth, so the KS statistic is within 0.001 and the point-mass shares within 0.0005. Plus the count of
  non-finite values, mean, std, min and max.
* categorical column (raw strings, every level) and the label: exact counts per level. Columns with more than
  ``MAX_LEVELS`` levels keep the most frequent ``MAX_LEVELS`` and pool the rest under ``__rare__`` (noted).

Tests between a reference profile ``a`` and a current profile ``b`` (:func:`compare_columns`):

* numeric: the two-sample Kolmogorov-Smirnov statistic from the two (weighted) empirical CDFs, with the asymptotic
  p-value scipy's ``ks_2samp(method="asymp")`` uses (``kstwo.sf(D, round(n_a n_b / (n_a + n_b)))``); on exact
  counts it equals ``ks_2samp`` over all rows. When the column has point masses, each mass's share is also tested
  (two-proportion test, Bonferroni over the masses), because KS is weak on a growing zero share; the column's
  p-value is then ``2 x min(p_KS, p_mass)`` (Bonferroni over the two tests), both kept in ``components``. Effect sizes: the Wasserstein distance (``scipy.stats.
  wasserstein_distance`` with weights) divided by the reference's standard deviation (Evidently's "normed"
  Wasserstein), PSI over bins that give every *point mass* (a value holding at least ``POINT_MASS_SHARE`` of either
  cohort, e.g. the zeros of a zero-inflated count) its own bin plus 10 reference-quantile bins for the rest, and
  the largest change of a point mass's share (``mass_shift``, the zero/constant-mass term; a point mass takes the
  values within 0.1 reference interquartile ranges of it, so a mass that only moves a little is not a change; the
  IQR, not the standard deviation, because heavy tails inflate the latter).
* categorical and label: Pearson's chi-square test on the 2 x L table of all levels (levels seen in one cohort only
  included), Jensen-Shannon distance (base 2) over the level shares and ``mass_shift`` (largest change of a level's
  share).
* every column: the share of non-finite (missing) values, a two-proportion test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from scipy import stats as _sps
from scipy.spatial.distance import jensenshannon as _jensenshannon

MAX_EXACT_VALUES = 2000
SKETCH_QUANTILES = 2000
MAX_LEVELS = 1000
RARE_LEVEL = "__rare__"
POINT_MASS_SHARE = 0.05
MASS_TOLERANCE = 0.1  # x the reference IQR: a point mass that moves less than this has not changed (see _psi_bins)
PSI_BINS = 10
PSI_EPS = 1e-4
LABEL_COLUMN = "__label__"
P_FLOOR = float(np.finfo(np.float64).tiny)  # 2.2e-308: p-values that underflow are reported as this, never 0

# default effect-size thresholds: a significant column drifts when one of its effects reaches its threshold
THRESHOLDS = {"wasserstein": 0.1, "psi": 0.1, "js": 0.1, "mass_shift": 0.05, "nonfinite": 0.01}
NUMERIC_EFFECTS = ("wasserstein", "psi", "mass_shift")
CATEGORICAL_EFFECTS = ("js", "mass_shift")


# ----------------------------------------------------------------------------------------------------- profiles


def profile_numeric(values: Any) -> dict[str, Any]:
    """Profile of one numeric column over all its rows (see the module docstring)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    finite = arr[np.isfinite(arr)]
    out: dict[str, Any] = {"kind": "numeric", "n": int(arr.size), "n_nonfinite": int(arr.size - finite.size)}
    if finite.size == 0:
        out.update(mean=None, std=None, min=None, max=None, exact=True, values=[], counts=[])
        return out
    uniq, inverse = np.unique(finite, return_inverse=True)
    if uniq.size <= MAX_EXACT_VALUES:
        rounded = np.asarray([float(f"{x:.7g}") for x in uniq])
        counts = np.bincount(inverse, minlength=uniq.size).astype(np.float64)
        vals, merged = _merge_equal(rounded, counts)
        exact = True
    else:
        q = (np.arange(SKETCH_QUANTILES) + 0.5) / SKETCH_QUANTILES
        sketch = np.quantile(finite, q, method="inverted_cdf")
        sketch = np.asarray([float(f"{x:.7g}") for x in sketch])
        vals, merged = _merge_equal(sketch, np.full(SKETCH_QUANTILES, finite.size / SKETCH_QUANTILES))
        exact = False
    out.update(
        mean=float(finite.mean()), std=float(finite.std()), min=float(finite.min()), max=float(finite.max()),
        exact=exact, values=vals.tolist(), counts=[float(c) if not exact else int(c) for c in merged],
    )
    return out


def profile_categorical(values: Any) -> dict[str, Any]:
    """Profile of one categorical column: counts of every level (``None``/NaN count as ``__missing__``)."""
    levels: dict[str, int] = {}
    n = 0
    for v in values:
        n += 1
        key = "__missing__" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        levels[key] = levels.get(key, 0) + 1
    ranked = sorted(levels.items(), key=lambda kv: (-kv[1], kv[0]))
    note = None
    if len(ranked) > MAX_LEVELS:
        rare = sum(c for _, c in ranked[MAX_LEVELS:])
        note = f"{len(ranked) - MAX_LEVELS} rarest levels pooled as {RARE_LEVEL}"
        ranked = ranked[:MAX_LEVELS] + [(RARE_LEVEL, rare)]
    out: dict[str, Any] = {"kind": "categorical", "n": n, "n_nonfinite": 0, "counts": dict(ranked)}
    if note:
        out["note"] = note
    return out


def profile_column(values: Any) -> dict[str, Any]:
    """Numeric profile for numbers and booleans, categorical for strings/objects."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return profile_numeric(arr)
    return profile_categorical(arr.tolist())


def _merge_equal(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, np.bincount(inverse, weights=counts, minlength=uniq.size)


# ----------------------------------------------------------------------------------------------------- tests


@dataclass(frozen=True)
class ColumnTest:
    """One column's comparison ``a`` (reference) vs ``b`` (current).

    ``p_value`` is the distribution test (KS or chi-square), ``nonfinite_p_value`` the missing-share test; the
    ``effects`` mapping holds every effect size computed for the column's kind.
    """

    kind: str
    test: str
    statistic: float
    p_value: float
    effects: dict
    n_a: int
    n_b: int
    nonfinite_a: float
    nonfinite_b: float
    nonfinite_p_value: float
    top_changes: tuple = ()
    components: dict = field(default_factory=dict)


def _weighted(profile: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(profile.get("values", []), dtype=np.float64), np.asarray(profile.get("counts", []), dtype=np.float64)


def ks_from_counts(va: np.ndarray, wa: np.ndarray, vb: np.ndarray, wb: np.ndarray) -> float:
    """The KS statistic ``max |F_a - F_b|`` of two weighted samples (exact for value counts)."""
    grid = np.union1d(va, vb)
    fa = np.cumsum(np.bincount(np.searchsorted(grid, va), weights=wa, minlength=grid.size)) / wa.sum()
    fb = np.cumsum(np.bincount(np.searchsorted(grid, vb), weights=wb, minlength=grid.size)) / wb.sum()
    return float(np.max(np.abs(fa - fb)))


def ks_p_value(d: float, n_a: int, n_b: int) -> float:
    """Asymptotic two-sided KS p-value, as ``scipy.stats.ks_2samp(method="asymp")`` computes it."""
    en = n_a * n_b / (n_a + n_b)
    return floor_p(_sps.kstwo.sf(d, max(1, int(round(en)))))


def floor_p(p: float) -> float:
    """A p-value as a float in ``[P_FLOOR, 1]``: one that underflows to 0 is kept as the smallest normal double."""
    return float(min(1.0, max(P_FLOOR, float(p))))


def _psi_bins(va, wa, vb, wb, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray, list]:
    """Shares of ``a`` and ``b`` over point-mass bins plus reference-quantile bins of the remaining mass.

    A point mass is a value holding at least ``POINT_MASS_SHARE`` of either cohort. Point masses closer than
    ``tolerance`` are one bin, which takes every value within ``tolerance`` of it: a mass that only *moves* by less
    than ``tolerance`` (e.g. a count capped at 255 shifted by 2) is not a change of mass, while one that appears,
    disappears or grows is.
    """
    pa, pb = wa / wa.sum(), wb / wb.sum()
    share_a = dict(zip(va.tolist(), pa.tolist()))
    share_b = dict(zip(vb.tolist(), pb.tolist()))
    heavy = sorted(v for v in set(share_a) | set(share_b)
                   if share_a.get(v, 0.0) >= POINT_MASS_SHARE or share_b.get(v, 0.0) >= POINT_MASS_SHARE)
    clusters: list[list[float]] = []
    for h in heavy:
        if clusters and h - clusters[-1][-1] <= 2 * tolerance:
            clusters[-1].append(h)
        else:
            clusters.append([h])
    lows = np.asarray([c[0] - tolerance for c in clusters])
    highs = np.asarray([c[-1] + tolerance for c in clusters])

    def cluster_of(values: np.ndarray) -> np.ndarray:
        if not clusters:
            return np.full(values.size, -1)
        i = np.searchsorted(lows, values, side="right") - 1
        ok = (i >= 0) & (values <= highs[np.clip(i, 0, None)])
        return np.where(ok, i, -1)

    ca, cb = cluster_of(va), cluster_of(vb)
    bins_a = np.bincount(ca[ca >= 0], weights=pa[ca >= 0], minlength=len(clusters)).tolist()
    bins_b = np.bincount(cb[cb >= 0], weights=pb[cb >= 0], minlength=len(clusters)).tolist()
    changes = sorted(((c[0] if len(c) == 1 else c[int(np.argmax([share_a.get(v, 0) + share_b.get(v, 0) for v in c]))],
                       sa, sb) for c, sa, sb in zip(clusters, bins_a, bins_b)), key=lambda t: -abs(t[2] - t[1]))
    ra, rb = ca < 0, cb < 0
    rest_ref = va[ra] if ra.any() else vb[rb]
    rest_w = wa[ra] if ra.any() else wb[rb]
    if rest_ref.size:
        cum = np.cumsum(rest_w) / rest_w.sum()
        cuts = np.unique(rest_ref[np.searchsorted(cum, np.linspace(0, 1, PSI_BINS + 1)[1:-1], side="left")])
        for vals, w, keep, total, out in ((va, wa, ra, wa.sum(), bins_a), (vb, wb, rb, wb.sum(), bins_b)):
            idx = np.searchsorted(cuts, vals[keep], side="left")
            out.extend((np.bincount(idx, weights=w[keep], minlength=cuts.size + 1) / total).tolist())
    return np.asarray(bins_a), np.asarray(bins_b), changes


def _psi(pa: np.ndarray, pb: np.ndarray) -> float:
    fa, fb = np.maximum(pa, PSI_EPS), np.maximum(pb, PSI_EPS)
    return float(np.sum((fb - fa) * np.log(fb / fa)))


def _js(pa: np.ndarray, pb: np.ndarray) -> float:
    if pa.sum() == 0 or pb.sum() == 0:
        return float("nan")
    return float(_jensenshannon(pa, pb, base=2.0))


def _nonfinite(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, float, float]:
    from nethical.drift.stats import two_proportion_p_value

    ka, na, kb, nb = int(a.get("n_nonfinite", 0)), int(a["n"]), int(b.get("n_nonfinite", 0)), int(b["n"])
    return (ka / na if na else 0.0, kb / nb if nb else 0.0, two_proportion_p_value(ka, na, kb, nb))


def compare_numeric(a: Mapping[str, Any], b: Mapping[str, Any]) -> ColumnTest:
    """KS, normed Wasserstein, PSI with point-mass bins and the largest point-mass change of two numeric profiles.

    Raises:
        ValueError: a profile has no finite values.
    """
    va, wa = _weighted(a)
    vb, wb = _weighted(b)
    if wa.sum() <= 0 or wb.sum() <= 0:
        raise ValueError("both columns need finite values")
    n_a, n_b = int(round(wa.sum())), int(round(wb.sum()))
    d = ks_from_counts(va, wa, vb, wb)
    w = float(_sps.wasserstein_distance(va, vb, u_weights=wa, v_weights=wb))
    std = float(a.get("std") or 0.0) or float(b.get("std") or 0.0)
    w_norm = w / std if std > 0 else (0.0 if w == 0 else float("inf"))
    cum = np.cumsum(wa) / wa.sum()
    iqr = float(va[min(va.size - 1, np.searchsorted(cum, 0.75))] - va[min(va.size - 1, np.searchsorted(cum, 0.25))])
    pa, pb, changes = _psi_bins(va, wa, vb, wb, MASS_TOLERANCE * iqr)
    mass = abs(changes[0][2] - changes[0][1]) if changes else 0.0
    nf_a, nf_b, nf_p = _nonfinite(a, b)
    p_ks = ks_p_value(d, n_a, n_b)
    p_value, components = p_ks, {"ks": p_ks}
    if changes:  # KS is weak on a point mass that grows: test each mass's share too (Bonferroni over both tests)
        from nethical.drift.stats import two_proportion_p_value

        p_mass = min(1.0, len(changes) * min(
            two_proportion_p_value(int(round(sa * n_a)), n_a, int(round(sb * n_b)), n_b) for _, sa, sb in changes))
        components["point_mass"] = floor_p(p_mass)
        p_value = floor_p(min(1.0, 2.0 * min(p_ks, p_mass)))
    return ColumnTest(
        kind="numeric", test="ks+point_mass" if changes else "ks", statistic=d, p_value=p_value,
        components=components,
        effects={"ks": d, "wasserstein": w_norm, "wasserstein_raw": w, "psi": _psi(pa, pb), "js": _js(pa, pb),
                 "mass_shift": mass, "nonfinite": abs(nf_b - nf_a)},
        n_a=n_a, n_b=n_b, nonfinite_a=nf_a, nonfinite_b=nf_b, nonfinite_p_value=nf_p,
        top_changes=tuple({"value": v, "share_a": sa, "share_b": sb} for v, sa, sb in changes[:5]),
    )


def compare_categorical(a: Mapping[str, Any], b: Mapping[str, Any]) -> ColumnTest:
    """Chi-square over every level of both cohorts, Jensen-Shannon distance and the largest level-share change."""
    ca, cb = dict(a.get("counts") or {}), dict(b.get("counts") or {})
    levels = sorted(set(ca) | set(cb))
    xa = np.asarray([float(ca.get(k, 0)) for k in levels])
    xb = np.asarray([float(cb.get(k, 0)) for k in levels])
    if xa.sum() <= 0 or xb.sum() <= 0:
        raise ValueError("both columns need values")
    pa, pb = xa / xa.sum(), xb / xb.sum()
    if len(levels) < 2:
        stat, p = 0.0, 1.0
    else:
        res = _sps.chi2_contingency(np.vstack([xa, xb]), correction=False)
        stat, p = float(res.statistic), floor_p(res.pvalue)
    diffs = sorted(zip(levels, pa.tolist(), pb.tolist()), key=lambda t: -abs(t[2] - t[1]))
    nf_a, nf_b, nf_p = _nonfinite(a, b)
    return ColumnTest(
        kind="categorical", test="chi2", statistic=stat, p_value=p,
        effects={"js": _js(pa, pb), "psi": _psi(pa, pb), "mass_shift": float(abs(diffs[0][2] - diffs[0][1])),
                 "nonfinite": abs(nf_b - nf_a)},
        n_a=int(xa.sum()), n_b=int(xb.sum()), nonfinite_a=nf_a, nonfinite_b=nf_b, nonfinite_p_value=nf_p,
        top_changes=tuple({"value": v, "share_a": sa, "share_b": sb, "only_in": _only(v, ca, cb)}
                          for v, sa, sb in diffs[:5]),
    )


def _only(level: str, ca: Mapping[str, Any], cb: Mapping[str, Any]) -> Optional[str]:
    if level not in ca:
        return "b"
    if level not in cb:
        return "a"
    return None


def compare_profiles(a: Mapping[str, Any], b: Mapping[str, Any]) -> ColumnTest:
    """Dispatch on the profiles' kind (a numeric and a categorical profile are compared as categorical)."""
    if a.get("kind") == "numeric" and b.get("kind") == "numeric":
        return compare_numeric(a, b)
    if a.get("kind") == "numeric" or b.get("kind") == "numeric":
        a, b = _as_categorical(a), _as_categorical(b)
    return compare_categorical(a, b)


def _as_categorical(p: Mapping[str, Any]) -> Mapping[str, Any]:
    if p.get("kind") != "numeric":
        return p
    return {"kind": "categorical", "n": p["n"], "n_nonfinite": p.get("n_nonfinite", 0),
            "counts": {f"{v:g}": c for v, c in zip(p.get("values", []), p.get("counts", []))}}


def decide(test: ColumnTest, p_adjusted: float, nonfinite_p_adjusted: float, alpha: float,
           thresholds: Mapping[str, float], effects: Optional[Sequence[str]] = None) -> tuple[str, list[str]]:
    """``("drifted" | "significant_small" | "stable", reasons)`` for one column.

    A column *drifts* when its distribution test is significant after correction and one of its effect sizes
    (``effects``; by default Wasserstein, PSI and mass shift for numeric columns, JS and mass shift for categorical
    ones) reaches its threshold, or when its non-finite share changes significantly by more than the threshold.
    Significant with every effect below its threshold is ``significant_small``: reported, not flagged.
    """
    chosen = list(effects) if effects else list(NUMERIC_EFFECTS if test.kind == "numeric" else CATEGORICAL_EFFECTS)
    reasons: list[str] = []
    big = [e for e in chosen if _ge(test.effects.get(e), thresholds.get(e, THRESHOLDS.get(e, 0.1)))]
    significant = p_adjusted < alpha
    if significant and big:
        reasons.append(", ".join(f"{e} {test.effects[e]:.3g} >= {thresholds.get(e, THRESHOLDS.get(e, 0.1)):g}"
                                 for e in big) + f" ({test.test} p={p_adjusted:.3g} adjusted)")
    nf_thr = thresholds.get("nonfinite", THRESHOLDS["nonfinite"])
    if nonfinite_p_adjusted < alpha and abs(test.nonfinite_b - test.nonfinite_a) > nf_thr:
        reasons.append(f"share of missing/non-finite values changed ({test.nonfinite_a:.1%} -> {test.nonfinite_b:.1%})")
    if reasons:
        return "drifted", reasons
    if significant or nonfinite_p_adjusted < alpha:
        return "significant_small", [f"significant ({test.test} p={p_adjusted:.3g} adjusted) but every effect is below "
                                     "its threshold: " + ", ".join(f"{e} {test.effects.get(e, float('nan')):.3g}"
                                                                    for e in chosen)]
    return "stable", []


def _ge(value: Any, threshold: float) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value) and value >= threshold


def merge_profiles(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """One profile over the rows of two (profiles are mergeable: counts add, sketches pool their weighted values)."""
    if a.get("kind") != b.get("kind"):
        a, b = _as_categorical(a), _as_categorical(b)
    n = int(a["n"]) + int(b["n"])
    n_nonfinite = int(a.get("n_nonfinite", 0)) + int(b.get("n_nonfinite", 0))
    if a.get("kind") != "numeric":
        counts: dict[str, float] = {}
        for p in (a, b):
            for k, v in (p.get("counts") or {}).items():
                counts[k] = counts.get(k, 0) + v
        return {"kind": "categorical", "n": n, "n_nonfinite": n_nonfinite,
                "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
    va, wa = _weighted(a)
    vb, wb = _weighted(b)
    vals, counts_arr = _merge_equal(np.concatenate([va, vb]), np.concatenate([wa, wb]))
    total = counts_arr.sum()
    mean = float((vals * counts_arr).sum() / total) if total else None
    std = float(math.sqrt(((vals - mean) ** 2 * counts_arr).sum() / total)) if total else None
    return {"kind": "numeric", "n": n, "n_nonfinite": n_nonfinite, "mean": mean, "std": std,
            "min": float(vals.min()) if vals.size else None, "max": float(vals.max()) if vals.size else None,
            "exact": bool(a.get("exact")) and bool(b.get("exact")), "values": vals.tolist(),
            "counts": counts_arr.tolist(), **({"sampled": True} if a.get("sampled") or b.get("sampled") else {})}
