"""The promotion gate: score the validation split after fit, decide, and save the model where it belongs."""

from __future__ import annotations

import math
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from callbacks.events import emit, get_run_id, utc_now
from nethical.console import say
from nethical.exceptions import ConfigError
from nethical.fileio import atomic_write_json, sha256_file
from nethical.metrics import binary_metrics, calibration_bins, confusion_counts
from nethical.promotion import GateThresholds, gate_decision
from nethical.registry import CARD_FILE, METRICS_FILE, destination, publish, staging_dir

PACKAGES = ("torch", "lightning", "torchmetrics", "scikit-learn", "numpy", "datasets", "nethical-trainer")


class PromotionGate(Callback):
    """Promote a model when, on the validation split, ``ece <= max_ece`` and ``accuracy >= min_accuracy``.

    After fit it scores the *whole* validation split on every rank (so every rank reaches the same decision without
    a collective), rank zero writes ``<models_dir>/current/<type>/`` (promoted) or
    ``<models_dir>/candidates/<type>/<run_id>/`` (not promoted) — weights as safetensors, ``metrics.json`` and
    ``model_card.json`` — and it prints one ``PROMOTED``/``CANDIDATE`` line. The decision is emitted as the
    ``promotion_decision`` and ``model_saved`` events and kept in :attr:`result`.

    Args:
        models_dir: root of the model registry.
        max_ece: highest expected calibration error that still promotes; in [0, 1].
        min_accuracy: lowest accuracy that promotes; in [0, 1].
        ece_bins: equal-width bins for ECE.
        save: write the model (off for dry runs and ``fast_dev_run``).
    """

    def __init__(
        self,
        models_dir: str = "models",
        max_ece: float = 0.08,
        min_accuracy: float = 0.85,
        ece_bins: int = 10,
        save: bool = True,
    ) -> None:
        self.thresholds = GateThresholds(max_ece=max_ece, min_accuracy=min_accuracy)
        if ece_bins < 1:
            raise ConfigError(f"PromotionGate(ece_bins={ece_bins}) must be >= 1 (--ece-bins).")
        self.models_dir = models_dir
        self.ece_bins = ece_bins
        self.save = save
        self.result: Optional[Dict[str, Any]] = None
        self.started_at: Optional[str] = None

    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self.started_at = utc_now()

    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if trainer.sanity_checking or trainer.interrupted:
            return
        datamodule = trainer.datamodule
        val = datamodule.tensors("val")
        probs = pl_module.predict_proba(val["x"]).numpy().astype(np.float64)
        labels = val["y"].cpu().numpy().astype(np.int64)
        metrics = binary_metrics(probs, labels, n_bins=self.ece_bins)
        clipped = np.clip(probs, 1e-7, 1 - 1e-7)
        metrics["loss"] = float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))
        promoted, reasons = gate_decision(metrics, self.thresholds)
        model_type = pl_module.model_type
        run_id = get_run_id()
        do_save = self.save and not trainer.fast_dev_run
        saved_dir = destination(Path(self.models_dir), model_type, run_id, promoted) if do_save else None
        self.result = {
            "model_type": model_type,
            "promoted": promoted,
            "decision": "PROMOTED" if promoted else "CANDIDATE",
            "reasons": reasons,
            "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else float(v)) for k, v in metrics.items()},
            "thresholds": self.thresholds.to_dict(),
            "counts": confusion_counts(probs, labels),
            "calibration_bins": calibration_bins(probs, labels, self.ece_bins).to_dict(),
            "saved_dir": str(saved_dir) if saved_dir else None,
            "data_source": dict(datamodule.provenance),
            "run_id": run_id,
        }
        files: Dict[str, str] = {}
        if do_save and trainer.is_global_zero:
            files = self._save(trainer, pl_module)
        if do_save:
            files = trainer.strategy.broadcast(files, src=0)  # collective: every rank calls it
        self.result["files"] = files
        emit(trainer, "promotion_decision", **{k: v for k, v in self.result.items() if k != "files"})
        if do_save:
            emit(trainer, "model_saved", model_type=model_type, path=str(saved_dir), files=files)
        if trainer.is_global_zero:
            m = self.result["metrics"]
            where = f"saved to {saved_dir}" if saved_dir else "not saved"
            say(f"{self.result['decision']} {model_type}: accuracy={m['accuracy']:.4f} ece={m['ece']:.4f} "
                f"(min_accuracy={self.thresholds.min_accuracy}, max_ece={self.thresholds.max_ece}) {where}")

    # ------------------------------------------------------------------ saving (rank zero)
    def _save(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> Dict[str, str]:
        result = self.result
        assert result is not None
        models_dir = Path(self.models_dir)
        staged = staging_dir(models_dir, result["model_type"], result["run_id"])
        names = pl_module.save_artifacts(staged)
        atomic_write_json(staged / METRICS_FILE, {"metrics": result["metrics"], "counts": result["counts"],
                                                  "calibration_bins": result["calibration_bins"]})
        names.append(METRICS_FILE)
        files = {name: sha256_file(staged / name) for name in names}
        atomic_write_json(staged / CARD_FILE, self._card(trainer, pl_module, files))
        publish(staged, models_dir, result["model_type"], result["run_id"], result["promoted"])
        return files

    def _card(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", files: Dict[str, str]) -> Dict[str, Any]:
        result = self.result
        assert result is not None
        datamodule = trainer.datamodule
        return {
            "model_type": result["model_type"],
            "class_path": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}",
            "init_args": pl_module.init_args(),
            "input_spec": pl_module.input_spec,
            "run_id": result["run_id"],
            "decision": result["decision"],
            "promoted": result["promoted"],
            "reasons": result["reasons"],
            "thresholds": result["thresholds"],
            "metrics": result["metrics"],
            "counts": result["counts"],
            "ece_definition": f"l1 binary calibration error of P(y=1) over {self.ece_bins} equal-width bins",
            "seed": getattr(datamodule, "seed", None),
            "data_source": result["data_source"],
            "split_sizes": dict(datamodule.split_sizes),
            "split_strategy": getattr(datamodule, "split_strategy", None),
            "config": {
                "model": {"class_path": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}", "init_args": pl_module.init_args()},
                "data": {"class_path": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}",
                         "init_args": _jsonable({k: v for k, v in dict(getattr(datamodule, "hparams", {})).items() if not str(k).startswith("_")})},
                "trainer": {"max_epochs": trainer.max_epochs, "epochs_run": trainer.current_epoch,
                            "global_step": trainer.global_step, "precision": str(trainer.precision),
                            "accelerator": type(trainer.accelerator).__name__, "world_size": trainer.world_size},
            },
            **pl_module.card_extras(),
            "files": files,
            "package_versions": _versions(),
            "started_at": self.started_at,
            "finished_at": utc_now(),
        }

    def state_dict(self) -> Dict[str, Any]:
        return {"started_at": self.started_at}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.started_at = state_dict.get("started_at", self.started_at)


def _versions() -> Dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)
