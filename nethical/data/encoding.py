"""Turn raw inputs into arrays, the same way at training and at prediction time.

The ``input_spec`` dict saved in every model card is everything needed to encode new rows:

- ``{"kind": "tabular", "feature_names": [...]}`` — a float32 matrix with those columns in that order. Optional
  ``"categorical": {column: [category, ...]}`` one-hot encodes a raw string column into the features named
  ``column=category`` (``__other__`` catches values not in the list), and ``"fill_values": {column: number}`` fills a
  missing or empty numeric cell (models trained with ``missing: impute``).
- ``{"kind": "text", "max_length": L, "truncation": "head_tail"}`` — UTF-8 bytes shifted by 2 (0 = padding,
  1 = unused/CLS), cut to L bytes: ``head`` keeps the first L, ``tail`` the last L, ``head_tail`` the first
  ``L - L // 4`` and the last ``L // 4`` (jailbreaks and spam often end with the payload). Byte-level, so no vocabulary
  has to be downloaded or fitted. Cards without ``truncation`` (older models) mean ``head``.
- ``{"kind": "sequence", "max_length": L, "vocab": {token: id}}`` — whitespace-separated action tokens mapped
  through a vocabulary fitted on the training split (0 = padding, 1 = unknown token), truncated to L.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from nethical.exceptions import DataError

PAD_ID = 0
UNK_ID = 1
BYTE_OFFSET = 2
BYTE_VOCAB_SIZE = 256 + BYTE_OFFSET
OTHER_CATEGORY = "__other__"  # one-hot slot for category values unseen at training


TRUNCATIONS = ("head", "tail", "head_tail")


def check_truncation(truncation: str, owner: str = "truncation") -> str:
    if truncation not in TRUNCATIONS:
        raise ValueError(f"{owner}={truncation!r} is not a truncation strategy; use one of {', '.join(TRUNCATIONS)}.")
    return truncation


def cut_bytes(raw: bytes, max_length: int, truncation: str = "head") -> bytes:
    """At most ``max_length`` bytes of ``raw``: the head, the tail, or the head (3/4) plus the tail (1/4)."""
    if len(raw) <= max_length:
        return raw
    if truncation == "head":
        return raw[:max_length]
    if truncation == "tail":
        return raw[len(raw) - max_length:]
    tail = max_length // 4
    return raw[: max_length - tail] + (raw[len(raw) - tail:] if tail else b"")


def encode_text(texts: Sequence[str], max_length: int, truncation: str = "head") -> np.ndarray:
    """Byte-level ids, shape ``(n, max_length)``, int64, right-padded with 0; longer texts cut by ``truncation``."""
    check_truncation(truncation)
    out = np.zeros((len(texts), max_length), dtype=np.int64)
    for i, text in enumerate(texts):
        raw = np.frombuffer(cut_bytes(str(text).encode("utf-8", errors="replace"), max_length, truncation), dtype=np.uint8)
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


def encode_tabular(
    rows: Sequence[Mapping[str, object]],
    feature_names: List[str],
    categorical: Optional[Mapping[str, Sequence[str]]] = None,
    fill_values: Optional[Mapping[str, float]] = None,
) -> np.ndarray:
    """Pick ``feature_names`` from dict rows as a float32 matrix; a missing column is an error naming it.

    ``categorical`` maps a raw column to its categories: the feature ``column=category`` is 1.0 when the row's value
    equals the category (``column=__other__``: when it equals none of them). ``fill_values`` replaces a missing,
    empty or non-finite numeric value.
    """
    categorical = {str(c): [str(v) for v in cats] for c, cats in (categorical or {}).items()}
    fill_values = dict(fill_values or {})
    onehot: Dict[str, tuple] = {}
    for column, cats in categorical.items():
        known = frozenset(v for v in cats if v != OTHER_CATEGORY)
        for v in cats:
            onehot[f"{column}={v}"] = (column, v, known)
    if rows:
        needed = [f for f in feature_names if f not in onehot and f not in fill_values] + list(categorical)
        missing = [f for f in needed if f not in rows[0]]
        if missing:
            raise DataError(
                f"input rows lack feature column(s) {missing}; the model expects {feature_names} "
                f"and the rows have {sorted(rows[0])}."
            )
    if not onehot and not fill_values:
        try:
            return np.asarray([[float(row[f]) for f in feature_names] for row in rows], dtype=np.float32).reshape(len(rows), len(feature_names))
        except (TypeError, ValueError) as exc:
            raise DataError(f"input rows have a non-numeric value in a feature column ({exc}); expected numbers for {feature_names}.") from None
    out = np.zeros((len(rows), len(feature_names)), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, f in enumerate(feature_names):
            if f in onehot:
                column, value, known = onehot[f]
                raw = row.get(column)
                raw = "__missing__" if raw is None or raw == "" else str(raw)
                out[i, j] = float(raw not in known) if value == OTHER_CATEGORY else float(raw == value)
                continue
            raw = row.get(f)
            try:
                number = float(raw) if raw is not None and raw != "" else float("nan")
            except (TypeError, ValueError):
                raise DataError(f"input row {i} has a non-numeric value {str(raw)[:40]!r} in feature column {f!r}; expected a number.") from None
            if not np.isfinite(number):
                if f not in fill_values:
                    raise DataError(f"input row {i} has no value in feature column {f!r}; the model was trained without imputation, so give a number.")
                number = float(fill_values[f])
            out[i, j] = number
    return out


def encode_inputs(input_spec: Mapping[str, object], rows: Sequence[Mapping[str, object]], text_field: str = "text") -> np.ndarray:
    """Encode dict rows according to a model card's ``input_spec``."""
    kind = input_spec["kind"]
    if kind == "tabular":
        return encode_tabular(
            rows, list(input_spec["feature_names"]), input_spec.get("categorical"), input_spec.get("fill_values")
        )
    field = str(input_spec.get("text_field") or text_field)
    if rows and field not in rows[0]:
        raise DataError(f"input rows have no {field!r} field for this {kind} model; fields found: {sorted(rows[0])}.")
    texts = ["" if row.get(field) is None else str(row.get(field)) for row in rows]
    if kind == "text":
        return encode_text(texts, int(input_spec["max_length"]), str(input_spec.get("truncation", "head")))
    if kind == "sequence":
        return encode_sequences(texts, dict(input_spec["vocab"]), int(input_spec["max_length"]))
    raise DataError(f"unknown input kind {kind!r} in the model card; expected tabular, text or sequence.")
