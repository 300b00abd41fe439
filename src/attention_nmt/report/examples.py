"""Example translations: a few test sentences of each length bucket with the source, the reference and every arm's
hypothesis side by side, so a reader sees what the BLEU numbers mean (where `none` stops early or wanders).

The sentences are the same for every arm (the comparison's runs translated the same test set), spread evenly over
each bucket's sentences in test-set order; each arm shows one run's hypothesis, the run of its lowest seed, and
its column names that seed.
"""

from __future__ import annotations

import numpy as np

from attention_nmt.report.grouping import Comparison
from attention_nmt.report.scores import slices_of
from attention_nmt.report.tables import Table

DEFAULT_PER_BUCKET = 2
CAPTION = (
    "Example translations: the same test sentences for every arm, {n} per length bucket (each arm's run with its "
    "lowest seed, named in its column)"
)


def example_indices(comparison: Comparison, per_bucket: int = DEFAULT_PER_BUCKET) -> list[tuple[str, int]]:
    """(bucket label, sentence index) for `per_bucket` sentences spread evenly over each non-empty bucket."""
    chosen = []
    for bucket, members in slices_of(comparison)[1:]:  # [0] is the whole test set
        picks = np.unique(np.linspace(0, len(members) - 1, min(per_bucket, len(members))).round().astype(int))
        chosen += [(bucket["label"], int(members[p])) for p in picks]
    return chosen


def examples_table(comparison: Comparison, per_bucket: int = DEFAULT_PER_BUCKET) -> Table:
    """bucket, sentence number, source words, source, reference, then one hypothesis column per arm."""
    firsts = [min(arm.runs, key=lambda r: (r.seed is None, r.seed or 0)) for arm in comparison.arms]
    arms = zip(comparison.arms, firsts)
    named = [arm.label if run.seed is None else f"{arm.label} (seed {run.seed})" for arm, run in arms]
    headers = ["bucket", "sentence", "words", "source", "reference", *named]
    rows = []
    for label, i in example_indices(comparison, per_bucket):
        row = comparison.rows[i]
        hypotheses = [run.rows[i]["hypothesis"] for run in firsts]
        rows.append([label, str(i), str(row["src_words"]), row["source"], row["reference"], *hypotheses])
    return headers, rows
