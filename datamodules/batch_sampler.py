"""Batches of row positions, sharded across processes by the datamodule itself."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, Optional

import torch
from torch.utils.data import DataLoader, Sampler


class ShardedBatchSampler(Sampler[torch.Tensor]):
    """Yields row positions (one int64 tensor = one batch) for this process's shard.

    Training (``shuffle=True``): rows are permuted with ``seed + epoch`` (so a resumed run sees the same order as
    an uninterrupted one), and the permutation is padded by wrapping around so that every rank gets the same number
    of batches — DDP needs equal step counts. Evaluation (``shuffle=False``): contiguous shards *without* padding,
    so every validation row is scored exactly once across ranks and synced metrics equal single-process metrics.

    ``batches_per_item`` > 1 groups that many consecutive mini-batches into one item (one Lightning step of a model
    that runs several optimizer steps per Lightning step, see :mod:`lightning_modules.fast_steps`): the item holds the
    positions of all of them, in order, and the model splits it back by ``batch_size``. The mini-batches, their order
    and their sizes are exactly those of ``batches_per_item=1``; only the last mini-batch of the shard can be short.

    :meth:`skip_in_epoch` makes a resumed epoch start after the mini-batches already trained (mid-epoch resume);
    the items after the skip stay aligned on the same grid of ``batches_per_item`` mini-batches.

    The datamodule shards on its own, so Trainers run with ``use_distributed_sampler=False`` (set in configs).
    """

    def __init__(self, num_rows: int, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1,
                 batches_per_item: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"ShardedBatchSampler(rank={rank}) must be in [0, world_size={world_size}).")
        if batches_per_item < 1:
            raise ValueError(f"ShardedBatchSampler(batches_per_item={batches_per_item}) must be >= 1.")
        self.num_rows = num_rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.batches_per_item = batches_per_item
        self.epoch = 0
        self._skip: Optional[tuple] = None  # (epoch, mini-batches already trained in it)
        self.first_batch = 0
        #: optional: the trainer's optimizer-step count, recorded as ``start_step`` when an epoch's pass begins
        self.step_counter: Optional[Callable[[], int]] = None
        self.start_step = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def skip_in_epoch(self, epoch: int, batches: int) -> None:
        """The next pass over ``epoch`` starts after its first ``batches`` mini-batches (used once, on resume)."""
        self._skip = (int(epoch), max(0, int(batches)))

    def _positions(self) -> torch.Tensor:
        """This rank's row positions for the epoch, in order (an int64 tensor: batches are slices of it, with no
        Python list of row numbers built per batch)."""
        if not self.shuffle:  # contiguous, unpadded, as even as possible: every rank has a row when rows >= ranks
            n, w, r = self.num_rows, self.world_size, self.rank
            return torch.arange(r * n // w, (r + 1) * n // w)
        order = torch.randperm(self.num_rows, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        if self.world_size > 1:
            per_rank = -(-self.num_rows // self.world_size)
            order = order.repeat(1 + (per_rank * self.world_size) // max(self.num_rows, 1))[: per_rank * self.world_size]
            order = order[self.rank :: self.world_size]
        return order

    def _num_positions(self) -> int:
        n, w, r = self.num_rows, self.world_size, self.rank
        if not self.shuffle:
            return (r + 1) * n // w - r * n // w
        return -(-n // w) if w > 1 else n

    def num_batches(self) -> int:
        """Mini-batches per epoch on this rank."""
        return -(-self._num_positions() // self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        positions = self._positions()
        first = 0
        if self._skip is not None:
            epoch, done = self._skip
            self._skip = None
            if epoch == self.epoch:
                first = done
        self.first_batch = first  # mini-batches of this epoch skipped on resume (the loader's count starts there)
        self.start_step = self.step_counter() if self.step_counter is not None else 0
        bs, per = self.batch_size, self.batches_per_item
        total = -(-len(positions) // bs)
        batch = first
        while batch < total:
            end = min(total, (batch // per + 1) * per)  # the grid of items stays the same after a mid-epoch skip
            yield positions[batch * bs : end * bs]
            batch = end

    def __len__(self) -> int:
        return -(-self.num_batches() // self.batches_per_item)


class ResumableLoader(DataLoader):
    """A training DataLoader that Lightning saves and restores with the checkpoint (``state_dict`` /
    ``load_state_dict``), so a run resumed from a checkpoint written in the middle of an epoch continues with the
    next untrained mini-batch instead of starting the epoch's data over.

    ``trained_batches`` returns how many mini-batches of the current epoch have been trained when a checkpoint is
    written (the datamodule reads it from the trainer's own counters, to the optimizer step where a model runs
    several per Lightning step — also when a SLURM signal saves in the middle of one).
    """

    def __init__(self, *args: Any, trained_batches: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trained_batches = trained_batches

    def state_dict(self) -> Dict[str, int]:
        sampler = self.sampler
        if not isinstance(sampler, ShardedBatchSampler):  # e.g. wrapped by Lightning's distributed sampler
            return {}
        batches = min(max(0, self._trained_batches()), sampler.num_batches())
        return {"epoch": int(sampler.epoch), "batches_done": int(batches)}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        if state and isinstance(self.sampler, ShardedBatchSampler):
            self.sampler.skip_in_epoch(state.get("epoch", -1), state.get("batches_done", 0))
