"""The promotion gate: score the validation split after fit, decide, and save the model where it belongs."""

from __future__ import annotations

import math
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional

import lightning.pytorch as pl
import numpy as np
from lightning.pytorch.callbacks import Callback

from callbacks.events import emit, get_run_id, utc_now
from nethical.calibration import MIN_CALIBRATION_ROWS, reliability_figure, save_reliability_png
from nethical.champion import check_min_improvement, compare, no_champion, not_comparable
from nethical.console import say, warn
from nethical.exceptions import ConfigError, OutputError, NethicalError, UnsafeModelError
from nethical.fileio import atomic_write_json, sha256_file
from nethical.path_args import check_path_arg
from nethical.redaction import known_secrets, scrub_value
from nethical.metrics import CalibrationBins, binary_metrics, calibration_bins, confusion_counts, expected_calibration_error
from nethical.promotion import GateThresholds, gate_decision
from nethical.registry import (CARD_FILE, METRICS_FILE, RELIABILITY_FILE, champion_dir, destination, publish, read_card,
                               staging_dir)

PACKAGES = ("torch", "lightning", "torchmetrics", "scikit-learn", "numpy", "datasets", "nethical-trainer")


class PromotionGate(Callback):
    """Promote a model when, on the validation split, ``ece <= max_ece`` and ``accuracy >= min_accuracy``.

    After fit it scores the *whole* validation split on every rank and takes rank zero's scores (one broadcast), so
    every rank reaches the same decision; rank zero writes ``<models_dir>/current/<type>/`` (promoted) or
    ``<models_dir>/candidates/<type>/<run_id>/`` (not promoted) — weights as safetensors, ``metrics.json`` and
    ``model_card.json`` — and it prints one ``PROMOTED``/``CANDIDATE`` line. The decision is emitted as the
    ``promotion_decision`` and ``model_saved`` events and kept in :attr:`result`.

    Before scoring, when the model asks for post-hoc calibration (its ``calibration`` attribute is not ``none``), the
    gate fits it on the datamodule's calibration slice — carved from the training split, never the validation rows
    it scores — and records ECE on the validation split before and after. Every model gets a reliability diagram:
    ``reliability.png`` beside its card (listed with its sha256) and ``val/reliability_diagram`` in TensorBoard.

    Champion and challenger: a model that passes the gate replaces the champion in ``current/<type>/`` only when,
    scored on the same validation rows, it is not worse by more than ``min_improvement`` on accuracy and ECE (see
    :mod:`nethical.champion`); otherwise it is saved as a candidate with the reason. A replaced champion moves to
    ``archive/<type>/<run_id>/`` with its card. When the champion cannot score the data (other columns or input
    kind), the gate decides alone. The comparison runs on rank zero and its outcome is broadcast.

    Args:
        models_dir: root of the model registry.
        max_ece: highest expected calibration error that still promotes; in [0, 1].
        min_accuracy: lowest accuracy that promotes; in [0, 1].
        ece_bins: equal-width bins for ECE.
        save: write the model (off for dry runs and ``fast_dev_run``).
        min_improvement: how much better (positive) or how much worse at most (negative) a challenger must score
            than the champion, on accuracy and on ECE, to replace it; 0 = not worse.
    """

    def __init__(
        self,
        models_dir: str = "models",
        max_ece: float = 0.08,
        min_accuracy: float = 0.85,
        ece_bins: int = 10,
        save: bool = True,
        min_improvement: float = 0.0,
    ) -> None:
        self.thresholds = GateThresholds(max_ece=max_ece, min_accuracy=min_accuracy)
        if ece_bins < 1:
            raise ConfigError(f"PromotionGate(ece_bins={ece_bins}) must be >= 1 (--ece-bins).")
        self.min_improvement = check_min_improvement(min_improvement)
        check_path_arg(str(models_dir), "--gate.models_dir (--models-dir)")  # it is printed in the PROMOTED line
        self.models_dir = models_dir
        self.ece_bins = ece_bins
        self.save = save
        self.result: Optional[Dict[str, Any]] = None
        self.started_at: Optional[str] = None
        self._bins_before: Optional[CalibrationBins] = None

    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self.started_at = utc_now()

    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if trainer.interrupted:
            return
        datamodule = trainer.datamodule
        labels = np.asarray(datamodule.labels("val"), dtype=np.int64)
        calibration, probs_before = self._calibrate(trainer, pl_module, datamodule)
        probs = np.asarray(pl_module.predict_proba_split(datamodule, "val"), dtype=np.float64)
        # Every rank scored the same rows, but floating-point differences across devices could put ranks on opposite
        # sides of a threshold; take rank zero's scores so every rank reaches the same decision and branches alike.
        probs, probs_before = trainer.strategy.broadcast((probs, probs_before), src=0)
        metrics = binary_metrics(probs, labels, n_bins=self.ece_bins)
        clipped = np.clip(probs, 1e-7, 1 - 1e-7)
        metrics["loss"] = float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))
        if probs_before is not None:
            calibration["ece_before"] = round(expected_calibration_error(probs_before, labels, self.ece_bins), 6)
        calibration["ece_after"] = round(float(metrics["ece"]), 6)
        calibration.setdefault("ece_before", calibration["ece_after"])
        promoted, reasons = gate_decision(metrics, self.thresholds)
        model_type = pl_module.model_type
        run_id = get_run_id()
        do_save = self.save and not trainer.fast_dev_run
        champion: Optional[Dict[str, Any]] = None
        if do_save and promoted:
            champion = self._compare_with_champion(trainer, model_type, datamodule, labels, metrics) if trainer.is_global_zero else None
            champion = trainer.strategy.broadcast(champion, src=0)  # collective: every rank calls it
            if champion.get("refused"):  # a hostile champion stops the run on every rank (nothing saved)
                raise UnsafeModelError(champion["refused"])
            reasons.append(champion["reason"])
            if not champion["replace"]:
                promoted = False
        saved_dir = destination(Path(self.models_dir), model_type, run_id, promoted) if do_save else None
        bins = calibration_bins(probs, labels, self.ece_bins)
        self._bins_before = calibration_bins(probs_before, labels, self.ece_bins) if probs_before is not None else None
        self.result = {
            "model_type": model_type,
            "promoted": promoted,
            "decision": "PROMOTED" if promoted else "CANDIDATE",
            "reasons": reasons,
            "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else float(v)) for k, v in metrics.items()},
            "thresholds": self.thresholds.to_dict(),
            "counts": confusion_counts(probs, labels),
            "calibration_bins": bins.to_dict(),
            "calibration": calibration,
            "champion_comparison": champion,
            "saved_dir": str(saved_dir) if saved_dir else None,
            "data_source": dict(datamodule.provenance),
            "run_id": run_id,
        }
        if trainer.is_global_zero:
            self._log_reliability(trainer, bins)
        files: Dict[str, str] = {}
        archived: Optional[str] = None
        failure: Optional[BaseException] = None
        if do_save:
            payload: Any = None
            if trainer.is_global_zero:
                try:
                    payload = (*self._save(trainer, pl_module), None)
                except Exception as exc:  # noqa: BLE001 - re-raised on every rank below, after the broadcast
                    failure = exc
                    payload = ({}, None, f"{type(exc).__name__}: {exc}")
            # collective: every rank calls it, also when rank zero failed, so no rank waits forever
            files, archived, error = trainer.strategy.broadcast(payload, src=0)
            if error is not None:
                raise failure if failure is not None else OutputError(f"rank zero could not save the model: {error}")
        # every rank leaves the gate's last collective together (the drift callback's barrier explains why: a
        # ddp_spawn worker that left a final broadcast first could abort at exit)
        trainer.strategy.barrier("promotion_gate")
        self.result["files"] = files
        self.result["archived_champion"] = archived
        if trainer.is_global_zero:
            m = self.result["metrics"]
            where = f"saved to {saved_dir}" if saved_dir else "not saved"
            cal = "" if calibration["method"] == "none" else (
                f" [{calibration['method']} calibration: ece {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}]")
            say(f"{self.result['decision']} {model_type}: accuracy={m['accuracy']:.4f} ece={m['ece']:.4f} "
                f"(min_accuracy={self.thresholds.min_accuracy}, max_ece={self.thresholds.max_ece}){cal} {where}")
            if champion is not None and champion["compared"]:
                say(f"{model_type} champion/challenger: {champion['reason']}")
            if archived:
                say(f"previous {model_type} champion archived to {archived}")
        emit(trainer, "promotion_decision", **{k: v for k, v in self.result.items() if k not in ("files", "archived_champion")})
        if do_save:
            emit(trainer, "model_saved", model_type=model_type, path=str(saved_dir), files=files)

    # ------------------------------------------------------------------ calibration (every rank, same result)
    def _calibrate(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule",
                   datamodule: Any) -> "tuple[Dict[str, Any], Optional[np.ndarray]]":
        method = getattr(pl_module, "calibration", "none") or "none"
        if method == "none":
            return {"method": "none"}, None
        n_cal = int(datamodule.split_sizes.get("calibration", 0))
        cal_labels = np.asarray(datamodule.labels("calibration")) if n_cal else np.empty(0)
        if n_cal < MIN_CALIBRATION_ROWS or np.unique(cal_labels).size < 2:
            why = (f"the calibration slice has {n_cal} rows with {np.unique(cal_labels).size} class(es) (need >= "
                   f"{MIN_CALIBRATION_ROWS} rows and both classes); set data.init_args.calibration_ratio, e.g. 0.1")
            if trainer.is_global_zero:
                warn(f"{pl_module.model_type}: {method} calibration skipped: {why}")
            return {"method": method, "applied": False, "skipped": why}, None
        probs_before = np.asarray(pl_module.predict_proba_split(datamodule, "val"), dtype=np.float64)
        facts = pl_module.fit_calibration(datamodule)
        return {"method": method, "applied": True, "fitted_on": "calibration slice carved from the training split",
                "calibration_rows": n_cal, "measured_on": "validation split", **facts}, probs_before

    def _log_reliability(self, trainer: "pl.Trainer", bins: CalibrationBins) -> None:
        from lightning.pytorch.loggers import TensorBoardLogger

        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                fig = reliability_figure(bins, title=self._diagram_title(), before=self._bins_before)
                logger.experiment.add_figure("val/reliability_diagram", fig, global_step=trainer.global_step)

    def _diagram_title(self) -> str:
        r = self.result or {}
        m = r.get("metrics") or {}
        return f"{r.get('model_type')} — validation ECE {m.get('ece', float('nan')):.4f}"

    # ------------------------------------------------------------------ champion / challenger (rank zero)
    def _compare_with_champion(self, trainer: "pl.Trainer", model_type: str, datamodule: Any, labels: np.ndarray,
                               metrics: Dict[str, float]) -> Dict[str, Any]:
        current = champion_dir(Path(self.models_dir), model_type)
        if current is None:
            return no_champion().to_dict()
        champion_run = None
        try:
            card = read_card(current)
            champion_run = str(card.get("run_id"))
            probs = _score_saved_model(current, card, datamodule, "val")
        except UnsafeModelError as exc:
            return {"refused": f"the {model_type} champion in {current} was refused: {exc}"}
        except (NethicalError, KeyError, ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())[:300]
            warn(f"{model_type}: the champion in {current} cannot score this validation data ({reason}); "
                 "deciding by the promotion gate alone.")
            return not_comparable(reason, champion_run).to_dict()
        champion_metrics = binary_metrics(probs, labels, n_bins=self.ece_bins)
        return compare(metrics, champion_metrics, self.min_improvement, champion_run).to_dict()

    # ------------------------------------------------------------------ saving (rank zero)
    def _save(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> "tuple[Dict[str, str], Optional[str]]":
        result = self.result
        assert result is not None
        models_dir = Path(self.models_dir)
        staged = staging_dir(models_dir, result["model_type"], result["run_id"])
        try:
            names = pl_module.save_artifacts(staged)
            atomic_write_json(staged / METRICS_FILE, {"metrics": result["metrics"], "counts": result["counts"],
                                                      "calibration_bins": result["calibration_bins"],
                                                      "calibration": result["calibration"]})
            names.append(METRICS_FILE)
            save_reliability_png(staged / RELIABILITY_FILE, CalibrationBins.from_dict(result["calibration_bins"]),
                                 self._diagram_title(), before=self._bins_before)
            names.append(RELIABILITY_FILE)
            files = {name: sha256_file(staged / name) for name in names}
            secrets, users = known_secrets()  # a card may quote a client's error (data fallback): never a credential
            atomic_write_json(staged / CARD_FILE, scrub_value(self._card(trainer, pl_module, files), secrets, users))
            _, archived = publish(staged, models_dir, result["model_type"], result["run_id"], result["promoted"])
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)  # a failed save leaves nothing behind, not even in staging
            raise
        return files, (str(archived) if archived else None)

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
            "calibration": result["calibration"],
            "champion_comparison": result["champion_comparison"],
            "reliability_diagram": RELIABILITY_FILE,
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


def _score_saved_model(model_dir: Path, card: Dict[str, Any], datamodule: Any, split: str) -> np.ndarray:
    """P(y=1) of a saved model on a datamodule split, fed as raw rows (the way ``nethical predict`` feeds it), so a
    model trained on other columns fails with a DataError naming them instead of scoring garbage."""
    from nethical.registry_cli import predict_rows

    part = datamodule.split(split)
    spec = card.get("input_spec") or {}
    if spec.get("kind") != part.kind:
        raise ValueError(f"it expects {spec.get('kind')} input and the data is {part.kind}")
    if part.kind == "tabular":
        names = list(part.feature_names)
        rows = [dict(zip(names, map(float, row))) for row in np.asarray(part.features)]
    else:
        field = str(spec.get("text_field") or "text")
        rows = [{field: t} for t in (part.texts or [])]
    return np.asarray(predict_rows(model_dir, rows, text_field=str(spec.get("text_field") or "text")), dtype=np.float64)


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
