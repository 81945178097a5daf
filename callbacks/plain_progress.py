"""What a fit prints: one header line (:class:`FitHeader`), and progress as plain per-epoch lines when the output is
not a terminal (:class:`PlainProgress`: CI, cluster job output); on a terminal Lightning's own TQDM bar is used."""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, ProgressBar

from nethical.console import say


# the metrics of a per-epoch line, in this order (all of them are in TensorBoard)
EPOCH_METRICS = ("train/loss", "val/loss", "val/acc", "val/ece", "val/auroc")


def describe_data(datamodule: Any) -> str:
    """``synthetic risk data`` / ``data.csv`` / ``kaggle owner/name``: where a fit's rows come from, in a few words."""
    prov = getattr(datamodule, "provenance", None) or {}
    source = str(prov.get("source") or "unknown")
    if source == "synthetic":
        fallback = " (fallback: no real data)" if "requested" in prov else ""  # FileDataModule's fallback records it
        return f"synthetic {prov.get('task', '')} data".replace("  ", " ") + fallback
    files = prov.get("files") or []
    kaggle = [str(k.get("slug")) for k in prov.get("kaggle") or [] if isinstance(k, dict)]
    if kaggle:
        return f"kaggle {', '.join(kaggle)}"
    if len(files) == 1:
        return str(files[0].get("path"))
    if files:
        return f"{len(files)} files under {source}"
    return source


class FitHeader(Callback):
    """One line when a fit starts: ``[INFO] logistic: synthetic risk data, 1000 rows (800 train / 200 val), 10 epochs``."""

    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not trainer.is_global_zero:
            return
        dm = trainer.datamodule
        sizes = dict(getattr(dm, "split_sizes", None) or {})
        rows = (getattr(dm, "provenance", None) or {}).get("rows_used", sum(sizes.values()))
        parts = [f"{sizes[k]} {k}" for k in ("train", "calibration", "val") if sizes.get(k)]
        split = f" ({' / '.join(parts)})" if parts else ""
        epochs = trainer.max_epochs
        name = getattr(pl_module, "model_type", type(pl_module).__name__)
        say(f"{name}: {describe_data(dm)}, {rows} rows{split}, {epochs} epoch{'s' if epochs != 1 else ''}")


class PlainProgress(ProgressBar):
    """One line per finished epoch (and every ``every_n_batches`` training batches when > 0), rank zero only.

    The CLI uses it instead of the TQDM bar when stdout is not a terminal, so logs stay readable line by line.
    """

    def __init__(self, every_n_batches: int = 0) -> None:
        super().__init__()
        self.every_n_batches = every_n_batches
        self._enabled = True
        self._epoch_started = 0.0
        self._pending = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _print(self, trainer: "pl.Trainer", text: str) -> None:
        if self._enabled and trainer.is_global_zero:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def on_train_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._flush(trainer, pl_module)
        self._epoch_started = time.perf_counter()

    def on_train_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.every_n_batches > 0 and (batch_idx + 1) % self.every_n_batches == 0:
            self._print(trainer, f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} batch {batch_idx + 1}/{self.total_train_batches}")

    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # The module logs its epoch metrics in its own on_train_epoch_end, which Lightning calls after this hook:
        # print the line once they are in (next epoch start, or train end).
        self._pending = (trainer.current_epoch + 1, time.perf_counter() - self._epoch_started)

    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._flush(trainer, pl_module)

    def _flush(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is None:
            return
        epoch, elapsed = pending
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k in EPOCH_METRICS and getattr(v, "numel", lambda: 1)() == 1}
        shown = " ".join(f"{k}={metrics[k]:.4f}" for k in EPOCH_METRICS if k in metrics)
        self._print(trainer, f"[{pl_module.model_type}] epoch {epoch}/{trainer.max_epochs} {shown} ({elapsed:.1f}s)")
