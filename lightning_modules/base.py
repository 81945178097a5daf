"""Base LightningModule for every binary classifier: metrics, their names, logging and prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryF1Score, BinaryPrecision, BinaryRecall

from lightning_modules.components.calibration import BinaryECE
from nethical.exceptions import ConfigError, DataError
from nethical.registry import WEIGHTS_FILE

#: more bins than this says nothing more about calibration and only allocates memory (a card's value is checked too)
MAX_ECE_BINS = 1000

INPUT_DESCRIPTIONS = {
    "tabular": "numeric feature columns",
    "text": "a text column",
    "sequence": "a column of whitespace-separated action tokens",
}


class BaseClassifierModule(pl.LightningModule):
    """Owns metrics (``train/loss``, ``val/acc``, ``val/precision``, ``val/recall``, ``val/f1``, ``val/auroc``,
    ``val/ece``, and ``test/...``), logs them per epoch with ``sync_dist=True``, and returns P(y=1) from
    :meth:`predict_step`.

    Subclasses set ``model_type`` and ``input_kinds``, build their layers in :meth:`build` from the datamodule's
    ``input_spec`` (so input sizes are never config), and implement :meth:`forward` returning logits.

    Args:
        lr: learning rate.
        weight_decay: L2 penalty (AdamW-style decoupled for torch models).
        ece_bins: equal-width bins for the expected calibration error.
    """

    model_type: str = "base"
    input_kinds: Tuple[str, ...] = ("tabular",)
    #: files :meth:`load_saved` reads from a model directory; the card must list each with its sha256
    artifact_files: Tuple[str, ...] = (WEIGHTS_FILE,)
    #: post-hoc calibration applied by the promotion gate after fit (subclasses may expose it as an init arg)
    calibration: str = "none"

    def __init__(self, lr: float = 1e-2, weight_decay: float = 0.0, ece_bins: int = 10) -> None:
        super().__init__()
        if lr <= 0:
            raise ConfigError(f"{type(self).__name__}(lr={lr}) must be > 0.")
        if isinstance(ece_bins, bool) or not isinstance(ece_bins, int) or not 1 <= ece_bins <= MAX_ECE_BINS:
            raise ConfigError(f"{type(self).__name__}(ece_bins={ece_bins!r}) must be a whole number in [1, {MAX_ECE_BINS}] "
                              "(--ece-bins); 10 or 15 is usual.")
        self.lr = lr
        self.weight_decay = weight_decay
        self.ece_bins = ece_bins
        self.input_spec: Dict[str, Any] = {}
        self.register_buffer("temperature", torch.ones(()))
        #: (negative, positive) class weights of the training loss; None = unweighted (models may set it from the
        #: training split, e.g. ``class_weight: balanced``)
        self.class_weights: "Tuple[float, float] | None" = None
        self.train_metrics = MetricCollection({"acc": BinaryAccuracy()}, prefix="train/")
        self.val_metrics = self._metric_collection("val/")
        self.test_metrics = self._metric_collection("test/")
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()

    @property
    def _stage_metrics(self) -> Dict[str, MetricCollection]:
        return {"train": self.train_metrics, "val": self.val_metrics, "test": self.test_metrics}

    @property
    def _stage_losses(self) -> Dict[str, MeanMetric]:
        return {"train": self.train_loss, "val": self.val_loss, "test": self.test_loss}

    def _metric_collection(self, prefix: str) -> MetricCollection:
        return MetricCollection(
            {
                "acc": BinaryAccuracy(),
                "precision": BinaryPrecision(),
                "recall": BinaryRecall(),
                "f1": BinaryF1Score(),
                "auroc": BinaryAUROC(),
                "ece": BinaryECE(n_bins=self.ece_bins),
            },
            prefix=prefix,
        )

    # ------------------------------------------------------------------ building from the data
    @property
    def is_built(self) -> bool:
        return bool(self.input_spec)

    def build(self, input_spec: Dict[str, Any]) -> None:
        """Create the layers for ``input_spec`` (subclasses call super first)."""
        kind = input_spec.get("kind")
        if kind not in self.input_kinds:
            expected = " or ".join(INPUT_DESCRIPTIONS[k] for k in self.input_kinds)
            found = input_spec.get("feature_names") or input_spec.get("text_field") or kind
            raise DataError(
                f"model type {self.model_type!r} expects {expected}, but the data provides {kind} input ({found}); "
                f"choose a model type for {kind} data or point the data options at the right columns."
            )
        self.input_spec = dict(input_spec)

    def setup(self, stage: str) -> None:
        if self.is_built:
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not getattr(datamodule, "input_spec", None):
            raise RuntimeError(f"{type(self).__name__} needs a Nethical datamodule to size its layers.")
        self.build(datamodule.input_spec)
        if stage == "fit":
            self.fit_preprocessing(datamodule)

    def fit_preprocessing(self, datamodule: Any) -> None:
        """Fit input statistics on the training split only (no validation leakage). Default: nothing."""

    # ------------------------------------------------------------------ forward and steps
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - subclasses
        raise NotImplementedError

    def calibrated_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).reshape(-1) / self.temperature

    def predict_proba_batch(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        """P(y=1) for a batch dict, on the module's device."""
        return torch.sigmoid(self.calibrated_logits(batch["x"].to(self.device)))

    def regularization(self) -> torch.Tensor:
        return torch.zeros((), device=self.device)

    def _shared_step(self, batch: Dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self.calibrated_logits(batch["x"])
        target = batch["y"].to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        self._log_stage(torch.sigmoid(logits.detach()).float(), target, loss, stage)
        if stage == "train":
            if self.class_weights is not None:  # the logged loss stays the plain one, comparable across runs
                w_neg, w_pos = self.class_weights
                weight = torch.where(target > 0.5, w_pos, w_neg).to(logits.dtype)
                loss = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
            loss = loss + self.regularization()
        return loss

    def _log_stage(self, probs: torch.Tensor, target: torch.Tensor, loss: torch.Tensor, stage: str) -> None:
        """Accumulate ``<stage>/loss`` and the stage's metric collection (one naming scheme for every model).

        Only torchmetrics state is updated per step (cheap tensor ops); the values are computed, synced across
        processes by torchmetrics and logged once per epoch in :meth:`_log_epoch` — per-step ``self.log`` calls
        cost more than the whole optimizer step of a small model.
        """
        self._stage_metrics[stage].update(probs, target.long())
        self._stage_losses[stage].update(loss.detach().float(), weight=target.shape[0])

    def _log_epoch(self, stage: str) -> None:
        """Compute, log (scalars per epoch, ``sync_dist``) and reset the stage's metrics; every rank calls it."""
        loss_metric, collection = self._stage_losses[stage], self._stage_metrics[stage]
        # Every rank holds at least one row of each split (the datamodule checks), so this is the same on all ranks:
        # it only skips the adapter's sanity check, before anything is fitted.
        if loss_metric.update_count == 0:
            return
        values = {f"{stage}/loss": loss_metric.compute(), **collection.compute()}
        self.log_dict(values, sync_dist=True, prog_bar=stage == "val")
        loss_metric.reset()
        collection.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def training_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def predict_step(self, batch: Dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        return self.predict_proba_batch(batch)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """P(y=1) for an encoded input tensor, in eval mode, returned on the CPU."""
        was_training = self.training
        self.eval()
        out = [self.predict_proba_batch({"x": x[i : i + batch_size]}).float().cpu() for i in range(0, x.shape[0], batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0)

    def predict_proba_split(self, datamodule: Any, split: str) -> np.ndarray:
        """P(y=1) for every row of a datamodule split (float64 numpy). The promotion gate scores through this one
        method for every model type; the scikit-learn adapter overrides it to read the raw inputs."""
        return self.predict_proba(datamodule.tensors(split)["x"]).numpy().astype(np.float64)

    @torch.no_grad()
    def raw_logits(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Uncalibrated logits (temperature ignored), in eval mode, on the CPU."""
        was_training = self.training
        self.eval()
        out = [self(x[i : i + batch_size].to(self.device)).reshape(-1).float().cpu() for i in range(0, x.shape[0], batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0)

    def fit_calibration(self, datamodule: Any) -> Dict[str, Any]:
        """Fit post-hoc calibration (``self.calibration``) on the datamodule's calibration slice.

        Torch models support temperature scaling: the ``temperature`` buffer (saved with the weights) becomes the
        ``T`` minimising NLL on the calibration slice. Deterministic, so every rank gets the same ``T``.
        Returns facts for the model card.
        """
        from nethical.calibration import fit_temperature

        if self.calibration != "temperature":
            raise ConfigError(f"{type(self).__name__}(calibration={self.calibration!r}) is not available for a torch "
                              "model; use temperature or none.")
        cal = datamodule.tensors("calibration")
        logits = self.raw_logits(cal["x"]).numpy()
        t = fit_temperature(logits, cal["y"].cpu().numpy())
        self.temperature.fill_(t)
        return {"temperature": round(t, 6)}

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def use_optimizer(self, optimizer: Optional[Dict[str, Any]] = None,
                      lr_scheduler: Optional[Dict[str, Any]] = None) -> None:
        """Train with LightningCLI's ``--optimizer`` / ``--lr_scheduler`` (``{"class_path", "init_args"}`` each)
        instead of the model's own choice. They are built in ``configure_optimizers``, once :meth:`build` has made
        the layers; a scheduler alone runs over ``AdamW(lr, weight_decay)``."""
        self._optimizer_init, self._lr_scheduler_init = optimizer, lr_scheduler
        # an instance attribute, so it also replaces a subclass's own configure_optimizers (as Lightning's CLI does)
        self.configure_optimizers = self._configure_chosen_optimizers  # type: ignore[method-assign]

    def _configure_chosen_optimizers(self) -> Any:
        from lightning.pytorch.cli import LightningCLI, instantiate_class

        if self._optimizer_init is not None:
            optimizer = instantiate_class(self.parameters(), self._optimizer_init)
        else:
            optimizer = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = instantiate_class(optimizer, self._lr_scheduler_init) if self._lr_scheduler_init else None
        return LightningCLI.configure_optimizers(self, optimizer, scheduler)

    # ------------------------------------------------------------------ saving
    def card_extras(self) -> Dict[str, Any]:
        """Model-specific facts for the model card (e.g. the heuristic's weight table)."""
        return {}

    def init_args(self) -> Dict[str, Any]:
        """Constructor arguments as saved in the model card (JSON-serializable)."""
        return {k: v for k, v in dict(self.hparams).items() if not str(k).startswith("_")}

    def save_artifacts(self, directory: Path) -> List[str]:
        """Write the weights into ``directory``; returns the file names written."""
        from safetensors.torch import save_file

        save_file(self.export_state(), str(Path(directory) / WEIGHTS_FILE))
        return [WEIGHTS_FILE]

    @classmethod
    def load_saved(cls, model_dir: Path, card: Dict[str, Any]) -> "BaseClassifierModule":
        """Rebuild from a model card and its safetensors weights (no pickle), in eval mode.

        The weights are read once, checked against the card's sha256 and parsed from those bytes. The model is first
        built on the ``meta`` device (nothing allocated) and its tensor shapes compared with the file's, so a card
        whose ``init_args``/``input_spec`` ask for more memory than the saved weights hold is refused before any
        allocation."""
        from safetensors.torch import load as load_bytes

        from nethical.exceptions import ModelLoadError, UnsafeModelError
        from nethical.registry import read_verified

        data = read_verified(Path(model_dir), card, WEIGHTS_FILE)
        try:
            state = load_bytes(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure means the file is not safetensors
            raise ModelLoadError(f"{Path(model_dir) / WEIGHTS_FILE} is not a readable safetensors file "
                                 f"({type(exc).__name__}); retrain or restore it.") from None
        try:
            with torch.device("meta"):
                probe = cls(**card.get("init_args", {}))
                probe.build(card["input_spec"])
            expected = {k: tuple(v.shape) for k, v in probe.state_dict().items() if "_metrics." not in k}
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"the model card in {model_dir} does not describe a {cls.__name__} "
                                 f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); retrain or restore it.") from None
        found = {k: tuple(v.shape) for k, v in state.items()}
        if expected != found:
            diff = sorted(k for k in set(expected) | set(found) if expected.get(k) != found.get(k))[:5]
            raise UnsafeModelError(f"the model card in {model_dir} describes tensors that differ from {WEIGHTS_FILE} "
                                 f"({', '.join(diff)}); the card or the weights were edited. Retrain or restore it.")
        model = cls(**card.get("init_args", {}))
        model.build(card["input_spec"])
        model.import_state(state)
        return model.eval()

    def export_state(self) -> Dict[str, torch.Tensor]:
        """Tensors to save (safetensors); metric states are left out."""
        return {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items() if "_metrics." not in k}

    def import_state(self, state: Dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if "_metrics." not in k]
        if missing or unexpected:
            raise RuntimeError(f"saved weights do not match {type(self).__name__}: missing {missing}, unexpected {unexpected}")
