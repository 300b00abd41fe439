"""A buffer reused from one training step to the next, for what a fused step loop keeps for its backward pass.

A CPU allocation of tens of MiB comes fresh from the operating system each time (glibc hands it out with
mmap), and every first write to one of its pages costs a page fault: for the additive loop's tanh outputs,
(T, B, S, A) floats per batch, that was as slow as the arithmetic itself. A `Workspace` lends one buffer,
grown to the largest request seen, to one autograd graph at a time; it is free again once that graph's
backward pass has run or the graph is gone. While it is lent, a request gets a fresh tensor instead, so
results never depend on it. A backward pass through a graph whose buffer was lent again since (a second
backward with `retain_graph=True` after another forward) raises instead of reading overwritten values.
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
        self.generation = 0  # counts the loans

    def _free(self) -> bool:
        return not self._lent or self._holder is None or self._holder() is None

    def borrow(self, shape: tuple[int, ...], like: Tensor, holder: object) -> tuple[Tensor, int | None]:
        """An uninitialised tensor of `shape` (dtype and device of `like`) for `holder` (the autograd ctx),
        and the loan's generation, or None where the buffer is lent and a fresh tensor is returned."""
        if not self._free():
            return like.new_empty(shape), None
        numel = math.prod(shape)
        buffer = self._buffer
        if buffer is None or buffer.numel() < numel or buffer.dtype != like.dtype or buffer.device != like.device:
            buffer = self._buffer = like.new_empty(numel)
        self._holder, self._lent = weakref.ref(holder), True
        self.generation += 1
        return buffer[:numel].view(shape), self.generation

    def give_back(self, generation: int | None) -> None:
        """End a loan from `borrow` (in the backward pass); raises if the buffer was lent again since."""
        if generation is None:
            return
        if generation != self.generation:
            raise RuntimeError(
                "backward pass through a fused step loop whose saved buffer was reused by a later forward pass "
                "(a second backward with retain_graph=True): run backward before the next forward"
            )
        self._lent = False

    def clear(self) -> None:
        """Drop the buffer (its memory returns to the system once no graph holds it)."""
        self._buffer, self._holder, self._lent = None, None, False
