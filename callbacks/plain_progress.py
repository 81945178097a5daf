"""Progress as plain periodic lines, for logs that are not a terminal (CI, cluster job output)."""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar


class PlainProgress(ProgressBar):
    """One line per finished epoch (and every ``every_n_batches`` training batches when > 0), rank zero only.

    The CLI uses it instead of the TQDM bar when stdout is not a terminal, so logs stay readable line by line.
    """

    def __init__(self, every_n_batches: int = 0) -> None:
        super().__init__()
        self.every_n_batches = every_n_batches
        self._enabled = True
        self._epoch_started = 0.0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _print(self, trainer: "pl.Trainer", text: str) -> None:
        if self._enabled and trainer.is_global_zero:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def on_train_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._epoch_started = time.perf_counter()

    def on_train_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.every_n_batches > 0 and (batch_idx + 1) % self.every_n_batches == 0:
            self._print(trainer, f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} batch {batch_idx + 1}/{self.total_train_batches}")

    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("train/loss", "val/")) and v.numel() == 1}
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        elapsed = time.perf_counter() - self._epoch_started
        self._print(trainer, f"[{pl_module.model_type}] epoch {trainer.current_epoch + 1}/{trainer.max_epochs} {shown} ({elapsed:.1f}s)")
