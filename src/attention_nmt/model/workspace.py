"""A buffer reused from one training step to the next, for what a fused step loop keeps for its backward pass.

A CPU allocation of tens of MiB comes fresh from the operating system each time (glibc hands it out with
mmap), and every first write to one of its pages costs a page fault: for the additive loop's tanh outputs,
(T, B, S, A) floats per batch, that was as slow as the arithmetic itself. A `Workspace` lends one buffer,
grown to the largest request seen, to one autograd graph at a time; it is free again once that graph's
backward pass has run or the graph is gone. While it is lent, a request gets a fresh tensor instead, so
results never depend on it. A backward pass through a graph whose buffer was lent again since (a second
backward with `retain_graph=True` after another forward) is stopped by autograd's own version counter,
which the buffer's views share, instead of reading overwritten values.
"""

from __future__ import annotations

import math
import weakref

from torch import Tensor


class Workspace:
    """One reusable buffer; see the module docstring."""

    def __init__(self) -> None:
        self._buffer: Tensor | None = None
        self._holder: weakref.ref | None = None
        self._lent = False

    def _free(self) -> bool:
        return not self._lent or self._holder is None or self._holder() is None

    def borrow(self, shape: tuple[int, ...], like: Tensor, holder: object) -> tuple[Tensor, bool]:
        """An uninitialised tensor of `shape` (dtype and device of `like`) for `holder` (the autograd ctx),
        and whether it is the workspace's (False: the buffer is lent, this is a fresh tensor)."""
        if not self._free():
            return like.new_empty(shape), False
        numel = math.prod(shape)
        buffer = self._buffer
        if buffer is None or buffer.numel() < numel or buffer.dtype != like.dtype or buffer.device != like.device:
            buffer = self._buffer = like.new_empty(numel)
        self._holder, self._lent = weakref.ref(holder), True
        return buffer[:numel].view(shape), True

    def give_back(self, lent: bool) -> None:
        """End a loan (in the backward pass) where `borrow` said the tensor was the workspace's."""
        if lent:
            self._lent = False

    def clear(self) -> None:
        """Drop the buffer (its memory returns to the system once no graph holds it)."""
        self._buffer, self._holder, self._lent = None, None, False
