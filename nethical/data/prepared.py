"""The loader-independent shape of a data set, before it is split and encoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

INPUT_KINDS = ("tabular", "text", "sequence")


@dataclass
class PreparedData:
    """Rows in time order. ``features`` for tabular data, ``texts`` for text and sequence data (sequences are
    whitespace-separated action tokens)."""

    kind: str
    labels: np.ndarray
    feature_names: List[str] = field(default_factory=list)
    features: Optional[np.ndarray] = None
    texts: Optional[List[str]] = None
    provenance: Dict[str, Any] = field(default_factory=dict)
    # raw values of the categorical columns behind the one-hot features (every level, for drift tests and for
    # scoring rows the way ``nethical predict`` receives them); empty when there are none
    categories: Dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"PreparedData(kind={self.kind!r}) must be one of {INPUT_KINDS}.")
        self.labels = np.asarray(self.labels, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, indices: np.ndarray) -> "PreparedData":
        """Rows at ``indices`` (same kind, names and provenance)."""
        return PreparedData(
            kind=self.kind,
            labels=self.labels[indices],
            feature_names=list(self.feature_names),
            features=None if self.features is None else self.features[indices],
            texts=None if self.texts is None else [self.texts[i] for i in indices],
            provenance=self.provenance,
            categories={c: v[indices] for c, v in self.categories.items()},
        )
