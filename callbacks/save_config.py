"""Save each run's resolved config next to its logs, never over an earlier run's."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.cli import SaveConfigCallback


class NethicalSaveConfig(SaveConfigCallback):
    """``config.yaml`` in the logger's versioned run directory (TensorBoard shows it beside the scalars).

    With the logger off (``--no-tensorboard``) there is no run directory, so nothing is written: the model card
    already holds the resolved config, and writing into the working directory would clash with the next run.
    """

    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if trainer.logger is None:
            return
        super().setup(trainer, pl_module, stage)
