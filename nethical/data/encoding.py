"""Turn raw inputs into arrays, the same way at training and at prediction time.

The ``input_spec`` dict saved in every model card is everything needed to encode new rows:

- ``{"kind": "tabular", "feature_names": [...]}`` — a float32 matrix with those columns in that order.
- ``{"kind": "text", "max_length": L}`` — UTF-8 bytes shifted by 2 (0 = padding, 1 = unused/CLS), truncated to L.
  Byte-level, so no vocabulary has to be downloaded or fitted.
- ``{"kind": "sequence", "max_length": L, "vocab": {token: id}}`` — whitespace-separated action tokens mapped
  through a vocabulary fitted on the training split (0 = padding, 1 = unknown token), truncated to L.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Mapping, Sequence

import numpy as np

from nethical.exceptions import DataError

PAD_ID = 0
UNK_ID = 1
BYTE_OFFSET = 2
BYTE_VOCAB_SIZE = 256 + BYTE_OFFSET


def encode_text(texts: Sequence[str], max_length: int) -> np.ndarray:
    """Byte-level ids, shape ``(n, max_length)``, int64, right-padded with 0."""
    out = np.zeros((len(texts), max_length), dtype=np.int64)
    for i, text in enumerate(texts):
        raw = np.frombuffer(str(text).encode("utf-8", errors="replace")[:max_length], dtype=np.uint8)
        out[i, : raw.size] = raw.astype(np.int64) + BYTE_OFFSET
    return out


def fit_vocab(sequences: Iterable[str], max_size: int = 50000, min_count: int = 1) -> Dict[str, int]:
    """Vocabulary of whitespace tokens (most frequent first, ties by token), ids from 2."""
    counts = Counter(tok for seq in sequences for tok in str(seq).split())
    ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))[:max_size]
    return {tok: i + 2 for i, tok in enumerate(ranked)}


def encode_sequences(sequences: Sequence[str], vocab: Mapping[str, int], max_length: int) -> np.ndarray:
    """Token ids, shape ``(n, max_length)``; unseen tokens map to 1, empty sequences stay all padding."""
    out = np.zeros((len(sequences), max_length), dtype=np.int64)
    for i, seq in enumerate(sequences):
        ids = [vocab.get(tok, UNK_ID) for tok in str(seq).split()[:max_length]]
        out[i, : len(ids)] = ids
    return out


def encode_tabular(rows: Sequence[Mapping[str, object]], feature_names: List[str]) -> np.ndarray:
    """Pick ``feature_names`` from dict rows as a float32 matrix; a missing column is an error naming it."""
    if rows:
        missing = [f for f in feature_names if f not in rows[0]]
        if missing:
            raise DataError(
                f"input rows lack feature column(s) {missing}; the model expects {feature_names} "
                f"and the rows have {sorted(rows[0])}."
            )
    try:
        return np.asarray([[float(row[f]) for f in feature_names] for row in rows], dtype=np.float32).reshape(len(rows), len(feature_names))
    except (TypeError, ValueError) as exc:
        raise DataError(f"input rows have a non-numeric value in a feature column ({exc}); expected numbers for {feature_names}.") from None


def encode_inputs(input_spec: Mapping[str, object], rows: Sequence[Mapping[str, object]], text_field: str = "text") -> np.ndarray:
    """Encode dict rows according to a model card's ``input_spec``."""
    kind = input_spec["kind"]
    if kind == "tabular":
        return encode_tabular(rows, list(input_spec["feature_names"]))
    field = str(input_spec.get("text_field") or text_field)
    if rows and field not in rows[0]:
        raise DataError(f"input rows have no {field!r} field for this {kind} model; fields found: {sorted(rows[0])}.")
    texts = ["" if row.get(field) is None else str(row.get(field)) for row in rows]
    if kind == "text":
        return encode_text(texts, int(input_spec["max_length"]))
    if kind == "sequence":
        return encode_sequences(texts, dict(input_spec["vocab"]), int(input_spec["max_length"]))
    raise DataError(f"unknown input kind {kind!r} in the model card; expected tabular, text or sequence.")
