"""The machine's matrix-multiply peak, measured in the benchmark's own run (ours side, fresh process per shape).

Two shapes, each at every thread count and precision of the run:
- a large square product (2,048 cubed), what the library reaches at its best;
- the decoder's per-step shape, batch x (input + hidden) by 3 x hidden (64 x 896 by 896 x 768 at the
  benchmark's sizes: GRU input E y and c_i, 128 + 512, plus the state, 256; three gates of 256): the size of
  product a recurrent step can offer, and the peak the training rows are held to (`step_peak`).
Each figure is the median GFLOP/s over the repeats, a repeat being back-to-back products for about half a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import runner


@dataclass
class Peak:
    """GFLOP/s of (m, k) @ (k, n) in `dtype` at `threads` threads; `shape` names it ("square", "step")."""

    shape: str
    m: int
    k: int
    n: int
    dtype: str
    threads: int
    gflops: float


def shapes(batch_size: int, embedding: int, hidden: int, encoder_size: int, quick: bool) -> dict[str, tuple]:
    """(m, k, n) of the square and the per-step product; tiny ones with `quick`."""
    if quick:
        return {"square": (64, 64, 64), "step": (batch_size, 32, 48)}
    return {"square": (2048, 2048, 2048), "step": (batch_size, embedding + encoder_size + hidden, 3 * hidden)}


def measure(
    ours: runner.Side, sizes: dict[str, tuple], threads: list[int], dtypes: list[str], repeats: int, quick: bool
) -> list[Peak]:
    """Every shape at every thread count and precision."""
    seconds = 0.05 if quick else 0.5
    peaks = []
    for count in threads:
        for dtype in dtypes:
            for name, (m, k, n) in sizes.items():
                setup = {"kind": "matmul", "m": m, "k": k, "n": n, "dtype": dtype, "seconds": seconds}
                rate = runner.measure([ours], setup, count, repeats)["ours"].rate
                peaks.append(Peak(name, m, k, n, dtype, count, rate / 1e9))
    return peaks


def step_peak(peaks: list[Peak], threads: int, dtype: str) -> float | None:
    """The per-step shape's GFLOP/s at these threads and precision, or None where it was not measured."""
    found = [p.gflops for p in peaks if p.shape == "step" and p.threads == threads and p.dtype == dtype]
    return found[0] if found else None


def describe(peaks: list[Peak]) -> str:
    """The lines printed above the tables."""
    lines = ["Matrix-multiply peak (GFLOP/s, median of the repeats, this run):"]
    for p in peaks:
        lines.append(f"- {p.dtype}, {p.threads} thread(s), {p.shape} {p.m} x {p.k} by {p.k} x {p.n}: {p.gflops:.1f}")
    return "\n".join(lines)
