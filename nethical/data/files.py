"""Local data files: find them, check them cheaply, and load them through HuggingFace ``datasets``.

``datasets`` turns CSV / TSV / Parquet / JSON(L) into Arrow files in a cache directory and memory-maps them, so a
file larger than RAM can be read column by column, and a second load of an unchanged file skips parsing (the cache
key covers the file path, size and modification time plus every reader option). The checks here run before any
parsing and turn the usual mistakes (missing file, empty file, binary content, wrong delimiter) into one-line
:class:`~nethical.exceptions.DataError` messages that name the file and the fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from nethical.exceptions import ConfigError, DataError

# file suffix -> reader; files without a known suffix are read as delimited text when named explicitly
SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
}
FORMATS = ("auto", "csv", "parquet", "json")
QUOTING_NAMES = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL, "nonnumeric": csv.QUOTE_NONNUMERIC, "none": csv.QUOTE_NONE}
CANDIDATE_DELIMITERS = (",", "\t", ";", "|")
SNIFF_BYTES = 64 * 1024


class DataUnavailableError(DataError):
    """No real data can be had (no credentials, no network, nothing usable downloaded): callers may fall back to
    synthetic data, unless real data is required (then this error reaches the user, exit code 2)."""


def default_cache_root() -> Path:
    """``$NETHICAL_CACHE_DIR``, else the user's cache dir (``platformdirs``), e.g. ``~/.cache/nethical``."""
    env = os.environ.get("NETHICAL_CACHE_DIR")
    if env:
        return Path(os.path.expanduser(env))
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nethical"))


@dataclass(frozen=True)
class CsvOptions:
    """How delimited text is read (the file's dialect).

    Args:
        delimiter: field separator; ``None`` = tab for ``.tsv``/``.tab`` files, else comma. ``\\t`` and ``tab`` mean
            a tab.
        quoting: ``minimal`` (standard quotes), ``none`` (quote characters are ordinary text — needed by files such
            as the SMS Spam Collection whose messages contain unbalanced quotes), ``all`` or ``nonnumeric``.
        column_names: names for a file without a header row (the first line is then data).
        encoding: text encoding of the file (e.g. ``latin-1`` for some older Kaggle CSVs).
    """

    delimiter: Optional[str] = None
    quoting: str = "minimal"
    column_names: Optional[Tuple[str, ...]] = None
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.quoting not in QUOTING_NAMES:
            raise ConfigError(f"quoting={self.quoting!r} is not known; use one of {', '.join(QUOTING_NAMES)}.")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"encoding={self.encoding!r} is not a known text encoding; use e.g. utf-8 or latin-1.") from None
        if self.delimiter is not None and len(normalize_delimiter(self.delimiter)) != 1:
            raise ConfigError(f"delimiter={self.delimiter!r} must be one character (or \\t / tab), e.g. ',' or '\\t'.")

    def delimiter_for(self, path: Path) -> str:
        if self.delimiter is not None:
            return normalize_delimiter(self.delimiter)
        return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","

    def to_dict(self, path: Path) -> Dict[str, Any]:
        out: Dict[str, Any] = {"delimiter": self.delimiter_for(path), "quoting": self.quoting}
        if self.column_names:
            out["column_names"] = list(self.column_names)
        return out


@dataclass
class LoadedTable:
    """An Arrow table read from ``files`` (memory-mapped from the ``datasets`` cache) and how it was read."""

    table: Any  # pyarrow.Table
    files: List[Path]
    file_format: str
    cache_hit: bool
    reader_options: Dict[str, Any] = field(default_factory=dict)


def normalize_delimiter(value: str) -> str:
    return {"\\t": "\t", "tab": "\t", "TAB": "\t", "\\|": "|"}.get(value, value)


def _display(path: Path) -> str:
    return str(path)


def resolve_data_files(paths: Sequence[str | os.PathLike], file_format: str = "auto", pattern: Optional[str] = None) -> List[Path]:
    """Expand files and directories into an ordered list of data files (directories: known suffixes, sorted).

    Raises:
        DataError: a path does not exist, a directory holds no data file, or files of different formats are mixed.
    """
    if file_format not in FORMATS:
        raise ConfigError(f"file_format={file_format!r} is not known; use one of {', '.join(FORMATS)}.")
    if not paths:
        raise ConfigError("no data files given; pass --data-path FILE_OR_DIR or set data.init_args.data_files.")
    out: List[Path] = []
    for raw in paths:
        path = Path(os.path.expanduser(str(raw)))
        if not path.exists():
            raise DataError(f"data file {_display(path)!r} does not exist; check --data-path / data_files (relative paths start at {os.getcwd()}).")
        if path.is_dir():
            found = sorted(
                p for p in path.rglob(pattern or "*")
                if p.is_file() and not p.name.startswith(".") and (pattern or p.suffix.lower() in SUFFIX_FORMATS)
            )
            if not found:
                what = f"matching {pattern!r}" if pattern else f"with a suffix in {sorted(set(SUFFIX_FORMATS))}"
                raise DataError(f"data directory {_display(path)!r} holds no file {what}; point --data-path at a CSV, TSV, Parquet or JSONL file.")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DataError(f"data path {_display(path)!r} is not a regular file or directory; pass a CSV, TSV, Parquet or JSONL file.")
    formats = {detect_format(p, file_format) for p in out}
    if len(formats) > 1:
        raise DataError(f"data files mix formats {sorted(formats)} ({[p.name for p in out][:5]}); pass files of one format.")
    return out


def detect_format(path: Path, file_format: str = "auto") -> str:
    if file_format != "auto":
        return file_format
    return SUFFIX_FORMATS.get(path.suffix.lower(), "csv")


def check_file(path: Path, file_format: str, options: CsvOptions) -> None:
    """Cheap checks on the first bytes of one file; a :class:`DataError` names the file and the fix."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
            tail = b""
            if file_format == "parquet" and size >= 8:
                fh.seek(size - 4)
                tail = fh.read(4)
    except OSError as exc:
        raise DataError(f"data file {_display(path)!r} cannot be read ({exc.strerror or exc}); check its permissions.") from None
    if size == 0 or not head.strip():
        raise DataError(f"data file {_display(path)!r} is empty; it needs a header row and data rows.")
    if file_format == "parquet":
        if not (head.startswith(b"PAR1") and tail == b"PAR1"):
            raise DataError(f"data file {_display(path)!r} is not a Parquet file (no PAR1 marker); pass --file-format csv/json or a real Parquet file.")
        return
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"data file {_display(path)!r} holds binary content (NUL byte at offset {nul}), not {file_format.upper()} text; "
            "pass a UTF-8 text file (or a .parquet file for binary columnar data)."
        )
    try:
        text = codecs.getincrementaldecoder(options.encoding)().decode(head, final=len(head) == size)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"data file {_display(path)!r} is not {options.encoding} text (bad byte at offset {exc.start}); re-save it as "
            "UTF-8 or pass its encoding (config: encoding, e.g. latin-1)."
        ) from None
    text = text.lstrip("\ufeff")
    if file_format == "json":
        if text.lstrip()[:1] not in ("{", "["):
            raise DataError(f"data file {_display(path)!r} is not JSON/JSONL (it starts with {text.lstrip()[:20]!r}); pass one JSON object per line.")
        return
    _check_delimiter(path, text, options, complete=len(head) == size)


def _split_line(line: str, delimiter: str, quoting: str) -> List[str]:
    if quoting == "none":
        return line.split(delimiter)
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return [line]


def _check_delimiter(path: Path, text: str, options: CsvOptions, complete: bool) -> None:
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut short
    lines = [ln for ln in lines if ln.strip()][:50]
    delimiter = options.delimiter_for(path)
    header = _split_line(lines[0], delimiter, options.quoting)
    if len(header) >= 2:
        return
    for other in CANDIDATE_DELIMITERS:
        if other == delimiter:
            continue
        counts = {len(_split_line(ln, other, options.quoting)) for ln in lines[: min(len(lines), 20)]}
        if len(counts) == 1 and min(counts) >= 2:
            raise DataError(
                f"data file {_display(path)!r} reads as one column with delimiter {delimiter!r}, but its lines split evenly "
                f"into {min(counts)} fields on {other!r}; pass --delimiter {other!r} (config: delimiter)."
            )
    raise DataError(
        f"data file {_display(path)!r} has a single column ({header[0][:40]!r}); a label column and an input column are "
        "needed — check the delimiter (--delimiter) or add the missing columns."
    )


def read_header(path: Path, file_format: str, options: CsvOptions) -> List[str]:
    """Column names of one file without reading its body (used by the classic CLI's pre-flight checks)."""
    if options.column_names:
        return list(options.column_names)
    if file_format == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, "r", encoding=options.encoding, errors="replace") as fh:
        first = fh.readline()
        if file_format == "json":
            import json

            try:
                obj = json.loads(first)
            except ValueError:
                return []
            return list(obj) if isinstance(obj, dict) else []
    return [c.strip() for c in _split_line(first.rstrip("\r\n"), options.delimiter_for(path), options.quoting)]


def load_table(
    files: Sequence[Path],
    file_format: str,
    options: CsvOptions,
    cache_dir: Path,
) -> LoadedTable:
    """Read ``files`` into one memory-mapped Arrow table through ``datasets`` (cached under ``cache_dir``).

    CSV columns whose type changes part-way through a file (ints, then floats or text) are re-read as text and
    converted column by column later, instead of failing.
    """
    import datasets

    fmt = detect_format(Path(files[0]), file_format)
    for f in files:
        check_file(Path(f), fmt, options)
    kwargs: Dict[str, Any] = {"data_files": [str(Path(f).resolve()) for f in files], "cache_dir": str(cache_dir)}
    reader: Dict[str, Any] = {}
    if fmt == "csv":
        reader = {"delimiter": options.delimiter_for(Path(files[0])), "quoting": options.quoting}
        kwargs.update(delimiter=reader["delimiter"], quoting=QUOTING_NAMES[options.quoting])
        if options.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            reader["encoding"] = kwargs["encoding"] = options.encoding
        if options.column_names:
            reader["column_names"] = list(options.column_names)
            kwargs.update(column_names=list(options.column_names), header=None)
    was_enabled = datasets.is_progress_bar_enabled()
    level = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(logging.CRITICAL)
    try:
        try:
            table, hit = _build(datasets, fmt, kwargs, files)
        except _TypeDrift:
            header = read_header(Path(files[0]), fmt, options)
            kwargs["features"] = datasets.Features({name: datasets.Value("string") for name in header})
            table, hit = _build(datasets, fmt, kwargs, files)
            reader["read_as_text"] = True
    finally:
        datasets.logging.set_verbosity(level)
        if was_enabled:
            datasets.enable_progress_bars()
    return LoadedTable(table=table, files=[Path(f) for f in files], file_format=fmt, cache_hit=hit, reader_options=reader)


class _TypeDrift(Exception):
    """A column's inferred type changed between chunks of a CSV file."""


def _build(datasets: Any, fmt: str, kwargs: Dict[str, Any], files: Sequence[Path]) -> Tuple[Any, bool]:
    try:
        builder = datasets.load_dataset_builder(fmt, **kwargs)
        hit = os.path.isdir(builder.cache_dir)
        builder.download_and_prepare()
        ds = builder.as_dataset(split="train")
    except Exception as exc:  # noqa: BLE001 - datasets wraps the parser's error; explain it in one line
        cause = exc.__cause__ or exc
        text = " ".join(str(cause).split())
        if fmt == "csv" and "features" not in kwargs and re.search(r"truncated converting|Could not convert|Couldn't cast|Unsupported cast|cannot mix", text):
            raise _TypeDrift() from None
        raise DataError(_explain(cause, text, files, fmt)) from None
    table = ds.data.table if getattr(ds, "_indices", None) is None else ds.with_format("arrow")[:]
    return table, hit


def _explain(cause: BaseException, text: str, files: Sequence[Path], fmt: str) -> str:
    name = _display(Path(files[0])) if len(files) == 1 else f"{len(files)} files ({Path(files[0]).name}, ...)"
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    where = re.search(r"file '([^']+)'", text)
    if where:
        name = where.group(1)
    if m:
        return (
            f"data file {name!r} line {m.group(2)} has {m.group(3)} fields but the header has {m.group(1)}; quote fields "
            "that contain the delimiter, fix the row, or pick the right --delimiter / --no-quoting."
        )
    if "EOF inside string" in text or "EOF inside" in text:
        return (
            f"data file {name!r} has an unbalanced quote character ({text[:120]}); if quotes are ordinary text in it, "
            "pass --no-quoting (config: quoting: none)."
        )
    if fmt == "json":
        return f"data file {name!r} is not valid JSON lines ({text[:160]}); write one JSON object per line."
    if "column names" in text.lower() or "schema" in text.lower():
        return f"data files {name!r} do not share one set of columns ({text[:160]}); load files with the same header together."
    return f"data file {name!r} could not be read as {fmt.upper()} ({type(cause).__name__}: {text[:200]}); check its format and --delimiter."
