"""Batches of row positions, sharded across processes by the datamodule itself."""

from __future__ import annotations

from typing import Iterator, List

import torch
from torch.utils.data import Sampler


class ShardedBatchSampler(Sampler[List[int]]):
    """Yields lists of row positions (one list = one batch) for this process's shard.

    Training (``shuffle=True``): rows are permuted with ``seed + epoch`` (so a resumed run sees the same order as
    an uninterrupted one), and the permutation is padded by wrapping around so that every rank gets the same number
    of batches — DDP needs equal step counts. Evaluation (``shuffle=False``): contiguous shards *without* padding,
    so every validation row is scored exactly once across ranks and synced metrics equal single-process metrics.

    The datamodule shards on its own, so Trainers run with ``use_distributed_sampler=False`` (set in configs).
    """

    def __init__(self, num_rows: int, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"ShardedBatchSampler(rank={rank}) must be in [0, world_size={world_size}).")
        self.num_rows = num_rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def _positions(self) -> List[int]:
        if not self.shuffle:  # contiguous, unpadded, as even as possible: every rank has a row when rows >= ranks
            n, w, r = self.num_rows, self.world_size, self.rank
            return list(range(r * n // w, (r + 1) * n // w))
        order = torch.randperm(self.num_rows, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        if self.world_size > 1:
            per_rank = -(-self.num_rows // self.world_size)
            order = (order * (1 + (per_rank * self.world_size) // max(self.num_rows, 1)))[: per_rank * self.world_size]
            order = order[self.rank :: self.world_size]
        return order

    def __iter__(self) -> Iterator[List[int]]:
        positions = self._positions()
        for start in range(0, len(positions), self.batch_size):
            yield positions[start : start + self.batch_size]

    def __len__(self) -> int:
        return -(-len(self._positions()) // self.batch_size)
