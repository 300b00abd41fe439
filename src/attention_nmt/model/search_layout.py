"""How the model's matrices lie in memory during a greedy search: column-major, so that products read W^T whole.

Every product in the model is x W^T, with W (N, K) as torch stores a Linear's or an RNN's weight, row-major. The
matrix library then multiplies by a transposed view. At the batches a search multiplies, step after step (a few
dozen rows), MKL's GEMM runs 11-21% faster when the right operand is a contiguous (K, N) matrix instead.
This was measured at the benchmark's shapes on an Intel Xeon: 64 x 256 by 256 x 768 took 187 us transposed and
163 us contiguous, and 64 x 256 by 256 x 256 took 84 and 69 us.

So greedy search (`search.greedy_search`) stores each such weight column-major for its duration: the same values
and shape, another order in memory (`W.t().contiguous().t()`). It puts the parameter's own data back when it
returns, on success or on error. Training never sees this layout, so its numbers do not change. A search's can,
in the last bit: on that Xeon MKL summed both layouts in the same order from 16 rows up (every product shape of
the benchmark's models), but below that it picks a small-matrix kernel for each layout. Other CPUs choose their
own kernels. Beam search keeps the row-major layout, for its memory (see `search`). Only the CPU is concerned;
cuBLAS takes either layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


def _product_weights(model: nn.Module) -> list[nn.Parameter]:
    """The matrices the model multiplies as x W^T: Linear weights and RNN weights, not embedding tables
    (a weight tied to an embedding is looked up by row, which the row-major layout serves)."""
    tables = {id(module.weight) for module in model.modules() if isinstance(module, nn.Embedding)}
    found: dict[int, nn.Parameter] = {}
    for module in model.modules():
        if isinstance(module, nn.Linear):
            candidates = [module.weight]
        elif isinstance(module, nn.RNNBase):
            candidates = [p for name, p in module.named_parameters(recurse=False) if name.startswith("weight_")]
        else:
            continue
        for weight in candidates:
            if weight.dim() == 2 and weight.shape[0] > 1 and id(weight) not in tables:
                found[id(weight)] = weight
    return list(found.values())


def is_column_major(weight: Tensor) -> bool:
    """True where W's transpose is the contiguous matrix (a weight laid out by `column_major_weights`)."""
    return weight.dim() == 2 and weight.stride() == (1, weight.shape[0])


@contextmanager
def column_major_weights(model: nn.Module) -> Iterator[None]:
    """Store the model's product weights column-major on the CPU while the block runs, then put them back.

    Nothing else changes: the same parameter objects, shapes and values, so modules, hooks and optimisers that
    hold them see the same parameters. Re-entering leaves weights that are already column-major alone. The
    copies are made outside inference mode, so a search may run in it or not.
    """
    weights = [
        w for w in _product_weights(model) if w.device.type == "cpu" and w.is_contiguous() and not is_column_major(w)
    ]
    saved = [w.data for w in weights]
    try:
        with torch.inference_mode(False), torch.no_grad():
            for weight in weights:
                weight.data = weight.data.t().contiguous().t()
        yield
    finally:
        for weight, data in zip(weights, saved):
            weight.data = data
