"""Real-data flags of the classic CLI (``nethical-train``): local files, Kaggle datasets and column choices.

Three hooks called from :mod:`nethical.cli.classic`: :func:`add_flags` (parser), :func:`validate` (cheap checks
before anything is written: files exist, are not empty or binary, split on the delimiter, and hold the named columns)
and :func:`lightning_args` (``--data`` overrides that swap the config's synthetic datamodule for
:class:`~datamodules.file.FileDataModule` or :class:`~datamodules.kaggle.KaggleDataModule`). Without any data flag
the configs keep their synthetic data and :func:`lightning_args` returns ``[]``.
"""

from __future__ import annotations

import argparse
import os
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from nethical.data.synthetic import SYNTHETIC_TASKS
from nethical.exceptions import ConfigError

# what each model type consumes; the datamodule prepares that kind of input or fails naming what is missing
MODEL_INPUT_KINDS = {
    "heuristic": "tabular",
    "logistic": "tabular",
    "correlation": "tabular",
    "simple_transformer": "text",
    "anomaly": "sequence",
}
_COLUMN_FLAGS = ("label_column", "positive_labels", "negative_labels", "text_column", "sequence_column",
                 "feature_columns", "drop_columns", "delimiter", "no_quoting", "missing", "file_format")


def add_flags(p: argparse.ArgumentParser) -> None:
    """Add the real-data flag group to the classic parser."""
    g = p.add_argument_group("real data (default: the config's synthetic data)")
    g.add_argument("--data-path", action="append", default=None, metavar="FILE_OR_DIR",
                   help="CSV, TSV, Parquet or JSON/JSONL file or directory (repeatable)")
    g.add_argument("--kaggle-dataset", action="append", default=None, metavar="OWNER/NAME",
                   help="Kaggle dataset slug, downloaded once into the cache (repeatable)")
    g.add_argument("--kaggle-datasets-file", default=None, metavar="FILE", help="text file with one Kaggle slug a line")
    g.add_argument("--data-cache-dir", default=None, metavar="DIR",
                   help="cache for downloads and parsed Arrow files (default: $NETHICAL_CACHE_DIR or the user cache dir)")
    g.add_argument("--no-download", action="store_true", help="use cached Kaggle data only")
    g.add_argument("--require-real-data", action="store_true", help="fail instead of falling back to synthetic data")
    g.add_argument("--label-column", default=None, help="label column (default: discovered by name)")
    g.add_argument("--positive-labels", default=None, metavar="A,B", help="label values meaning 1 (the rest mean 0)")
    g.add_argument("--negative-labels", default=None, metavar="A,B", help="label values meaning 0 (the rest mean 1)")
    g.add_argument("--text-column", default=None, help="text column for text models")
    g.add_argument("--sequence-column", default=None, help="column of whitespace-separated tokens for sequence models")
    g.add_argument("--feature-columns", default=None, metavar="A,B", help="tabular feature columns (strings are one-hot encoded)")
    g.add_argument("--drop-columns", default=None, metavar="A,B", help="columns never used (ids, leaky scores)")
    g.add_argument("--delimiter", default=None, help="CSV delimiter, e.g. ';' or '\\t' (default: ',' or tab for .tsv)")
    g.add_argument("--no-quoting", action="store_true", help="read quote characters as text (csv.QUOTE_NONE)")
    g.add_argument("--missing", choices=("drop", "impute"), default=None, help="rows with missing values: drop (default) or impute")
    g.add_argument("--file-format", choices=("auto", "csv", "parquet", "json"), default=None, help="override detection by suffix")


def _split(value: Optional[str]) -> Optional[List[str]]:
    if value is None:
        return None
    return [v.strip() for v in str(value).split(",") if v.strip()]


def wants_real_data(ns: argparse.Namespace) -> bool:
    return bool(getattr(ns, "data_path", None) or getattr(ns, "kaggle_dataset", None) or getattr(ns, "kaggle_datasets_file", None))


def validate(ns: argparse.Namespace) -> None:
    """Check the data flags before anything is written; a bad one raises ConfigError / DataError (exit 2)."""
    from nethical.data.columns import ColumnOptions, as_str_tuple, require_column
    from nethical.data.files import CsvOptions, check_file, detect_format, read_header, resolve_data_files

    given = [f for f in _COLUMN_FLAGS if getattr(ns, f, None) not in (None, False)]
    if not wants_real_data(ns):
        if ns.require_real_data:
            raise ConfigError("--require-real-data needs a data source; pass --data-path FILE or --kaggle-dataset OWNER/NAME.")
        if given or ns.no_download or ns.data_cache_dir:
            flag = "--" + (given[0] if given else ("no_download" if ns.no_download else "data_cache_dir")).replace("_", "-")
            raise ConfigError(f"{flag} only applies to real data; add --data-path FILE or --kaggle-dataset OWNER/NAME.")
        return
    if ns.data_path and (ns.kaggle_dataset or ns.kaggle_datasets_file):
        raise ConfigError("--data-path and --kaggle-dataset are both given; train on one source per run.")
    csv_options = CsvOptions(delimiter=ns.delimiter, quoting="none" if ns.no_quoting else "minimal")
    options = ColumnOptions(  # checks the option values themselves
        label_column=ns.label_column, positive_labels=as_str_tuple(ns.positive_labels),
        negative_labels=as_str_tuple(ns.negative_labels), missing=ns.missing or "drop",
    )
    if ns.kaggle_dataset or ns.kaggle_datasets_file:
        from nethical.data.kaggle import parse_slug, read_slug_list

        for slug in (ns.kaggle_dataset or []) + (read_slug_list(Path(ns.kaggle_datasets_file)) if ns.kaggle_datasets_file else []):
            parse_slug(slug)
        return
    files = resolve_data_files(ns.data_path, ns.file_format or "auto")
    fmt = detect_format(files[0], ns.file_format or "auto")
    for f in files:
        check_file(f, fmt, csv_options)
    header = read_header(files[0], fmt, csv_options) or []
    source = str(files[0])
    named = [("label_column", options.label_column)] + [("text_column", ns.text_column), ("sequence_column", ns.sequence_column)]
    named += [("feature_columns", c) for c in _split(ns.feature_columns) or []]
    named += [("drop_columns", c) for c in _split(ns.drop_columns) or []]
    for option, column in named:
        if column and header:
            require_column(column, header, option, source)
    # one model type: prepare the data now (``all``: each type reports its own). DDP workers re-run this command;
    # the launching process already checked the data, so they skip the second preparation.
    if ns.model_type in MODEL_INPUT_KINDS and "LOCAL_RANK" not in os.environ:
        preflight(ns, ns.model_type)


def datamodule_init(ns: argparse.Namespace, model_type: str) -> Tuple[str, Dict[str, Any]]:
    """(class path, init args) of the real-data datamodule these flags ask for (only the flags that were given)."""
    task = _config_task(ns, model_type)
    kind = SYNTHETIC_TASKS[task][0] if task else MODEL_INPUT_KINDS.get(model_type, "tabular")
    init: Dict[str, Any] = {}
    if ns.kaggle_dataset or ns.kaggle_datasets_file:
        class_path = "datamodules.kaggle.KaggleDataModule"
        if ns.kaggle_dataset:
            init["datasets"] = list(ns.kaggle_dataset)
        if ns.kaggle_datasets_file:
            init["datasets_file"] = str(ns.kaggle_datasets_file)
        if ns.no_download:
            init["no_download"] = True
    else:
        class_path = "datamodules.file.FileDataModule"
        init["data_files"] = [str(p) for p in ns.data_path]
    init["input_kind"] = kind
    if task:
        init["synthetic_task"] = task  # the config's own synthetic task stays the fallback
    if ns.require_real_data:
        init["require_real_data"] = True
    if ns.data_cache_dir:
        init["cache_dir"] = str(ns.data_cache_dir)
    for flag in ("label_column", "text_column", "sequence_column"):
        if getattr(ns, flag):
            init[flag] = getattr(ns, flag)
    for flag in ("positive_labels", "negative_labels", "feature_columns", "drop_columns"):
        values = _split(getattr(ns, flag))
        if values:
            init[flag] = values
    if ns.delimiter:
        init["delimiter"] = "\\t" if ns.delimiter in ("\t", "\\t", "tab") else ns.delimiter
    if ns.no_quoting:
        init["quoting"] = "none"
    if ns.missing:
        init["missing"] = ns.missing
    if ns.file_format:
        init["file_format"] = ns.file_format
    return class_path, init


def lightning_args(ns: argparse.Namespace, model_type: str) -> List[str]:
    """``--data`` overrides for real data (appended after the config's own arguments), else ``[]``."""
    if not wants_real_data(ns):
        return []
    class_path, init = datamodule_init(ns, model_type)
    args = ["--data", class_path]
    for key, value in init.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list):
            value = _json(value)
        args += [f"--data.{key}", str(value)]
    return args


def preflight(ns: argparse.Namespace, model_type: str) -> None:
    """Read and prepare local files exactly as training will (quietly), so bad data fails before anything is
    written. The parsed Arrow files stay in the cache, so training does not parse them again."""
    from datamodules.file import FileDataModule

    _, init = datamodule_init(ns, model_type)
    config = config_data(ns, model_type)  # flags not given fall back to the config's values, as in training
    given = {key: getattr(ns, key) if getattr(ns, key, None) is not None else config.get(key)
             for key in ("num_samples", "seed", "split_strategy", "train_ratio", "batch_size", "max_length", "truncation")}
    dm = FileDataModule(**init, **{k: v for k, v in given.items() if v is not None})
    dm.verbose = False
    dm.load()


def config_data(ns: argparse.Namespace, model_type: str) -> Dict[str, Any]:
    """``data.init_args`` of the model type's config (or --config) over the shared defaults; {} if unreadable."""
    import yaml

    from nethical.cli.configs import composed_config, lookup
    from nethical.paths import CONFIG_DIR

    path = Path(ns.config) if getattr(ns, "config", None) else CONFIG_DIR / f"{model_type}.yaml"
    try:
        data = lookup(composed_config(path), "data.init_args", {})
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _config_task(ns: argparse.Namespace, model_type: str) -> Optional[str]:
    """The synthetic task of the model type's config (it tells the input kind the model consumes), if any."""
    task = config_data(ns, model_type).get("task")
    return task if task in SYNTHETIC_TASKS else None


def _json(values: List[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))
