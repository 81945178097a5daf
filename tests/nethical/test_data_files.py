"""nethical.data.files: file checks, HF loading, cache hits, one-line errors naming the file and the fix."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nethical.data.files import CsvOptions, check_file, load_table, read_header, resolve_data_files
from nethical.exceptions import ConfigError, DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_resolve_files_and_directories(tmp_path: Path) -> None:
    a = write(tmp_path / "b.csv", "x,label\n1,0\n")
    b = write(tmp_path / "a.csv", "x,label\n2,1\n")
    write(tmp_path / "notes.md", "ignored")
    assert resolve_data_files([tmp_path]) == [b, a]  # sorted, known suffixes only
    assert resolve_data_files([str(a)]) == [a]
    with pytest.raises(DataError, match=r"does not exist; check --data-path"):
        resolve_data_files([tmp_path / "missing.csv"])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(DataError, match=r"holds no file"):
        resolve_data_files([empty_dir])
    with pytest.raises(ConfigError, match=r"no data files given"):
        resolve_data_files([])


@pytest.mark.parametrize(
    "content, fmt, options, pattern",
    [
        (b"", "csv", CsvOptions(), r"is empty"),
        (b"   \n\n", "csv", CsvOptions(), r"is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "csv", CsvOptions(), r"binary content \(NUL byte at offset 8\)"),
        (b"a,b\n\xff\xfe,1\n", "csv", CsvOptions(), r"not utf-8 text \(bad byte at offset 4\).*encoding"),
        (b"a;b;label\n1;2;0\n3;4;1\n", "csv", CsvOptions(), r"split evenly into 3 fields on ';'; pass --delimiter ';'"),
        (b"a\tlabel\n1\t0\n", "csv", CsvOptions(delimiter=","), r"pass --delimiter '\\t'"),
        (b"only\n1\n2\n", "csv", CsvOptions(), r"single column \('only'\)"),
        (b"not parquet", "parquet", CsvOptions(), r"not a Parquet file"),
        (b"a,b\n1,2\n", "json", CsvOptions(), r"not JSON/JSONL"),
    ],
)
def test_check_file_rejects_bad_content(tmp_path: Path, content: bytes, fmt: str, options: CsvOptions, pattern: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match=pattern) as err:
        check_file(path, fmt, options)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_load_csv_caches_and_second_load_hits(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "x,name,label\n" + "".join(f"{i},n{i % 3},{i % 2}\n" for i in range(100)))
    first = load_table([path], "auto", CsvOptions(), tmp_path / "cache")
    second = load_table([path], "auto", CsvOptions(), tmp_path / "cache")
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.table.num_rows == 100 and second.table.column_names == ["x", "name", "label"]
    write(path, "x,name,label\n1,a,0\n2,b,1\n")  # a changed file is parsed again
    third = load_table([path], "auto", CsvOptions(), tmp_path / "cache")
    assert third.cache_hit is False and third.table.num_rows == 2


def test_ragged_row_names_file_line_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "a,b,label\n1,2,0\n3,4,5,1\n")
    with pytest.raises(DataError, match=r"ragged.csv' line 3 has 4 fields but the header has 3; quote fields"):
        load_table([path], "csv", CsvOptions(), tmp_path / "cache")


def test_quote_none_keeps_lines_with_stray_quotes(tmp_path: Path) -> None:
    # the sms_spam trap: an unbalanced quote merges lines under standard quoting
    path = write(tmp_path / "sms", 'Label\tSMS\nham\t"hello there\nspam\tWIN now\nham\tbye"\n')
    plain = load_table([path], "csv", CsvOptions(delimiter="\\t"), tmp_path / "c1")
    none = load_table([path], "csv", CsvOptions(delimiter="\\t", quoting="none"), tmp_path / "c2")
    assert plain.table.num_rows < 3 and none.table.num_rows == 3
    assert none.table.column("SMS").to_pylist()[0] == '"hello there'


def test_type_drift_between_chunks_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "label"])
        for i in range(25000):
            w.writerow([i if i < 15000 else i + 0.5, i % 2])
    loaded = load_table([path], "csv", CsvOptions(), tmp_path / "cache")
    assert loaded.reader_options.get("read_as_text") is True and loaded.table.num_rows == 25000


def test_parquet_and_jsonl(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0, 2.0], "label": [0, 1]}), tmp_path / "d.parquet")
    write(tmp_path / "d.jsonl", '{"text": "hi", "label": 1}\n{"text": "yo", "label": 0}\n')
    assert load_table([tmp_path / "d.parquet"], "auto", CsvOptions(), tmp_path / "c").table.num_rows == 2
    assert read_header(tmp_path / "d.parquet", "parquet", CsvOptions()) == ["x", "label"]
    js = load_table([tmp_path / "d.jsonl"], "auto", CsvOptions(), tmp_path / "c")
    assert js.file_format == "json" and js.table.column("text").to_pylist() == ["hi", "yo"]


def test_csv_options_validate() -> None:
    with pytest.raises(ConfigError, match=r"quoting='weird'"):
        CsvOptions(quoting="weird")
    with pytest.raises(ConfigError, match=r"must be one character"):
        CsvOptions(delimiter=";;")
    assert CsvOptions(delimiter="tab").delimiter_for(Path("x.csv")) == "\t"
    assert CsvOptions().delimiter_for(Path("x.tsv")) == "\t"
