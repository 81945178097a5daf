"""Any scikit-learn classifier as a Nethical LightningModule."""

from __future__ import annotations

import warnings

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn
from sklearn.base import BaseEstimator, clone

from lightning_modules.base import BaseClassifierModule
from nethical.calibration import SKLEARN_METHODS, check_method
from nethical.console import one_line
from nethical.exceptions import ConfigError, DataError, ModelLoadError

SKOPS_FILE = "model.skops"
CHECKPOINT_KEY = "sklearn_estimator"

Inputs = Union[np.ndarray, List[str]]


# The adapter has no torch optimizer by design (automatic_optimization = False; scikit-learn fits the estimator), so
# Lightning's "configure_optimizers returned None" warning says nothing to the user.
warnings.filterwarnings("ignore", message="`LightningModule.configure_optimizers` returned `None`")

class SklearnClassifierModule(BaseClassifierModule):
    """Wrap a scikit-learn classifier named in config so it trains, logs, gates and saves like the torch models.

    .. code-block:: yaml

        model:
          class_path: lightning_modules.sklearn_adapter.SklearnClassifierModule
          init_args:
            estimator: {class_path: sklearn.linear_model.LogisticRegression, init_args: {C: 1.0, max_iter: 1000}}

    How it trains:

    - ``setup("fit")`` clones the configured estimator into ``estimator_`` (the configured one is never mutated). A
      ``random_state`` left at ``None`` anywhere in it is set to the datamodule's ``seed``.
    - Estimators with ``partial_fit`` learn incrementally: one pass over the training split per epoch, in batches of
      the datamodule's ``batch_size``, in an order seeded by ``seed`` and the epoch. Others are fitted once on the
      full training split in the first epoch; further epochs would change nothing, so training stops after it (a
      warning says so when ``max_epochs > 1``).
    - Under DDP every rank fits the same estimator on the *full* training split with the same ``random_state``
      (no sharding, no broadcast), so every rank holds an identical model; only rank zero writes files.
    - Inputs: tabular data gives the float feature matrix; text and sequence data give the raw strings (reached
      through the batch's ``idx``), so a text estimator is a ``Pipeline`` starting with a vectorizer.
    - Probabilities come from ``predict_proba`` (columns follow ``classes_``, checked to be ``[0, 1]``). An estimator
      with only ``decision_function`` is wrapped in ``CalibratedClassifierCV(method="sigmoid", cv=3)``; one with
      neither is refused in ``__init__``.
    - ``calibration``: ``sigmoid`` or ``isotonic`` post-hoc calibration on the calibration slice (run by the
      promotion gate), or ``none``.
    - Saved as ``model.skops`` (no pickle); loading trusts only the exact types of the supported estimators (see
      :mod:`nethical.skops_trust`, extendable in code) and warns when the scikit-learn version differs. The Lightning checkpoint holds the same skops bytes as a uint8 tensor plus their
      sha256, so it stays loadable with ``weights_only=True``.

    Args:
        estimator: a scikit-learn classifier (``class_path``/``init_args`` in YAML); ``None`` uses
            :meth:`default_estimator`.
        calibration: ``none``, ``sigmoid`` or ``isotonic``.
        ece_bins: equal-width bins for the expected calibration error.
    """

    model_type = "sklearn"
    input_kinds: Tuple[str, ...] = ("tabular", "text", "sequence")
    artifact_files: Tuple[str, ...] = (SKOPS_FILE,)

    def __init__(self, estimator: Optional[BaseEstimator] = None, calibration: str = "none", ece_bins: int = 10) -> None:
        super().__init__(lr=1.0, weight_decay=0.0, ece_bins=ece_bins)
        self.save_hyperparameters(ignore=["estimator"])
        self.automatic_optimization = False
        self.calibration = check_method(type(self).__name__, calibration, SKLEARN_METHODS)
        self.estimator = self.default_estimator() if estimator is None else estimator
        self._check_estimator(self.estimator)
        self.estimator_: Optional[Any] = None
        self.fit_mode_: Optional[str] = None
        # DDP refuses a module without trainable parameters; this one is never used or saved with the model.
        self._ddp_anchor = torch.nn.Parameter(torch.zeros(1))

    # ------------------------------------------------------------------ configuration
    def default_estimator(self) -> BaseEstimator:
        """The estimator used when none is configured (subclasses override)."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, max_iter=1000, random_state=0)

    def _check_estimator(self, estimator: Any) -> None:
        name = type(estimator).__name__
        if not hasattr(estimator, "fit"):
            raise ConfigError(f"{type(self).__name__}(estimator={name}): not a scikit-learn estimator (no fit method); "
                              "pass a classifier such as sklearn.linear_model.LogisticRegression.")
        if not (hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")):
            raise ConfigError(
                f"{type(self).__name__}(estimator={name}): the estimator has no predict_proba or decision_function, so "
                "no probabilities can be scored. Pick a probabilistic classifier (e.g. LogisticRegression, "
                "HistGradientBoostingClassifier) or one with decision_function."
            )

    def make_estimator(self, seed: int) -> Any:
        """A fresh, unfitted clone of the configured estimator, ready to fit (subclasses may wrap it)."""
        est = clone(self.estimator)
        unset = {k: seed for k, v in est.get_params(deep=True).items() if k.endswith("random_state") and v is None}
        if unset:
            est.set_params(**unset)
        if not hasattr(est, "predict_proba"):
            from sklearn.calibration import CalibratedClassifierCV

            est = CalibratedClassifierCV(est, method="sigmoid", cv=3, ensemble=False)
        return est

    @property
    def is_fitted(self) -> bool:
        return self.estimator_ is not None and self.fit_mode_ is not None

    # ------------------------------------------------------------------ data access
    def fit_preprocessing(self, datamodule: Any) -> None:
        self.estimator_ = self.make_estimator(int(getattr(datamodule, "seed", 0) or 0))
        self.fit_mode_ = None

    def split_inputs(self, datamodule: Any, split: str, idx: Optional[np.ndarray] = None) -> Inputs:
        """The estimator's raw inputs for a datamodule split (all rows, or the rows at ``idx``)."""
        part = datamodule.split(split)
        if self.input_spec["kind"] == "tabular":
            x = np.asarray(part.features, dtype=np.float64)
            x = x if idx is None else x[idx]
            self._check_finite(x, f"the {split} split")
            return x
        texts = part.texts or []
        return list(texts) if idx is None else [texts[int(i)] for i in idx]

    def _check_finite(self, x: np.ndarray, where: str) -> None:
        bad_inf = ~np.isfinite(x) & ~np.isnan(x)
        nan = np.isnan(x)
        if not (bad_inf.any() or nan.any()):
            return
        names = self.input_spec.get("feature_names") or []
        if bad_inf.any():
            cols = [names[j] if j < len(names) else str(j) for j in np.flatnonzero(bad_inf.any(axis=0))]
            raise DataError(f"{int(bad_inf.any(axis=1).sum())} of {x.shape[0]} rows in {where} hold infinite values "
                            f"(columns {cols}); replace or drop them before training or scoring.")
        if not _allows_nan(self.estimator_ if self.estimator_ is not None else self.estimator):
            cols = [names[j] if j < len(names) else str(j) for j in np.flatnonzero(nan.any(axis=0))]
            raise DataError(
                f"{int(nan.any(axis=1).sum())} of {x.shape[0]} rows in {where} have missing (NaN) values (columns {cols}) "
                f"and {type(self.estimator).__name__} cannot take them; impute or drop those rows, or use an estimator "
                "that handles NaN such as HistGradientBoostingClassifier."
            )

    def _batch_inputs(self, batch: Dict[str, torch.Tensor], split: str) -> Inputs:
        if self.input_spec["kind"] == "tabular":
            x = batch["x"].detach().cpu().numpy().astype(np.float64)
            self._check_finite(x, f"a {split} batch")
            return x
        return self.split_inputs(self.trainer.datamodule, split, batch["idx"].cpu().numpy())

    # ------------------------------------------------------------------ probabilities
    def proba(self, inputs: Inputs) -> np.ndarray:
        """P(y=1) from the fitted estimator (float64 numpy)."""
        if not self.is_fitted:
            raise RuntimeError(f"{type(self).__name__}: the estimator is not fitted yet; train it or load a saved model.")
        if len(inputs) == 0:
            return np.empty(0, dtype=np.float64)
        try:
            probs = np.asarray(self.estimator_.predict_proba(inputs), dtype=np.float64)
        except ValueError as exc:
            raise DataError(f"{type(self).__name__}: the estimator cannot score these inputs ({_one_line(exc)}); "
                            f"the model expects {self._expects()}.") from None
        return probs[:, self._positive_column()]

    def _positive_column(self) -> int:
        classes = [int(c) for c in getattr(self.estimator_, "classes_", [0, 1])]
        if sorted(classes) != [0, 1]:
            raise DataError(f"{type(self).__name__}: the estimator learned classes {classes}; binary labels 0/1 are "
                            "required (check the label column and positive_labels).")
        return classes.index(1)

    def _expects(self) -> str:
        if self.input_spec.get("kind") == "tabular":
            return f"numeric columns {self.input_spec.get('feature_names')}"
        return f"{self.input_spec.get('kind')} strings"

    def predict_proba_split(self, datamodule: Any, split: str) -> np.ndarray:
        return self.proba(self.split_inputs(datamodule, split))

    def predict_proba_batch(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        if self.input_spec["kind"] != "tabular":
            # Lightning's predict loop serves the validation split (see BaseDataModule.predict_dataloader)
            return torch.from_numpy(self.proba(self._batch_inputs(batch, "val"))).float()
        return torch.from_numpy(self.proba(batch["x"].detach().cpu().numpy().astype(np.float64))).float()

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        if self.input_spec.get("kind") != "tabular":
            raise RuntimeError(f"{type(self).__name__} scores {self.input_spec.get('kind')} data from raw strings: use "
                               "predict_proba_rows(rows) or predict_proba_split(datamodule, split).")
        x_np = x.detach().cpu().numpy().astype(np.float64)
        self._check_finite(x_np, "the input")
        return torch.from_numpy(self.proba(x_np)).float()

    def predict_proba_rows(self, rows: Sequence[Dict[str, Any]], text_field: str = "text") -> np.ndarray:
        """P(y=1) for raw dict rows (``nethical predict``): feature columns for tabular models, ``text_field`` for
        text and sequence models. Missing columns are an error naming what the model expects and what was found."""
        from nethical.data.encoding import encode_tabular

        rows = list(rows)
        if self.input_spec["kind"] == "tabular":
            x = encode_tabular(rows, list(self.input_spec["feature_names"])).astype(np.float64)
            self._check_finite(x, "the input rows")
            return self.proba(x)
        field = str(self.input_spec.get("text_field") or text_field)
        if rows and field not in rows[0]:
            raise DataError(f"{self.model_type} model expects {self._expects()} in field {field!r}; "
                            f"fields found: {sorted(rows[0])}. Pass --text-field.")
        return self.proba(["" if r.get(field) is None else str(r.get(field)) for r in rows])

    # ------------------------------------------------------------------ training
    def on_fit_start(self) -> None:
        if self.estimator_ is None:
            raise RuntimeError(f"{type(self).__name__} needs a Nethical datamodule (trainer.datamodule) to fit.")
        if not _incremental(self.estimator_) and (self.trainer.max_epochs or 1) > 1:
            rank_zero_warn(
                f"{type(self).__name__}: {type(self.estimator).__name__} has no partial_fit, so it is fitted once on the "
                f"full training split; max_epochs={self.trainer.max_epochs} adds nothing and training stops after epoch 1."
            )

    def on_train_epoch_start(self) -> None:
        if self.is_fitted and not _incremental(self.estimator_):
            return  # fitted once already (a resumed run): nothing to load or fit
        dm = self.trainer.datamodule
        x = self.split_inputs(dm, "train")
        y = np.asarray(dm.labels("train"), dtype=np.int64)
        try:
            if _incremental(self.estimator_):
                seed = int(getattr(dm, "seed", 0) or 0) + int(self.current_epoch)
                order = np.random.default_rng(seed).permutation(len(y))
                step = max(int(getattr(dm, "batch_size", 256)), 1)
                for start in range(0, len(y), step):
                    chunk = order[start : start + step]
                    xb = x[chunk] if isinstance(x, np.ndarray) else [x[i] for i in chunk]
                    self.estimator_.partial_fit(xb, y[chunk], classes=np.array([0, 1]))
                self.fit_mode_ = "partial_fit"
            elif not self.is_fitted:
                self.estimator_.fit(x, y)
                self.fit_mode_ = "fit"
        except ValueError as exc:
            raise DataError(f"{type(self).__name__}: {type(self.estimator).__name__} cannot fit the training split "
                            f"({_one_line(exc)}); the model expects {self._expects()}.") from None
        self._positive_column()

    def training_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._score_and_log(batch, "train")

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()  # log the epoch's train metrics
        if self.fit_mode_ == "fit":
            self.trainer.should_stop = True

    def validation_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        if self.is_fitted:  # the sanity check runs before anything is fitted
            self._score_and_log(batch, "val")

    def test_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        self._score_and_log(batch, "test")  # the test loader serves the validation split

    def _score_and_log(self, batch: Dict[str, torch.Tensor], stage: str) -> None:
        split = "train" if stage == "train" else "val"
        probs = torch.from_numpy(self.proba(self._batch_inputs(batch, split))).float().to(self.device)
        target = batch["y"].float().to(self.device)
        clipped = probs.double().clamp(1e-7, 1 - 1e-7)
        loss = torch.nn.functional.binary_cross_entropy(clipped, target.double()).float()
        self._log_stage(probs, target, loss, stage)

    def configure_optimizers(self) -> None:
        return None

    def use_optimizer(self, optimizer: Optional[Dict[str, Any]] = None,
                      lr_scheduler: Optional[Dict[str, Any]] = None) -> None:
        flag = "--optimizer" if optimizer is not None else "--lr_scheduler"
        raise ConfigError(
            f"{flag} does not apply to {type(self).__name__}: scikit-learn fits its estimator, there is no torch "
            "optimizer; drop the flag and choose the estimator with --model.init_args.estimator."
        )

    # ------------------------------------------------------------------ calibration
    def fit_calibration(self, datamodule: Any) -> Dict[str, Any]:
        """Sigmoid or isotonic calibration of the frozen fitted estimator on the calibration slice."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator

        if self.calibration not in ("sigmoid", "isotonic"):
            raise ConfigError(f"{type(self).__name__}(calibration={self.calibration!r}) is not available for a "
                              "scikit-learn model; use sigmoid, isotonic or none.")
        x = self.split_inputs(datamodule, "calibration")
        y = np.asarray(datamodule.labels("calibration"), dtype=np.int64)
        self.estimator_ = CalibratedClassifierCV(FrozenEstimator(self.estimator_), method=self.calibration).fit(x, y)
        return {}

    # ------------------------------------------------------------------ saving and loading
    def estimator_config(self) -> Dict[str, Any]:
        return estimator_to_config(self.estimator)

    def init_args(self) -> Dict[str, Any]:
        args = super().init_args()
        args["estimator"] = self.estimator_config()
        return args

    def card_extras(self) -> Dict[str, Any]:
        import sklearn

        return {"estimator": self.estimator_config(), "fitted_estimator": type(self.estimator_).__name__,
                "fit_mode": self.fit_mode_, "sklearn_version": sklearn.__version__, "estimator_file": SKOPS_FILE}

    def save_artifacts(self, directory: Path) -> List[str]:
        from nethical.fileio import atomic_write_bytes

        atomic_write_bytes(Path(directory) / SKOPS_FILE, self.estimator_bytes())
        return [SKOPS_FILE]

    def estimator_bytes(self) -> bytes:
        import skops.io as sio

        if not self.is_fitted:
            raise RuntimeError(f"{type(self).__name__}: nothing to save, the estimator is not fitted.")
        return sio.dumps(self.estimator_)

    @classmethod
    def load_saved(cls, model_dir: Path, card: Dict[str, Any]) -> "SklearnClassifierModule":
        """Rebuild from ``model.skops`` (read once, sha256 checked against the card, types allow-listed) and the card."""
        from nethical.registry import read_verified

        path = Path(model_dir) / SKOPS_FILE
        fitted = load_estimator_bytes(read_verified(Path(model_dir), card, SKOPS_FILE), str(path), card.get("sklearn_version"))
        args = {k: v for k, v in (card.get("init_args") or {}).items() if k != "estimator"}
        try:
            model = cls(estimator=fitted, **args)
        except TypeError as exc:
            raise ModelLoadError(f"the model card in {model_dir} has init_args {cls.__name__} does not take "
                                 f"({_one_line(exc)}); retrain or restore it.") from None
        model.build(card["input_spec"])
        model.estimator_ = fitted
        model.fit_mode_ = card.get("fit_mode") or "fit"
        return model.eval()

    def on_save_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        if self.is_fitted:
            data = self.estimator_bytes()
            checkpoint[CHECKPOINT_KEY] = {"skops": torch.frombuffer(bytearray(data), dtype=torch.uint8).clone(),
                                          "sha256": hashlib.sha256(data).hexdigest(), "fit_mode": self.fit_mode_,
                                          "input_spec": dict(self.input_spec)}

    def on_load_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if not saved:
            return
        data = saved["skops"].numpy().tobytes()
        if hashlib.sha256(data).hexdigest() != saved["sha256"]:
            raise ModelLoadError("the scikit-learn estimator in this checkpoint fails its sha256 check; the checkpoint was changed or corrupted.")
        if not self.is_built:
            self.build(saved["input_spec"])
        self.estimator_ = load_estimator_bytes(data, "checkpoint")
        self.fit_mode_ = saved.get("fit_mode") or "fit"


def load_estimator_bytes(data: bytes, where: str, saved_version: Optional[str] = None) -> Any:
    """Load skops bytes trusting only the exact types this project saves (:mod:`nethical.skops_trust`): any other
    type, function or node kind refuses the whole file before anything is imported or built."""
    import sklearn

    from nethical.skops_trust import load_skops

    estimator = load_skops(data, where)
    if saved_version and saved_version != sklearn.__version__:
        warnings.warn(f"{where} was saved with scikit-learn {saved_version} and is loaded with {sklearn.__version__}; "
                      "predictions may differ. Retrain to silence this.", UserWarning, stacklevel=2)
    if not (hasattr(estimator, "predict_proba") and hasattr(estimator, "fit")):
        raise ModelLoadError(f"{where} does not hold a scikit-learn classifier ({type(estimator).__name__}); retrain or restore it.")
    return estimator


def estimator_to_config(est: Any) -> Any:
    """A JSON-serializable ``{class_path, init_args}`` view of an estimator (recursing into nested estimators)."""
    if isinstance(est, BaseEstimator):
        params = est.get_params(deep=False)
        return {"class_path": f"{type(est).__module__}.{type(est).__qualname__}",
                "init_args": {k: estimator_to_config(v) for k, v in sorted(params.items())}}
    if isinstance(est, dict):
        return {str(k): estimator_to_config(v) for k, v in est.items()}
    if isinstance(est, (list, tuple)):
        return [estimator_to_config(v) for v in est]
    if isinstance(est, (np.integer, np.floating, np.bool_)):
        return est.item()
    if isinstance(est, (str, int, float, bool)) or est is None:
        return est
    if isinstance(est, type):
        return f"{est.__module__}.{est.__qualname__}"
    return repr(est)


def _incremental(est: Any) -> bool:
    return hasattr(est, "partial_fit")


def _allows_nan(est: Any) -> bool:
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(est).input_tags.allow_nan)
    except Exception:  # noqa: BLE001 - third-party estimators without tags: assume no
        return False


def _one_line(exc: BaseException) -> str:
    return one_line(exc, 300)
