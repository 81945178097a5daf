"""Turn an Arrow table into :class:`~nethical.data.prepared.PreparedData` for one input kind, in bulk.

Every step works on whole Arrow columns (``pyarrow.compute``) or numpy arrays, never row by row, so a memory-mapped
table of millions of rows is read once, column by column: choose the columns (:mod:`nethical.data.columns`), map the
label to 0/1, handle missing values (:mod:`nethical.data.cleaning`), draw ``num_samples`` usable rows (a seeded
sample stratified by label, kept in file order), then build the feature matrix (numeric columns plus one-hot categorical columns) or the list of texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from nethical.data.cleaning import OTHER, class_balance, impute_numeric, missing_mask, top_categories
from nethical.data.columns import (
    ColumnOptions,
    LabelMapping,
    find_label_column,
    find_sequence_column,
    find_text_column,
    map_labels,
    require_column,
)
from nethical.data.prepared import INPUT_KINDS, PreparedData
from nethical.data.splits import sample_rows
from nethical.exceptions import ConfigError, DataError

DISCOVERY_ROWS = 2000  # rows sampled to rank candidate text / sequence columns
MAX_AUTO_CATEGORIES_FACTOR = 4  # a string column with more distinct values than max_categories * 4 is not categorical


@dataclass
class PreparedTable:
    """The prepared rows plus what was decided on the way (for the provenance, the input spec and the user)."""

    data: PreparedData
    report: Dict[str, Any]
    spec_extras: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def _types():
    import pyarrow as pa

    return pa


def _is_numeric(t: Any) -> bool:
    pa = _types()
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)
            or pa.types.is_null(t))  # an all-empty column read without a type


def _is_string(t: Any) -> bool:
    pa = _types()
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _coerce_numeric_text(table: Any, keep: List[str]) -> Any:
    """Columns read as text (because their type drifted) become float64 when every value parses as a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in keep:
        col = table.column(name)
        if not _is_string(col.type):
            continue
        try:
            cast = pc.cast(pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), None, col), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        table = table.set_column(table.column_names.index(name), name, cast)
    return table


def prepare_table(
    table: Any,
    kind: str,
    opts: ColumnOptions,
    source: str,
    max_length: int = 256,
    num_samples: Optional[int] = None,
    coerce_numeric: bool = False,
    seed: int = 42,
) -> PreparedTable:
    """Prepare ``table`` (a ``pyarrow.Table``) as ``kind`` input with 0/1 labels.

    Args:
        table: rows in file (time) order.
        kind: ``tabular``, ``text`` or ``sequence``.
        opts: column choices (see :class:`~nethical.data.columns.ColumnOptions`).
        source: how errors name the data (a file name or a Kaggle slug).
        max_length: the text/sequence budget of the encoder, to report how many cells it will truncate.
        num_samples: keep at most this many usable rows: a seeded random sample stratified by label, in file order
            (:func:`nethical.data.splits.sample_rows`).
        seed: seed of that sample.
        coerce_numeric: try to read text columns as numbers (the table was read as all-text).

    Raises:
        DataError: a named column is missing, no label / input column exists, the label cannot be mapped, no row
            survives cleaning, or the rows hold one class only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind not in INPUT_KINDS:
        raise ConfigError(f"input_kind={kind!r} is not known; use one of {', '.join(INPUT_KINDS)}.")
    columns = list(table.column_names)
    n_total = table.num_rows
    if n_total == 0:
        raise DataError(f"{source} holds a header but no data rows; add rows or pass another file.")
    dropped = [require_column(c, columns, "drop_columns", source) for c in opts.drop_columns]
    available = [c for c in columns if c not in dropped]
    label_col = find_label_column(available, opts.label_column, source)
    inputs = [c for c in available if c != label_col]
    if coerce_numeric:
        table = _coerce_numeric_text(table, inputs + [label_col])
    warnings: List[str] = []
    report: Dict[str, Any] = {"rows_read": n_total, "label_column": label_col, "dropped_columns": dropped}

    # ---- label
    label = table.column(label_col)
    label_missing = missing_mask(label)
    present = label if not label_missing.any() else label.filter(pa.array(~label_missing))
    uniques = pc.unique(present).to_pylist()
    mapping = map_labels(uniques, opts, label_col, source, numeric=_is_numeric(label.type))
    y_all = _label_vector(label, mapping)

    # ---- inputs
    spec_extras: Dict[str, Any] = {}
    if kind in ("text", "sequence"):
        strings = [c for c in inputs if _is_string(table.column(c).type)]
        head = table.slice(0, DISCOVERY_ROWS)
        if kind == "text":
            means = {c: _mean(pc.utf8_length(head.column(c))) for c in strings}
            col = find_text_column(means, opts.text_column, available, source, "text")
        else:
            means = {c: _mean(pc.list_value_length(pc.utf8_split_whitespace(head.column(c)))) for c in strings}
            col = find_sequence_column(means, opts.sequence_column, available, source)
        if col == label_col:
            raise DataError(f"{kind}_column={col!r} is also the label column in {source}; pick another column.")
        if not _is_string(table.column(col).type):
            raise DataError(
                f"{kind}_column={col!r} in {source} holds {table.column(col).type} values, not text; string columns: "
                f"{strings}. Pass --{kind}-column with one of them or pick a model type for tabular data."
            )
        used = [col]
        numeric_cols: List[str] = []
        categorical_cols: List[str] = []
        spec_extras["text_field"] = col
        report["text_column" if kind == "text" else "sequence_column"] = col
    else:
        numeric_cols, categorical_cols, ignored = _tabular_columns(table, inputs, opts, source, n_total)
        if not numeric_cols and not categorical_cols:
            raise DataError(
                f"no feature columns in {source}: no numeric or categorical column besides the label {label_col!r}. "
                f"Available: {available}; pass --feature-columns a,b or pick a text/sequence model type."
            )
        explicit = set(opts.feature_columns or ())
        empty = [c for c in numeric_cols + categorical_cols if missing_mask(table.column(c)).all()]
        for c in empty:
            if c in explicit:
                raise DataError(f"feature column {c!r} in {source} has no values at all (every cell missing); remove it from --feature-columns.")
        if empty:
            warnings.append(f"dropped feature column(s) {empty} from {source}: every value is missing.")
            numeric_cols = [c for c in numeric_cols if c not in empty]
            categorical_cols = [c for c in categorical_cols if c not in empty]
            report["dropped_columns"] = dropped + empty
            if not numeric_cols and not categorical_cols:
                raise DataError(f"every feature column of {source} is empty; pass --feature-columns with columns that hold values.")
        used = [c for c in inputs if c in set(numeric_cols) | set(categorical_cols)]
        report["ignored_columns"] = ignored
        report["feature_columns"] = used

    # ---- missing values
    valid = ~label_missing
    missing_by_column: Dict[str, int] = {}
    for c in used:
        m = missing_mask(table.column(c))  # null / NaN / inf; an empty text stays a (short) text
        count = int(m.sum())
        if count:
            missing_by_column[c] = count
        if opts.missing == "drop":
            valid &= ~m
    idx = np.flatnonzero(valid)
    rows_dropped = int(n_total - idx.size)
    if idx.size == 0:
        raise DataError(
            f"no usable rows in {source}: every row misses the label or a value in {sorted(missing_by_column) or [label_col]}; "
            "pass --missing impute, drop the empty columns (--drop-columns) or fix the file."
        )
    idx_sample, sampling = sample_rows(y_all[idx], num_samples, seed=seed, stratify=True)
    idx = idx[idx_sample]
    report["sampling"] = sampling
    report.update({"missing_policy": opts.missing, "rows_missing_label": int(label_missing.sum()),
                   "missing_by_column": missing_by_column, "rows_dropped_missing": rows_dropped if opts.missing == "drop" else int(label_missing.sum())})
    sub = table.select(used) if idx.size == n_total else table.select(used).take(pa.array(idx))
    y = y_all[idx]
    balance = class_balance(y)
    if min(balance.values()) == 0:
        only = 1 if balance[1] else 0
        values = list(mapping.positive if only else mapping.negative)
        raise DataError(
            f"label column {label_col!r} in {source} holds one class only after mapping ({only}: {len(y)} rows, values "
            f"{values[:10]}; positive={list(mapping.positive)[:10]}); fix --positive-labels or use more rows (--num-samples)."
        )
    report["label_mapping"] = mapping.to_dict()
    report["class_balance"] = {"0": balance[0], "1": balance[1], "positive_rate": round(balance[1] / len(y), 6)}
    if opts.missing == "drop" and rows_dropped:
        warnings.append(f"dropped {rows_dropped} of {n_total} rows of {source} with a missing label or value ({missing_by_column or {label_col: rows_dropped}}).")

    # ---- build
    if kind in ("text", "sequence"):
        col = sub.column(used[0])
        if opts.missing == "impute":
            col = pc.fill_null(col, "")
            if missing_by_column:
                warnings.append(f"imputed {sum(missing_by_column.values())} empty {kind} cell(s) in {source} as ''.")
        if kind == "text":
            lengths = np.asarray(pc.binary_length(col).to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            lengths = np.asarray(pc.list_value_length(pc.utf8_split_whitespace(col)).to_numpy(zero_copy_only=False), dtype=np.int64)
        if kind == "text" and lengths.size and int(lengths.max(initial=0)) == 0:
            raise DataError(f"text_column={used[0]!r} in {source} is empty in all {len(lengths)} rows; pass --text-column "
                            "with the column that holds the texts.")
        if kind == "text" and len(lengths) > 1 and pc.count_distinct(col).as_py() == 1:
            raise DataError(f"text_column={used[0]!r} in {source} holds the same text in all {len(lengths)} rows "
                            f"({str(col[0].as_py())[:40]!r}), so there is nothing to learn; pass --text-column with "
                            "the column that holds the texts.")
        truncated = int((lengths > max_length).sum())
        unit = "bytes" if kind == "text" else "tokens"
        report["truncated"] = {"cells": truncated, "max_length": max_length, "unit": unit, "longest": int(lengths.max(initial=0))}
        if truncated:
            warnings.append(
                f"{truncated} of {len(lengths)} {kind} cells in column {used[0]!r} of {source} are longer than max_length="
                f"{max_length} {unit} (longest {int(lengths.max())}) and are truncated; raise --max-length (config: data.init_args.max_length) to keep more, or choose what is kept with --truncation head, tail or head_tail."
            )
        data = PreparedData(kind=kind, labels=y, texts=col.to_pylist(), provenance={})
        return PreparedTable(data=data, report=report, spec_extras=spec_extras, warnings=warnings)

    features, names, categorical, fills, imputed = _tabular_matrix(sub, used, set(categorical_cols), opts)
    if imputed:
        warnings.append(f"imputed {sum(imputed.values())} missing value(s) in {source}: {imputed}.")
        report["imputed"] = imputed
    if categorical:
        spec_extras["categorical"] = categorical
        report["categorical"] = {c: len(v) for c, v in categorical.items()}
    if fills:
        spec_extras["fill_values"] = fills
    raw_categories = {c: np.asarray(pc.fill_null(pc.cast(sub.column(c), pa.string()), "__missing__").to_pylist(), dtype=object)
                      for c in categorical}
    data = PreparedData(kind="tabular", labels=y, features=features, feature_names=names, provenance={},
                        categories=raw_categories)
    return PreparedTable(data=data, report=report, spec_extras=spec_extras, warnings=warnings)


def _mean(arr: Any) -> float:
    import pyarrow.compute as pc

    value = pc.mean(arr).as_py()
    return float(value) if value is not None else 0.0


def _label_vector(label: Any, mapping: LabelMapping) -> np.ndarray:
    """0/1 per row (missing labels get 0 and are dropped by the caller)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_numeric(label.type):
        values = pc.cast(label, pa.float64())
        pos = pa.array([float(k) for k in mapping.positive], type=pa.float64())
    else:
        values = pc.utf8_trim_whitespace(pc.cast(label, pa.string()))
        pos = pa.array(list(mapping.positive), type=pa.string())
    hit = pc.is_in(values, value_set=pos)
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=np.int64)


def _tabular_columns(table: Any, inputs: List[str], opts: ColumnOptions, source: str, n_rows: int) -> Tuple[List[str], List[str], List[str]]:
    """(numeric columns, categorical columns, ignored columns) among ``inputs``."""
    import pyarrow.compute as pc

    if opts.feature_columns is not None:
        chosen = [require_column(c, inputs, "feature_columns", source) for c in opts.feature_columns]
    else:
        chosen = list(inputs)
    forced = set(require_column(c, inputs, "categorical_columns", source) for c in (opts.categorical_columns or ()))
    numeric, categorical, ignored = [], [], []
    limit = opts.max_categories * MAX_AUTO_CATEGORIES_FACTOR
    for c in chosen:
        t = table.column(c).type
        if c in forced:
            categorical.append(c)
        elif _is_numeric(t):
            numeric.append(c)
        elif _is_string(t):
            if opts.feature_columns is not None or opts.categorical_columns is not None:
                if opts.feature_columns is not None:
                    categorical.append(c)  # an explicitly listed string column is one-hot encoded
                else:
                    ignored.append(c)
                continue
            distinct = pc.count_distinct(table.column(c)).as_py()
            if distinct <= limit and distinct <= max(2, n_rows // 2):
                categorical.append(c)
            else:
                ignored.append(c)
        else:
            if opts.feature_columns is not None:
                raise DataError(f"feature column {c!r} in {source} has type {t}, which is neither numeric nor text; drop it from --feature-columns.")
            ignored.append(c)
    return numeric, categorical, ignored


def _tabular_matrix(sub: Any, used: List[str], categorical_cols: set, opts: ColumnOptions):
    import pyarrow as pa
    import pyarrow.compute as pc

    n = sub.num_rows
    blocks: List[Tuple[str, Any]] = []
    categorical: Dict[str, List[str]] = {}
    width = 0
    for c in used:
        if c in categorical_cols:
            col = pc.cast(sub.column(c), pa.string()) if not _is_string(sub.column(c).type) else sub.column(c)
            col = pc.fill_null(col, "__missing__")
            cats = top_categories(col, opts.max_categories)
            categorical[c] = cats
            blocks.append((c, col))
            width += len(cats)
        else:
            blocks.append((c, None))
            width += 1
    features = np.empty((n, width), dtype=np.float32)
    names: List[str] = []
    fills: Dict[str, float] = {}
    imputed: Dict[str, int] = {}
    j = 0
    for c, col in blocks:
        if col is None:
            values = np.asarray(pc.cast(sub.column(c), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
            values, fill, count = impute_numeric(values)
            if count:
                imputed[c] = count
            if opts.missing == "impute":
                fills[c] = fill
            features[:, j] = values
            names.append(c)
            j += 1
            continue
        cats = categorical[c]
        known = [v for v in cats if v != OTHER]
        codes = pc.index_in(col, value_set=pa.array(known, type=pa.string()))
        codes = np.asarray(pc.fill_null(codes, len(known)).to_numpy(zero_copy_only=False), dtype=np.int64)
        features[:, j : j + len(cats)] = 0.0  # one-hot written in place: no (n, categories) temporary
        features[np.arange(n), j + (codes if OTHER in cats else np.minimum(codes, len(cats) - 1))] = 1.0
        names.extend(f"{c}={v}" for v in cats)
        j += len(cats)
    return features, names, categorical, fills, imputed
