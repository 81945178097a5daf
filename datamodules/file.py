"""Local CSV / TSV / Parquet / JSON(L) files, read through HuggingFace ``datasets`` and prepared in bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from datamodules.base import BaseDataModule
from nethical.console import info_once as _say
from nethical.console import warn_once as _warn
from nethical.data.columns import ColumnOptions, as_str_tuple
from nethical.data.files import CsvOptions, DataUnavailableError, default_cache_root, load_table, resolve_data_files
from nethical.data.prepare import prepare_table
from nethical.data.prepared import INPUT_KINDS, PreparedData
from nethical.data.provenance import file_provenance
from nethical.data.splits import describe_sampling
from nethical.data.synthetic import SYNTHETIC_TASKS, generate
from nethical.exceptions import ConfigError, DataError

LabelValues = Optional[Union[List[Union[int, float, str]], str]]
# the synthetic task that stands in for each input kind when no real data can be had
FALLBACK_TASKS = {"tabular": "risk", "text": "text", "sequence": "sequence"}


class FileDataModule(BaseDataModule):
    """Rows from local files: CSV, TSV, Parquet, JSON/JSONL (a file, several files, or a directory of them).

    The files are parsed once into the ``datasets`` Arrow cache (memory-mapped, so files larger than RAM work; an
    unchanged file is not parsed again), the columns are chosen (discovered or given), labels mapped to 0/1, missing
    values dropped or imputed, and ``num_samples`` usable rows drawn as a seeded sample stratified by label, kept in
    file order (= time order for the temporal split). The provenance records each file's sha256, the columns, the label mapping and the row counts.

    Args:
        data_files: a path or list of paths (files or directories).
        input_kind: what the model needs: ``tabular`` (numeric + one-hot categorical features), ``text`` or
            ``sequence`` (whitespace-separated tokens).
        file_format: ``auto`` (by suffix; unknown suffixes read as CSV), ``csv``, ``parquet`` or ``json``.
        file_pattern: glob for files inside a directory (default: every known suffix).
        delimiter: CSV field separator (default ``,``; ``\\t`` for ``.tsv``).
        quoting: ``minimal``, ``none`` (quotes are text), ``all`` or ``nonnumeric``.
        column_names: column names for files without a header row.
        encoding: text encoding of CSV/JSON files (default utf-8).
        label_column, positive_labels, negative_labels, text_column, sequence_column, feature_columns,
        drop_columns, categorical_columns, max_categories, missing: see :class:`nethical.data.columns.ColumnOptions`.
        cache_dir: cache root (``datasets`` Arrow files go under ``<cache_dir>/hf``); default
            ``$NETHICAL_CACHE_DIR`` or the user's cache dir.
        require_real_data: fail instead of falling back to synthetic data when no real data can be had.
        synthetic_task: the fallback task (default by ``input_kind``: risk / text / sequence).
        label_noise: label noise of the synthetic fallback.
        **base: see :class:`~datamodules.base.BaseDataModule`.
    """

    source_name = "file"

    def __init__(
        self,
        data_files: Optional[Union[List[str], str]] = None,
        input_kind: str = "tabular",
        file_format: str = "auto",
        file_pattern: Optional[str] = None,
        delimiter: Optional[str] = None,
        quoting: str = "minimal",
        column_names: Optional[List[str]] = None,
        encoding: str = "utf-8",
        label_column: Optional[str] = None,
        positive_labels: LabelValues = None,
        negative_labels: LabelValues = None,
        text_column: Optional[str] = None,
        sequence_column: Optional[str] = None,
        feature_columns: Optional[Union[List[str], str]] = None,
        drop_columns: Optional[Union[List[str], str]] = None,
        categorical_columns: Optional[Union[List[str], str]] = None,
        max_categories: int = 32,
        missing: str = "drop",
        cache_dir: Optional[str] = None,
        require_real_data: bool = False,
        synthetic_task: Optional[str] = None,
        label_noise: float = 0.02,
        num_samples: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        # num_samples defaults to every usable row here; the other BaseDataModule arguments are declared once, there
        # (LightningCLI follows **kwargs to them)
        super().__init__(num_samples=num_samples, **kwargs)
        if input_kind not in INPUT_KINDS:
            raise ConfigError(f"{type(self).__name__}(input_kind={input_kind!r}) is not known; use one of {', '.join(INPUT_KINDS)}.")
        self.data_files = [data_files] if isinstance(data_files, str) else list(data_files or [])
        self._requested_kind = input_kind
        self.file_format = file_format
        self.file_pattern = file_pattern
        self.csv_options = CsvOptions(delimiter=delimiter, quoting=quoting, column_names=tuple(column_names) if column_names else None,
                                      encoding=encoding)
        self.column_options = ColumnOptions(
            label_column=label_column,
            positive_labels=as_str_tuple(positive_labels),
            negative_labels=as_str_tuple(negative_labels),
            text_column=text_column,
            sequence_column=sequence_column,
            feature_columns=_names(feature_columns),
            drop_columns=_names(drop_columns) or (),
            categorical_columns=_names(categorical_columns),
            max_categories=max_categories,
            missing=missing,
        )
        self.cache_root = Path(cache_dir).expanduser() if cache_dir else None
        self.require_real_data = require_real_data
        self.synthetic_task = synthetic_task
        self.label_noise = label_noise
        if synthetic_task is not None and synthetic_task not in SYNTHETIC_TASKS:
            raise ConfigError(f"{type(self).__name__}(synthetic_task={synthetic_task!r}) is not known; use one of {', '.join(SYNTHETIC_TASKS)}.")
        self.cache_hit: Optional[bool] = None
        self.verbose = True  # False: no [INFO]/[WARN] lines (the classic CLI's quiet pre-flight read)
        self._spec_extras: Dict[str, Any] = {}

    # ------------------------------------------------------------------ where the files come from (Kaggle overrides)
    def cache_dir(self) -> Path:
        return self.cache_root or default_cache_root()

    def locate_files(self) -> Tuple[List[Path], Dict[str, Any], Optional[Path], str]:
        """(files, extra provenance, path the file records are relative to, name for messages)."""
        files = resolve_data_files(self.data_files, self.file_format, self.file_pattern)
        name = str(files[0]) if len(files) == 1 else f"{len(files)} files under {Path(self.data_files[0])}"
        return files, {}, None, name

    # ------------------------------------------------------------------ BaseDataModule hook
    def load(self) -> PreparedData:
        try:
            files, extra, relative_to, name = self.locate_files()
        except DataUnavailableError as exc:
            from nethical.redaction import redact

            return self._fallback(redact(str(exc), limit=1000))  # it goes into provenance: cards, audit, drift
        loaded = load_table(files, self.file_format, self.csv_options, self.cache_dir() / "hf")
        self.cache_hit = loaded.cache_hit
        prepared = prepare_table(
            loaded.table,
            self._requested_kind,
            self.column_options,
            source=name,
            max_length=self.max_length,
            num_samples=self.num_samples,
            coerce_numeric=bool(loaded.reader_options.get("read_as_text")),
            seed=self.seed,
        )
        for message in prepared.warnings if self.verbose else ():
            _warn(message)
        self._spec_extras = prepared.spec_extras
        data = prepared.data
        data.provenance = file_provenance(
            self.source_name, loaded.files, prepared.report, loaded.reader_options, loaded.file_format,
            self._requested_kind, relative_to, **extra,
        )
        bal = prepared.report["class_balance"]
        if self.verbose:
            _say(
                f"data: {name} ({'cached' if loaded.cache_hit else 'parsed'}), {len(data)} rows used of "
                f"{prepared.report['rows_read']} ({describe_sampling(prepared.report.get('sampling') or {})}), "
                f"label {prepared.report['label_column']!r} -> 1: {bal['1']}, 0: {bal['0']}"
            )
        return data

    def _fallback(self, reason: str) -> PreparedData:
        if self.require_real_data:
            raise DataError(f"real data is required (require_real_data / --require-real-data) but {reason}.")
        task = self.synthetic_task or FALLBACK_TASKS[self._requested_kind]
        if task not in SYNTHETIC_TASKS:  # else any task of the same kind
            task = next((t for t, (kind, _) in SYNTHETIC_TASKS.items() if kind == self._requested_kind), task)
        if task not in SYNTHETIC_TASKS:
            raise DataError(
                f"no real data ({reason}) and no synthetic {self._requested_kind} task to fall back on (available: "
                f"{', '.join(SYNTHETIC_TASKS)}); provide data files or pass --require-real-data to fail early."
            )
        _warn(f"using synthetic data ({task}) instead of real data: {reason}.")
        data = generate(task, self.num_samples or 10000, seed=self.seed, label_noise=self.label_noise)
        data.provenance["reason"] = reason
        data.provenance["requested"] = self.requested_source()
        return data

    def requested_source(self) -> Dict[str, Any]:
        return {"source": self.source_name, "data_files": [str(p) for p in self.data_files]}

    # ------------------------------------------------------------------ contract extras
    def _fit_input_spec(self, train: PreparedData) -> Dict[str, Any]:
        spec = super()._fit_input_spec(train)
        if train.kind == spec["kind"]:
            spec.update({k: v for k, v in self._spec_extras.items() if k != "text_field" or train.kind != "tabular"})
        return spec

    @property
    def input_kind(self) -> str:
        return self.input_spec.get("kind", self._requested_kind)

    def describe_rows(self, split: str, indices: Sequence[int]) -> List[str]:
        """Tabular rows with one-hot blocks folded back into ``column=category``."""
        categorical = self.input_spec.get("categorical") or {}
        part = self._splits[split]
        if part.kind != "tabular" or not categorical:
            return super().describe_rows(split, indices)
        names = part.feature_names
        groups: Dict[str, List[int]] = {}
        for j, n in enumerate(names):
            col = n.split("=", 1)[0]
            if "=" in n and col in categorical:
                groups.setdefault(col, []).append(j)
        out = []
        for i in indices:
            row = part.features[i]
            cells, seen = [], set()
            for j, n in enumerate(names):
                col = n.split("=", 1)[0]
                if col in groups:
                    if col not in seen:
                        seen.add(col)
                        js = groups[col]
                        cells.append(f"{col}={names[js[int(np.argmax(row[js]))]].split('=', 1)[1]}")
                    continue
                v = float(row[j])
                cells.append(f"{n}={int(v) if v.is_integer() else f'{v:.4g}'}")
            out.append(" ".join(cells))
        return out


def _names(value: Optional[Union[List[str], str]]) -> Optional[Tuple[str, ...]]:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())
