"""Each arm's drop with length, decomposed, and each attention arm's interaction with `none`.

An arm's drop is a measure on a fixed short reference slice (sources of 1 to `short_max_words` words pooled,
capped below the longest bucket) minus the same measure on the longest non-empty bucket, for BLEU, BLEU
without the brevity penalty and chrF, each with its 95% bootstrap interval; beside them the brevity penalty's
share of the BLEU drop (drop(BLEU) - drop(BLEU without BP), with its interval) and the length ratio and BP on
both slices. A drop that lives in the precision part or chrF is a loss of content; one carried by the brevity
penalty alone is a loss of length (shorter output on long sources).

The short slice and the longest bucket are resampled independently (stratified by slice); both arms of a
comparison are scored on the same resamples of each (and the same seed draws), so the interaction
drop(none) - drop(arm) is paired: above 0 when `none` loses more BLEU with length than the attention arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attention_nmt.report.diagnostics import BLEU_KEY, BP, CHRF_KEY, LENGTH_RATIO, MEASURES, NO_BP
from attention_nmt.report.statistics import at_floor, paired_p_value, percentile_interval


@dataclass
class Sampled:
    """One arm on one slice: its point values (mean over seeds of BLEU, BLEU without BP, chrF, BP, length
    ratio), each seed's BLEU, and its [B] resampled values of each measure in MEASURES."""

    points: dict[str, float | None]
    seed_bleus: list[float]
    samples: dict[str, np.ndarray]


@dataclass
class Change:
    """A measure on the short slice and on the longest bucket (means over seeds) and the drop's interval."""

    short: float | None
    long: float | None
    ci: tuple[float, float]

    @property
    def value(self) -> float:
        return float("nan") if self.short is None or self.long is None else self.short - self.long

    @property
    def above_zero(self) -> bool:
        return self.ci[0] > 0


@dataclass
class Drop:
    """An arm's drop from the short slice to the longest bucket, per measure (MEASURES keys in `changes`)."""

    short_label: str  # e.g. "1-20"
    short_n: int
    long_label: str  # e.g. "51+"
    long_n: int
    changes: dict[str, Change] = field(default_factory=dict)
    bp_share_ci: tuple[float, float] = (float("nan"), float("nan"))  # of drop(BLEU) - drop(BLEU without BP)
    short_points: dict[str, float | None] = field(default_factory=dict)  # BP and length ratio on the short slice
    long_points: dict[str, float | None] = field(default_factory=dict)  # and on the longest bucket
    seed_drops: list[float] = field(default_factory=list)  # each seed's BLEU drop, in the arm's seed order

    @property
    def short_bleu(self) -> float:
        return self.changes[BLEU_KEY].short

    @property
    def long_bleu(self) -> float:
        return self.changes[BLEU_KEY].long

    @property
    def ci(self) -> tuple[float, float]:
        return self.changes[BLEU_KEY].ci

    @property
    def value(self) -> float:
        return self.changes[BLEU_KEY].value

    @property
    def bp_share(self) -> float:
        """The BLEU points of the drop that the brevity penalty accounts for."""
        return self.value - self.changes[NO_BP].value

    @property
    def in_content(self) -> bool:
        """The precision part or chrF drops (interval above 0)."""
        return any(self.changes[m].above_zero for m in (NO_BP, CHRF_KEY) if m in self.changes)

    @property
    def in_length(self) -> bool:
        """The brevity penalty takes a share of the BLEU drop (interval above 0)."""
        return self.bp_share_ci[0] > 0


@dataclass
class Interaction:
    """drop(baseline) - drop(arm) in BLEU with its paired-bootstrap interval and two-sided p-value."""

    value: float
    ci: tuple[float, float]
    p_value: float
    p_bound: bool = False  # the p-value sits at the floor of the resamples: an upper bound only

    @property
    def above_zero(self) -> bool:
        return self.ci[0] > 0

    @property
    def below_zero(self) -> bool:
        return self.ci[1] < 0


def drop_of(short: Sampled, long: Sampled, slices: tuple[str, int, str, int]) -> tuple[Drop, dict[str, np.ndarray]]:
    """An arm's drop (module docstring) from its values on the short slice and the longest bucket, and its
    [B] resampled drop per measure. `slices`: (short label, short n, long label, long n)."""
    resampled = {m: short.samples[m] - long.samples[m] for m in MEASURES}
    drop = Drop(
        *slices,
        changes={m: Change(short.points[m], long.points[m], percentile_interval(resampled[m])) for m in MEASURES},
        bp_share_ci=percentile_interval(resampled[BLEU_KEY] - resampled[NO_BP]),
        short_points={k: short.points[k] for k in (BP, LENGTH_RATIO)},
        long_points={k: long.points[k] for k in (BP, LENGTH_RATIO)},
        seed_drops=[s - x for s, x in zip(short.seed_bleus, long.seed_bleus)],
    )
    return drop, resampled


def interaction_of(base: Drop, arm: Drop, base_drops: np.ndarray, arm_drops: np.ndarray) -> Interaction:
    """drop(base) - drop(arm) in BLEU, from the two arms' resampled BLEU drops on the same resamples."""
    differences = base_drops - arm_drops
    p = paired_p_value(differences)
    return Interaction(base.value - arm.value, percentile_interval(differences), p, at_floor(p, len(differences)))
