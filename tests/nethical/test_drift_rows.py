"""Validation rows kept for transfer tests: round trip, integrity and containment."""

from __future__ import annotations

import numpy as np
import pytest

from nethical.drift.rows import RowsError, as_dict_rows, read_rows, write_rows


def test_tabular_rows_round_trip_as_predict_rows_input(tmp_path):
    rel, sha = write_rows(tmp_path, "ab12", [0, 1, 1], numeric={"x": [0.5, 1.5, np.nan]},
                          categorical={"service": ["http", "ssh", "__missing__"]})
    rows = read_rows(tmp_path, rel, sha)
    assert rows["labels"].tolist() == [0, 1, 1] and rows["texts"] is None
    dicts = as_dict_rows(rows)
    assert dicts[1] == {"x": 1.5, "service": "ssh"} and np.isnan(dicts[2]["x"])


def test_text_rows_round_trip_under_the_models_field(tmp_path):
    texts = ["héllo", "", "a" * 5000]
    rel, sha = write_rows(tmp_path, "cd34", [1, 0, 1], texts=texts)
    assert [r["message"] for r in as_dict_rows(read_rows(tmp_path, rel, sha), "message")] == texts


def test_changed_missing_or_escaping_rows_are_refused(tmp_path):
    rel, sha = write_rows(tmp_path, "ef56", [0], numeric={"x": [1.0]})
    with pytest.raises(RowsError, match="sha256 mismatch"):
        read_rows(tmp_path, rel, "0" * 64)
    with pytest.raises(RowsError, match="outside"):
        read_rows(tmp_path, "../cohorts.jsonl", None)
    (tmp_path / rel).unlink()
    with pytest.raises(RowsError, match="moved or deleted"):
        read_rows(tmp_path, rel, sha)
    with pytest.raises(ValueError, match="hexadecimal"):
        write_rows(tmp_path, "../x", [0])
