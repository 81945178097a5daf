"""Hashed word and character n-gram embedding bags over UTF-8 byte ids (fastText-style, no vocabulary)."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from nethical.data.encoding import BYTE_OFFSET, PAD_ID

_PRIME = 2_147_483_647  # 2**31 - 1: every product below stays under 2**62, so the hashes are exact int64 maths


def _mix(h: torch.Tensor, a: int, b: int) -> torch.Tensor:
    """A universal hash ``(a * h + b) mod p`` of non-negative int64 values (exact, the same on every device)."""
    return (torch.remainder(h, _PRIME) * a + b) % _PRIME


def hashed_ngram_ids(ids: torch.Tensor, buckets: int, char_ngrams: Tuple[int, int] = (3, 5),
                     word_ngrams: int = 2) -> Tuple[torch.Tensor, torch.Tensor]:
    """Bucket ids (1..``buckets``; 0 = nothing) of the character and word n-grams of each row of byte ids.

    ``ids`` are byte + 2 with 0 as padding (:func:`nethical.data.encoding.encode_text`). ASCII letters are lower-cased.
    Character n-grams of every length in ``char_ngrams`` run over the bytes (spaces included, as scikit-learn's
    ``analyzer='char'``); words are maximal runs of ASCII letters and digits or non-ASCII bytes (so UTF-8 letters
    stay inside words), and word n-grams are runs of 1..``word_ngrams`` consecutive words. Everything is tensor
    arithmetic: no Python loop over texts, so it runs inside ``forward`` on any device.

    Returns:
        ``(char_ids, word_ids)``: int64 tensors of shape ``(n, *)`` with 0 where there is no n-gram.
    """
    ids = ids.long()
    n, length = ids.shape
    device = ids.device
    upper = (ids >= ord("A") + BYTE_OFFSET) & (ids <= ord("Z") + BYTE_OFFSET)
    ids = torch.where(upper, ids + 32, ids)
    real = ids != PAD_ID

    char_parts = []
    lo, hi = char_ngrams
    for k in range(lo, hi + 1):
        if k > length:
            break
        windows = ids.unfold(1, k, 1)  # (n, length - k + 1, k)
        h = torch.zeros(windows.shape[:2], dtype=torch.long, device=device)
        for j in range(k):  # exact base-259 number of at most 5 bytes (< 2**41)
            h = h * 259 + windows[..., j]
        valid = (windows != PAD_ID).all(dim=-1)
        bucket = _mix(h + k * 1_000_003, 1_103_515_245, 12_345) % buckets + 1
        char_parts.append(torch.where(valid, bucket, torch.zeros_like(bucket)))
    char_ids = torch.cat(char_parts, dim=1) if char_parts else torch.zeros(n, 0, dtype=torch.long, device=device)

    # words: a per-position contribution summed over each run (cumsum differences), keyed by the position in the word
    lower = (ids >= ord("a") + BYTE_OFFSET) & (ids <= ord("z") + BYTE_OFFSET)
    digit = (ids >= ord("0") + BYTE_OFFSET) & (ids <= ord("9") + BYTE_OFFSET)
    in_word = (lower | digit | (ids >= 128 + BYTE_OFFSET)) & real
    positions = torch.arange(length, device=device).expand(n, length)
    prev_in = torch.nn.functional.pad(in_word[:, :-1], (1, 0), value=False)
    next_in = torch.nn.functional.pad(in_word[:, 1:], (0, 1), value=False)
    starts = in_word & ~prev_in
    ends = in_word & ~next_in
    start_pos = torch.cummax(torch.where(starts, positions, torch.zeros_like(positions)), dim=1).values
    offset = (positions - start_pos) % 61
    contrib = torch.where(in_word, ((ids * 7_919 + offset * 104_729 + 1) * (offset + 1) * 2_654_435_761) % _PRIME,
                          torch.zeros_like(ids))
    csum = torch.cumsum(contrib, dim=1)
    before = torch.gather(torch.nn.functional.pad(csum, (1, 0))[:, :-1], 1, start_pos)
    word_hash = _mix(csum - before + (positions - start_pos) * 31, 48_271, 11)  # at word ends: the word's hash
    # compact the words of each row to the left, in order: rank of each word end within its row
    rank = torch.cumsum(ends.long(), dim=1) - 1
    words = torch.full((n, length + 1), -1, dtype=torch.long, device=device)
    slot = torch.where(ends, rank, torch.full_like(rank, length))  # non-ends write to a spare last column
    words.scatter_(1, slot, torch.where(ends, word_hash, torch.full_like(word_hash, -1)))
    count = int(ends.sum(dim=1).max().item()) if n else 0
    words = words[:, :count]
    word_parts = []
    for k in range(1, word_ngrams + 1):
        if k > count:
            break
        windows = words.unfold(1, k, 1)
        h = windows[..., 0]
        for j in range(1, k):
            h = _mix(h * 65_537 + windows[..., j], 69_621, 7)
        valid = (windows >= 0).all(dim=-1)
        bucket = _mix(h + k * 7_777_777, 1_664_525, 1_013_904_223) % buckets + 1
        word_parts.append(torch.where(valid, bucket, torch.zeros_like(bucket)))
    word_ids = torch.cat(word_parts, dim=1) if word_parts else torch.zeros(n, 0, dtype=torch.long, device=device)
    return char_ids, word_ids


class HashedNgramBag(nn.Module):
    """Two embedding bags over hashed n-grams: one for character n-grams, one for word n-grams.

    Each text becomes the mean embedding of its character n-grams and the mean embedding of its word n-grams
    (``nn.EmbeddingBag`` with 0 as padding, so a text without n-grams gives zeros), concatenated: the fastText
    recipe, which matches TF-IDF + a linear model on small data while staying a torch module (mixed precision, DDP,
    safetensors). Hashing needs no fitted vocabulary, so nothing but the weights is saved.

    Args:
        buckets: hash buckets shared by all n-gram orders of one kind.
        dim: embedding width of each bag (the output has ``2 * dim`` features).
        char_ngrams: (shortest, longest) character n-gram.
        word_ngrams: longest word n-gram (1 = words only).
    """

    def __init__(self, buckets: int = 2 ** 18, dim: int = 32, char_ngrams: Tuple[int, int] = (3, 5),
                 word_ngrams: int = 2) -> None:
        super().__init__()
        self.buckets, self.char_ngrams, self.word_ngrams = int(buckets), tuple(char_ngrams), int(word_ngrams)
        self.char_bag = nn.EmbeddingBag(self.buckets + 1, dim, mode="mean", padding_idx=0)
        self.word_bag = nn.EmbeddingBag(self.buckets + 1, dim, mode="mean", padding_idx=0)
        for bag in (self.char_bag, self.word_bag):
            nn.init.normal_(bag.weight, std=0.1)
            with torch.no_grad():
                bag.weight[0].zero_()
        self.out_features = 2 * dim

    def set_sparse(self, sparse: bool) -> None:
        """Sparse gradients (for ``torch.optim.SparseAdam``) or dense ones (any optimizer, DDP)."""
        self.char_bag.sparse = self.word_bag.sparse = bool(sparse)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        char_ids, word_ids = hashed_ngram_ids(ids, self.buckets, self.char_ngrams, self.word_ngrams)
        parts = []
        for bag, bag_ids in ((self.char_bag, char_ids), (self.word_bag, word_ids)):
            if bag_ids.shape[1] == 0:
                parts.append(torch.zeros(ids.shape[0], bag.embedding_dim, device=ids.device, dtype=bag.weight.dtype))
            else:
                parts.append(bag(bag_ids))
        return torch.cat(parts, dim=1)
