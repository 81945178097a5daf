"""torchmetrics wrapper around :mod:`nethical.metrics` calibration maths."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric

from nethical.metrics import CalibrationBins, ece_from_bins


class BinaryECE(Metric):
    """l1 expected calibration error of P(y=1) over ``n_bins`` equal-width bins, last bin closed.

    The state is per-bin count, summed probability and positives (summed across processes under DDP), so the same
    numbers also feed reliability diagrams and drift statistics. See :mod:`nethical.metrics` for the definition.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, n_bins: int = 10, **kwargs) -> None:
        super().__init__(**kwargs)
        if n_bins < 1:
            raise ValueError(f"BinaryECE(n_bins={n_bins}) must be >= 1.")
        self.n_bins = n_bins
        self.add_state("count", default=torch.zeros(n_bins, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("sum_prob", default=torch.zeros(n_bins, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("sum_pos", default=torch.zeros(n_bins, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        probs = probs.detach().reshape(-1).to(torch.float64)
        target = target.detach().reshape(-1).to(torch.float64)
        idx = torch.clamp(torch.floor(probs * self.n_bins).long(), 0, self.n_bins - 1)
        self.count.index_add_(0, idx, torch.ones_like(probs))
        self.sum_prob.index_add_(0, idx, probs)
        self.sum_pos.index_add_(0, idx, target)

    def bins(self) -> CalibrationBins:
        return CalibrationBins(
            count=self.count.cpu().numpy().astype(np.int64),
            sum_prob=self.sum_prob.cpu().numpy(),
            sum_pos=np.rint(self.sum_pos.cpu().numpy()).astype(np.int64),
        )

    def compute(self) -> torch.Tensor:
        return torch.tensor(ece_from_bins(self.bins()), dtype=torch.float32, device=self.count.device)
