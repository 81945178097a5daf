"""An interpretable additive risk scorecard."""

from __future__ import annotations

from typing import Any, Dict, List

import torch
from torch import nn

from lightning_modules.base import BaseClassifierModule
from lightning_modules.fast_steps import ManyStepsPerCall
from lightning_modules.components.standardizer import Standardizer


class HeuristicScorecard(ManyStepsPerCall, BaseClassifierModule):
    """Risk score = bias + Σ weight_f · z_f over named features, with z_f the feature standardized on the training
    split; P(risky) = sigmoid(score).

    One weight per named feature, so the model *is* its weight table: the model card shows each feature's weight,
    its direction and its share of the total absolute weight. An L1 penalty (``l1``) pushes weights of useless
    features to zero, keeping the card short. ``nonnegative=True`` constrains every weight to add risk only
    (a monotone scorecard), for feature sets where that is known to hold.
    """

    model_type = "heuristic"
    input_kinds = ("tabular",)

    def __init__(self, lr: float = 0.05, l1: float = 1e-3, nonnegative: bool = False, ece_bins: int = 10) -> None:
        super().__init__(lr=lr, weight_decay=0.0, ece_bins=ece_bins)
        self.save_hyperparameters()
        self.l1 = l1
        self.nonnegative = nonnegative

    def build(self, input_spec: Dict[str, Any]) -> None:
        super().build(input_spec)
        n = len(input_spec["feature_names"])
        self.scaler = Standardizer(n)
        self.raw_weight = nn.Parameter(torch.zeros(n))
        self.bias = nn.Parameter(torch.zeros(()))

    def fit_preprocessing(self, datamodule: Any) -> None:
        self.scaler.fit(datamodule.tensors("train")["x"])

    @property
    def weight(self) -> torch.Tensor:
        return nn.functional.softplus(self.raw_weight) if self.nonnegative else self.raw_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scaler(x.float()) @ self.weight + self.bias

    def regularization(self) -> torch.Tensor:
        return self.l1 * self.weight.abs().sum()

    def scorecard(self) -> List[Dict[str, Any]]:
        """One row per feature: weight per standard deviation, direction and share of total |weight|."""
        w = self.weight.detach().cpu().double()
        total = float(w.abs().sum()) or 1.0
        rows = [
            {
                "feature": name,
                "weight": round(float(w[i]), 6),
                "direction": "raises risk" if w[i] > 0 else ("lowers risk" if w[i] < 0 else "no effect"),
                "share": round(abs(float(w[i])) / total, 4),
                "mean": round(float(self.scaler.mean[i]), 6),
                "std": round(float(self.scaler.std[i]), 6),
            }
            for i, name in enumerate(self.input_spec["feature_names"])
        ]
        return sorted(rows, key=lambda r: -abs(r["weight"]))

    def card_extras(self) -> Dict[str, Any]:
        rows = self.scorecard()
        lines = ["| feature | weight per std | direction | share |", "|---|---:|---|---:|"]
        lines += [f"| {r['feature']} | {r['weight']:+.4f} | {r['direction']} | {r['share']:.1%} |" for r in rows]
        lines.append(f"| (bias) | {float(self.bias.detach()):+.4f} | | |")
        return {"scorecard": rows, "bias": round(float(self.bias.detach()), 6), "scorecard_table": "\n".join(lines)}
