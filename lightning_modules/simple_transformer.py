"""A small Transformer text classifier trained from scratch."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

import torch
from torch import nn

from lightning_modules.base import BaseClassifierModule
from lightning_modules.components.byte_transformer import ByteTransformerEncoder
from nethical.calibration import TORCH_METHODS, check_method
from nethical.exceptions import ConfigError

SCHEDULES = ("cosine", "linear", "constant")


class SimpleTransformerClassifier(BaseClassifierModule):
    """Text → :class:`~lightning_modules.components.byte_transformer.ByteTransformerEncoder` → mean pool →
    dropout → linear head → logit of P(risky).

    Byte-level input (the datamodule's ``text`` encoding), so no tokenizer is downloaded or fitted and any UTF-8
    text — including an empty one — can be scored. AdamW with ``weight_decay``, a linear warm-up over
    ``warmup_ratio`` of all optimizer steps then ``schedule`` decay, and gradient-norm clipping at ``max_grad_norm``
    (applied by the module, so it holds whatever the trainer config says). Runs in fp32 on CPU and in
    ``16-mixed``/``bf16-mixed`` on a GPU (``--trainer.precision bf16-mixed``); logits are computed in fp32.

    ``calibration: temperature`` fits one temperature on the calibration slice after training (the promotion gate
    does it), which removes most of the over-confidence such networks show.

    Args:
        d_model: width of the encoder; ``n_heads`` must divide it.
        n_layers: encoder layers.
        n_heads: attention heads.
        ff_dim: feed-forward width inside each layer.
        dropout: dropout in the encoder and before the head.
        patch_size: bytes per encoder position.
        lr: peak learning rate.
        weight_decay: AdamW decoupled weight decay (not applied to biases, norms and embeddings).
        warmup_ratio: share of optimizer steps spent warming up linearly from 0 to ``lr``.
        schedule: ``cosine``, ``linear`` or ``constant`` after warm-up.
        max_grad_norm: clip the gradient norm to this (0 = off).
        calibration: ``temperature`` or ``none``.
        ece_bins: equal-width bins for ECE.
    """

    model_type = "simple_transformer"
    input_kinds = ("text",)

    def __init__(
        self,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        ff_dim: int = 128,
        dropout: float = 0.1,
        patch_size: int = 4,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        schedule: str = "cosine",
        max_grad_norm: float = 1.0,
        calibration: str = "temperature",
        ece_bins: int = 10,
    ) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay, ece_bins=ece_bins)
        name = type(self).__name__
        for arg, value in (("d_model", d_model), ("n_layers", n_layers), ("n_heads", n_heads), ("ff_dim", ff_dim),
                           ("patch_size", patch_size)):
            if value < 1:
                raise ConfigError(f"{name}({arg}={value}) must be >= 1.")
        if d_model % n_heads:
            raise ConfigError(f"{name}(d_model={d_model}, n_heads={n_heads}): n_heads must divide d_model, e.g. 64 and 4.")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"{name}(dropout={dropout}) must be in [0, 1).")
        if not 0.0 <= warmup_ratio < 1.0:
            raise ConfigError(f"{name}(warmup_ratio={warmup_ratio}) must be in [0, 1), e.g. 0.1.")
        if schedule not in SCHEDULES:
            raise ConfigError(f"{name}(schedule={schedule!r}) is not known; use one of {', '.join(SCHEDULES)}.")
        if max_grad_norm < 0:
            raise ConfigError(f"{name}(max_grad_norm={max_grad_norm}) must be >= 0 (0 turns clipping off).")
        self.save_hyperparameters()
        self.calibration = check_method(name, calibration, TORCH_METHODS)
        self.encoder: Optional[ByteTransformerEncoder] = None

    def build(self, input_spec: Dict[str, Any]) -> None:
        super().build(input_spec)
        h = self.hparams
        self.encoder = ByteTransformerEncoder(int(input_spec["max_length"]), h.d_model, h.n_layers, h.n_heads, h.ff_dim,
                                              h.dropout, h.patch_size)
        self.head = nn.Sequential(nn.Dropout(h.dropout), nn.Linear(h.d_model, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.encoder(x.long())
        return self.head(pooled).squeeze(-1).float()

    def configure_optimizers(self) -> Any:
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            (no_decay if param.ndim < 2 or "embed" in name or name.endswith(".cls") else decay).append(param)
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = int(total * self.hparams.warmup_ratio)
        schedule = self.hparams.schedule

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            if schedule == "cosine":
                return 0.5 * (1.0 + math.cos(math.pi * progress))
            if schedule == "linear":
                return 1.0 - progress
            return 1.0

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer: Any, gradient_clip_val: Any = None,
                                    gradient_clip_algorithm: Any = None) -> None:
        clip = gradient_clip_val if gradient_clip_val is not None else (self.hparams.max_grad_norm or None)
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm=gradient_clip_algorithm or "norm")

    def card_extras(self) -> Dict[str, Any]:
        return {"parameters": int(sum(p.numel() for p in self.parameters())),
                "tokenizer": "UTF-8 bytes (+2 offset, 0 = padding), no vocabulary to fit or download",
                "temperature": round(float(self.temperature), 6)}
