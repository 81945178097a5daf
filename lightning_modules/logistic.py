"""Logistic regression on standardized features."""

from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn

from lightning_modules.base import BaseClassifierModule
from lightning_modules.fast_steps import ManyStepsPerCall
from lightning_modules.components.standardizer import Standardizer


class LogisticClassifier(ManyStepsPerCall, BaseClassifierModule):
    """``sigmoid(w · standardize(x) + b)`` trained with AdamW and an L2 penalty (``weight_decay``).

    The standardization statistics are fitted on the training split only and saved with the weights.
    """

    model_type = "logistic"
    input_kinds = ("tabular",)

    def __init__(self, lr: float = 0.05, weight_decay: float = 1e-4, ece_bins: int = 10) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay, ece_bins=ece_bins)
        self.save_hyperparameters()

    def build(self, input_spec: Dict[str, Any]) -> None:
        super().build(input_spec)
        n = len(input_spec["feature_names"])
        self.scaler = Standardizer(n)
        self.linear = nn.Linear(n, 1)

    def fit_preprocessing(self, datamodule: Any) -> None:
        self.scaler.fit(datamodule.tensors("train")["x"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.scaler(x.float())).squeeze(-1)
