"""FLOPs of a benchmark pass, counted by PyTorch's `FlopCounterMode`, and the machine's matrix-multiply peak.

Imported by both workers (ours and Joey's), so it needs torch and the standard library only.

`FlopCounterMode` counts the FLOPs of matrix products (mm, addmm, bmm, baddbmm, convolutions, attention
kernels) as PyTorch dispatches them, in the forward and the backward pass alike, inside custom autograd
Functions too (their forward and backward call aten operators like any other code). It counts 2 FLOPs per
multiply-add and nothing for elementwise work (tanh, softmax, the optimiser), which is the convention of a
matmul peak, so achieved FLOP/s over the peak is the share of the hardware the products get. Its registry
has no matrix-vector products: `mv` and `addmv` (a score v^T tanh(.) over (B, S, A), and its gradient)
would count 0, so they are added here (`MATRIX_VECTOR`), together with `dot`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten


def _mv_flop(matrix_shape, vector_shape, *args, out_shape=None, **kwargs) -> int:
    """(m, n) matrix times (n,) vector: 2 m n."""
    rows, columns = matrix_shape
    return 2 * rows * columns


def _addmv_flop(self_shape, matrix_shape, vector_shape, *args, out_shape=None, **kwargs) -> int:
    return _mv_flop(matrix_shape, vector_shape)


def _dot_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0]


#: formulas FlopCounterMode lacks (torch 2.4-2.13), passed as its `custom_mapping`
MATRIX_VECTOR = {
    aten.mv: _mv_flop,
    aten.addmv: _addmv_flop,
    aten.addmv_: _addmv_flop,
    aten.dot: _dot_flop,
    aten.vdot: _dot_flop,
}


def counter() -> FlopCounterMode:
    """A silent `FlopCounterMode` that also counts matrix-vector products."""
    return FlopCounterMode(display=False, custom_mapping=MATRIX_VECTOR)


def count(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one benchmark pass (`run` returns {"work", "seconds"}) under the counter. Returns the pass's FLOPs,
    its work (target tokens or sentences) and the FLOPs per operator. A decoding pass (`run.inference` set by the
    worker) is counted without autograd: Joey's search encodes with gradients on, which the counter's module
    tracker cannot follow; the products, and so the count, are the same either way."""
    with counter() as mode, torch.no_grad() if getattr(run, "inference", False) else contextlib.nullcontext():
        result = run()
    by_op = {str(op): flops for op, flops in mode.get_flop_counts().get("Global", {}).items()}
    return {"flops": mode.get_total_flops(), "work": result["work"], "by_op": by_op}


def matmul_pass(m: int, k: int, n: int, dtype: str = "fp32", seconds: float = 0.5) -> Callable[[], dict[str, Any]]:
    """One repeat of the peak measurement: (m, k) @ (k, n) products into a preallocated output for about
    `seconds`. Returns a function giving {"work": FLOPs done, "seconds"}, the shape a benchmark row's pass has."""
    torch.manual_seed(0)
    kind = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(m, k, dtype=kind), torch.randn(k, n, dtype=kind)
    out = torch.empty(m, n, dtype=kind)
    flops_each = 2 * m * k * n

    def one_pass() -> dict[str, Any]:
        done, start = 0, time.perf_counter()
        while True:
            torch.mm(a, b, out=out)
            done += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return {"work": done * flops_each, "seconds": elapsed}

    for _ in range(3):  # warm-up: the library picks its kernel and touches the memory
        torch.mm(a, b, out=out)
    return one_pass
