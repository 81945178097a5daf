"""nethical.data.columns / prepare / cleaning / encoding: discovery, label mapping, missing values, one-hot."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from nethical.data.columns import KNOWN_LABEL_PAIRS, ColumnOptions, as_str_tuple, map_labels
from nethical.data.encoding import encode_inputs
from nethical.data.prepare import prepare_table
from nethical.exceptions import ConfigError, DataError


def table(**cols) -> pa.Table:
    return pa.table(cols)


@pytest.mark.parametrize(
    "values, opts, numeric, positive",
    [
        ([0, 1], ColumnOptions(), True, ["1"]),
        ([True, False], ColumnOptions(), True, ["1"]),
        (["spam", "ham"], ColumnOptions(), False, ["spam"]),
        (["Jailbreak", "benign"], ColumnOptions(), False, ["Jailbreak"]),
        ([0, 1, 2], ColumnOptions(positive_labels=as_str_tuple([0, 1])), True, ["0", "1"]),
        (["normal", "neptune", "smurf"], ColumnOptions(negative_labels=("normal",)), False, ["neptune", "smurf"]),
        (["a", "b", "malicious"], ColumnOptions(positive_labels=as_str_tuple("malicious")), False, ["malicious"]),
    ],
)
def test_label_mapping(values, opts, numeric, positive) -> None:
    assert list(map_labels(values, opts, "y", "f.csv", numeric).positive) == positive


def test_unmappable_label_lists_values_seen() -> None:
    with pytest.raises(DataError, match=r"label column 'class' in f.csv has values \['0', '1', '2'\] that cannot be mapped.*--positive-labels"):
        map_labels([0, 1, 2], ColumnOptions(), "class", "f.csv", numeric=True)
    with pytest.raises(DataError, match=r"positive_labels=\['malicous'\] match none of the values.*\['benign', 'malicious'\]"):
        map_labels(["benign", "malicious"], ColumnOptions(positive_labels=("malicous",)), "y", "f.csv", numeric=False)
    assert ("spam", "ham") in KNOWN_LABEL_PAIRS


def test_options_validate() -> None:
    with pytest.raises(ConfigError, match=r"missing='fill'"):
        ColumnOptions(missing="fill")
    with pytest.raises(ConfigError, match=r"both set"):
        ColumnOptions(positive_labels=("a",), negative_labels=("b",))


def test_discovery_text_sequence_tabular() -> None:
    t = table(id=["r1", "r2", "r3", "r4"], prompt=["hello there friend", "x", "a b c d", "bye"],
              calls=["1 2 3", "4 5 6 7", "1 1", "9 9 9"], n=[1.0, 2.0, 3.0, 4.0], type=["jailbreak", "benign", "benign", "jailbreak"])
    text = prepare_table(t, "text", ColumnOptions(), "t.csv")
    assert text.report["text_column"] == "prompt" and text.data.labels.tolist() == [1, 0, 0, 1]
    assert text.spec_extras == {"text_field": "prompt"}
    seq = prepare_table(t, "sequence", ColumnOptions(), "t.csv")
    assert seq.report["sequence_column"] == "calls" and seq.data.texts[1] == "4 5 6 7"
    tab = prepare_table(t, "tabular", ColumnOptions(), "t.csv")
    assert tab.data.feature_names == ["n"] and set(tab.report["ignored_columns"]) == {"id", "prompt", "calls"}


def test_missing_columns_name_what_exists() -> None:
    t = table(a=[1, 2], b=[0, 1])
    with pytest.raises(DataError, match=r"no label column in t.csv.*Available: \['a', 'b'\]; pass --label-column"):
        prepare_table(t, "tabular", ColumnOptions(), "t.csv")
    with pytest.raises(DataError, match=r"label_column='lable': column not found in t.csv.*"):
        prepare_table(table(a=[1, 2], label=[0, 1]), "tabular", ColumnOptions(label_column="lable"), "t.csv")
    with pytest.raises(DataError, match=r"no text column in t.csv.*pass --text-column"):
        prepare_table(table(a=[1, 2], label=[0, 1]), "text", ColumnOptions(), "t.csv")


def test_one_class_only_names_file_and_column() -> None:
    with pytest.raises(DataError, match=r"label column 'label' in t.csv holds one class only after mapping \(0: 3 rows"):
        prepare_table(table(x=[1, 2, 3], label=["ham", "ham", "ham"]), "tabular", ColumnOptions(), "t.csv")


def test_missing_values_drop_and_impute_are_counted() -> None:
    t = table(x=[1.0, None, 3.0, float("nan"), 5.0, 6.0], c=["a", "b", None, "a", "b", "a"], label=[0, 1, 0, 1, None, 1])
    dropped = prepare_table(t, "tabular", ColumnOptions(), "t.csv")
    assert len(dropped.data) == 2 and dropped.report["rows_dropped_missing"] == 4
    assert dropped.report["missing_by_column"] == {"x": 2, "c": 1} and dropped.warnings
    imputed = prepare_table(t, "tabular", ColumnOptions(missing="impute"), "t.csv")
    assert len(imputed.data) == 5 and imputed.report["rows_missing_label"] == 1
    x = imputed.data.features[:, imputed.data.feature_names.index("x")]
    assert x.tolist() == [1.0, 3.0, 3.0, 3.0, 6.0]  # median of the labelled rows' 1, 3, 6
    assert imputed.spec_extras["fill_values"] == {"x": 3.0}
    assert "c=__missing__" in imputed.data.feature_names


def test_all_nan_feature_is_dropped_or_an_error_when_named() -> None:
    t = table(x=[1.0, 2.0, 3.0, 4.0], empty=[None, None, None, None], label=[0, 1, 0, 1])
    auto = prepare_table(t, "tabular", ColumnOptions(), "t.csv")
    assert auto.data.feature_names == ["x"] and "empty" in auto.report["dropped_columns"]
    assert any("every value is missing" in w for w in auto.warnings)
    with pytest.raises(DataError, match=r"feature column 'empty' in t.csv has no values at all"):
        prepare_table(t, "tabular", ColumnOptions(feature_columns=("x", "empty")), "t.csv")


def test_one_hot_cap_and_encode_inputs_match_training() -> None:
    services = ["http"] * 5 + ["ftp"] * 3 + ["smtp"] * 2 + ["irc"]
    t = table(service=services, bytes=list(range(11)), label=[i % 2 for i in range(11)])
    prepared = prepare_table(t, "tabular", ColumnOptions(max_categories=2), "t.csv")
    assert prepared.data.feature_names == ["service=http", "service=ftp", "service=__other__", "bytes"]
    spec = {"kind": "tabular", "feature_names": prepared.data.feature_names, **prepared.spec_extras}
    rows = [{"service": s, "bytes": str(b)} for s, b in zip(services, range(11))]
    np.testing.assert_array_equal(encode_inputs(spec, rows), prepared.data.features)


def test_truncation_and_num_samples_are_reported() -> None:
    long = "x" * 100_000
    t = table(text=[long, "short", long, "ok", "fine"], label=[1, 0, 1, 0, 0])
    prepared = prepare_table(t, "text", ColumnOptions(), "t.csv", max_length=64, num_samples=4)
    assert len(prepared.data) == 4
    # --num-samples draws a seeded stratified sample: the long texts are the positives, so count those drawn
    drawn_long = int(prepared.data.labels.sum())
    assert drawn_long >= 1
    assert prepared.report["truncated"] == {"cells": drawn_long, "max_length": 64, "unit": "bytes", "longest": 100_000}
    assert any(f"{drawn_long} of 4 text cells" in w for w in prepared.warnings)
