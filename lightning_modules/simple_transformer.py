"""A small text classifier trained from scratch: hashed n-gram bags plus a byte-level Transformer."""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Optional

import torch
from torch import nn

from lightning_modules.base import BaseClassifierModule
from lightning_modules.components.byte_transformer import ByteTransformerEncoder
from lightning_modules.components.ngram_bag import HashedNgramBag
from nethical.calibration import TORCH_METHODS, check_method
from nethical.console import warn_once
from nethical.data.encoding import PAD_ID
from nethical.exceptions import ConfigError

SCHEDULES = ("cosine", "linear", "constant")
CLASS_WEIGHTS = ("none", "balanced")
CALIBRATION_LOSS = "calibration/loss"


class SimpleTransformerClassifier(BaseClassifierModule):
    """Text → [hashed word and character n-gram bags ‖ byte-level Transformer] → dropout → linear head → logit.

    Two views of the same UTF-8 byte ids (the datamodule's ``text`` encoding, cut to ``max_length`` by its
    ``truncation``), concatenated before one linear head:

    - :class:`~lightning_modules.components.ngram_bag.HashedNgramBag`: mean embeddings of hashed character 3–5-grams
      and word 1–2-grams over the whole window (fastText-style). This is what learns from a few thousand examples —
      the same features TF-IDF + logistic regression uses, learnt jointly with the encoder.
    - :class:`~lightning_modules.components.byte_transformer.ByteTransformerEncoder` over the first
      ``encoder_window`` bytes (word order, spelling variants, structure). ``encoder_window: 0`` leaves it out.

    No tokenizer is downloaded or fitted, and any UTF-8 text — including an empty one — can be scored. Each batch is
    cut to its longest text first, so short texts cost little whatever ``max_length`` is. AdamW with
    ``weight_decay``, a linear warm-up over ``warmup_ratio`` of all optimizer steps then ``schedule`` decay, and
    gradient-norm clipping at ``max_grad_norm``. Runs in fp32 on CPU and in ``16-mixed``/``bf16-mixed`` on a GPU;
    logits are computed in fp32.

    Early stopping (``early_stopping_patience`` > 0) watches ``early_stopping_monitor`` after every epoch, stops after
    that many epochs without improvement and restores the best epoch's weights before the promotion gate scores the
    model. The default monitor, ``calibration/loss``, is the loss on the calibration slice (carved from the training
    split), so the validation split that the gate reports on is never used to pick the epoch; any logged validation
    metric (``val/loss``, ``val/auroc``, ...) can be named instead.

    ``calibration: temperature`` fits one temperature on the calibration slice after training (the promotion gate
    does it).

    Args:
        d_model: width of the encoder; ``n_heads`` must divide it.
        n_layers: encoder layers.
        n_heads: attention heads.
        ff_dim: feed-forward width inside each layer.
        dropout: dropout in the encoder and before the head.
        patch_size: bytes per encoder position.
        encoder_window: bytes the Transformer reads (from the start of the encoded text); 0 = no Transformer.
        ngram_buckets: hash buckets of each n-gram bag; 0 = no n-gram bags.
        ngram_dim: embedding width of each n-gram bag.
        char_ngrams: shortest and longest character n-gram.
        word_ngrams: longest word n-gram (1 = single words).
        lr: peak learning rate (AdamW, every parameter but the n-gram tables).
        ngram_lr: peak learning rate of the n-gram tables (SparseAdam: only the rows a batch uses are updated).
        weight_decay: AdamW decoupled weight decay (not applied to biases, norms and embeddings).
        warmup_ratio: share of optimizer steps spent warming up linearly from 0 to ``lr``.
        schedule: ``cosine``, ``linear`` or ``constant`` after warm-up.
        max_grad_norm: clip the gradient norm of the dense parameters to this (0 = off).
        class_weight: ``none`` or ``balanced`` (each class weighs n / (2 · its count) in the training loss).
        early_stopping_patience: epochs without improvement before stopping (0 = train all epochs).
        early_stopping_monitor: ``calibration/loss`` or a logged metric such as ``val/loss`` or ``val/auroc``.
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
        encoder_window: int = 256,
        ngram_buckets: int = 262144,
        ngram_dim: int = 32,
        char_ngrams: List[int] = (3, 5),
        word_ngrams: int = 2,
        lr: float = 1e-3,
        ngram_lr: float = 1e-2,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        schedule: str = "cosine",
        max_grad_norm: float = 1.0,
        class_weight: str = "none",
        early_stopping_patience: int = 2,
        early_stopping_monitor: str = CALIBRATION_LOSS,
        calibration: str = "temperature",
        ece_bins: int = 10,
    ) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay, ece_bins=ece_bins)
        name = type(self).__name__
        for arg, value in (("d_model", d_model), ("n_layers", n_layers), ("n_heads", n_heads), ("ff_dim", ff_dim),
                           ("patch_size", patch_size), ("ngram_dim", ngram_dim), ("word_ngrams", word_ngrams)):
            if value < 1:
                raise ConfigError(f"{name}({arg}={value}) must be >= 1.")
        for arg, value in (("encoder_window", encoder_window), ("ngram_buckets", ngram_buckets),
                           ("early_stopping_patience", early_stopping_patience)):
            if value < 0:
                raise ConfigError(f"{name}({arg}={value}) must be >= 0 (0 turns it off).")
        if encoder_window == 0 and ngram_buckets == 0:
            raise ConfigError(f"{name}(encoder_window=0, ngram_buckets=0) leaves the model no input; keep at least one.")
        char_ngrams = tuple(int(v) for v in char_ngrams)
        if len(char_ngrams) != 2 or not 1 <= char_ngrams[0] <= char_ngrams[1] <= 8:
            raise ConfigError(f"{name}(char_ngrams={list(char_ngrams)}) must be [shortest, longest] within 1..8, e.g. [3, 5].")
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
        if class_weight not in CLASS_WEIGHTS:
            raise ConfigError(f"{name}(class_weight={class_weight!r}) is not known; use one of {', '.join(CLASS_WEIGHTS)}.")
        if early_stopping_monitor != CALIBRATION_LOSS and not early_stopping_monitor.startswith("val/"):
            raise ConfigError(f"{name}(early_stopping_monitor={early_stopping_monitor!r}) must be {CALIBRATION_LOSS} or a "
                              "validation metric such as val/loss or val/auroc.")
        if ngram_lr <= 0:
            raise ConfigError(f"{name}(ngram_lr={ngram_lr}) must be > 0, e.g. 0.01.")
        self.save_hyperparameters()
        self.automatic_optimization = False  # two optimizers: AdamW (dense) and SparseAdam (n-gram tables)
        self.calibration = check_method(name, calibration, TORCH_METHODS)
        self.encoder: Optional[ByteTransformerEncoder] = None
        self.ngrams: Optional[HashedNgramBag] = None
        self._best: Optional[float] = None
        self._best_state: Optional[Dict[str, torch.Tensor]] = None
        self._best_epoch: Optional[int] = None
        self._bad_epochs = 0

    def build(self, input_spec: Dict[str, Any]) -> None:
        super().build(input_spec)
        h = self.hparams
        width = 0
        window = min(int(h.encoder_window), int(input_spec["max_length"]))
        if window:
            self.encoder = ByteTransformerEncoder(window, h.d_model, h.n_layers, h.n_heads, h.ff_dim, h.dropout,
                                                  h.patch_size)
            width += h.d_model
            # with n-gram bags, the Transformer's features enter through a gate that starts closed (0) and opens as
            # far as they help: from scratch on a few thousand texts it otherwise overfits before the bags converge
            self.encoder_gate = nn.Parameter(torch.zeros(()))
        if h.ngram_buckets:
            self.ngrams = HashedNgramBag(h.ngram_buckets, h.ngram_dim, tuple(h.char_ngrams), h.word_ngrams)
            width += self.ngrams.out_features
        self.head = nn.Sequential(nn.Dropout(h.dropout), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.long()
        longest = int((x != PAD_ID).any(dim=0).nonzero().max().item()) + 1 if x.numel() and (x != PAD_ID).any() else 1
        x = x[:, :longest]  # padding beyond the batch's longest text changes nothing (masked), so it is not computed
        parts = []
        if self.encoder is not None:
            window = self.encoder.max_patches * self.encoder.patch_size
            encoded = self.encoder(x[:, :window])
            parts.append(encoded * self.encoder_gate.to(encoded.dtype) if self.ngrams is not None else encoded)
        if self.ngrams is not None:
            parts.append(self.ngrams(x))
        features = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return self.head(features).squeeze(-1).float()

    # ------------------------------------------------------------------ class weights and early stopping
    def fit_preprocessing(self, datamodule: Any) -> None:
        if self.hparams.class_weight == "balanced":
            y = datamodule.labels("train")
            n, n_pos = len(y), int(sum(y))
            self.class_weights = (n / (2.0 * max(n - n_pos, 1)), n / (2.0 * max(n_pos, 1)))

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        trainer = self.trainer
        if trainer.sanity_checking or not self.hparams.early_stopping_patience:
            return
        monitor = self.hparams.early_stopping_monitor
        if monitor == CALIBRATION_LOSS:
            value = self._calibration_loss(trainer.datamodule)
            if value is None:
                monitor = "val/loss"
                warn_once(f"{self.model_type}: early stopping watches val/loss: the calibration slice is empty "
                          "(set data.init_args.calibration_ratio, e.g. 0.1, to keep the validation split for reporting)")
            else:
                self.log(CALIBRATION_LOSS, value, sync_dist=True)
        if monitor != CALIBRATION_LOSS:
            if monitor not in trainer.callback_metrics:
                raise ConfigError(f"{type(self).__name__}(early_stopping_monitor={monitor!r}) found no such metric. Logged: "
                                  f"{sorted(k for k in trainer.callback_metrics if k.startswith('val/'))}.")
            value = float(trainer.callback_metrics[monitor])
        higher_better = monitor.split("/")[-1] in ("acc", "auroc", "f1", "precision", "recall")
        score = -value if higher_better else value
        if self._best is None or score < self._best - 1e-6:
            self._best, self._best_epoch, self._bad_epochs = score, int(self.current_epoch), 0
            self._best_state = {k: v.detach().clone() for k, v in self.state_dict().items() if "_metrics." not in k}
        else:
            self._bad_epochs += 1
            if self._bad_epochs >= self.hparams.early_stopping_patience:
                trainer.should_stop = True

    @torch.no_grad()
    def _calibration_loss(self, datamodule: Any) -> Optional[float]:
        if datamodule is None or not getattr(datamodule, "split_sizes", {}).get("calibration"):
            return None
        cal = datamodule.tensors("calibration")
        logits = self.raw_logits(cal["x"], batch_size=256)
        return float(nn.functional.binary_cross_entropy_with_logits(logits, cal["y"].float()))

    def on_train_end(self) -> None:
        if self._best_state is not None:
            self.load_state_dict(self._best_state, strict=False)
            self._best_state = None

    # ------------------------------------------------------------------ optimization
    def _sparse_bags(self) -> bool:
        """Sparse n-gram gradients (SparseAdam) on one process; dense ones under DDP, whose NCCL all-reduce is dense."""
        trainer = self._trainer
        return self.ngrams is not None and (trainer is None or trainer.world_size == 1)

    def configure_optimizers(self) -> Any:
        sparse = self._sparse_bags()
        if self.ngrams is not None:
            self.ngrams.set_sparse(sparse)
        bag_params = set(id(p) for p in self.ngrams.parameters()) if self.ngrams is not None else set()
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if not param.requires_grad or id(param) in bag_params:
                continue
            (no_decay if param.ndim < 2 or "embed" in name or name.endswith(".cls") else decay).append(param)
        groups = [{"params": decay, "weight_decay": self.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if self.ngrams is not None and not sparse:
            groups.append({"params": list(self.ngrams.parameters()), "weight_decay": 0.0, "lr": self.hparams.ngram_lr})
        optimizers = [torch.optim.AdamW(groups, lr=self.lr)]
        if self.ngrams is not None and sparse:
            optimizers.append(torch.optim.SparseAdam(list(self.ngrams.parameters()), lr=self.hparams.ngram_lr))
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

        schedulers = [{"scheduler": torch.optim.lr_scheduler.LambdaLR(o, factor), "interval": "step"} for o in optimizers]
        return optimizers, schedulers

    def training_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Manual optimization: the dense parameters step with AdamW (clipped at ``max_grad_norm``), the n-gram
        tables with SparseAdam, so a step touches only the rows of the n-grams in the batch."""
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        for opt in optimizers:
            opt.zero_grad()
        loss = self._shared_step(batch, "train")
        self.manual_backward(loss)
        if self.hparams.max_grad_norm:
            self.clip_gradients(optimizers[0], gradient_clip_val=self.hparams.max_grad_norm, gradient_clip_algorithm="norm")
        for opt in optimizers:
            opt.step()
        self._step_schedulers("step")
        return loss.detach()

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        self._step_schedulers("epoch")

    def _step_schedulers(self, interval: str) -> None:
        """Manual optimization steps the schedulers itself, each at its own interval (the model's warm-up/cosine
        schedule per step; a ``--lr_scheduler`` from LightningCLI per epoch, as under automatic optimization)."""
        for config in self.trainer.lr_scheduler_configs:
            if config.interval == interval and (interval == "step" or (self.current_epoch + 1) % config.frequency == 0):
                config.scheduler.step()

    def card_extras(self) -> Dict[str, Any]:
        extras = {"parameters": int(sum(p.numel() for p in self.parameters())),
                  "tokenizer": "UTF-8 bytes (+2 offset, 0 = padding) and hashed n-grams, no vocabulary to fit or download",
                  "temperature": round(float(self.temperature), 6)}
        if self._best_epoch is not None:
            extras["early_stopping"] = {"monitor": self.hparams.early_stopping_monitor, "best_epoch": self._best_epoch,
                                        "restored": True}
        if self.class_weights is not None:
            extras["class_weights"] = [round(w, 6) for w in self.class_weights]
        return extras
