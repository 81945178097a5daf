"""Which columns hold the label and the inputs, and how labels become 0/1.

Discovery (each step only when the option is not given):

- label: the first column whose name (case-insensitive) is in :data:`LABEL_NAMES`.
- text: the first column named in :data:`TEXT_NAMES`, else the string column with the longest mean length.
- sequence: the first column named in :data:`SEQUENCE_NAMES`, else the string column with the most
  whitespace-separated tokens per cell (at least 2 on average).
- tabular features: every numeric or boolean column, plus string columns that look categorical (at most
  ``max_categories * 4`` distinct values and fewer distinct values than half the rows); identifiers and free text are
  left out and reported as ignored.

Labels: numeric or boolean 0/1 as they are. Otherwise ``positive_labels`` (everything else is negative) or
``negative_labels`` (everything else is positive) decide; without them, a column whose values are one of the pairs
in :data:`KNOWN_LABEL_PAIRS` maps on its own. Anything else is an error that lists the values seen.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from nethical.exceptions import ConfigError, DataError

LABEL_NAMES = (
    "label", "labels", "target", "class", "y", "is_attack", "is_malicious", "malicious", "is_spam", "spam",
    "is_toxic", "toxic", "harmful", "is_harmful", "outcome", "attack", "anomaly", "is_anomaly", "type",
)
TEXT_NAMES = ("text", "prompt", "content", "message", "sms", "tweet", "body", "comment", "sentence", "review", "input")
SEQUENCE_NAMES = ("sequence", "syscalls", "tokens", "actions", "events", "calls", "trace")
# (positive, negative) string labels that map without positive_labels; matched case-insensitively
KNOWN_LABEL_PAIRS = (
    ("true", "false"), ("yes", "no"), ("1", "0"), ("malicious", "benign"), ("spam", "ham"), ("attack", "normal"),
    ("jailbreak", "benign"), ("unsafe", "safe"), ("toxic", "non-toxic"), ("harmful", "harmless"), ("anomaly", "normal"),
)
MISSING_POLICIES = ("drop", "impute")


@dataclass(frozen=True)
class ColumnOptions:
    """Explicit column choices; ``None`` means discover.

    Args:
        label_column: the label column.
        positive_labels: label values that mean 1 (e.g. ``["malicious"]`` or ``[0, 1]``); all others mean 0.
        negative_labels: label values that mean 0 (e.g. ``["normal"]``); all others mean 1.
        text_column: the text column (text models).
        sequence_column: the column of whitespace-separated tokens (sequence models).
        feature_columns: the tabular feature columns; string columns among them are one-hot encoded.
        drop_columns: columns never used (identifiers, leaky columns such as a difficulty score).
        categorical_columns: string columns to one-hot encode (``None`` = discover).
        max_categories: most frequent categories kept per categorical column; the rest become ``__other__``.
        missing: ``drop`` rows with a missing value in a used column, or ``impute`` them (numeric: median of the
            loaded rows; categorical: ``__missing__``; text: empty string). Rows without a label are always dropped.
    """

    label_column: Optional[str] = None
    positive_labels: Optional[Tuple[str, ...]] = None
    negative_labels: Optional[Tuple[str, ...]] = None
    text_column: Optional[str] = None
    sequence_column: Optional[str] = None
    feature_columns: Optional[Tuple[str, ...]] = None
    drop_columns: Tuple[str, ...] = ()
    categorical_columns: Optional[Tuple[str, ...]] = None
    max_categories: int = 32
    missing: str = "drop"

    def __post_init__(self) -> None:
        if self.missing not in MISSING_POLICIES:
            raise ConfigError(f"missing={self.missing!r} is not known; use drop or impute.")
        if self.max_categories < 1:
            raise ConfigError(f"max_categories={self.max_categories} must be >= 1, e.g. 32.")
        if self.positive_labels is not None and self.negative_labels is not None:
            raise ConfigError("positive_labels and negative_labels are both set; give one of them (the other class is the rest).")
        for name in ("positive_labels", "negative_labels"):
            value = getattr(self, name)
            if value is not None and len(value) == 0:
                raise ConfigError(f"{name} is empty; list at least one label value, e.g. [malicious].")


@dataclass(frozen=True)
class LabelMapping:
    """How raw label values became 0/1 (recorded in the provenance)."""

    column: str
    rule: str  # "numeric" | "positive_labels" | "negative_labels" | "known_pair"
    positive: Tuple[str, ...]
    negative: Tuple[str, ...]

    def to_dict(self) -> Dict[str, Any]:
        return {"column": self.column, "rule": self.rule, "positive": list(self.positive), "negative": list(self.negative)}


def as_str_tuple(values: Optional[Sequence[Any]]) -> Optional[Tuple[str, ...]]:
    """Normalize a list option (``"a,b"``, ``["a", "b"]`` or ``[0, 1]``) to a tuple of strings."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    return tuple(value_key(v) for v in values if str(v).strip() != "")


def value_key(value: Any) -> str:
    """The string a label value is compared by: integral floats lose ``.0``, text is stripped."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip()


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def require_column(name: str, columns: Sequence[str], option: str, source: str) -> str:
    """``name`` if it is a column, else a DataError listing the columns."""
    if name in columns:
        return name
    lowered = {c.lower(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise DataError(
        f"{option}={name!r}: column not found in {source}. Available: {list(columns)}.{_did_you_mean(name, columns)}"
    )


def find_label_column(columns: Sequence[str], explicit: Optional[str], source: str) -> str:
    if explicit:
        return require_column(explicit, columns, "label_column", source)
    lowered = {c.lower().strip(): c for c in columns}
    for name in LABEL_NAMES:
        if name in lowered:
            return lowered[name]
    raise DataError(
        f"no label column in {source}: none of {list(LABEL_NAMES[:8])}... is a column. Available: {list(columns)}; "
        "pass --label-column NAME (config: label_column)."
    )


def find_text_column(string_columns: Dict[str, float], explicit: Optional[str], columns: Sequence[str], source: str, what: str = "text") -> str:
    """``string_columns`` maps each string column to its mean cell length."""
    option = f"{what}_column"
    if explicit:
        return require_column(explicit, columns, option, source)
    lowered = {c.lower().strip(): c for c in string_columns}
    for name in TEXT_NAMES:
        if name in lowered:
            return lowered[name]
    if string_columns:
        return max(string_columns, key=lambda c: string_columns[c])
    raise DataError(
        f"no {what} column in {source}: no string column besides the label. Available: {list(columns)}; "
        f"pass --{what}-column NAME (config: {option}) or pick a model type for tabular data."
    )


def find_sequence_column(token_counts: Dict[str, float], explicit: Optional[str], columns: Sequence[str], source: str) -> str:
    """``token_counts`` maps each string column to its mean number of whitespace tokens per cell."""
    if explicit:
        return require_column(explicit, columns, "sequence_column", source)
    lowered = {c.lower().strip(): c for c in token_counts}
    for name in SEQUENCE_NAMES:
        if name in lowered:
            return lowered[name]
    best = max(token_counts, key=lambda c: token_counts[c]) if token_counts else None
    if best is not None and token_counts[best] >= 2:
        return best
    raise DataError(
        f"no sequence column in {source}: no string column holds whitespace-separated tokens. Available: {list(columns)}; "
        "pass --sequence-column NAME (config: sequence_column) or pick a model type for tabular data."
    )


def map_labels(unique_values: Sequence[Any], opts: ColumnOptions, column: str, source: str, numeric: bool) -> LabelMapping:
    """Decide which raw label values mean 1. ``unique_values`` are the distinct non-missing values seen."""
    keys = sorted({value_key(v) for v in unique_values})
    shown = keys[:20] + (["..."] if len(keys) > 20 else [])
    if opts.positive_labels is not None or opts.negative_labels is not None:
        given = opts.positive_labels if opts.positive_labels is not None else opts.negative_labels
        rule = "positive_labels" if opts.positive_labels is not None else "negative_labels"
        folded = {k.casefold(): k for k in keys}
        matched = [folded[g.casefold()] for g in given if g.casefold() in folded]
        if not matched:
            raise DataError(
                f"{rule}={list(given)} match none of the values of label column {column!r} in {source}; values seen: "
                f"{shown}. Fix --{rule.replace('_', '-')} (config: {rule})."
            )
        chosen = set(matched)
        others = tuple(k for k in keys if k not in chosen)
        if rule == "positive_labels":
            return LabelMapping(column, rule, tuple(sorted(chosen)), others)
        return LabelMapping(column, rule, others, tuple(sorted(chosen)))
    if numeric and set(keys) <= {"0", "1"}:
        return LabelMapping(column, "numeric", ("1",), ("0",))
    folded_set = {k.casefold() for k in keys}
    for pos, neg in KNOWN_LABEL_PAIRS:
        if folded_set <= {pos, neg}:
            return LabelMapping(column, "known_pair", tuple(k for k in keys if k.casefold() == pos),
                                tuple(k for k in keys if k.casefold() == neg))
    raise DataError(
        f"label column {column!r} in {source} has values {shown} that cannot be mapped to 0/1; pass "
        "--positive-labels a,b (config: positive_labels) or --negative-labels (config: negative_labels)."
    )
