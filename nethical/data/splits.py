"""Seeded train/validation/calibration splits over row indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from nethical.exceptions import ConfigError, DataError

SPLIT_STRATEGIES = ("temporal", "random", "stratified")
MIN_ROWS_PER_SPLIT = 10
MIN_VAL_CLASS_ROWS = 5  # the gate's intervals and skill criterion need a handful of rows of each class to mean anything


@dataclass(frozen=True)
class SplitIndices:
    """Row indices of each split; ``calibration`` is carved from the training share (may be empty)."""

    train: np.ndarray
    val: np.ndarray
    calibration: np.ndarray

    def sizes(self) -> Dict[str, int]:
        return {"train": int(self.train.size), "val": int(self.val.size), "calibration": int(self.calibration.size)}


def validate_split_args(strategy: str, train_ratio: float, calibration_ratio: float = 0.0) -> None:
    if strategy not in SPLIT_STRATEGIES:
        raise ConfigError(f"split_strategy={strategy!r} is not known; use one of {', '.join(SPLIT_STRATEGIES)}.")
    if not 0.0 < train_ratio < 1.0:
        raise ConfigError(f"train_ratio={train_ratio} must be strictly between 0 and 1, e.g. 0.8.")
    if not 0.0 <= calibration_ratio < 1.0:
        raise ConfigError(f"calibration_ratio={calibration_ratio} must be in [0, 1), e.g. 0.1.")


def split_indices(
    labels: np.ndarray,
    strategy: str = "temporal",
    train_ratio: float = 0.8,
    calibration_ratio: float = 0.0,
    seed: int = 42,
) -> SplitIndices:
    """Split rows ``0..n-1`` (in time order) into train / val, then carve calibration from train.

    ``temporal`` keeps time order (the first ``train_ratio`` of rows train, the rest validate) — the honest choice
    when rows are ordered in time. ``random`` shuffles with ``seed``; ``stratified`` shuffles within each class so
    both splits keep the class balance. The calibration slice is the last ``calibration_ratio`` of the training rows
    (temporal) or a seeded sample of them (random/stratified); it is never part of the validation split.
    """
    validate_split_args(strategy, train_ratio, calibration_ratio)
    labels = np.asarray(labels)
    n = labels.shape[0]
    rng = np.random.default_rng(seed)
    if strategy == "temporal":
        n_train = int(round(n * train_ratio))
        train, val = np.arange(n_train), np.arange(n_train, n)
    elif strategy == "random":
        perm = rng.permutation(n)
        n_train = int(round(n * train_ratio))
        train, val = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    else:
        train_parts, val_parts = [], []
        for cls in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == cls))
            k = int(round(idx.size * train_ratio))
            train_parts.append(idx[:k])
            val_parts.append(idx[k:])
        train, val = np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))
    calibration = np.empty(0, dtype=np.int64)
    if calibration_ratio > 0:
        n_cal = int(round(train.size * calibration_ratio))
        if strategy == "temporal":
            calibration, train = train[train.size - n_cal:], train[: train.size - n_cal]
        else:
            pick = np.zeros(train.size, dtype=bool)
            pick[rng.choice(train.size, size=n_cal, replace=False)] = True
            calibration, train = train[pick], train[~pick]
    for name, part in (("train", train), ("validation", val)):
        if part.size < MIN_ROWS_PER_SPLIT:
            raise DataError(
                f"{n} rows with train_ratio={train_ratio} leave {part.size} rows for the {name} split "
                f"(need >= {MIN_ROWS_PER_SPLIT}); use more samples (--num-samples) or a train ratio nearer 0.5."
            )
    n_pos = int(np.asarray(labels)[val].astype(bool).sum()) if labels.size else 0
    if min(n_pos, val.size - n_pos) < MIN_VAL_CLASS_ROWS:
        raise DataError(
            f"the validation split ({strategy}, train_ratio={train_ratio}) holds {n_pos} positive and {val.size - n_pos} "
            f"negative rows; the promotion gate needs >= {MIN_VAL_CLASS_ROWS} of each class to measure skill. Use more "
            "rows (--num-samples), --split-strategy stratified, or a train ratio nearer 0.5."
        )
    return SplitIndices(train=train.astype(np.int64), val=val.astype(np.int64), calibration=calibration.astype(np.int64))


def sample_rows(labels: np.ndarray, num_samples: Optional[int], seed: int = 42,
                stratify: bool = True) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Draw ``num_samples`` of the rows ``0..n-1``: ``(indices in original order, description for the card)``.

    When ``num_samples`` is ``None`` or not below ``n``, every row is kept. Otherwise a seeded random sample without
    replacement is drawn — stratified by label when ``stratify`` (each class keeps its share, rounded by largest
    remainder) — and the drawn rows keep their original order, so a temporal split of the sample still means
    "later rows validate".
    """
    labels = np.asarray(labels)
    n = int(labels.shape[0])
    if num_samples is None or num_samples >= n:
        return np.arange(n, dtype=np.int64), {"method": "all rows", "rows_available": n, "rows_drawn": n}
    rng = np.random.default_rng(seed)
    if stratify:
        classes, counts = np.unique(labels, return_counts=True)
        exact = counts * (num_samples / n)
        take = np.floor(exact).astype(np.int64)
        for j in np.argsort(-(exact - take), kind="stable")[: num_samples - int(take.sum())]:
            take[j] += 1
        parts = [rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False) for c, k in zip(classes, take)]
        idx = np.sort(np.concatenate(parts))
        method = "seeded stratified random sample"
    else:
        idx = np.sort(rng.choice(n, size=num_samples, replace=False))
        method = "seeded random sample"
    return idx.astype(np.int64), {"method": method, "seed": int(seed), "rows_available": n, "rows_drawn": int(idx.size),
                                  "order": "original row order kept"}


def describe_sampling(sampling: Dict[str, Any]) -> str:
    """One phrase for the data line, e.g. ``seeded stratified random sample of 5000 of 80000 rows (seed 42, file order kept)``."""
    if not sampling:
        return ""
    if sampling.get("method") == "all rows":
        return f"all {sampling.get('rows_available')} usable rows"
    if sampling.get("method") == "generated":
        return f"{sampling.get('rows_drawn')} rows generated (seed {sampling.get('seed')})"
    return (f"{sampling.get('method')} of {sampling.get('rows_drawn')} of {sampling.get('rows_available')} usable rows "
            f"(seed {sampling.get('seed')}, original row order kept)")
