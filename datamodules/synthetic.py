"""Seeded synthetic data: the fallback when no real data is given."""

from __future__ import annotations

from typing import Any

from datamodules.base import BaseDataModule
from nethical.data.prepared import PreparedData
from nethical.data.synthetic import SYNTHETIC_TASKS, generate
from nethical.exceptions import ConfigError


class SyntheticDataModule(BaseDataModule):
    """Synthetic rows for one task, generated from ``seed`` (same seed → same rows, split and batches).

    Args:
        task: ``risk`` (tabular risk features for heuristic/logistic).
        label_noise: probability that a label is flipped after it is drawn (documented in
            :mod:`nethical.data.synthetic`); it bounds the best accuracy at about ``1 - label_noise``.
        reason: why synthetic data is used; recorded in the provenance.
        **kwargs: see :class:`BaseDataModule`.
    """

    def __init__(
        self,
        task: str = "risk",
        label_noise: float = 0.02,
        reason: str = "no real data configured",
        **kwargs: Any,
    ) -> None:
        # the BaseDataModule arguments are declared once, there; LightningCLI (jsonargparse) follows **kwargs to them
        super().__init__(**kwargs)
        if task not in SYNTHETIC_TASKS:
            raise ConfigError(f"SyntheticDataModule(task={task!r}) is not known; use one of {', '.join(SYNTHETIC_TASKS)}.")
        if not 0.0 <= label_noise < 0.5:
            raise ConfigError(f"SyntheticDataModule(label_noise={label_noise}) must be in [0, 0.5), e.g. 0.02.")
        self.task = task
        self.label_noise = label_noise
        self.reason = reason

    def load(self) -> PreparedData:
        data = generate(self.task, self.num_samples or 10000, seed=self.seed, label_noise=self.label_noise)
        data.provenance["reason"] = self.reason
        return data
