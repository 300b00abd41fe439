"""How far an arm's seeds spread: one row per arm with the mean, the standard deviation and the range over its
seeds of its test BLEU, its longest-bucket BLEU and its drop with length, and each seed's value.

The intervals of the other tables already cover seed variation when the bootstrap resamples seeds; this table
shows the raw spread behind them, so a reader sees whether one seed carries an arm. It exists only when some
arm has more than one seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from attention_nmt.report.scores import ArmScores, ComparisonScores
from attention_nmt.report.tables import Table

CAPTION = (
    "Over seeds: each arm's test BLEU, longest-bucket BLEU and drop with length as mean ± standard deviation "
    "(lowest to highest seed), and each seed's value"
)


def spread_text(values: Sequence[float], signed: bool = False) -> str:
    """'19.42 ± 0.61 (18.80 to 20.01)' over several values (signed: '+2.07 ± ...'); the value itself for one;
    '-' for none."""
    if not values:
        return "-"
    form = "{:+.2f}" if signed else "{:.2f}"
    if len(values) == 1:
        return form.format(values[0])
    array = np.asarray(values, dtype=float)
    low, high = form.format(array.min()), form.format(array.max())
    return f"{form.format(array.mean())} ± {array.std(ddof=1):.2f} ({low} to {high})"


def _each_seed(arm: ArmScores, values: Sequence[float], signed: bool = False) -> str:
    form = "{:+.2f}" if signed else "{:.2f}"
    return ", ".join(f"{seed}: {form.format(v)}" for seed, v in zip(arm.arm.seeds, values))


def seeds_table(scores: ComparisonScores) -> Table | None:
    """arm, seeds, then for the whole test set, the longest bucket and the drop: the spread over seeds and each
    seed's value. None when every arm has a single seed."""
    if all(len(a.arm.runs) < 2 for a in scores.arms):
        return None
    longest = scores.arms[0].buckets[-1].label if scores.arms[0].buckets else None
    headers = ["arm", "seeds", "BLEU, all", "each seed, all"]
    if longest is not None:
        headers += [f"BLEU, {longest}", f"each seed, {longest}"]
    measured = any(a.drop is not None and a.drop.seed_drops for a in scores.arms)
    if measured:
        headers += ["drop with length", "each seed's drop"]
    rows = []
    for arm in scores.arms:
        row = [arm.arm.label, str(len(arm.arm.runs))]
        row += [spread_text(arm.overall.seed_bleus), _each_seed(arm, arm.overall.seed_bleus)]
        if longest is not None:
            bucket = arm.buckets[-1].seed_bleus
            row += [spread_text(bucket), _each_seed(arm, bucket)]
        if measured:
            drops = arm.drop.seed_drops if arm.drop is not None else []
            row += [spread_text(drops, signed=True), _each_seed(arm, drops, signed=True) if drops else "-"]
        rows.append(row)
    return headers, rows
