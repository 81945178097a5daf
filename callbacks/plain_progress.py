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
                   if k.startswith(("train/loss", "val/")) and getattr(v, "numel", lambda: 1)() == 1}
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        self._print(trainer, f"[{pl_module.model_type}] epoch {epoch}/{trainer.max_epochs} {shown} ({elapsed:.1f}s)")
