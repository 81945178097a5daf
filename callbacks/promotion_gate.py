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
from nethical.champion import (MIN_COMPARE_CLASS_ROWS, MIN_COMPARE_ROWS, NO_CHAMPION, NOT_COMPARABLE, OTHER_DATASET, REPLACE, SKIPPED,
                               TIE, WORSE, check_min_improvement, check_on_new_dataset, decide, identical, no_champion,
                               not_comparable, other_dataset, skipped)
from nethical.console import say, warn
from nethical.exceptions import ConfigError, OutputError, NethicalError, UnsafeModelError
from nethical.fileio import atomic_write_json, jsonable, sha256_file
from nethical.path_args import check_path_arg
from nethical.redaction import known_secrets, scrub_value
from nethical.metrics import CalibrationBins, binary_metrics, calibration_bins, confusion_counts, expected_calibration_error
from nethical.fingerprint import (ROW_HASH, ROWS_FILE, data_fingerprint, read_rows, row_hashes, same_dataset,
                                  verify_card_fingerprint, weights_digest, write_rows)
from nethical.intervals import DEFAULT_BOOTSTRAP, DEFAULT_CONFIDENCE, format_vs, metric_intervals, paired_compare
from nethical.promotion import GateThresholds, failed, gate_decision
from nethical.registry import (CARD_FILE, METRICS_FILE, RELIABILITY_FILE, RUN_ID_RE, champion_dir, destination, publish,
                               read_card, staging_dir, verify_files)

PACKAGES = ("torch", "lightning", "torchmetrics", "scikit-learn", "numpy", "datasets", "nethical-trainer")


class PromotionGate(Callback):
    """Promote a model when, on the validation split, ``ece <= max_ece``, ``accuracy >= min_accuracy`` and it beats
    the no-skill predictor with confidence (``min_skill``; see :mod:`nethical.promotion`).

    After fit it scores the *whole* validation split on every rank and takes rank zero's scores (one broadcast), so
    every rank reaches the same decision. It records every metric with a confidence interval
    (:mod:`nethical.intervals`: Wilson for proportions, a seeded bootstrap for the rest). Rank zero writes
    ``<models_dir>/current/<type>/`` (promoted) or ``<models_dir>/candidates/<type>/<run_id>/`` (not promoted) —
    weights, ``metrics.json``, ``model_card.json`` and ``train_rows.u64`` (the hashes of the rows it trained on) — and
    prints one ``PROMOTED``/``UNCHANGED``/``TIE``/``KEPT``/``CANDIDATE`` line, with the missed criteria in words. The decision
    is emitted as the ``promotion_decision`` and ``model_saved`` events and kept in :attr:`result`.

    Before scoring, when the model asks for post-hoc calibration (its ``calibration`` attribute is not ``none``), the
    gate fits it on the datamodule's calibration slice — carved from the training split, never the validation rows
    it scores — and records ECE on the validation split before and after. Every model gets a reliability diagram:
    ``reliability.png`` beside its card (listed with its sha256) and ``val/reliability_diagram`` in TensorBoard.

    Champion and challenger (:mod:`nethical.champion`): a model that passes the gate is compared with the champion
    in ``current/<type>/`` only when both were trained on the same dataset (card ``data_fingerprint``), on the
    validation rows neither trained on, by a paired test; a tie keeps the champion and archives nothing, an identical
    model (same weights sha256) changes nothing. A replaced champion moves to ``archive/<type>/<run_id>/``. The
    comparison runs on rank zero and its outcome is broadcast.

    Args:
        models_dir: root of the model registry.
        max_ece: highest expected calibration error that still promotes; in [0, 1].
        min_accuracy: lowest accuracy that promotes; in [0, 1].
        ece_bins: equal-width bins for ECE.
        save: write the model (off for dry runs and ``fast_dev_run``).
        min_improvement: margin on top of significance a challenger must gain over the champion (see
            :mod:`nethical.champion`); in [-1, 1].
        min_skill: the skill criterion's margin over no skill, in [-1, 1); ``None`` switches it off (the seed's
            plain criteria).
        confidence: confidence level of every interval and paired test, in (0, 1).
        n_bootstrap: bootstrap resamples (>= 200).
        bootstrap_seed: seed of the resamples (same seed, same intervals).
        on_new_dataset: ``keep`` (default) or ``replace`` a champion trained on another dataset.
        dataset_name: the dataset's name in the champion key (default: from the data source).
    """

    def __init__(
        self,
        models_dir: str = "models",
        max_ece: float = 0.08,
        min_accuracy: float = 0.85,
        ece_bins: int = 10,
        save: bool = True,
        min_improvement: float = 0.0,
        min_skill: Optional[float] = 0.0,
        confidence: float = DEFAULT_CONFIDENCE,
        n_bootstrap: int = DEFAULT_BOOTSTRAP,
        bootstrap_seed: int = 0,
        on_new_dataset: str = "keep",
        dataset_name: Optional[str] = None,
    ) -> None:
        self.thresholds = GateThresholds(max_ece=max_ece, min_accuracy=min_accuracy, min_skill=min_skill,
                                         confidence=confidence, n_bootstrap=n_bootstrap)
        if ece_bins < 1:
            raise ConfigError(f"PromotionGate(ece_bins={ece_bins}) must be >= 1 (--ece-bins).")
        self.min_improvement = check_min_improvement(min_improvement)
        check_path_arg(str(models_dir), "--gate.models_dir (--models-dir)")  # it is printed in the PROMOTED line
        self.on_new_dataset = check_on_new_dataset(on_new_dataset)
        if dataset_name is not None and not RUN_ID_RE.fullmatch(str(dataset_name).replace(":", "-").replace("/", "-")):
            raise ConfigError(f"dataset_name={dataset_name!r} must be a short name of letters, digits, '.', '_', '-', "
                              "':' or '/' (--dataset-name).")
        self.dataset_name = dataset_name
        self.bootstrap_seed = int(bootstrap_seed)
        self.models_dir = models_dir
        self.ece_bins = ece_bins
        self.save = save
        self.result: Optional[Dict[str, Any]] = None
        self.started_at: Optional[str] = None
        self._bins_before: Optional[CalibrationBins] = None
        self._rows_written = 0
        self._weights_sha256: Optional[str] = None

    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self.started_at = utc_now()
        if self.save and not trainer.fast_dev_run:
            # a champion whose card lost or changed its fingerprint stops the run before training: exit 2, models/ untouched
            current = champion_dir(Path(self.models_dir), pl_module.model_type)
            if current is not None:
                verify_card_fingerprint(read_card(current), current)

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
        counts = confusion_counts(probs, labels)
        intervals = metric_intervals(probs, labels, metrics, n_bins=self.ece_bins, confidence=self.thresholds.confidence,
                                     n_bootstrap=self.thresholds.n_bootstrap, seed=self.bootstrap_seed)
        promoted, reasons = gate_decision(metrics, self.thresholds, intervals, counts)
        gate_passed = promoted
        model_type = pl_module.model_type
        run_id = get_run_id()
        do_save = self.save and not trainer.fast_dev_run
        fingerprint = data_fingerprint(dict(datamodule.provenance), dict(datamodule.input_spec), self.dataset_name)
        champion: Optional[Dict[str, Any]] = None
        if do_save and promoted:
            champion = self._compare_with_champion(trainer, model_type, datamodule, labels, probs, metrics, fingerprint) if trainer.is_global_zero else None
            champion = trainer.strategy.broadcast(champion, src=0)  # collective: every rank calls it
            if champion.get("refused"):  # a hostile champion stops the run on every rank (nothing saved)
                raise UnsafeModelError(champion["refused"])
            reasons.append(champion["reason"])
            if not champion["replace"]:
                promoted = False
        saved_dir = destination(Path(self.models_dir), model_type, run_id, promoted) if do_save else None
        bins = calibration_bins(probs, labels, self.ece_bins)
        self._bins_before = calibration_bins(probs_before, labels, self.ece_bins) if probs_before is not None else None
        outcome = (champion or {}).get("outcome")
        # TIE: passed the gate, no significant difference; KEPT: passed the gate, no fair comparison (another dataset,
        # too few rows neither model saw); CANDIDATE: missed the gate or significantly worse than the champion
        decision = ("PROMOTED" if promoted else "TIE" if outcome == TIE
                    else "KEPT" if outcome in (SKIPPED, OTHER_DATASET) else "CANDIDATE")
        self.result = {
            "model_type": model_type,
            "promoted": promoted,
            "gate_passed": gate_passed,
            "decision": decision,
            "reasons": reasons,
            "failed_criteria": failed(reasons),
            "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else float(v)) for k, v in metrics.items()},
            "intervals": intervals,
            "interval_methods": {"confidence": self.thresholds.confidence, "proportions": "Wilson score interval",
                                 "others": f"seeded percentile bootstrap, {self.thresholds.n_bootstrap} resamples, "
                                           f"seed {self.bootstrap_seed}"},
            "thresholds": self.thresholds.to_dict(),
            "counts": counts,
            "calibration_bins": bins.to_dict(),
            "calibration": calibration,
            "champion_comparison": champion,
            "saved_dir": str(saved_dir) if saved_dir else None,
            "data_source": dict(datamodule.provenance),
            "data_fingerprint": fingerprint,
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
                    payload = ({}, None, None, f"{type(exc).__name__}: {exc}")
            # collective: every rank calls it, also when rank zero failed, so no rank waits forever
            files, archived, same, error = trainer.strategy.broadcast(payload, src=0)
            if error is not None:
                raise failure if failure is not None else OutputError(f"rank zero could not save the model: {error}")
            if same is not None:  # an identical model: nothing was written, the champion stays as it is
                self.result.update(promoted=True, decision="UNCHANGED", champion_comparison=same,
                                   saved_dir=str(champion_dir(Path(self.models_dir), model_type)))
                self.result["reasons"][-1] = same["reason"]
        # every rank leaves the gate's last collective together (the drift callback's barrier explains why: a
        # ddp_spawn worker that left a final broadcast first could abort at exit)
        trainer.strategy.barrier("promotion_gate")
        self.result["files"] = files
        self.result["archived_champion"] = archived
        if trainer.is_global_zero:
            self._report(calibration)
        emit(trainer, "promotion_decision", **{k: v for k, v in self.result.items()
                                               if k not in ("files", "archived_champion", "intervals")})
        if do_save:
            emit(trainer, "model_saved", model_type=model_type, path=self.result["saved_dir"], files=files)

    def _report(self, calibration: Dict[str, Any]) -> None:
        r = self.result
        assert r is not None
        m, ci = r["metrics"], r["intervals"]
        t = self.thresholds
        saved_dir, model_type = r["saved_dir"], r["model_type"]
        where = f"saved to {saved_dir}" if saved_dir else "not saved"
        if r["decision"] == "UNCHANGED":
            where = f"nothing saved, the champion in {saved_dir} stays"
        cal = "" if calibration["method"] == "none" else (
            f" [{calibration['method']} calibration: ece {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}]")
        level = f"{t.confidence * 100:g}%"
        acc, auc = ci["accuracy"], ci["auroc"]
        skill = "off" if t.min_skill is None else f"{t.min_skill:g}"
        say(f"{r['decision']} {model_type}: accuracy={format_vs(m['accuracy'], t.min_accuracy)} "
            f"[{_num(acc['low'])}, {_num(acc['high'])}] ece={format_vs(m['ece'], t.max_ece)} "
            f"auroc={_num(m.get('auroc'))} [{_num(auc['low'])}, {_num(auc['high'])}] "
            f"majority_rate={_num(m['majority_rate'])} ({level} intervals; min_accuracy={t.min_accuracy:g}, "
            f"max_ece={t.max_ece:g}, min_skill={skill}){cal} {where}")
        if r["failed_criteria"]:
            say(f"{model_type} not promoted: " + "; ".join(r["failed_criteria"]))
        champion = r["champion_comparison"]
        if champion is not None and champion.get("outcome") not in (None, NO_CHAMPION):
            say(f"{model_type} champion/challenger: {champion['reason']}")
        if r["archived_champion"]:
            say(f"previous {model_type} champion archived to {r['archived_champion']}")

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
                               probs: np.ndarray, metrics: Dict[str, float], fingerprint: Dict[str, Any]) -> Dict[str, Any]:
        current = champion_dir(Path(self.models_dir), model_type)
        if current is None:
            return no_champion().to_dict()
        card = read_card(current)
        champion_fp = verify_card_fingerprint(card, current)
        champion_run = str(card.get("run_id"))
        if not same_dataset(champion_fp, fingerprint):
            return other_dataset(champion_fp, fingerprint, self.on_new_dataset, champion_run).to_dict()
        try:
            verify_files(current, card)
            seen = read_rows(current / ROWS_FILE)
            champion_probs = _score_saved_model(current, card, datamodule, "val")
        except UnsafeModelError as exc:
            return {"refused": f"the {model_type} champion in {current} was refused: {exc}"}
        except (NethicalError, KeyError, ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())[:300]
            warn(f"{model_type}: the champion in {current} cannot score this validation data ({reason}); "
                 "deciding by the promotion gate alone.")
            return not_comparable(reason, champion_run).to_dict()
        # only rows neither model trained on: the champion's training rows (its card's hashes) and this run's
        val_hashes = row_hashes(datamodule.split("val"))
        own = np.concatenate([row_hashes(datamodule.split(s)) for s in ("train", "calibration")])
        fair = ~np.isin(val_hashes, seen) & ~np.isin(val_hashes, own)
        rows = {"validation": int(labels.size), "champion_trained_on": int(np.isin(val_hashes, seen).sum()),
                "challenger_trained_on": int(np.isin(val_hashes, own).sum()), "compared": int(fair.sum())}
        n_pos = int(labels[fair].sum())
        n_neg = int(fair.sum()) - n_pos
        if fair.sum() < MIN_COMPARE_ROWS or min(n_pos, n_neg) < MIN_COMPARE_CLASS_ROWS:
            return skipped(f"only {int(fair.sum())} validation rows ({n_pos} positive, {n_neg} negative) were seen by "
                           f"neither model ({rows['champion_trained_on']} are in the champion's training rows); need >= "
                           f"{MIN_COMPARE_ROWS} with >= {MIN_COMPARE_CLASS_ROWS} of each class", champion_run).to_dict()
        y = labels[fair]
        paired = paired_compare(probs[fair], champion_probs[fair], y, n_bins=self.ece_bins,
                                confidence=self.thresholds.confidence, n_bootstrap=self.thresholds.n_bootstrap,
                                seed=self.bootstrap_seed)
        keep = ("accuracy", "ece", "f1", "auroc")
        champ_m = binary_metrics(champion_probs[fair], y, n_bins=self.ece_bins)
        chall_m = binary_metrics(probs[fair], y, n_bins=self.ece_bins)
        return decide(paired, self.min_improvement, champion_run,
                      {k: float(champ_m[k]) for k in keep}, {k: float(chall_m[k]) for k in keep}, rows).to_dict()

    # ------------------------------------------------------------------ saving (rank zero)
    def _save(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> "tuple[Dict[str, str], Optional[str], Optional[Dict[str, Any]]]":
        """Stage and publish the model; returns ``(files, archived_dir, None)``, or ``({}, None, comparison)`` when the
        weights are identical to the champion's (then nothing is written)."""
        result = self.result
        assert result is not None
        models_dir = Path(self.models_dir)
        staged = staging_dir(models_dir, result["model_type"], result["run_id"])
        try:
            names = pl_module.save_artifacts(staged)
            self._weights_sha256 = weights_digest(staged, names)
            same = self._identical_to_champion(staged, names)
            if same is not None:
                shutil.rmtree(staged, ignore_errors=True)
                return {}, None, same
            datamodule = trainer.datamodule
            seen = np.concatenate([row_hashes(datamodule.split(s)) for s in ("train", "calibration")])
            self._rows_written = write_rows(staged / ROWS_FILE, seen)
            names.append(ROWS_FILE)
            atomic_write_json(staged / METRICS_FILE, {"metrics": result["metrics"], "intervals": result["intervals"],
                                                      "counts": result["counts"],
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
        return files, (str(archived) if archived else None), None

    def _identical_to_champion(self, staged: Path, weight_files: "list[str]") -> Optional[Dict[str, Any]]:
        """The comparison record of a no-op when the staged weights hash like the champion's (same dataset only)."""
        result = self.result
        assert result is not None
        comparison = result.get("champion_comparison") or {}
        if comparison.get("outcome") not in (REPLACE, TIE, WORSE, SKIPPED, NOT_COMPARABLE):
            return None
        current = champion_dir(Path(self.models_dir), result["model_type"])
        if current is None:
            return None
        if read_card(current).get("weights_sha256") != self._weights_sha256:
            return None
        return identical(comparison.get("champion_run_id"), self._weights_sha256).to_dict()

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
            "gate_passed": result["gate_passed"],
            "failed_criteria": result["failed_criteria"],
            "intervals": result["intervals"],
            "interval_methods": result["interval_methods"],
            "data_fingerprint": result["data_fingerprint"],
            "weights_sha256": self._weights_sha256,
            "training_rows": {
                "file": ROWS_FILE, "row_hash": ROW_HASH, "distinct_rows": self._rows_written,
                "rows": int(datamodule.split_sizes.get("train", 0)) + int(datamodule.split_sizes.get("calibration", 0)),
                "sampling": dict(datamodule.provenance.get("sampling") or {}),
                "split": {"strategy": getattr(datamodule, "split_strategy", None), "seed": getattr(datamodule, "seed", None),
                          "train_ratio": getattr(datamodule, "train_ratio", None),
                          "calibration_ratio": getattr(datamodule, "calibration_ratio", None),
                          "sizes": dict(datamodule.split_sizes)},
            },
            "reliability_diagram": RELIABILITY_FILE,
            "ece_definition": f"l1 binary calibration error of P(y=1) over {self.ece_bins} equal-width bins",
            "seed": getattr(datamodule, "seed", None),
            "data_source": result["data_source"],
            "split_sizes": dict(datamodule.split_sizes),
            "split_strategy": getattr(datamodule, "split_strategy", None),
            "config": {
                "model": {"class_path": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}", "init_args": pl_module.init_args()},
                "data": {"class_path": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}",
                         "init_args": jsonable({k: v for k, v in dict(getattr(datamodule, "hparams", {})).items() if not str(k).startswith("_")})},
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


def _num(value: Optional[float]) -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _versions() -> Dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out

