"""Feature standardization whose statistics travel with the model's weights."""

from __future__ import annotations

import torch
from torch import nn


class Standardizer(nn.Module):
    """``(x - mean) / std`` with ``mean``/``std`` as buffers, fitted once on training rows."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        x = x.to(torch.float64)
        self.mean.copy_(x.mean(dim=0).to(self.mean.dtype))
        std = x.std(dim=0, unbiased=False)
        self.std.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)).to(self.std.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
