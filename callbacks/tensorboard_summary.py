"""What TensorBoard shows for a fit beyond the per-epoch scalars: one HParams row with real metrics, and the run's
governance and drift results as text and figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

# HParams metric columns: the last logged value of each per-epoch scalar. The gate's decision and its numbers (after
# calibration) are one value per fit, so they are HParams columns (``promoted``, ``gate/accuracy``, ``gate/ece``)
# rather than scalars: a chart of one dot says nothing.
HPARAM_METRICS = ("val/acc", "val/ece", "val/auroc")


def flat_hparams(module: Any, datamodule: Any, trainer: "pl.Trainer") -> Dict[str, Any]:
    """The hyperparameters a user set, flat: the model's and the datamodule's constructor arguments (``model/…``,
    ``data/…``, their class names, ``trainer/max_epochs``), without Lightning's private entries such as
    ``_instantiator``; values TensorBoard cannot show are written as text."""
    # "Model type" sorts before the lower-case keys, so it is the HParams table's first column (the trial ids of one
    # --model-type all share their long prefix and are cut off)
    out: Dict[str, Any] = {"Model type": str(getattr(module, "model_type", type(module).__name__)), "model": type(module).__name__}
    if datamodule is not None:
        out["data"] = type(datamodule).__name__

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if not str(k).startswith("_"):
                    add(f"{prefix}/{k}", v)
        elif isinstance(value, bool) or isinstance(value, (int, float, str)):
            out[prefix] = value
        else:
            out[prefix] = "None" if value is None else str(value)

    add("model", {k: v for k, v in dict(getattr(module, "hparams_initial", {}) or {}).items()})
    if datamodule is not None:
        add("data", dict(getattr(datamodule, "hparams_initial", {}) or {}))
        if hasattr(datamodule, "batch_size"):  # the batch size the loaders use (after any override)
            out["data/batch_size"] = int(datamodule.batch_size)
    out["trainer/max_epochs"] = int(trainer.max_epochs or 0)
    out["trainer/epochs_run"] = int(trainer.current_epoch)
    return out


class TensorBoardSummary(Callback):
    """Rank zero, TensorBoard loggers only. Lightning's own hyperparameter record (``hp_metric = -1``, private
    ``_instantiator`` entries) is replaced by one written when the fit ends, with :data:`HPARAM_METRICS` as its
    metrics and the gate's decision as columns. The promotion decision, governance summary and drift observation/report (received as events, see
    :mod:`callbacks.events`) become ``summary/*`` text and ``governance/categories`` / ``drift/report`` figures;
    one-off numbers are not logged as scalars (a single dot is not a chart)."""

    def __init__(self) -> None:
        super().__init__()
        self._events: Dict[str, Dict[str, Any]] = {}

    def _tensorboard(self, trainer: "pl.Trainer") -> List[Any]:
        from lightning.pytorch.loggers import TensorBoardLogger

        return [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]

    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        self._events = {}
        if stage != "fit" or not self._tensorboard(trainer):
            return
        # written once at the end with metrics instead (see teardown); hparams.yaml still gets them then
        pl_module._log_hyperparams = False
        if trainer.datamodule is not None:
            trainer.datamodule._log_hyperparams = False

    def record_event(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", event_type: str, facts: Dict[str, Any]) -> None:
        if event_type in ("promotion_decision", "governance_summary", "drift_observation", "drift_report"):
            self._events[event_type] = facts

    def teardown(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        # teardown runs after every callback's on_fit_end (the gate, drift and governance have spoken)
        if stage != "fit" or not trainer.is_global_zero:
            return
        for logger in self._tensorboard(trainer):
            try:
                self._write(trainer, pl_module, logger)
            except Exception as exc:  # noqa: BLE001 - TensorBoard extras must never fail a trained run
                from nethical.console import warn

                warn(f"TensorBoard summary not written ({type(exc).__name__}: {exc}).")

    # ------------------------------------------------------------------------------------------------ writing
    def _write(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", logger: Any) -> None:
        from torch.utils.tensorboard.summary import hparams

        from callbacks.promotion_gate import PromotionGate

        writer = logger.experiment
        step = trainer.global_step
        gate = next((cb for cb in trainer.callbacks if isinstance(cb, PromotionGate)), None)
        result: Optional[Dict[str, Any]] = getattr(gate, "result", None)
        metrics: Dict[str, float] = {}
        for tag in ("val/acc", "val/ece", "val/auroc"):
            value = trainer.callback_metrics.get(tag)
            if value is not None:
                metrics[tag] = float(value)
        params = flat_hparams(pl_module, trainer.datamodule, trainer)
        if result is not None:
            m = result.get("metrics") or {}
            params["promoted"] = bool(result.get("promoted"))
            for key in ("accuracy", "ece"):
                value = m.get(key)
                if value is not None and not math.isnan(float(value)):
                    params[f"gate/{key}"] = round(float(value), 6)
        exp, ssi, sei = hparams(params, {k: metrics.get(k, float("nan")) for k in HPARAM_METRICS})
        for summary in (exp, ssi, sei):
            writer.file_writer.add_summary(summary)
        logger.log_hyperparams(params, metrics={})  # hparams.yaml only ({}: no hp_metric placeholder in TensorBoard)
        if result is not None:
            writer.add_text("summary/decision", _decision_text(result), step)
        gov = self._events.get("governance_summary")
        if gov:
            writer.add_text("summary/governance", _table("governance", gov), step)
            figure = _categories_figure(gov.get("by_category") or {}, pl_module)
            if figure is not None:
                writer.add_figure("governance/categories", figure, step)
        obs, report = self._events.get("drift_observation"), self._events.get("drift_report")
        if obs or report:
            text = _table("drift observation", obs or {}) + "\n\n" + _table("drift report", report or {})
            writer.add_text("summary/drift", text, step)
            plot = (report or {}).get("plot_path")
            if plot and Path(plot).is_file():
                import matplotlib.image as mpimg

                writer.add_image("drift/report", mpimg.imread(plot)[..., :3], step, dataformats="HWC")
        writer.flush()


def _decision_text(result: Dict[str, Any]) -> str:
    m = result.get("metrics") or {}
    rows = [f"**{result.get('decision')}** {result.get('model_type')} — saved to `{result.get('saved_dir')}`", "",
            "| metric | value |", "|---|---:|"]
    rows += [f"| {k} | {v:.4f} |" for k, v in m.items() if isinstance(v, (int, float))]
    rows += ["", "Reasons:", *[f"- {r}" for r in result.get("reasons") or []]]
    return "\n".join(rows)


def _table(title: str, facts: Dict[str, Any]) -> str:
    rows = [f"**{title}**", "", "| key | value |", "|---|---|"]
    for k, v in facts.items():
        shown = v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v, default=str)
        rows.append(f"| {k} | {str(shown).replace('|', '/')[:300]} |")
    return "\n".join(rows)


def _categories_figure(by_category: Dict[str, int], pl_module: Any) -> Any:
    if not by_category:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(by_category, key=lambda c: -by_category[c])
    fig, ax = plt.subplots(figsize=(6.5, 1.6 + 0.35 * len(names)), layout="constrained")
    ax.barh(names[::-1], [by_category[c] for c in names[::-1]], color="#c0504d")
    ax.set_xlabel("flagged samples (training data + predictions)")
    ax.set_title(f"{getattr(pl_module, 'model_type', '')}: governance violations by category")
    return fig
