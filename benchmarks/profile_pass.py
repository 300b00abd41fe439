"""Where one benchmark pass spends its time: matrix products, the other operators, and the framework around them.

`profile(run)` times one pass, then runs it again under `torch.profiler` and sums each operator's own time
(self CPU time, children excluded). Shares are of the unprofiled pass's wall time:
- **matrix products**: mm, addmm, bmm, baddbmm, mv, addmv, dot: what the matmul peak bounds;
- **other operators**: every other aten operator (elementwise math, softmax, copies, indexing, reductions);
- **framework**: the rest, the Python around the operators, the dispatcher and the autograd engine's bookkeeping.
The profiler slows every operator a little, so the operators' shares are upper bounds and the framework's a
lower one. Needs torch only (imported by our worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.profiler import ProfilerActivity
from torch.profiler import profile as torch_profile

MATRIX_PRODUCTS = frozenset(
    f"aten::{name}" for name in ("mm", "addmm", "bmm", "baddbmm", "mv", "addmv", "addmv_", "dot", "vdot")
)


def split(events: list[tuple[str, float, int]], seconds: float, top: int = 8) -> dict[str, Any]:
    """Shares of `seconds` from (operator name, self seconds, calls) triples; the `top` operators by own time."""
    matmul = sum(s for name, s, _ in events if name in MATRIX_PRODUCTS)
    other = sum(s for name, s, _ in events if name.startswith("aten::") and name not in MATRIX_PRODUCTS)
    ranked = sorted((e for e in events if e[0].startswith("aten::")), key=lambda e: -e[1])[:top]
    return {
        "seconds": seconds,
        "matmul_share": matmul / seconds,
        "other_share": other / seconds,
        "framework_share": max(0.0, 1.0 - (matmul + other) / seconds),
        "top": [{"op": name, "share": s / seconds, "calls": calls} for name, s, calls in ranked],
    }


def profile(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Time one pass of `run`, profile a second, and return `split` of the first's wall time."""
    seconds = run()["seconds"]
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = [(e.key, e.self_cpu_time_total / 1e6, e.count) for e in prof.key_averages()]
    return split(events, seconds)
