"""A buffer reused from one training step to the next, for what a fused step loop keeps for its backward pass.

A CPU allocation of tens of MiB comes fresh from the operating system each time (glibc hands it out with
mmap), and every first write to one of its pages costs a page fault: for the additive loop's tanh outputs,
(T, B, S, A) floats per batch, that was as slow as the arithmetic itself. A `Workspace` lends one buffer,
grown to the largest request seen, to one autograd graph at a time, under a lock; while it is lent, a request
gets a fresh tensor instead, so results never depend on it. The loan is sound on its own terms, whatever
autograd does (saved-tensor hooks such as `torch.autograd.graph.save_on_cpu()` skip autograd's version check):

- each lending of a buffer is numbered, and the `Loan` carries its number;
- the loan ends when its holder gives it back (the graph's first backward pass) or when the holder is gone,
  never because another graph gave back its own;
- every backward pass starts with `resume`: it holds the buffer again if nobody borrowed it since its loan
  began, or, if the buffer was lent again since (a second backward with `retain_graph=True` after another
  forward), raises `WorkspaceReusedError` instead of reading overwritten values. A buffer that was replaced
  by a bigger one is never lent again, so a graph whose values live there may always run backward.

A loop without autograd (a teacher-forced pass under `no_grad`) borrows the workspace too, for the length of the
call, for one step's (B, S, A) tanh outputs reused by every step. A search's step does not: it allocates that
buffer afresh (`additive_scan.additive_step`), which with glibc keeping freed memory costs less than a lending.
`release_workspaces()` drops every buffer; training calls it whenever the fused loops go idle (before and after
validation, at the end of fitting and of testing), so a paper-sized buffer is not kept resident through
evaluation.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch import Tensor

_WORKSPACES: weakref.WeakSet[Workspace] = weakref.WeakSet()  # for `release_workspaces`


class WorkspaceReusedError(RuntimeError):
    """A backward pass would read values that a newer forward pass wrote over (see the module docstring)."""


class Loan(NamedTuple):
    """The token of one `Workspace.borrow`: which lending of which buffer it was (both None for a fresh
    tensor, which no other graph can ever write)."""

    buffer: int | None  # the buffer's serial number (a grown buffer gets a new one)
    number: int | None  # which lending of that buffer


FRESH = Loan(None, None)


class Workspace:
    """One reusable buffer, lent to one autograd graph at a time; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: Tensor | None = None
        self._serial = 0  # of the current buffer
        self._lends = 0  # lendings of the current buffer so far
        self._holder: weakref.ref | None = None  # the graph (autograd ctx) holding the loan, or None
        _WORKSPACES.add(self)

    def _held(self) -> bool:
        return self._holder is not None and self._holder() is not None

    def borrow(self, shape: tuple[int, ...], like: Tensor, holder: object) -> tuple[Tensor, Loan]:
        """An uninitialised tensor of `shape` (dtype and device of `like`) for `holder` (the autograd ctx):
        the workspace's buffer if it is free, else a fresh tensor (`FRESH`); and the loan's token."""
        with self._lock:
            if self._held():
                return like.new_empty(shape), FRESH
            numel = math.prod(shape)
            buffer = self._buffer
            if buffer is None or buffer.numel() < numel or buffer.dtype != like.dtype or buffer.device != like.device:
                with torch.inference_mode(False):  # a normal tensor, which training may write after a search
                    self._buffer, self._serial, self._lends = like.new_empty(numel), self._serial + 1, 0
            self._lends += 1
            self._holder = weakref.ref(holder)
            return self._buffer[:numel].view(shape), Loan(self._serial, self._lends)

    def resume(self, loan: Loan, holder: object) -> None:
        """At the start of a backward pass: hold the buffer for `holder` again, or raise `WorkspaceReusedError`
        if it was lent to another graph since `loan` began."""
        if loan.number is None:
            return
        with self._lock:
            if loan.buffer != self._serial:
                return  # a replaced buffer, never lent again: the values are intact
            if self._lends != loan.number:
                raise WorkspaceReusedError(
                    "the fused decoder loop's workspace was lent to a newer forward pass since this graph's "
                    "backward pass last ran, and its saved values were overwritten (a second backward with "
                    "retain_graph=True after another forward). Run every backward of a graph before the next "
                    "forward pass, or run the model with stepwise=True."
                )
            self._holder = weakref.ref(holder)

    def give_back(self, loan: Loan) -> None:
        """End `loan` (at the end of the backward pass); only the loan that holds the buffer ends it."""
        with self._lock:
            if loan.number is not None and (loan.buffer, loan.number) == (self._serial, self._lends):
                self._holder = None

    @contextlib.contextmanager
    def lent_for_call(self, shape: tuple[int, ...], like: Tensor) -> Iterator[Tensor]:
        """`borrow` for the length of a `with` block and give back at its end, for work that keeps nothing for a
        backward pass (a loop under `no_grad`): the buffer if it is free, else a fresh tensor."""
        holder = _CallHolder()
        tensor, loan = self.borrow(shape, like, holder)
        try:
            yield tensor
        finally:
            self.give_back(loan)

    def clear(self) -> None:
        """Drop the buffer (its memory returns to the system once no graph holds it); a graph that holds it
        keeps its values."""
        with self._lock:
            self._buffer, self._serial, self._lends, self._holder = None, self._serial + 1, 0, None

    @property
    def size(self) -> int:
        """Elements in the buffer (0 when there is none)."""
        return 0 if self._buffer is None else self._buffer.numel()


class _CallHolder:
    """The holder of a `lent_for_call` loan (a loan refers to its holder weakly, so it needs an object)."""


def release_workspaces() -> None:
    """Drop the buffer of every workspace (see the module docstring)."""
    for workspace in list(_WORKSPACES):
        workspace.clear()
