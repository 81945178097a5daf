"""Per-column profiles of a whole training split, stored with each cohort observation for later data-drift tests.

A profile covers **every row** of the split (see :mod:`nethical.drift.columns` for the format and its precision):
exact value counts for numeric columns with at most 2000 distinct values, a 2000-quantile sketch otherwise, and the
counts of every level for categorical columns and the label. Profiles written by older versions (a seeded sample of
at most 1000 values per feature) are still read: :func:`normalize_profile` turns the sample into value counts and
marks the column ``sampled``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

import numpy as np

from nethical.drift.columns import LABEL_COLUMN, profile_categorical, profile_column, profile_numeric

DEFAULT_MAX_SAMPLES = 1000  # the old (schema 1) sample size; kept for readers of old stores
PROFILE_SEED = 0


def summarize_features(features: Mapping[str, Any], labels: Optional[Any] = None) -> dict[str, dict[str, Any]]:
    """Turn ``{name: 1-D array}`` (numbers or strings) into a JSON-serializable profile over all rows.

    Args:
        features: per-column arrays, e.g. ``datamodule.profile_features("train")``; numeric arrays get a numeric
            profile, string/object arrays a categorical one.
        labels: the split's 0/1 labels; profiled as the categorical column ``__label__`` (the class balance).

    Returns:
        ``{name: profile}`` in sorted name order.

    Raises:
        ValueError: a column is neither numeric nor a sequence of values.
    """
    profile: dict[str, dict[str, Any]] = {}
    for name in sorted(features):
        try:
            profile[str(name)] = profile_column(features[name])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"summarize_features: column {name!r} cannot be profiled ({exc}).") from exc
    if labels is not None:
        profile[LABEL_COLUMN] = profile_categorical([str(int(v)) for v in np.asarray(labels).ravel()])
    return profile


def normalize_profile(info: Mapping[str, Any]) -> dict[str, Any]:
    """A column profile in the current format (an old sample-based profile becomes counts of its sample)."""
    if "kind" in info:
        return dict(info)
    sample = np.asarray(info.get("sample", []), dtype=np.float64)
    out = profile_numeric(sample)
    out.update(n=int(info.get("n", sample.size)), n_nonfinite=int(info.get("n_nonfinite", 0)), sampled=True)
    if sample.size:  # the KS test must use the sample size, not the column's row count
        out["n_sample"] = int(sample.size)
    return out


def features_digest(features: Optional[Mapping[str, Any]]) -> Optional[str]:
    """sha256 over the exact feature arrays (names sorted, float64 bytes); ``None`` without features."""
    if not features:
        return None
    h = hashlib.sha256()
    for name in sorted(features):
        raw = np.asarray(features[name])
        h.update(str(name).encode("utf-8") + b"\0")
        h.update(str(raw.size).encode("ascii") + b"\0")
        if raw.dtype.kind in "biuf":
            h.update(np.ascontiguousarray(raw.astype(np.float64).ravel()).tobytes())
        else:
            h.update("\0".join(str(v) for v in raw.ravel().tolist()).encode("utf-8"))
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
