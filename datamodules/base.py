"""Base class of every Nethical datamodule: split once, encode once, batch by slicing tensors."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from datamodules.batch_sampler import ResumableLoader, ShardedBatchSampler

from nethical.data.encoding import TRUNCATIONS, encode_sequences, encode_text, fit_vocab
from nethical.data.prepared import PreparedData
from nethical.data.splits import sample_rows, split_indices, validate_split_args
from nethical.exceptions import ConfigError, DataError


MAX_LENGTH_LIMIT = 65536  # bytes or tokens per row; every row is padded to max_length


class _SliceDataset(Dataset):
    """Tensors indexed by a whole list of row positions at once, so a batch is one slice, not ``batch_size`` calls."""

    def __init__(self, tensors: Dict[str, torch.Tensor]) -> None:
        self.tensors = tensors
        self.length = int(next(iter(tensors.values())).shape[0])

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, indices: Any) -> Dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {name: torch.index_select(t, 0, idx) for name, t in self.tensors.items()}  # faster than t[idx]


class _ItemDataset(_SliceDataset):
    """Items of several mini-batches (see ``ShardedBatchSampler(batches_per_item=...)``): the rows of all of them in
    order, plus ``rows_per_batch`` so the model can split the item back into the same mini-batches."""

    def __init__(self, tensors: Dict[str, torch.Tensor], rows_per_batch: int) -> None:
        super().__init__(tensors)
        self.rows_per_batch = rows_per_batch

    def __getitem__(self, indices: Any) -> Dict[str, Any]:
        return {**super().__getitem__(indices), "rows_per_batch": self.rows_per_batch}


class BaseDataModule(pl.LightningDataModule):
    """Loads rows (subclass hook :meth:`load`), splits them, encodes them once and serves sliced batches.

    Batches are dicts: ``x`` (float32 features, or int64 token ids for text and sequences), ``y`` (float32 0/1) and
    ``idx`` (row positions within the split, so adapters can reach the raw text).

    Args:
        batch_size: rows per batch.
        num_samples: cap on the rows used (``None`` = all). Synthetic data generates exactly this many.
        seed: seeds the data generator, the split and the shuffling.
        split_strategy: ``temporal`` (time order), ``random`` or ``stratified``.
        train_ratio: share of rows for training (the rest validates); in (0, 1).
        calibration_ratio: share of the *training* rows set aside for post-hoc calibration; in [0, 1).
        max_length: token budget per text or sequence (ignored for tabular data); bytes for text.
        truncation: which part of a longer text is kept: ``head``, ``tail`` or ``head_tail`` (first 3/4 of the budget
            from the start, last 1/4 from the end).
    """

    def __init__(
        self,
        batch_size: int = 32,
        num_samples: Optional[int] = 10000,
        seed: int = 42,
        split_strategy: str = "temporal",
        train_ratio: float = 0.8,
        calibration_ratio: float = 0.0,
        max_length: int = 256,
        truncation: str = "head_tail",
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"{type(self).__name__}(batch_size={batch_size}) must be >= 1.")
        if num_samples is not None and num_samples < 1:
            raise ConfigError(f"{type(self).__name__}(num_samples={num_samples}) must be >= 1.")
        if max_length < 1:
            raise ConfigError(f"{type(self).__name__}(max_length={max_length}) must be >= 1 (--max-length).")
        if max_length > MAX_LENGTH_LIMIT:
            raise ConfigError(f"{type(self).__name__}(max_length={max_length}) is larger than {MAX_LENGTH_LIMIT}; every "
                              "text is padded to it, so use at most that (--max-length), e.g. 1024.")
        if truncation not in TRUNCATIONS:
            raise ConfigError(f"{type(self).__name__}(truncation={truncation!r}) is not known; use one of "
                              f"{', '.join(TRUNCATIONS)} (--truncation).")
        validate_split_args(split_strategy, train_ratio, calibration_ratio)
        # every class's arguments in the chain (Lightning reads the __init__ frames of subclasses too), so the
        # checkpoint's datamodule_hyper_parameters hold the whole configuration, defaults included
        self.save_hyperparameters()
        self.batch_size = batch_size
        self.num_samples = num_samples
        self.seed = seed
        self.split_strategy = split_strategy
        self.train_ratio = train_ratio
        self.calibration_ratio = calibration_ratio
        self.max_length = max_length
        self.truncation = truncation
        self.provenance: Dict[str, Any] = {}
        self.split_sizes: Dict[str, int] = {}
        self.input_spec: Dict[str, Any] = {}
        self._splits: Dict[str, PreparedData] = {}
        self._tensors: Dict[str, Dict[str, torch.Tensor]] = {}

    # ------------------------------------------------------------------ subclass hook
    def load(self) -> PreparedData:
        """Return all rows in time order (subclasses). Raise :class:`DataError` when the data cannot serve."""
        raise NotImplementedError

    # ------------------------------------------------------------------ Lightning hooks
    def setup(self, stage: Optional[str] = None) -> None:
        if self._splits:
            return
        data = self.load()
        if self.num_samples is not None and len(data) > self.num_samples:  # a seeded sample in row order, never a head
            keep, sampling = sample_rows(data.labels, self.num_samples, self.seed)
            data = data.take(keep)
            data.provenance = {**data.provenance, "sampling": sampling}
        classes = np.unique(data.labels)
        if classes.size < 2:
            raise DataError(
                f"{type(self).__name__}: the labels hold one class only ({classes.tolist()}) in {len(data)} rows; "
                "a binary classifier needs both — check the label column and positive_labels."
            )
        parts = split_indices(data.labels, self.split_strategy, self.train_ratio, self.calibration_ratio, self.seed)
        self.provenance = {**data.provenance, "rows_used": len(data)}
        if "sampling" not in self.provenance and data.provenance.get("source") == "synthetic":
            self.provenance["sampling"] = {"method": "generated", "seed": data.provenance.get("seed"),
                                           "rows_drawn": len(data)}
        self._splits = {name: data.take(getattr(parts, name)) for name in ("train", "val", "calibration")}
        self.input_spec = self._fit_input_spec(self._splits["train"])
        self._encode_all()

    def _fit_input_spec(self, train: PreparedData) -> Dict[str, Any]:
        if train.kind == "tabular":
            return {"kind": "tabular", "feature_names": list(train.feature_names)}
        if train.kind == "text":
            return {"kind": "text", "max_length": self.max_length, "truncation": self.truncation}
        return {"kind": "sequence", "max_length": self.max_length, "vocab": fit_vocab(train.texts or [])}

    def _encode(self, part: PreparedData) -> torch.Tensor:
        kind = self.input_spec["kind"]
        if kind == "tabular":
            return torch.as_tensor(np.asarray(part.features, dtype=np.float32))
        if kind == "text":
            return torch.from_numpy(encode_text(part.texts or [], self.max_length, self.truncation))
        return torch.from_numpy(encode_sequences(part.texts or [], self.input_spec["vocab"], self.max_length))

    def _encode_all(self) -> None:
        self._tensors = {
            name: {
                "x": self._encode(part),
                "y": torch.as_tensor(part.labels, dtype=torch.float32),
                "idx": torch.arange(len(part), dtype=torch.long),
            }
            for name, part in self._splits.items()
        }
        self.split_sizes = {name: len(part) for name, part in self._splits.items()}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if not self._tensors:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before its dataloaders are used.")
        dataset = _SliceDataset(self._tensors[split])
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if len(dataset) < world:
            raise DataError(
                f"{type(self).__name__}: the {split} split has {len(dataset)} rows for {world} processes; every process "
                "needs at least one row — use more samples, a larger split share, or fewer devices."
            )
        # A model whose optimizer step is cheap takes several mini-batches per Lightning step (fast_steps.py).
        # Training items then hold that many mini-batches; evaluation simply uses batches that much larger (every
        # evaluation metric is a sum over rows, so the batch size does not change any value).
        module = trainer.lightning_module if trainer is not None else None
        per_step = int(module.batches_per_step(self.batch_size)) if hasattr(module, "batches_per_step") else 1
        if not shuffle:
            sampler = ShardedBatchSampler(len(dataset), self.batch_size * per_step, False, self.seed, rank, world)
            return DataLoader(dataset, sampler=sampler, batch_size=None)
        sampler = ShardedBatchSampler(len(dataset), self.batch_size, True, self.seed, rank, world, per_step)
        if trainer is not None:
            sampler.step_counter = lambda: trainer.global_step
        if per_step > 1:
            dataset = _ItemDataset(self._tensors[split], self.batch_size)
        if trainer is None:
            return DataLoader(dataset, sampler=sampler, batch_size=None)
        # saved with checkpoints, so a resume from the middle of an epoch continues with the next untrained batch
        return ResumableLoader(dataset, sampler=sampler, batch_size=None,
                               trained_batches=lambda: _trained_batches(trainer, sampler))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """The validation split: no rows are held back beyond it (documented in the README)."""
        return self._loader("val", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    # ------------------------------------------------------------------ contract used by callbacks and models
    @property
    def input_kind(self) -> str:
        return self.input_spec.get("kind", "tabular")

    @property
    def feature_names(self) -> List[str]:
        return list(self.input_spec.get("feature_names", []))

    def split(self, name: str) -> PreparedData:
        return self._splits[name]

    def tensors(self, name: str) -> Dict[str, torch.Tensor]:
        """The encoded split: ``x``, ``y`` and ``idx`` tensors."""
        return self._tensors[name]

    def labels(self, split: str) -> np.ndarray:
        return self._splits[split].labels

    def describe_rows(self, split: str, indices: Sequence[int]) -> List[str]:
        part = self._splits[split]
        if part.kind == "tabular":
            names = part.feature_names
            return [" ".join(f"{n}={_fmt(v)}" for n, v in zip(names, part.features[i])) for i in indices]
        return [part.texts[i] for i in indices]

    def exclude_train_indices(self, indices: Sequence[int]) -> int:
        """Drop training rows (positions within the train split) before the model is set up; returns the count."""
        drop = np.unique(np.asarray(list(indices), dtype=np.int64))
        if drop.size == 0:
            return 0
        train = self._splits["train"]
        keep = np.setdiff1d(np.arange(len(train)), drop)
        self._splits["train"] = train.take(keep)
        self.input_spec = self._fit_input_spec(self._splits["train"])  # e.g. a vocabulary fitted on train only
        self._encode_all()
        return int(drop.size)

    def profile_features(self, split: str) -> Dict[str, np.ndarray]:
        """Per-column arrays of a split for drift profiles: numeric columns as float64 and, where the data has them,
        categorical columns as their raw values (every level) instead of their one-hot features."""
        part = self._splits[split]
        if part.kind == "tabular":
            onehot = _onehot_names(part)
            out: Dict[str, np.ndarray] = {n: np.asarray(part.features[:, j], dtype=np.float64)
                                          for j, n in enumerate(part.feature_names) if n not in onehot}
            out.update({c: np.asarray(v, dtype=object) for c, v in part.categories.items()})
            return out
        texts = part.texts or []
        if part.kind == "text":
            lengths = np.array([len(t) for t in texts], dtype=np.float64)
            safe = np.maximum(lengths, 1)
            return {
                "length_chars": lengths,
                "frac_upper": np.array([sum(c.isupper() for c in t) for t in texts]) / safe,
                "frac_digit": np.array([sum(c.isdigit() for c in t) for t in texts]) / safe,
                "frac_non_ascii": np.array([sum(ord(c) > 127 for c in t) for t in texts]) / safe,
            }
        tokens = [t.split() for t in texts]
        return {
            "length_tokens": np.array([len(t) for t in tokens], dtype=np.float64),
            "distinct_tokens": np.array([len(set(t)) for t in tokens], dtype=np.float64),
        }


def _onehot_names(part: PreparedData) -> set:
    """Feature names that one-hot encode a categorical column of ``part`` (``column=level``)."""
    if not part.categories:
        return set()
    prefixes = tuple(f"{c}=" for c in part.categories)
    return {n for n in part.feature_names if n.startswith(prefixes)}


def _trained_batches(trainer: Any, sampler: ShardedBatchSampler) -> int:
    """Mini-batches of the current epoch trained so far (read when a checkpoint is written)."""
    module = trainer.lightning_module
    if hasattr(module, "batches_per_step") and not module.automatic_optimization:
        # several optimizer steps per Lightning step: count optimizer steps, so that a save in the middle of a
        # Lightning step (a SLURM signal) resumes at the next untrained mini-batch
        return sampler.first_batch + trainer.global_step - sampler.start_step
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed * sampler.batches_per_item


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{float(value):.4g}"
