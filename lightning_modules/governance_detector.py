"""The learned governance detector as a Nethical LightningModule (trained by ``nethical governance train``).

It trains through the project's path: a :class:`~datamodules.file.FileDataModule` reads the labelled file (label
``harmful`` = any category but ``benign``), the module fits in the first epoch (like the scikit-learn adapter: no
torch optimizer), the :class:`~callbacks.promotion_gate.PromotionGate` scores the validation split and writes the
model card, and the weights are saved as ``model.safetensors`` (no pickle).

What happens in the first training epoch, on the training split only:

1. each training text gets its category from the labelled file(s) the datamodule read (``category_column``);
2. near-duplicate texts are grouped (:func:`nethical.governance.detector.template_groups`) and a grouped
   ``cv_folds``-fold cross-validation gives out-of-fold scores for every training row;
3. per-category thresholds are chosen on those out-of-fold scores for each benign false-positive target in
   :data:`~nethical.governance.detector.FP_TARGETS` (the model card stores them all and the cross-validated recall
   and false-positive rate, with 95% Wilson intervals, under ``governance``);
4. the final weights are fitted on the whole training split.

P(harmful) is the ``predict_proba`` of the binary head, so the gate's accuracy / ECE / skill criteria apply as for any
model. The category head only routes a text to its category's threshold.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

from lightning_modules.base import BaseClassifierModule
from nethical.exceptions import ConfigError, DataError
from nethical.fileio import sha256_file
from nethical.governance import detector as det

warnings.filterwarnings("ignore", message="`LightningModule.configure_optimizers` returned `None`")


class GovernanceDetectorModule(BaseClassifierModule):
    """Linear P(harmful) + category model over hashed word n-grams.

    Args:
        n_features: hash buckets (weights take ``n_features * 9 * 4`` bytes: 9.4 MB at 2**18).
        c: inverse L2 strength of both logistic regressions.
        cv_folds: folds of the grouped cross-validation that picks the thresholds.
        fp_target: the benign false-positive target of the ``standard`` sensitivity (must be one of
            :data:`~nethical.governance.detector.FP_TARGETS`).
        category_column: the column of the labelled file holding the category.
        ece_bins: equal-width bins for the expected calibration error.
    """

    model_type = det.MODEL_TYPE
    input_kinds = ("text",)

    def __init__(self, n_features: int = 2 ** 18, c: float = 10.0, cv_folds: int = 5, fp_target: float = 0.05,
                 category_column: str = "category", ece_bins: int = 10) -> None:
        super().__init__(lr=1.0, weight_decay=0.0, ece_bins=ece_bins)
        if n_features < 16 or n_features > 2 ** 22:
            raise ConfigError(f"{type(self).__name__}(n_features={n_features}) must be within [16, 2**22].")
        if cv_folds < 2:
            raise ConfigError(f"{type(self).__name__}(cv_folds={cv_folds}) must be at least 2.")
        if not any(abs(fp_target - t) < 1e-9 for t in det.FP_TARGETS):
            raise ConfigError(f"{type(self).__name__}(fp_target={fp_target}) must be one of {list(det.FP_TARGETS)}.")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.n_features = int(n_features)
        self.c = float(c)
        self.cv_folds = int(cv_folds)
        self.fp_target = float(fp_target)
        self.category_column = category_column
        k = 1 + len(det.LEARNED_CATEGORIES)
        self.register_buffer("weights", torch.zeros(self.n_features, k))
        self.register_buffer("bias", torch.zeros(k))
        self.governance: Dict[str, Any] = {}
        self.fitted_ = False
        self._ddp_anchor = torch.nn.Parameter(torch.zeros(1))

    # ------------------------------------------------------------------ scoring
    def proba_texts(self, texts: List[str]) -> np.ndarray:
        if not self.fitted_:
            raise RuntimeError(f"{type(self).__name__}: not fitted yet; train it or load a saved model.")
        x = det.featurize(texts, self.n_features)
        p, _ = det.score(x, self.weights.cpu().numpy(), self.bias.cpu().numpy())
        return p

    def predict_proba_split(self, datamodule: Any, split: str) -> np.ndarray:
        return self.proba_texts(list(datamodule.split(split).texts or []))

    def predict_proba_batch(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        texts = self.trainer.datamodule.split("val").texts or []
        return torch.from_numpy(self.proba_texts([texts[int(i)] for i in batch["idx"].cpu()])).float()

    def predict_proba_rows(self, rows: Any, text_field: str = "text") -> np.ndarray:
        field = str(self.input_spec.get("text_field") or text_field)
        rows = list(rows)
        if rows and field not in rows[0]:
            raise DataError(f"{self.model_type} expects a text field {field!r}; fields found: {sorted(rows[0])}.")
        return self.proba_texts(["" if r.get(field) is None else str(r.get(field)) for r in rows])

    # ------------------------------------------------------------------ training
    def on_train_epoch_start(self) -> None:
        if self.fitted_:
            return
        dm = self.trainer.datamodule
        texts = list(dm.split("train").texts or [])
        harmful = np.asarray(dm.labels("train"), dtype=np.int64)
        cat_idx, sources = self._categories(dm, texts, harmful)
        self.governance = det.cross_validate(texts, harmful, cat_idx, self.n_features, self.c, self.cv_folds, _seed(dm))
        self.governance["standard_fp_target"] = self.fp_target
        self.governance["training_data"] = sources
        w, b = det.fit_weights(det.featurize(texts, self.n_features), harmful, cat_idx, self.c, _seed(dm))
        self.weights.copy_(torch.from_numpy(w))
        self.bias.copy_(torch.from_numpy(b))
        self.fitted_ = True

    def _categories(self, dm: Any, texts: List[str], harmful: np.ndarray) -> Tuple[np.ndarray, List[Dict[str, str]]]:
        """The category index of every training text, read from the datamodule's labelled files."""
        files = [Path(p) for p in getattr(dm, "data_files", [])]
        lookup: Dict[str, str] = {}
        sources = []
        for path in files:
            for text, cat in read_categories(path, self.category_column, str(self.input_spec.get("text_field") or "text")):
                lookup.setdefault(text, cat)
            sources.append({"file": path.name, "sha256": sha256_file(path)})
        index = {c: i for i, c in enumerate(det.LEARNED_CATEGORIES)}
        out = np.zeros(len(texts), dtype=np.int64)
        missing = 0
        for i, (t, h) in enumerate(zip(texts, harmful)):
            cat = lookup.get(t)
            if h and cat not in index:
                missing += 1
            out[i] = index.get(cat, 0) if h else 0
        if missing:
            raise DataError(f"{type(self).__name__}: {missing} harmful training rows have no category in column "
                            f"{self.category_column!r} of {[p.name for p in files]}; label every harmful row with one of "
                            f"{list(det.LEARNED_CATEGORIES)}.")
        return out, sources

    def training_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._score_and_log(batch, "train")

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        self.trainer.should_stop = True  # fitted once: further epochs would change nothing

    def validation_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        if self.fitted_:
            self._score_and_log(batch, "val")

    def test_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._score_and_log(batch, "test")

    def _score_and_log(self, batch: Dict[str, torch.Tensor], stage: str) -> None:
        split = "train" if stage == "train" else "val"
        texts = self.trainer.datamodule.split(split).texts or []
        probs = torch.from_numpy(self.proba_texts([texts[int(i)] for i in batch["idx"].cpu()])).float().to(self.device)
        target = batch["y"].float().to(self.device)
        loss = torch.nn.functional.binary_cross_entropy(probs.double().clamp(1e-7, 1 - 1e-7), target.double()).float()
        self._log_stage(probs, target, loss, stage)

    def configure_optimizers(self) -> None:
        return None

    def fit_calibration(self, datamodule: Any) -> Dict[str, Any]:
        raise ConfigError(f"{type(self).__name__} has no post-hoc calibration; its thresholds are set per category.")

    # ------------------------------------------------------------------ saving
    def card_extras(self) -> Dict[str, Any]:
        return {"governance": self.governance}

    def export_state(self) -> Dict[str, torch.Tensor]:
        return {"weights": self.weights.detach().cpu().float().contiguous(),
                "bias": self.bias.detach().cpu().float().contiguous()}

    def import_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.weights.copy_(state["weights"])
        self.bias.copy_(state["bias"])
        self.fitted_ = True

    @classmethod
    def load_saved(cls, model_dir: Path, card: Dict[str, Any]) -> "GovernanceDetectorModule":
        model = super().load_saved(model_dir, card)
        model.governance = dict(card.get("governance") or {})
        return model

    def on_save_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        checkpoint["governance_detector"] = {"fitted": self.fitted_, "governance": json.dumps(self.governance)}

    def on_load_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        saved = checkpoint.get("governance_detector") or {}
        self.fitted_ = bool(saved.get("fitted"))
        self.governance = json.loads(saved.get("governance") or "{}")


def _seed(dm: Any) -> int:
    return int(getattr(dm, "seed", 0) or 0)


def read_categories(path: Path, column: str, text_column: str = "text") -> List[Tuple[str, str]]:
    """``(text, category)`` pairs of a JSONL/JSON-lines or CSV/TSV file (rows without either are skipped)."""
    out: List[Tuple[str, str]] = []
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        with path.open("r", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t" if suffix != ".csv" else ","):
                t, c = row.get(text_column), row.get(column)
                if isinstance(t, str) and isinstance(c, str):
                    out.append((t, c.strip()))
        return out
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get(text_column), str) and isinstance(obj.get(column), str):
                out.append((obj[text_column], obj[column].strip()))
    return out
