"""The model registry on disk: ``<models_dir>/current/<type>/``, ``candidates/<type>/<run_id>/``,
``archive/<type>/<run_id>/``.

Every saved model directory holds ``model.safetensors`` (or ``model.skops`` for scikit-learn models), ``metrics.json``
and ``model_card.json``; the card lists the sha256 of every other file, checked before anything is loaded. A loader
reads only files the card lists — the files its class declares in ``artifact_files`` must be listed, so the weights
cannot be dropped from the list and then edited — and each must be a regular file inside the directory: symlinks and
special files (FIFOs, devices) are refused. Unlisted files are ignored. The card itself is size- and depth-bounded
JSON, and its values that size allocations (``init_args``) are validated by the class before anything is built. A model
directory is assembled under ``<models_dir>/.staging/`` and moved into place with one ``rename``, under a lock, so a
crash never leaves a half-written model where a reader would find it.

Champions are keyed by model type *and dataset*: ``current/<type>/`` holds one champion, and its card's
``data_fingerprint`` names the dataset it was trained on (:mod:`nethical.fingerprint`). The promotion gate never
lets a model trained on another dataset replace it silently (:mod:`nethical.champion`, ``docs/gate.md``); one
champion per dataset side by side means one ``--models-dir`` per dataset.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from filelock import FileLock

from nethical.exceptions import ModelLoadError, OutputError, UnsafeModelError
from nethical.fileio import fsync_dir
from nethical.safe_json import JSONLimitError, read_json_file

CARD_FILE = "model_card.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.safetensors"
RELIABILITY_FILE = "reliability.png"
TRUSTED_CLASS_PREFIXES = ("lightning_modules.",)
MAX_CARD_BYTES = 4 * 1024 * 1024
MAX_CARD_DEPTH = 32
MAX_ARTIFACT_BYTES = 8 * 1024 * 1024 * 1024
# a run id names directories (candidates/<type>/<run_id>, archive/<type>/<run_id>): never a path
CLASS_PATH_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def staging_dir(models_dir: Path, model_type: str, run_id: str) -> Path:
    path = Path(models_dir) / ".staging" / f"{model_type}-{run_id}-{os.getpid()}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def champion_dir(models_dir: Path, model_type: str) -> Optional[Path]:
    """``<models_dir>/current/<type>/`` when a champion of that type is saved there, else ``None``."""
    path = Path(models_dir) / "current" / model_type
    return path if (path / CARD_FILE).is_file() else None


def destination(models_dir: Path, model_type: str, run_id: str, promoted: bool) -> Path:
    base = Path(models_dir)
    return base / "current" / model_type if promoted else base / "candidates" / model_type / run_id


def publish(staged: Path, models_dir: Path, model_type: str, run_id: str, promoted: bool) -> Tuple[Path, Optional[Path]]:
    """Move a complete staged model into place; a replaced champion goes to ``archive/``.

    Returns ``(saved_dir, archived_dir_or_None)``.
    """
    models_dir = Path(models_dir)
    dest = destination(models_dir, model_type, run_id, promoted)
    archived = None
    try:
        with FileLock(str(models_dir / ".registry.lock")):
            dest.parent.mkdir(parents=True, exist_ok=True)
            if promoted and dest.exists():
                old_run = _card_run_id(dest) or "unknown"
                archived = models_dir / "archive" / model_type / old_run
                suffix = 1
                while archived.exists():
                    archived = archived.with_name(f"{old_run}-{suffix}")
                    suffix += 1
                archived.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, archived)
            elif dest.exists():
                shutil.rmtree(dest)
            os.replace(staged, dest)
            fsync_dir(dest.parent)
    except OSError as exc:
        raise OutputError(f"cannot publish the model into {models_dir}: {exc.strerror or exc}; check --models-dir.") from None
    return dest, archived


def _card_run_id(model_dir: Path) -> Optional[str]:
    """The run id in a champion's card, or None when missing or unsafe (the card names the archive directory)."""
    try:
        run_id = read_json_file(model_dir / CARD_FILE, max_depth=MAX_CARD_DEPTH, max_bytes=MAX_CARD_BYTES)["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) and RUN_ID_RE.fullmatch(run_id) else None


def _open_regular(path: Path, what: str) -> int:
    """A read-only descriptor of ``path``, refusing symlinks and anything but a regular file (never blocks on a FIFO)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ModelLoadError(f"{path} {what} is missing; the saved model is incomplete.") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path} ({exc.strerror or exc}); check the model directory.") from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeModelError(f"{path} is a symbolic link; a model directory must hold its own regular files (refusing to follow it).")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeModelError(f"{path} is not a regular file (a FIFO, device or directory); refusing to read it.")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ModelLoadError(f"cannot open {path} ({exc.strerror or exc}); check the model directory.") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between lstat and open
        os.close(fd)
        raise ModelLoadError(f"{path} is not a regular file; refusing to read it.")
    return fd


def read_card(model_dir: Path) -> Dict[str, Any]:
    model_dir = Path(model_dir)
    card_path = model_dir / CARD_FILE
    if not model_dir.is_dir() or not os.path.lexists(card_path):
        raise ModelLoadError(f"no {CARD_FILE} in {str(model_dir)!r}; pass a saved model directory such as models/current/logistic.")
    fd = _open_regular(card_path, "(the model card)")
    try:
        with os.fdopen(fd, "rb") as fh:
            card = _bounded_json(fh, card_path)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {card_path} ({exc.strerror or exc}); retrain or restore the model.") from None
    if not isinstance(card, dict) or not isinstance(card.get("class_path"), str):
        raise ModelLoadError(f"{card_path} is not a model card (expected a JSON object with class_path); retrain or restore the model.")
    if not isinstance(card.get("init_args", {}), dict) or not isinstance(card.get("input_spec", {}), dict):
        raise ModelLoadError(f"{card_path}: init_args and input_spec must be JSON objects; retrain or restore the model.")
    return card


def _bounded_json(fh: Any, where: Path) -> Any:
    from nethical.safe_json import loads_bounded

    data = fh.read(MAX_CARD_BYTES + 1)
    try:
        return loads_bounded(data, max_depth=MAX_CARD_DEPTH, max_bytes=MAX_CARD_BYTES)
    except JSONLimitError as exc:
        raise ModelLoadError(f"{where} {exc}; it is not a model card this project wrote. Retrain or restore the model.") from None


def _listed_files(model_dir: Path, card: Dict[str, Any]) -> Dict[str, str]:
    files = card.get("files") or {}
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise ModelLoadError(f"the model card in {model_dir} lists no files with sha256; the model cannot be verified.")
    for name in files:
        if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\\" in name or "\x00" in name:
            raise UnsafeModelError(f"the model card in {model_dir} lists {name!r}, which is not a plain file name; refusing it.")
    return files


def read_verified(model_dir: Path, card: Dict[str, Any], name: str) -> bytes:
    """The bytes of a file the card lists, read once from a regular file and checked against the card's sha256."""
    model_dir = Path(model_dir)
    files = _listed_files(model_dir, card)
    if name not in files:
        raise ModelLoadError(f"{model_dir / name} is not listed with its sha256 in the model card; the model cannot be verified.")
    path = model_dir / name
    fd = _open_regular(path, "listed in the model card")
    with os.fdopen(fd, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > MAX_ARTIFACT_BYTES:
            raise ModelLoadError(f"{path} is larger than {MAX_ARTIFACT_BYTES} bytes; refusing to load it.")
        data = fh.read()
    actual = hashlib.sha256(data).hexdigest()
    expected = files[name]
    if actual != expected:
        raise ModelLoadError(f"{path} fails its sha256 check (card {expected[:12]}…, file {actual[:12]}…); the file was changed or corrupted.")
    return data


def verify_files(model_dir: Path, card: Dict[str, Any], required: Tuple[str, ...] = ()) -> None:
    """Check every file listed in the card against its sha256 before it is used; ``required`` names files the loader
    reads, which must be listed."""
    files = _listed_files(Path(model_dir), card)
    for name in required:
        if name not in files:
            raise UnsafeModelError(f"the model card in {model_dir} does not list {name} with its sha256, and the loader "
                                 "reads it; the card was edited. Retrain or restore the model.")
    for name in files:
        read_verified(model_dir, card, name)


def import_trusted_class(class_path: str) -> type:
    if not class_path.startswith(TRUSTED_CLASS_PREFIXES):
        raise UnsafeModelError(
            f"refusing to import {class_path!r} from a model card: only classes under {TRUSTED_CLASS_PREFIXES} are loaded."
        )
    if not CLASS_PATH_RE.fullmatch(class_path):
        raise ModelLoadError(f"refusing to import {class_path!r} from a model card: not a dotted class path.")
    module_name, _, cls_name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(f"cannot import {class_path!r} named in the model card ({exc}).") from None
    if not isinstance(cls, type) or not str(cls.__module__).startswith(TRUSTED_CLASS_PREFIXES):
        raise ModelLoadError(f"refusing {class_path!r} from a model card: it is not a model class of this project.")
    return cls


def load_model(model_dir: Path) -> Tuple[Any, Dict[str, Any]]:
    """Load a saved model for prediction: verify hashes, rebuild the class from the card, load its state.

    No pickle is executed: torch weights come from safetensors, scikit-learn estimators through the adapter's own
    loader (skops with a type allow-list).
    """
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    cls = import_trusted_class(card["class_path"])
    loader = getattr(cls, "load_saved", None)
    if loader is None:
        raise ModelLoadError(f"{card['class_path']} has no load_saved(); it cannot be loaded from a model directory.")
    verify_files(model_dir, card, tuple(getattr(cls, "artifact_files", ())))
    return loader(model_dir, card), card
