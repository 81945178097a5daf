"""What a model was trained on: the data fingerprint and the training-rows fingerprint of its card.

**Data fingerprint** (``card["data_fingerprint"]``): the dataset's name (the champion key, with the model type), its
source (``file``, ``kaggle``, ``synthetic``), the sha256 of its identity (every file's sha256, or the synthetic
generator's task, seed, size and noise), the schema (input kind, feature columns or text column) and the label
column and mapping; ``fingerprint_sha256`` is the sha256 of all of it, so an edited fingerprint is detected.

The dataset name is ``--dataset-name`` / ``gate.dataset_name`` when given, else ``synthetic:<task>`` for the demo
data, ``kaggle:<owner>/<name>`` for a Kaggle dataset and ``file:<file name>`` (or ``file:<directory name>``) for
local files. Two runs on the same name with a different schema or label mapping count as different datasets.

**Training-rows fingerprint** (``card["training_rows"]``): how the rows were drawn and split (sampling, strategy,
seed, ratios, counts) plus ``train_rows.u64`` beside the card: the sorted 64-bit BLAKE2b hashes of every row the
model trained on (training split and calibration slice), listed with its sha256 in the card's files. A row's hash
covers its prepared input only (float32 feature vector, or the UTF-8 text), so the same row drawn by another
sample or split has the same hash — that is how the gate tells which validation rows a champion has already seen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from nethical.exceptions import ModelLoadError

ROWS_FILE = "train_rows.u64"
ROW_HASH = "blake2b-64 of the prepared row: float32 feature vector bytes, or the UTF-8 text"
_FP_KEYS = ("dataset", "source", "sha256", "schema", "label")


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def dataset_name(provenance: Dict[str, Any], override: Optional[str] = None) -> str:
    if override:
        return str(override)
    source = provenance.get("source")
    if source == "synthetic":
        return f"synthetic:{provenance.get('task')}"
    if source == "kaggle":
        slugs = [k.get("slug") or k.get("dataset") for k in provenance.get("kaggle") or [] if isinstance(k, dict)]
        if slugs and all(slugs):
            return "kaggle:" + "+".join(sorted(str(s) for s in slugs))
    files = provenance.get("files") or []
    if len(files) == 1:
        return f"file:{Path(str(files[0].get('path', '?'))).name}"
    if files:
        return f"file:{Path(str(files[0].get('path', '?'))).parent.name}"
    return f"{source or 'unknown'}"


def data_fingerprint(provenance: Dict[str, Any], input_spec: Dict[str, Any], override: Optional[str] = None) -> Dict[str, Any]:
    """The data fingerprint of the module docstring (JSON-serializable)."""
    if provenance.get("source") == "synthetic":
        identity = {k: provenance.get(k) for k in ("task", "seed", "num_samples", "label_noise")}
    else:
        identity = {"files": sorted(str(f.get("sha256")) for f in provenance.get("files") or [])}
    kind = input_spec.get("kind")
    schema: Dict[str, Any] = {"kind": kind}
    if kind == "tabular":
        schema["feature_names"] = list(input_spec.get("feature_names") or [])
    else:
        schema["text_field"] = input_spec.get("text_field")
    fp = {
        "dataset": dataset_name(provenance, override),
        "source": provenance.get("source"),
        "sha256": hashlib.sha256(_canonical(identity)).hexdigest(),
        "schema": schema,
        "label": {"column": provenance.get("label_column"), "mapping": provenance.get("label_mapping")},
    }
    fp["fingerprint_sha256"] = hashlib.sha256(_canonical({k: fp[k] for k in _FP_KEYS})).hexdigest()
    return fp


def same_dataset(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    """Same name, schema and label mapping (the file contents may differ: a new version of the same dataset)."""
    return all(a.get(k) == b.get(k) for k in ("dataset", "schema", "label"))


def verify_card_fingerprint(card: Dict[str, Any], where: Path) -> Dict[str, Any]:
    """The card's data fingerprint, checked; a missing or edited one raises :class:`ModelLoadError` (exit 2)."""
    fp = card.get("data_fingerprint")
    fix = (f"move {where} aside (e.g. into archive/) or retrain it, or pass another --models-dir; nothing in the "
           "models dir was changed")
    if not isinstance(fp, dict) or not all(k in fp for k in (*_FP_KEYS, "fingerprint_sha256")):
        raise ModelLoadError(f"the champion card {Path(where) / 'model_card.json'} has no data fingerprint (saved by an "
                             f"older version, or edited); {fix}.")
    expected = hashlib.sha256(_canonical({k: fp[k] for k in _FP_KEYS})).hexdigest()
    if expected != fp["fingerprint_sha256"]:
        raise ModelLoadError(f"the data fingerprint in {Path(where) / 'model_card.json'} does not match its sha256 (the "
                             f"card was edited); {fix}.")
    rows = card.get("training_rows")
    if not isinstance(rows, dict) or rows.get("file") != ROWS_FILE or ROWS_FILE not in (card.get("files") or {}):
        raise ModelLoadError(f"the champion card {Path(where) / 'model_card.json'} lacks its training-rows fingerprint "
                             f"({ROWS_FILE}); {fix}.")
    return fp


def row_hashes(part: Any) -> np.ndarray:
    """uint64 hash of every row of a :class:`~nethical.data.prepared.PreparedData` (see the module docstring)."""
    if part.kind == "tabular":
        feats = np.ascontiguousarray(np.asarray(part.features, dtype="<f4"))
        rows = (r.tobytes() for r in feats)
    else:
        rows = ((t or "").encode("utf-8") for t in (part.texts or []))
    return np.fromiter((int.from_bytes(hashlib.blake2b(r, digest_size=8).digest(), "little") for r in rows),
                       dtype=np.uint64, count=len(part))


def write_rows(path: Path, hashes: np.ndarray) -> int:
    """Write the sorted unique hashes as little-endian uint64; returns how many."""
    unique = np.unique(np.asarray(hashes, dtype=np.uint64))
    Path(path).write_bytes(unique.astype("<u8").tobytes())
    return int(unique.size)


def read_rows(path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    if len(data) % 8:
        raise ModelLoadError(f"{path} is not a list of 64-bit row hashes ({len(data)} bytes); the saved model is damaged.")
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


def _strip_ids(node: Any, digests: Dict[str, str]) -> Any:
    """A skops schema without its process-specific parts: ``__id__`` keys go, member file names become digests."""
    if isinstance(node, dict):
        return {k: _strip_ids(v, digests) for k, v in node.items() if k != "__id__"}
    if isinstance(node, list):
        return [_strip_ids(v, digests) for v in node]
    if isinstance(node, str) and node in digests:
        return digests[node]
    return node


def weights_digest(directory: Path, names: Any) -> str:
    """sha256 of a model's weight files, stable across identical saves.

    safetensors files are hashed as they are. A zip archive (skops) names its members after Python object ids, which
    change from one process to the next, so its digest covers each member's content and ``schema.json`` with those
    names replaced by the content digests and its ``__id__`` fields dropped: two identical fitted estimators hash
    alike.
    """
    import zipfile

    outer = hashlib.sha256()
    for name in sorted(names):
        path = Path(directory) / name
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                members = {i.filename: z.read(i) for i in z.infolist()}
            digests = {n: hashlib.sha256(b).hexdigest() for n, b in members.items()}
            try:
                schema = _strip_ids(json.loads(members.pop("schema.json", b"null")), digests)
            except ValueError:
                schema = None
            inner = hashlib.sha256(_canonical(schema))
            for d in sorted(digests[n] for n in members):
                inner.update(d.encode())
            outer.update(f"{name}:zip:{inner.hexdigest()}\n".encode())
        else:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            outer.update(f"{name}:{h.hexdigest()}\n".encode())
    return outer.hexdigest()
