"""A cohort's validation rows, kept beside the cohort store so a later report can score *another* cohort's model on
them (the "old model on the new data" transfer test).

Rows are stored raw — numeric columns as numbers, categorical columns as their strings, texts as texts — the way
``nethical predict`` receives them, in ``<report_dir>/rows/<observation_id>.npz`` (numpy's compressed archive,
written and read with ``allow_pickle=False``: loading it never runs code). The observation keeps the file's name and
sha256; a file that was moved, deleted or changed is refused and the transfer is skipped with that reason.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from nethical.fileio import fsync_dir

ROWS_DIR = "rows"


class RowsError(ValueError):
    """The stored rows of a cohort cannot be used (missing, changed or unreadable); the message says which."""


def write_rows(
    report_dir: Union[str, os.PathLike],
    observation_id: str,
    labels: Sequence[int],
    numeric: Optional[Mapping[str, Any]] = None,
    categorical: Optional[Mapping[str, Any]] = None,
    texts: Optional[Sequence[str]] = None,
) -> tuple[str, str]:
    """Write the rows atomically; return ``(path relative to report_dir, sha256)``.

    Args:
        report_dir: the drift report directory.
        observation_id: names the file (hex digits only, so it cannot leave ``rows/``).
        labels: 0/1 per row.
        numeric: ``{column: float array}``.
        categorical: ``{column: array of strings}``.
        texts: the texts of a text or sequence split.
    """
    if not observation_id or not all(c in "0123456789abcdef" for c in observation_id):
        raise ValueError(f"write_rows(observation_id={observation_id!r}) must be hexadecimal.")
    arrays: dict[str, np.ndarray] = {"labels": np.asarray(labels, dtype=np.int8)}
    numeric = dict(numeric or {})
    categorical = dict(categorical or {})
    arrays["numeric_names"] = np.asarray(list(numeric), dtype=str)
    if numeric:
        arrays["numeric"] = np.column_stack([np.asarray(numeric[c], dtype=np.float64) for c in numeric])
    arrays["categorical_names"] = np.asarray(list(categorical), dtype=str)
    for i, c in enumerate(categorical):
        arrays[f"categorical_{i}"] = np.asarray([str(v) for v in categorical[c]], dtype=str)
    if texts is not None:  # UTF-8 bytes plus offsets: a fixed-width string array would be 4 bytes x longest x rows
        encoded = [("" if t is None else str(t)).encode("utf-8") for t in texts]
        arrays["text_bytes"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        arrays["text_offsets"] = np.cumsum([0] + [len(e) for e in encoded], dtype=np.int64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    directory = Path(report_dir) / ROWS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{observation_id}.npz"
    tmp = directory / f".{observation_id}.npz.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    fsync_dir(directory)
    return f"{ROWS_DIR}/{target.name}", hashlib.sha256(data).hexdigest()


def read_rows(report_dir: Union[str, os.PathLike], relative: str, sha256: Optional[str]) -> dict[str, Any]:
    """``{"labels": int array, "numeric": {col: array}, "categorical": {col: array}, "texts": list | None}``.

    Raises:
        RowsError: the file is missing, outside ``rows/``, changed since it was recorded, or unreadable.
    """
    base = (Path(report_dir) / ROWS_DIR).resolve()
    path = (Path(report_dir) / relative).resolve()
    if base not in path.parents:
        raise RowsError(f"the recorded rows file {relative!r} is outside {base}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RowsError(f"its validation rows {path} cannot be read ({exc.strerror or exc}); were they moved or "
                        "deleted?") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise RowsError(f"its validation rows {path} changed since they were recorded (sha256 mismatch)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            numeric_names = [str(n) for n in z["numeric_names"]]
            numeric = {n: z["numeric"][:, j] for j, n in enumerate(numeric_names)} if numeric_names else {}
            categorical = {str(n): z[f"categorical_{i}"] for i, n in enumerate(z["categorical_names"])}
            texts = None
            if "text_offsets" in z.files:
                raw, offsets = z["text_bytes"].tobytes(), z["text_offsets"]
                texts = [raw[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(offsets.size - 1)]
            labels = z["labels"].astype(np.int64)
    except (ValueError, KeyError, OSError, UnicodeDecodeError) as exc:
        raise RowsError(f"its validation rows {path} are unreadable ({exc})") from None
    return {"labels": labels, "numeric": numeric, "categorical": categorical, "texts": texts}


def as_dict_rows(rows: Mapping[str, Any], text_field: str = "text") -> list[dict[str, Any]]:
    """The stored rows as the list of dicts ``nethical predict`` scores (texts under ``text_field``)."""
    if rows.get("texts") is not None:
        return [{text_field: t} for t in rows["texts"]]
    n = int(rows["labels"].shape[0])
    numeric, categorical = rows["numeric"], rows["categorical"]
    out: list[dict[str, Any]] = [dict() for _ in range(n)]
    for name, values in numeric.items():
        for row, v in zip(out, values.tolist()):
            row[name] = v
    for name, values in categorical.items():
        for row, v in zip(out, values.tolist()):
            row[name] = v
    return out
