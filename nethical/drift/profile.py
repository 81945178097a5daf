"""Compact per-feature profiles of a training split, stored with each cohort observation for later data-drift tests.

A profile keeps, per feature, a seeded sample of up to ``max_samples`` finite values (rounded to 7 significant
digits), the count of non-finite values and a few summary numbers. PSI, KS and Jensen-Shannon are then recomputed
from the samples when a report compares two cohorts, long after the training data is gone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

import numpy as np

DEFAULT_MAX_SAMPLES = 1000
PROFILE_SEED = 0


def summarize_features(
    features: Mapping[str, Any], max_samples: int = DEFAULT_MAX_SAMPLES, seed: int = PROFILE_SEED
) -> dict[str, dict[str, Any]]:
    """Turn ``{name: 1-D array}`` into a JSON-serializable profile.

    Args:
        features: per-feature numeric arrays, e.g. ``datamodule.profile_features("train")``.
        max_samples: most values kept per feature (a seeded sample without replacement when there are more).
        seed: sampling seed; the same data and seed give the same profile.

    Returns:
        ``{name: {"n", "n_nonfinite", "mean", "std", "min", "max", "sample"}}`` (statistics over finite values;
        ``None`` when there are none).

    Raises:
        ValueError: when a feature is not numeric or ``max_samples`` is below 1.
    """
    if max_samples < 1:
        raise ValueError(f"summarize_features(max_samples={max_samples}) must be at least 1.")
    profile: dict[str, dict[str, Any]] = {}
    for name in sorted(features):
        try:
            arr = np.asarray(features[name], dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"summarize_features: feature {name!r} is not numeric ({exc}).") from exc
        finite = arr[np.isfinite(arr)]
        if finite.size > max_samples:
            rng = np.random.default_rng(seed)
            finite_sample = finite[np.sort(rng.choice(finite.size, size=max_samples, replace=False))]
        else:
            finite_sample = finite
        has = finite.size > 0
        profile[str(name)] = {
            "n": int(arr.size),
            "n_nonfinite": int(arr.size - finite.size),
            "mean": float(finite.mean()) if has else None,
            "std": float(finite.std()) if has else None,
            "min": float(finite.min()) if has else None,
            "max": float(finite.max()) if has else None,
            "sample": [float(f"{x:.7g}") for x in finite_sample],
        }
    return profile


def features_digest(features: Optional[Mapping[str, Any]]) -> Optional[str]:
    """sha256 over the exact feature arrays (names sorted, float64 bytes); ``None`` without features."""
    if not features:
        return None
    h = hashlib.sha256()
    for name in sorted(features):
        arr = np.ascontiguousarray(np.asarray(features[name], dtype=np.float64).ravel())
        h.update(str(name).encode("utf-8") + b"\0")
        h.update(str(arr.size).encode("ascii") + b"\0")
        h.update(arr.tobytes())
    return h.hexdigest()


def data_fingerprint(
    provenance: Optional[Mapping[str, Any]],
    split_sizes: Optional[Mapping[str, int]],
    features: Optional[Mapping[str, Any]] = None,
) -> str:
    """sha256 identifying a training set: provenance, split sizes and (when given) the exact feature values."""
    payload = {
        "provenance": provenance or {},
        "split_sizes": dict(split_sizes or {}),
        "features": features_digest(features),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
