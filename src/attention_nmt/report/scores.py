"""The numbers of a comparison: per arm and per slice (the whole test set, then each non-empty source-length
bucket) BLEU, BLEU without the brevity penalty and chrF, each with its bootstrap confidence interval, the
brevity penalty and the length ratio, and the difference in BLEU to the `none` arm with its p-value
(Holm-corrected over the arms on the longest bucket); per arm its drop with length, decomposed (`drops`), and
per attention arm the interaction test.

How seeds are combined: an arm's value on a slice is the mean over its seeds of each seed's corpus value. The
bootstrap resamples the slice's sentences (B times, fixed seed); on every resample each seed's corpus values
are recomputed. With one seed per arm that is the arm's value; with several, each resample also draws the
arm's seeds with replacement and averages the drawn ones (`statistics.seed_weights`), so intervals and p-values
cover seed variation as well (`ComparisonScores.bootstrap` says which; `resample_seeds=False` averages every
seed on every resample instead). The 2.5-97.5 percentiles of the B values are the 95% interval. Each slice
is resampled on its own (stratified by slice); all arms are scored on the same resampled sentences of a
slice, so the difference to `none` is paired and its p-value is `statistics.paired_p_value`. With one seed
per arm this is exactly Koehn's (2004) paired bootstrap on corpus BLEU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sacrebleu.metrics import BLEU

from attention_nmt.evaluation.bleu import bucket_index
from attention_nmt.report.consistency import disagreements, repeated_seeds
from attention_nmt.report.diagnostics import (
    BLEU_KEY,
    BP,
    CHRF_KEY,
    LENGTH_RATIO,
    MEASURES,
    NO_BP,
    RunStats,
    chrf_stats,
    measures,
    resampled_measures,
)
from attention_nmt.report.drops import Drop, Interaction, Sampled, drop_of, interaction_of
from attention_nmt.report.grouping import Arm, Comparison
from attention_nmt.report.statistics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    at_floor,
    bleu_for_signature,
    holm,
    holm_bounds,
    mean_over_drawn_seeds,
    paired_p_value,
    percentile_interval,
    resample_counts,
    seed_weights,
    sentence_stats,
)
from attention_nmt.report.statistics import p_floor as _p_floor

ALL = "all"
REPORTED_TOLERANCE = 0.01  # BLEU points between results.json and the recomputation before a warning
DEFAULT_SHORT_MAX_WORDS = 20  # the short reference slice: sources of 1-20 words
SENTENCES, SEEDS_AND_SENTENCES = "sentences only", "seeds and sentences"  # what the bootstrap resampled
_SHORT_STREAM, _SEED_STREAM = 1000, 2000  # random streams of the short slice and of each arm's seed draws
NAN_CI = (float("nan"), float("nan"))


@dataclass
class SliceScore:
    """One arm on one slice of the test set (every value a mean over the arm's seeds)."""

    label: str  # "all" or a bucket label such as "51+"
    lower: int | None
    upper: int | None
    n: int  # sentences
    bleu: float  # mean over seeds of corpus BLEU
    ci: tuple[float, float]
    seed_bleus: list[float]
    delta: float | None = None  # bleu minus the baseline's; None for `none` itself or without a baseline
    delta_ci: tuple[float, float] | None = None
    p_value: float | None = None
    p_holm: float | None = None  # Holm-corrected over the compared arms; set on the longest bucket only
    chrf: float | None = None  # corpus chrF
    length_ratio: float | None = None  # hypothesis words / reference words
    chrf_ci: tuple[float, float] = NAN_CI
    nobp: float | None = None  # BLEU without the brevity penalty: BLEU / BP, the precision part
    nobp_ci: tuple[float, float] = NAN_CI
    brevity_penalty: float | None = None
    p_bound: bool = False  # p_value sits at the resolution floor of the resamples: an upper bound only
    p_holm_bound: bool = False  # p_holm was taken from such a p-value

    @property
    def seed_sd(self) -> float | None:
        return float(np.std(self.seed_bleus, ddof=1)) if len(self.seed_bleus) > 1 else None

    @property
    def p_decisive(self) -> float | None:
        """The p-value a decision uses: Holm's where there is one, else the raw one."""
        return self.p_holm if self.p_holm is not None else self.p_value


@dataclass
class ArmScores:
    arm: Arm
    baseline: str | None  # label of the `none` arm it is compared with
    num_parameters: list[int]  # distinct counts among its runs (one, normally)
    slices: list[SliceScore] = field(default_factory=list)  # ALL first, then buckets in length order
    drop: Drop | None = None  # None with fewer than two buckets or no short slice below the longest
    interaction: Interaction | None = None  # attention arms with a baseline and a drop only

    @property
    def overall(self) -> SliceScore:
        return self.slices[0]

    @property
    def buckets(self) -> list[SliceScore]:
        return self.slices[1:]

    @property
    def seeds(self) -> int:
        return len(self.arm.runs)


@dataclass
class ComparisonScores:
    comparison: Comparison
    arms: list[ArmScores]
    resamples: int
    seed: int
    empty_buckets: list[str]  # buckets without test sentences, left out of figure and tables
    warnings: list[str]  # e.g. results.json disagreeing with the BLEU recomputed from hypotheses.tsv
    bootstrap: str = SENTENCES  # SENTENCES or SEEDS_AND_SENTENCES
    short_max_words: int = DEFAULT_SHORT_MAX_WORDS  # as asked; the slice used is in each arm's `drop`

    @property
    def p_floor(self) -> float:
        """The smallest p-value these resamples can give (2 / (B + 1))."""
        return _p_floor(self.resamples)


def slices_of(comparison: Comparison) -> list[tuple[dict, np.ndarray]]:
    """(bucket, sentence indices) for the whole test set and each non-empty bucket, in length order."""
    src_words = [row["src_words"] for row in comparison.rows]
    edges = [b["upper"] for b in comparison.buckets[:-1]]
    index = np.array([bucket_index(n, edges) for n in src_words], dtype=np.int64)
    slices = [({"label": ALL, "lower": None, "upper": None}, np.arange(len(src_words)))]
    for i, bucket in enumerate(comparison.buckets):
        members = np.flatnonzero(index == i)
        if len(members):
            slices.append((bucket, members))
    return slices


def short_slice(comparison: Comparison, short_max_words: int, longest: dict) -> tuple[str, np.ndarray]:
    """(label, sentence indices) of the short reference slice: sources of at most `short_max_words` words,
    capped below the longest bucket's lower edge so the two never share a sentence; empty when none fit."""
    limit = min(short_max_words, int(longest["lower"]) - 1)
    src_words = np.array([row["src_words"] for row in comparison.rows], dtype=np.int64)
    members = np.flatnonzero(src_words <= limit) if limit >= 1 else np.zeros(0, dtype=np.int64)
    return f"1-{limit}", members


class _Sampler:
    """Scores an arm on a slice: each seed's values on the slice, the arm's values on each resample."""

    def __init__(self, bleu: BLEU, stats: dict[int, RunStats], weights: dict[str, np.ndarray]) -> None:
        self.bleu, self.stats, self.weights = bleu, stats, weights

    def __call__(self, arm: Arm, members: np.ndarray, counts: np.ndarray) -> Sampled:
        per_seed = [self.stats[id(run)].take(members) for run in arm.runs]
        points = [measures(self.bleu, s) for s in per_seed]
        resampled = [resampled_measures(self.bleu, s, counts) for s in per_seed]
        samples = {
            m: mean_over_drawn_seeds(np.stack([r[m] for r in resampled]), self.weights[arm.label]) for m in MEASURES
        }
        means = {k: _mean([p[k] for p in points]) for k in (*MEASURES, BP, LENGTH_RATIO)}
        return Sampled(means, [p[BLEU_KEY] for p in points], samples)


def _slice_score(bucket: dict, n: int, sampled: Sampled) -> SliceScore:
    points, samples = sampled.points, sampled.samples
    return SliceScore(
        bucket["label"],
        bucket["lower"],
        bucket["upper"],
        n,
        points[BLEU_KEY],
        percentile_interval(samples[BLEU_KEY]),
        sampled.seed_bleus,
        chrf=points[CHRF_KEY],
        length_ratio=points[LENGTH_RATIO],
        chrf_ci=percentile_interval(samples[CHRF_KEY]),
        nobp=points[NO_BP],
        nobp_ci=percentile_interval(samples[NO_BP]),
        brevity_penalty=points[BP],
    )


def score_comparison(
    comparison: Comparison,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    short_max_words: int = DEFAULT_SHORT_MAX_WORDS,
    resample_seeds: bool = True,
) -> ComparisonScores:
    """Values, intervals, differences, p-values, drops and interactions of every arm (module docstring).
    `resample_seeds=False` keeps the sentence-only bootstrap even with several seeds per arm."""
    references = [row["reference"] for row in comparison.rows]
    bleu = bleu_for_signature(comparison.signature, references)
    runs = [run for arm in comparison.arms for run in arm.runs]
    systems = sentence_stats(bleu, [[r["hypothesis"] for r in run.rows] for run in runs])
    stats = {
        id(run): RunStats(system, chrf_stats([r["hypothesis"] for r in run.rows], references))
        for run, system in zip(runs, systems)
    }
    arms = [
        ArmScores(
            arm,
            getattr(comparison.baseline(arm), "label", None),
            sorted({r.results.num_parameters for r in arm.runs}),
        )
        for arm in comparison.arms
    ]
    weights = {
        a.arm.label: seed_weights(
            len(a.arm.runs), resamples, np.random.default_rng([seed, _SEED_STREAM + i]), resample_seeds
        )
        for i, a in enumerate(arms)
    }
    sample = _Sampler(bleu, stats, weights)
    slices = slices_of(comparison)
    longest: dict[str, Sampled] = {}
    for position, (bucket, members) in enumerate(slices):
        counts = resample_counts(len(members), resamples, np.random.default_rng([seed, position]))
        longest = {a.arm.label: sample(a.arm, members, counts) for a in arms}
        for scores in arms:
            scores.slices.append(_slice_score(bucket, len(members), longest[scores.arm.label]))
        for scores in arms:
            if scores.baseline is not None:
                mine, base = scores.slices[-1], _by_label(arms, scores.baseline).slices[-1]
                differences = longest[scores.arm.label].samples[BLEU_KEY] - longest[scores.baseline].samples[BLEU_KEY]
                mine.delta, mine.delta_ci = mine.bleu - base.bleu, percentile_interval(differences)
                mine.p_value = paired_p_value(differences)
                mine.p_bound = at_floor(mine.p_value, resamples)
    if len(slices) > 2:  # the whole set and at least two buckets
        compared = [a.buckets[-1] for a in arms if a.baseline is not None]
        raw = [piece.p_value for piece in compared]
        for piece, p_holm, bound in zip(compared, holm(raw), holm_bounds(raw, resamples)):
            piece.p_holm, piece.p_holm_bound = p_holm, bound
        short = short_slice(comparison, short_max_words, {"lower": arms[0].buckets[-1].lower})
        counts = resample_counts(len(short[1]), resamples, np.random.default_rng([seed, _SHORT_STREAM]))
        _drops(arms, short, counts, longest, sample)
    labels = {bucket["label"] for bucket, _ in slices}
    empty = [b["label"] for b in comparison.buckets if b["label"] not in labels]
    several = resample_seeds and any(len(a.arm.runs) > 1 for a in arms)
    return ComparisonScores(
        comparison,
        arms,
        resamples,
        seed,
        empty,
        repeated_seeds(arms) + disagreements(arms, ALL, REPORTED_TOLERANCE),
        SEEDS_AND_SENTENCES if several else SENTENCES,
        short_max_words,
    )


def _by_label(arms: list[ArmScores], label: str) -> ArmScores:
    return next(a for a in arms if a.arm.label == label)


def _drops(
    arms: list[ArmScores],
    short: tuple[str, np.ndarray],
    counts: np.ndarray,
    longest: dict[str, Sampled],
    sample: _Sampler,
) -> None:
    """Each arm's drop (short slice to longest bucket, `drops`) and each attention arm's interaction, in place.
    `longest` holds the arms' values on the longest bucket, `counts` the short slice's resamples."""
    label, members = short
    if not len(members):
        return
    where = (label, len(members), arms[0].buckets[-1].label, arms[0].buckets[-1].n)
    resampled = {}
    for scores in arms:
        scores.drop, resampled[scores.arm.label] = drop_of(
            sample(scores.arm, members, counts), longest[scores.arm.label], where
        )
    for scores in arms:
        if scores.baseline is not None:
            base = _by_label(arms, scores.baseline)
            scores.interaction = interaction_of(
                base.drop, scores.drop, resampled[scores.baseline][BLEU_KEY], resampled[scores.arm.label][BLEU_KEY]
            )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
