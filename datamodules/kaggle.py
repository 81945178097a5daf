"""Kaggle datasets: downloaded once into a cache, then read like local files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from datamodules.file import FileDataModule
from nethical.console import warn_once as _warn
from nethical.data.files import DataUnavailableError, SUFFIX_FORMATS, resolve_data_files
from nethical.data.kaggle import KaggleClient, fetch_all, parse_slug, read_slug_list
from nethical.exceptions import ConfigError


class KaggleDataModule(FileDataModule):
    """Rows from one or more Kaggle datasets (``owner/name`` slugs), cached under ``<cache_dir>/kaggle``.

    Every data file of the listed datasets (or those matching ``file_pattern``) is read as one table, so several
    datasets must share their columns. When no real data can be had — no credentials, no network, ``no_download``
    with nothing cached, or no data file in the download — the module falls back to synthetic data with a warning
    that says why, unless ``require_real_data``. Credentials never reach a message, log or model card.

    Args:
        datasets: Kaggle slugs, e.g. ``[uciml/sms-spam-collection-dataset]`` or ``owner/name/versions/3``.
        datasets_file: a text file with one slug a line (``#`` comments), added to ``datasets``.
        no_download: use the cache only.
        **kwargs: see :class:`~datamodules.file.FileDataModule` (all but ``data_files``).
    """

    source_name = "kaggle"

    def __init__(
        self,
        datasets: Optional[Union[List[str], str]] = None,
        datasets_file: Optional[str] = None,
        no_download: bool = False,
        **kwargs: Any,
    ) -> None:
        # every FileDataModule/BaseDataModule argument but data_files (the files come from Kaggle), declared once
        # there; LightningCLI follows **kwargs to them
        if kwargs.pop("data_files", None):
            raise ConfigError("KaggleDataModule takes datasets (OWNER/NAME slugs), not data_files; use FileDataModule for local files.")
        super().__init__(**kwargs)
        slugs = [datasets] if isinstance(datasets, str) else list(datasets or [])
        if datasets_file:
            slugs += read_slug_list(Path(datasets_file))
        if not slugs:
            raise ConfigError("KaggleDataModule(datasets=[]) lists no dataset; pass --kaggle-dataset OWNER/NAME or datasets_file.")
        for s in slugs:
            parse_slug(s)  # a malformed slug is a config error (exit 2), never a silent fallback
        self.datasets = list(dict.fromkeys(slugs))
        self.no_download = no_download
        self.client: Optional[KaggleClient] = None  # tests inject a fake; None = kagglehub

    def locate_files(self) -> Tuple[List[Path], Dict[str, Any], Optional[Path], str]:
        kaggle_dir = self.cache_dir() / "kaggle"
        fetched = fetch_all(self.datasets, kaggle_dir, self.client, self.no_download)
        for f in fetched:
            for message in f.warnings:
                _warn(message)
        files: List[Path] = []
        for f in fetched:
            names = [n for n in f.files if self.file_pattern or Path(n).suffix.lower() in SUFFIX_FORMATS]
            if not names:
                continue
            try:
                files += resolve_data_files([f.path], self.file_format, self.file_pattern)
            except Exception:  # noqa: BLE001 - no usable file in this dataset
                continue
        if not files:
            shown = {f.slug.handle: list(f.files)[:8] for f in fetched}
            raise DataUnavailableError(
                f"the Kaggle dataset(s) hold no CSV, TSV, Parquet or JSON file{' matching ' + repr(self.file_pattern) if self.file_pattern else ''} ({shown})"
            )
        name = f"Kaggle {', '.join(self.datasets)} ({files[0].name}{', ...' if len(files) > 1 else ''})"
        extra = {"kaggle": [f.provenance() for f in fetched]}
        return files, extra, kaggle_dir, name

    def requested_source(self) -> Dict[str, Any]:
        return {"source": "kaggle", "datasets": list(self.datasets), "no_download": self.no_download}
