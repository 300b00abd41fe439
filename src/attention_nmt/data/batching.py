"""Length-bucketed batching: batches of similar source lengths, shuffled, sized in sentences or tokens.

Training batches come from pools of shuffled sentences that are sorted by length before they are cut
into batches, and the batches are shuffled again, seeded per epoch. Evaluation batches are sorted by
length, no shuffling. Under DDP each rank takes every `num_replicas`-th batch: training trims to an equal
batch count per rank (so gradient syncs match); evaluation keeps every sentence exactly once.

An epoch's batches depend only on (seed, epoch), so a resumed run can start the epoch part-way:
`resume_at(epoch, done)` makes the next pass skip the `done` batches this rank already trained on
(`data/resumable.py` records that position in the checkpoint). `len()` stays the whole epoch's count,
as Lightning expects of a resumable loader.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Sampler


class Batch(NamedTuple):
    """A padded batch. src (B, S), src_lengths (B,), trg_input (B, T) = <s> y, trg_output (B, T) = y </s>,
    index (B,) the rows of the split these sentences are."""

    src: Tensor
    src_lengths: Tensor
    trg_input: Tensor
    trg_output: Tensor
    index: Tensor


def collate(examples: Sequence[tuple[int, list[int], list[int]]], pad_id: int, bos_id: int) -> Batch:
    """Pad (index, source ids, target ids) examples; target ids end in </s>."""
    index, src, trg = zip(*examples)
    src_lengths = torch.tensor([len(s) for s in src])
    trg_lengths = [len(t) for t in trg]
    src_t = torch.full((len(src), int(src_lengths.max())), pad_id, dtype=torch.long)
    trg_in = torch.full((len(trg), max(trg_lengths)), pad_id, dtype=torch.long)
    trg_out = torch.full_like(trg_in, pad_id)
    for row, (s, t) in enumerate(zip(src, trg)):
        src_t[row, : len(s)] = torch.tensor(s)
        trg_out[row, : len(t)] = torch.tensor(t)
        trg_in[row, 0] = bos_id
        trg_in[row, 1 : len(t)] = torch.tensor(t[:-1])
    return Batch(src_t, src_lengths, trg_in, trg_out, torch.tensor(index))


class LengthBucketSampler(Sampler[list[int]]):
    """Yields lists of dataset indices; see the module docstring."""

    def __init__(
        self,
        src_lengths: Sequence[int],
        trg_lengths: Sequence[int],
        batch_size: int,
        batch_tokens: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        pool: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.src_lengths = np.asarray(src_lengths)
        self.trg_lengths = np.asarray(trg_lengths)
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
        self.shuffle, self.seed, self.pool = shuffle, seed, pool
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self._skip = 0  # batches of this rank to skip on the next pass only (set by resume_at)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> LengthBucketSampler:
        """Itself: Lightning sets each epoch through `loader.batch_sampler.sampler.set_epoch`, as for torch's
        BatchSampler; without this every epoch would repeat epoch 0's order."""
        return self

    def resume_at(self, epoch: int, done: int) -> None:
        """Make the next pass continue epoch `epoch` after the first `done` batches of this rank."""
        if done < 0 or done > len(self):
            raise ValueError(
                f"cannot resume after {done} batches of an epoch of {len(self)} batches; the checkpoint "
                "was written with other data or batching settings (data.*) than this run."
            )
        self.epoch, self._skip = epoch, done

    def _cut(self, order: np.ndarray) -> list[list[int]]:
        """Cut indices (already in length order) into batches of batch_size sentences or ~batch_tokens tokens."""
        if self.batch_tokens is None:
            return [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        batches, current, longest = [], [], 0
        for i in order.tolist():
            size = int(self.src_lengths[i] + self.trg_lengths[i])
            if current and max(longest, size) * (len(current) + 1) > self.batch_tokens:
                batches.append(current)
                current, longest = [], 0
            current.append(i)
            longest = max(longest, size)
        return batches + ([current] if current else [])

    def batches(self) -> list[list[int]]:
        """All batches of this epoch, before sharding across ranks."""
        n = len(self.src_lengths)
        if not self.shuffle:
            order = np.lexsort((self.trg_lengths, self.src_lengths))
            batches = self._cut(order)
            if len(batches) < self.num_replicas <= n:  # a rank without a batch would skip evaluation and hang DDP
                batches = [part.tolist() for part in np.array_split(order, self.num_replicas)]
            return batches
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        pool_size = self.pool * (self.batch_size if self.batch_tokens is None else max(1, self.batch_tokens // 40))
        batches = []
        for start in range(0, n, pool_size):
            chunk = order[start : start + pool_size]
            chunk = chunk[np.lexsort((self.trg_lengths[chunk], self.src_lengths[chunk]))]
            batches.extend(self._cut(chunk))
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches()
        if self.shuffle:  # equal batch counts per rank for DDP
            batches = batches[: len(batches) // self.num_replicas * self.num_replicas]
        skip, self._skip = self._skip, 0
        yield from batches[self.rank :: self.num_replicas][skip:]

    def __len__(self) -> int:
        total = len(self.batches())
        if self.shuffle:
            return total // self.num_replicas
        return len(range(self.rank, total, self.num_replicas))
