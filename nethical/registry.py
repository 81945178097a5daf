"""The model registry on disk: ``<models_dir>/current/<type>/``, ``candidates/<type>/<run_id>/``,
``archive/<type>/<run_id>/``.

Every saved model directory holds ``model.safetensors`` (or ``model.skops`` for scikit-learn models), ``metrics.json``
and ``model_card.json``; the card lists the sha256 of every other file, checked before anything is loaded. A model
directory is assembled under ``<models_dir>/.staging/`` and moved into place with one ``rename``, under a lock, so a
crash never leaves a half-written model where a reader would find it.

Champions are keyed by model type *and dataset*: ``current/<type>/`` holds one champion, and its card's
``data_fingerprint`` names the dataset it was trained on (:mod:`nethical.fingerprint`). The promotion gate never
lets a model trained on another dataset replace it silently (:mod:`nethical.champion`, ``docs/gate.md``); one
champion per dataset side by side means one ``--models-dir`` per dataset.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from filelock import FileLock

from nethical.exceptions import ModelLoadError, OutputError
from nethical.fileio import fsync_dir, sha256_file

CARD_FILE = "model_card.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.safetensors"
RELIABILITY_FILE = "reliability.png"
TRUSTED_CLASS_PREFIXES = ("lightning_modules.",)
# a run id names directories (candidates/<type>/<run_id>, archive/<type>/<run_id>): never a path
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
        run_id = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) and RUN_ID_RE.fullmatch(run_id) else None


def read_card(model_dir: Path) -> Dict[str, Any]:
    card_path = Path(model_dir) / CARD_FILE
    if not card_path.is_file():
        raise ModelLoadError(f"no {CARD_FILE} in {str(model_dir)!r}; pass a saved model directory such as models/current/logistic.")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{card_path} is not a readable JSON model card ({exc}); retrain or restore the model.") from None
    if not isinstance(card, dict) or not isinstance(card.get("class_path"), str):
        raise ModelLoadError(f"{card_path} is not a model card (expected a JSON object with class_path); retrain or restore the model.")
    return card


def verify_files(model_dir: Path, card: Dict[str, Any]) -> None:
    """Check every file listed in the card against its sha256 before it is used."""
    files = card.get("files") or {}
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise ModelLoadError(f"the model card in {model_dir} lists no files with sha256; the model cannot be verified.")
    for name, expected in files.items():
        path = Path(model_dir) / name
        if Path(name).name != name or not path.is_file():
            raise ModelLoadError(f"{path} listed in the model card is missing; the saved model is incomplete.")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelLoadError(f"{path} fails its sha256 check (card {expected[:12]}…, file {actual[:12]}…); the file was changed or corrupted.")


def import_trusted_class(class_path: str) -> type:
    if not class_path.startswith(TRUSTED_CLASS_PREFIXES):
        raise ModelLoadError(
            f"refusing to import {class_path!r} from a model card: only classes under {TRUSTED_CLASS_PREFIXES} are loaded."
        )
    module_name, _, cls_name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(f"cannot import {class_path!r} named in the model card ({exc}).") from None


def load_model(model_dir: Path) -> Tuple[Any, Dict[str, Any]]:
    """Load a saved model for prediction: verify hashes, rebuild the class from the card, load its state.

    No pickle is executed: torch weights come from safetensors, scikit-learn estimators through the adapter's own
    loader (skops with a type allow-list).
    """
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    verify_files(model_dir, card)
    cls = import_trusted_class(card["class_path"])
    loader = getattr(cls, "load_saved", None)
    if loader is None:
        raise ModelLoadError(f"{card['class_path']} has no load_saved(); it cannot be loaded from a model directory.")
    return loader(model_dir, card), card
