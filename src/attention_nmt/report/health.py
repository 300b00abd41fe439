"""Curve flags the verdict reads: whether a run's validation curve says it was still rising or had diverged
when training stopped, from its `csv/metrics.csv` (`curves.read_curve`).

- still rising: its best validation BLEU is its last validation (the best checkpoint is the last one), or over
  the last quarter of its updates it gained more than a quarter of its final validation BLEU (its BLEU at 3/4
  of the updates interpolated linearly between validations; skipped when the first validation came later).
- diverged: its final validation BLEU is below 80% of its peak, or its validation loss rose over the last
  third of its validations (from the validation at 2/3 of them to the last; needs three validations).

Each flag is one run's (with several seeds per arm, the seed is named) and carries its numbers in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attention_nmt.report.curves import Curve, metrics_csv, read_curve

STILL_RISING, DIVERGED = "still rising", "diverged"
LAST_SHARE = 0.25  # the last quarter of training, and the share of the final BLEU gained in it
PEAK_SHARE = 0.8  # a final validation BLEU below this share of the peak has diverged
LOSS_WINDOW = 1 / 3  # the last third of the validations, over which the loss must not rise


@dataclass
class CurveFlag:
    """One run's curve flag: `kind` STILL_RISING or DIVERGED, `reasons` the numbers behind it."""

    arm: str
    kind: str
    reasons: list[str]
    seed: Any | None = None  # named when its arm has several seeds

    @property
    def who(self) -> str:
        return self.arm if self.seed is None else f"{self.arm} (seed {self.seed})"

    def text(self) -> str:
        return f"{self.who} {self.kind} ({'; '.join(self.reasons)})"


def _updates(value: float) -> str:
    return f"update {value:,.0f}"


def _known(updates: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(values)
    return updates[keep], values[keep]


def rising_reasons(curve: Curve) -> list[str]:
    """Why the run was still rising when it stopped (module docstring); empty when it was not."""
    updates, bleu = _known(curve.updates, curve.bleu)
    if len(updates) < 2:
        return []
    reasons = []
    if bleu[-1] > bleu[:-1].max():
        reasons.append(f"its best validation BLEU, {bleu[-1]:.2f}, is its last validation, at {_updates(updates[-1])}")
    start = (1 - LAST_SHARE) * updates[-1]
    if updates[0] <= start:
        before, final = float(np.interp(start, updates, bleu)), float(bleu[-1])
        if final > 0 and final - before > LAST_SHARE * final:
            reasons.append(
                f"validation BLEU rose from {before:.2f} to {final:.2f} over the last quarter of training, more "
                f"than a quarter of its final value"
            )
    return reasons


def divergence_reasons(curve: Curve) -> list[str]:
    """Why the run had diverged when it stopped (module docstring); empty when it had not."""
    reasons = []
    updates, bleu = _known(curve.updates, curve.bleu)
    if len(updates) >= 2:
        peak = int(np.argmax(bleu))
        if bleu[peak] > 0 and bleu[-1] < PEAK_SHARE * bleu[peak]:
            reasons.append(
                f"validation BLEU peaked at {bleu[peak]:.2f} at {_updates(updates[peak])} and ended at "
                f"{bleu[-1]:.2f} at {_updates(updates[-1])}, below {PEAK_SHARE:.0%} of its peak"
            )
    updates, loss = _known(curve.updates, curve.loss)
    if len(updates) >= 3:
        start = int(np.floor((len(updates) - 1) * (1 - LOSS_WINDOW)))
        if loss[-1] > loss[start]:
            reasons.append(
                f"validation loss rose from {loss[start]:.2f} at {_updates(updates[start])} to {loss[-1]:.2f} "
                f"at {_updates(updates[-1])}, over the last third of its validations"
            )
    return reasons


def curve_flags(arm: str, curve: Curve, seed: Any | None = None) -> list[CurveFlag]:
    """The flags of one run's curve: diverged first, then still rising."""
    found = [(DIVERGED, divergence_reasons(curve)), (STILL_RISING, rising_reasons(curve))]
    return [CurveFlag(arm, kind, reasons, seed) for kind, reasons in found if reasons]


def arm_flags(arms: Sequence[tuple[str, Sequence[tuple[Any, Path]]]]) -> list[CurveFlag]:
    """Every flag of the runs of `arms` ((label, [(seed, run folder)])) that logged validations; a run's seed
    is named when its arm has several runs."""
    flags = []
    for label, runs in arms:
        for seed, folder in runs:
            path = metrics_csv(folder)
            curve = read_curve(path) if path is not None else None
            if curve is not None:
                flags += curve_flags(label, curve, seed if len(runs) > 1 else None)
    return flags
