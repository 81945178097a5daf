"""Ethical drift tracking: record each trained model as an observation of its cohort and report drift across cohorts.

The callback only connects Lightning to :mod:`nethical.drift`: it listens for the promotion gate's
``promotion_decision`` event, turns it into a :class:`~nethical.drift.observation.CohortObservation` (with the
training split's provenance and feature profile), appends it to the cohort store in ``report_dir`` and writes a
drift report over *every* cohort in that store.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from nethical.console import info_once as _info
from nethical.console import warn_once as _warn

from callbacks.events import emit, get_run_id, utc_now
from nethical.drift.observation import (CohortObservation, observation_from_decision, observation_id_for,
                                        validate_cohort_id)
from nethical.drift.rows import write_rows
from nethical.drift.profile import data_fingerprint, summarize_features
from nethical.drift.report import DriftReportResult, generate_report, summary_lines
from nethical.drift.store import CohortStore
from nethical.exceptions import ConfigError, NethicalError
from nethical.fileio import jsonable

_RUN_TS = re.compile(r"^(\d{8})T(\d{6})Z")



class DriftCallback(Callback):
    """Track model performance per training cohort and report drift between cohorts.

    On every ``promotion_decision`` event (one per model type trained) the callback

    1. appends one observation to ``report_dir/cohorts.jsonl`` (rank zero, at most once per run/model type/cohort,
       also after a resume),
    2. logs ``drift/accuracy``, ``drift/precision``, ``drift/recall``, ``drift/f1``, ``drift/ece``,
       ``drift/risk_score``, ``drift/violations`` and ``drift/promoted`` to the trainer's loggers,
    3. writes ``drift_<YYYYMMDD_HHMMSS>.json`` comparing all cohorts in the store (and a PNG with ``plot``),
       printing ``Generating ethical drift report``, ``Drift Report ID: ...``, ``Drift detected: ...`` and the top
       recommendations,
    4. emits ``drift_observation`` and ``drift_report`` events (so the audit log records them).

    A store or report that cannot be written is reported with a warning; training results are kept.

    Args:
        enabled: do nothing at all when ``False``.
        report_dir: drift report directory (holds the cohort store and the reports).
        cohort_id: cohort of this run; default ``{model_type}_{YYYYMMDD_HHMMSS}`` from the run id's timestamp, so
            every rank and every model type of one command agrees. Must not contain ``/``, ``\\``, ``..`` or
            control characters.
        practical_threshold: smallest absolute metric difference that counts as drift.
        alpha: family-wise significance level (Holm correction over all comparisons).
        plot: also write PNGs next to each report (metrics per cohort; the top shifted columns).
        keep_rows: keep this cohort's validation rows in ``report_dir/rows/`` so later cohorts' reports can score
            this cohort's model on new data and other models on these rows (the transfer test).
        html: also write a small self-contained HTML report.
        reverse_transfer: also score the later cohort's model on the earlier cohort's rows.

    Raises:
        ConfigError: bad cohort id, empty ``report_dir`` or thresholds out of range (at construction time).

    Example:
        >>> trainer = pl.Trainer(callbacks=[PromotionGate(), DriftCallback(enabled=True, cohort_id="baseline")])
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        enabled: bool = False,
        report_dir: str = "training_drift_reports",
        cohort_id: Optional[str] = None,
        practical_threshold: float = 0.05,
        alpha: float = 0.05,
        plot: bool = False,
        keep_rows: bool = True,
        html: bool = False,
        reverse_transfer: bool = False,
    ) -> None:
        if cohort_id is not None:
            validate_cohort_id(cohort_id, "DriftCallback(cohort_id)")
        if enabled and not str(report_dir).strip():
            raise ConfigError("DriftCallback(report_dir=''): give a directory, e.g. --drift-report-dir drift_reports.")
        if not 0.0 <= float(practical_threshold) <= 1.0:
            raise ConfigError(
                f"DriftCallback(practical_threshold={practical_threshold}): must be within [0, 1], e.g. 0.05."
            )
        if not 0.0 < float(alpha) < 1.0:
            raise ConfigError(f"DriftCallback(alpha={alpha}): must be within (0, 1), e.g. 0.05.")
        self.enabled = bool(enabled)
        self.report_dir = str(report_dir)
        self.cohort_id = cohort_id
        self.practical_threshold = float(practical_threshold)
        self.alpha = float(alpha)
        self.plot = bool(plot)
        self.keep_rows = bool(keep_rows)
        self.html = bool(html)
        self.reverse_transfer = bool(reverse_transfer)
        self._run_id: Optional[str] = None
        self._cohort_ids: dict[str, str] = {}
        self._recorded: list[str] = []
        self._handling = False
        self.last_observation: Optional[CohortObservation] = None
        self.last_report: Optional[DriftReportResult] = None
        self._trainer: Optional["pl.Trainer"] = None

    @property
    def state_key(self) -> str:
        return self._generate_state_key(report_dir=self.report_dir, cohort_id=self.cohort_id)

    @property
    def store(self) -> CohortStore:
        return CohortStore(self.report_dir)

    def cohort_id_for(self, model_type: str) -> str:
        """The cohort this run records ``model_type`` under (fixed once chosen, kept across a resume)."""
        if self.cohort_id is not None:
            return self.cohort_id
        if model_type not in self._cohort_ids:
            run_id = self._run_id or get_run_id()
            match = _RUN_TS.match(run_id)
            stamp = f"{match.group(1)}_{match.group(2)}" if match else re.sub(r"[^A-Za-z0-9_-]", "_", run_id)[:32]
            safe_type = re.sub(r"[^A-Za-z0-9_-]", "_", str(model_type))[:64] or "model"
            self._cohort_ids[model_type] = validate_cohort_id(f"{safe_type}_{stamp}")
        return self._cohort_ids[model_type]

    # ------------------------------------------------------------------------------------------------- hooks

    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if self.enabled and self._run_id is None:
            self._run_id = get_run_id()

    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self.enabled:
            return
        model_type = str(getattr(pl_module, "model_type", type(pl_module).__name__))
        _info("Ethical drift tracking enabled")
        _info(f"Training cohort ID: {self.cohort_id_for(model_type)}")

    def record_event(
        self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", event_type: str, facts: dict
    ) -> None:
        """Receive every event; act on ``promotion_decision`` only (and never on the events this callback emits)."""
        if not self.enabled or event_type != "promotion_decision" or self._handling:
            return
        self._handling = True
        try:
            self._on_promotion_decision(trainer, pl_module, facts)
        finally:
            self._handling = False

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self._run_id, "cohort_ids": dict(self._cohort_ids), "recorded": list(self._recorded)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._run_id = state_dict.get("run_id") or self._run_id
        self._cohort_ids = dict(state_dict.get("cohort_ids") or {})
        self._recorded = list(state_dict.get("recorded") or [])

    # ------------------------------------------------------------------------------------------------- work

    def _on_promotion_decision(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", facts: dict) -> None:
        model_type = str(facts.get("model_type") or getattr(pl_module, "model_type", "unknown"))
        cohort_id = self.cohort_id_for(model_type)
        run_id = self._run_id or get_run_id()
        datamodule = getattr(trainer, "datamodule", None)
        provenance = getattr(datamodule, "provenance", None) or facts.get("data_source") or {}
        split_sizes = dict(getattr(datamodule, "split_sizes", None) or {})
        features, profile = self._train_profile(datamodule)
        observation_id = observation_id_for(cohort_id, run_id, model_type)
        rows_file = rows_sha = None
        if trainer.is_global_zero and observation_id not in self._recorded:
            rows_file, rows_sha = self._keep_validation_rows(datamodule, observation_id)
        try:
            observation = observation_from_decision(
                facts,
                cohort_id=cohort_id,
                run_id=run_id,
                timestamp=utc_now(),
                provenance=provenance,
                split_sizes=split_sizes,
                feature_profile=profile,
                data_fingerprint=data_fingerprint(provenance, split_sizes, features),
                models_dir=self._models_dir(trainer),
                config=_config_summary(trainer, pl_module),
                observation_id=observation_id,
                rows_file=rows_file,
                rows_sha256=rows_sha,
            )
        except ValueError as exc:  # the gate's facts lack counts or bins: nothing sound to record
            _warn(f"Ethical drift tracking skipped {model_type}: bad promotion_decision facts ({exc}).")
            return
        if observation.observation_id in self._recorded:
            _info(f"Drift: cohort {cohort_id!r} already holds this run's {model_type} observation; skipped.")
            return
        self.last_observation = observation

        error = None
        if trainer.is_global_zero:
            try:
                self.store.append(observation)  # False for a duplicate: the store already holds it
            except NethicalError as exc:
                error = str(exc)
                _warn(f"Ethical drift tracking could not record cohort {cohort_id!r}: {exc}")
            self._log_metrics(trainer, observation)
        self._recorded.append(observation.observation_id)
        emit(
            trainer,
            "drift_observation",
            cohort_id=cohort_id,
            observation_id=observation.observation_id,
            model_type=model_type,
            accuracy=observation.accuracy,
            ece=observation.ece,
            risk_score=observation.risk_score,
            violations=[dict(v) for v in observation.violations],
            store=str(self.store.path),
        )

        report_facts: Optional[dict] = None
        if trainer.is_global_zero:
            self._trainer = trainer
            try:
                report_facts = self._write_report(error)
            finally:
                self._trainer = None
        report_facts = trainer.strategy.broadcast(report_facts, src=0)
        # the last collective of the fit: without a barrier after it, a ddp_spawn worker that left the broadcast
        # first sometimes aborted at exit ("terminate called without an active exception"; 4 of 20 runs of
        # tests/callbacks/test_drift.py::test_ddp_spawn..., 0 of 22 with the barrier)
        trainer.strategy.barrier("drift_report")
        if report_facts is not None:
            emit(trainer, "drift_report", **report_facts)

    def _train_profile(self, datamodule: Any) -> tuple[Optional[dict], Optional[dict]]:
        """The training split's columns and their stored profile (every row, plus the class balance)."""
        profile_features = getattr(datamodule, "profile_features", None)
        if not callable(profile_features):
            return None, None
        try:
            features = dict(profile_features("train"))
            labels = datamodule.labels("train") if callable(getattr(datamodule, "labels", None)) else None
            return features, (summarize_features(features, labels) if features else None)
        except Exception as exc:  # noqa: BLE001 - a profile is optional; the metrics still count
            _warn(f"Ethical drift tracking: no feature profile for data drift ({type(exc).__name__}: {exc}).")
            return None, None

    def _keep_validation_rows(self, datamodule: Any, observation_id: str) -> tuple[Optional[str], Optional[str]]:
        """Store the validation rows raw (rank zero) so later reports can score other cohorts' models on them."""
        if not self.keep_rows or datamodule is None or not callable(getattr(datamodule, "split", None)):
            return None, None
        try:
            part = datamodule.split("val")
            if part.kind == "tabular":
                onehot = set()
                if part.categories:
                    prefixes = tuple(f"{c}=" for c in part.categories)
                    onehot = {n for n in part.feature_names if n.startswith(prefixes)}
                numeric = {n: part.features[:, j] for j, n in enumerate(part.feature_names) if n not in onehot}
                return write_rows(self.report_dir, observation_id, part.labels, numeric=numeric,
                                  categorical=dict(part.categories))
            return write_rows(self.report_dir, observation_id, part.labels, texts=list(part.texts or []))
        except Exception as exc:  # noqa: BLE001 - transfer tests are optional; the observation still counts
            _warn(f"Ethical drift tracking: validation rows not kept, so no transfer test for this cohort "
                  f"({type(exc).__name__}: {exc}).")
            return None, None

    @staticmethod
    def _models_dir(trainer: "pl.Trainer") -> Optional[str]:
        """The promotion gate's models directory (where a moved model is searched by its run id)."""
        for cb in getattr(trainer, "callbacks", []):
            models_dir = getattr(cb, "models_dir", None)
            if isinstance(models_dir, str) and models_dir:
                return str(Path(models_dir).resolve())
        return None

    def _log_metrics(self, trainer: "pl.Trainer", obs: CohortObservation) -> None:
        metrics = {
            "drift/accuracy": obs.accuracy,
            "drift/precision": obs.precision,
            "drift/recall": obs.recall,
            "drift/f1": obs.f1,
            "drift/ece": obs.ece,
            "drift/risk_score": obs.risk_score,
            "drift/violations": float(len(obs.violations)),
            "drift/promoted": float(obs.promoted),
        }
        for logger in trainer.loggers:
            try:
                logger.log_metrics(metrics, step=trainer.global_step)
                logger.save()
            except Exception as exc:  # noqa: BLE001 - a logger failure must not lose the observation
                name = type(logger).__name__
                _warn(f"Ethical drift tracking: could not log cohort metrics to {name}: {exc}")

    def _write_report(self, store_error: Optional[str]) -> dict:
        _info("Generating ethical drift report")
        try:
            result = generate_report(
                self.report_dir, practical_threshold=self.practical_threshold, alpha=self.alpha, plot=self.plot,
                html_report=self.html, reverse_transfer=self.reverse_transfer,
            )
        except NethicalError as exc:
            _warn(f"Ethical drift report could not be written: {exc}")
            return {"report_id": None, "path": None, "has_drift": None, "message": str(exc), "error": str(exc)}
        self.last_report = result
        for issue in result.issues:
            _warn(issue.message)
        for line in summary_lines(result.report, top=3):
            _info(line)
        _info(f"Drift report written to: {result.path}")
        for extra in (result.plot_path, result.columns_plot_path, result.html_path):
            if extra is not None:
                _info(f"Drift report file: {extra}")
        drift = result.report["drift_metrics"]
        facts = {
            "report_id": result.report["report_id"],
            "path": str(result.path),
            "plot_path": str(result.plot_path) if result.plot_path else None,
            "has_drift": bool(drift["has_drift"]),
            "has_data_drift": bool(drift["data_drift"]["has_data_drift"]),
            "message": drift["message"],
            "cohorts": list(result.report["cohorts"]),
            "recommendations": list(result.report["recommendations"][:3]),
        }
        if store_error:
            facts["error"] = store_error
        self._log_figures(result)
        return facts

    def _log_figures(self, result: DriftReportResult) -> None:
        """Per-column pictures of the top shifts (and the metrics) in TensorBoard, when a TensorBoard logger is on."""
        trainer = self._trainer
        if trainer is None:
            return
        try:
            from lightning.pytorch.loggers import TensorBoardLogger

            from nethical.drift.pictures import columns_figure, metrics_figure

            loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
            if not loggers:
                return
            figures = {"drift/metrics": metrics_figure(result.report), "drift/top_shifted_columns":
                       columns_figure(result.report)}
            for logger in loggers:
                for tag, fig in figures.items():
                    if fig is not None:
                        logger.experiment.add_figure(tag, fig, global_step=trainer.global_step)
        except Exception as exc:  # noqa: BLE001 - pictures are optional
            _warn(f"Ethical drift tracking: could not log drift figures to TensorBoard ({type(exc).__name__}: {exc}).")


def _config_summary(trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> dict[str, Any]:
    """What configures the model (its class, init args, epochs): the ``config_hash`` of an observation."""
    init_args = getattr(pl_module, "init_args", None)
    try:
        args = init_args() if callable(init_args) else {}
    except Exception:  # noqa: BLE001 - a module without init args still gets a class-level summary
        args = {}
    return {"class_path": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}",
            "init_args": jsonable(args), "max_epochs": getattr(trainer, "max_epochs", None)}

