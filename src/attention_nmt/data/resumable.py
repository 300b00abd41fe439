"""A DataLoader whose place inside an epoch is saved in Lightning checkpoints and restored on resume.

Lightning 2.x saves `state_dict()` of every training loader that has `state_dict`/`load_state_dict`
(`FitLoop.on_save_checkpoint` -> `CombinedLoader._state_dicts`) and, when a run restarts from that
checkpoint, calls `load_state_dict` before it creates the epoch's iterator. Our state is the sampler's
epoch and the number of batches this loader has handed out in it, counted where batches leave the
loader (not where the sampler makes them), so worker prefetching does not skew it. On load, the
`LengthBucketSampler` is told to skip those batches on its next pass: the resumed run sees exactly the
batches the interrupted one had not trained on yet, in the same order.

The loader also gets its own `torch.Generator`, so starting an epoch does not draw from the global
torch RNG (plain DataLoaders draw a base seed from it on every `iter()`): the global RNG, which dropout
uses, then advances only with training steps, and a resumed run can restore it exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from attention_nmt.data.batching import LengthBucketSampler


class ResumableDataLoader(DataLoader):
    """A DataLoader over a `LengthBucketSampler` (as `batch_sampler`) that Lightning can checkpoint."""

    def __init__(self, *args: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, generator=torch.Generator().manual_seed(seed), **kwargs)
        if not isinstance(self.batch_sampler, LengthBucketSampler):
            raise TypeError("ResumableDataLoader needs batch_sampler=LengthBucketSampler(...)")
        self._yielded = 0  # batches handed out in the current epoch

    def __iter__(self) -> Iterator[Any]:
        self._yielded = self.batch_sampler._skip  # a resumed pass starts after the batches already trained on
        for batch in super().__iter__():
            self._yielded += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        """The epoch and how many of its batches were handed out (plain ints: safe for weights_only loading)."""
        return {"epoch": int(self.batch_sampler.epoch), "batches_done": int(self._yielded)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.resume_at(int(state["epoch"]), int(state["batches_done"]))
