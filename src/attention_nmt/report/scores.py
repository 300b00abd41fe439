"""The numbers of a comparison: per arm and per slice (the whole test set, then each non-empty source-length
bucket) the BLEU, its bootstrap confidence interval, chrF and length ratio, and the difference to the `none`
arm with its p-value (Holm-corrected over the arms on the longest bucket); per arm its drop with length, and
per attention arm the interaction test.

How seeds are combined: an arm's BLEU on a slice is the mean over its seeds of each seed's corpus BLEU. The
bootstrap resamples the slice's sentences (B times, fixed seed); on every resample each seed's corpus BLEU is
recomputed. With one seed per arm that is the arm's value; with several, each resample also draws the arm's
seeds with replacement and averages the drawn ones (`statistics.seed_weights`), so intervals and p-values
cover seed variation as well (`ComparisonScores.bootstrap` says which). The 2.5-97.5 percentiles of the B
values are the 95% interval. All arms are scored on the same resampled sentences, so the difference to
`none` is paired and its p-value is `statistics.paired_p_value`. With one seed per arm this is exactly
Koehn's (2004) paired bootstrap on corpus BLEU.

Drop and interaction: an arm's drop is its BLEU on a fixed short reference slice (sources of 1 to
`short_max_words` words pooled, capped below the longest bucket) minus its BLEU on the longest non-empty
bucket. The interaction is drop(none) - drop(arm), computed on every resample from the same resampled
sentences (and the same seed draws) for both slices and both arms: above 0 when `none` loses more with
length than the attention arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from attention_nmt.evaluation.bleu import bucket_index
from attention_nmt.report.diagnostics import chrf_stats, corpus_chrf, length_ratio
from attention_nmt.report.grouping import Arm, Comparison
from attention_nmt.report.statistics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bleu_for_signature,
    corpus_bleu,
    holm,
    mean_over_drawn_seeds,
    paired_p_value,
    percentile_interval,
    resample_counts,
    resampled_bleu,
    seed_weights,
    sentence_stats,
)

ALL = "all"
REPORTED_TOLERANCE = 0.01  # BLEU points between results.json and the recomputation before a warning
DEFAULT_SHORT_MAX_WORDS = 20  # the short reference slice: sources of 1-20 words
SENTENCES, SEEDS_AND_SENTENCES = "sentences only", "seeds and sentences"  # what the bootstrap resampled
_SHORT_STREAM, _SEED_STREAM = 1000, 2000  # random streams of the short slice and of each arm's seed draws


@dataclass
class SliceScore:
    """One arm on one slice of the test set."""

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
    chrf: float | None = None  # mean over seeds of corpus chrF
    length_ratio: float | None = None  # mean over seeds of hypothesis words / reference words

    @property
    def seed_sd(self) -> float | None:
        return float(np.std(self.seed_bleus, ddof=1)) if len(self.seed_bleus) > 1 else None


@dataclass
class Drop:
    """An arm's BLEU on the short reference slice minus its BLEU on the longest bucket (mean over seeds)."""

    short_label: str  # e.g. "1-20"
    short_n: int
    long_label: str  # e.g. "51+"
    long_n: int
    short_bleu: float
    long_bleu: float
    ci: tuple[float, float]

    @property
    def value(self) -> float:
        return self.short_bleu - self.long_bleu


@dataclass
class Interaction:
    """drop(baseline) - drop(arm) with its paired-bootstrap interval and two-sided p-value."""

    value: float
    ci: tuple[float, float]
    p_value: float

    @property
    def above_zero(self) -> bool:
        return self.ci[0] > 0


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


def score_comparison(
    comparison: Comparison,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    short_max_words: int = DEFAULT_SHORT_MAX_WORDS,
    resample_seeds: bool = True,
) -> ComparisonScores:
    """BLEU, intervals, differences, p-values, drops and interactions of every arm (module docstring).
    `resample_seeds=False` keeps the sentence-only bootstrap even with several seeds per arm."""
    references = [row["reference"] for row in comparison.rows]
    bleu = bleu_for_signature(comparison.signature, references)
    runs = [run for arm in comparison.arms for run in arm.runs]
    systems = sentence_stats(bleu, [[r["hypothesis"] for r in run.rows] for run in runs])
    stats = {id(run): system for run, system in zip(runs, systems)}
    chrfs = {id(run): chrf_stats([r["hypothesis"] for r in run.rows], references) for run in runs}
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

    def resampled(scores: ArmScores, members: np.ndarray, counts: np.ndarray) -> tuple[list[float], np.ndarray]:
        """Each seed's corpus BLEU on `members`, and the arm's value on each resample."""
        per_seed = [stats[id(run)][members] for run in scores.arm.runs]
        values = np.stack([resampled_bleu(bleu, s, counts) for s in per_seed])  # [R, B]
        return [corpus_bleu(bleu, s.sum(0)) for s in per_seed], mean_over_drawn_seeds(values, weights[scores.arm.label])

    slices = slices_of(comparison)
    samples: dict[str, np.ndarray] = {}
    for position, (bucket, members) in enumerate(slices):
        counts = resample_counts(len(members), resamples, np.random.default_rng([seed, position]))
        for scores in arms:
            seed_bleus, samples[scores.arm.label] = resampled(scores, members, counts)
            runs_of = scores.arm.runs
            scores.slices.append(
                SliceScore(
                    bucket["label"],
                    bucket["lower"],
                    bucket["upper"],
                    len(members),
                    float(np.mean(seed_bleus)),
                    percentile_interval(samples[scores.arm.label]),
                    seed_bleus,
                    chrf=_mean([corpus_chrf(chrfs[id(r)][members].sum(0)) for r in runs_of]),
                    length_ratio=_mean([length_ratio(stats[id(r)][members]) for r in runs_of]),
                )
            )
        for scores in arms:
            if scores.baseline is not None:
                mine, base = scores.slices[-1], next(a for a in arms if a.arm.label == scores.baseline).slices[-1]
                differences = samples[scores.arm.label] - samples[scores.baseline]
                mine.delta, mine.delta_ci = mine.bleu - base.bleu, percentile_interval(differences)
                mine.p_value = paired_p_value(differences)
    compared = [a for a in arms if a.baseline is not None]
    if len(slices) > 2:  # the whole set and at least two buckets
        for scores, p_holm in zip(compared, holm([a.buckets[-1].p_value for a in compared])):
            scores.buckets[-1].p_holm = p_holm
        short = short_slice(comparison, short_max_words, {"lower": arms[0].buckets[-1].lower})
        counts = resample_counts(len(short[1]), resamples, np.random.default_rng([seed, _SHORT_STREAM]))
        _drops(arms, short, counts, samples, resampled)
    labels = {bucket["label"] for bucket, _ in slices}
    empty = [b["label"] for b in comparison.buckets if b["label"] not in labels]
    several = resample_seeds and any(len(a.arm.runs) > 1 for a in arms)
    return ComparisonScores(
        comparison,
        arms,
        resamples,
        seed,
        empty,
        _repeated_seeds(arms) + _disagreements(arms),
        SEEDS_AND_SENTENCES if several else SENTENCES,
        short_max_words,
    )


def _drops(
    arms: list[ArmScores],
    short: tuple[str, np.ndarray],
    counts: np.ndarray,
    long_samples: dict[str, np.ndarray],
    resampled: Callable,
) -> None:
    """Each arm's drop (short slice minus longest bucket) and each attention arm's interaction, in place.
    `long_samples` are the arms' resampled values on the longest bucket, `counts` the short slice's resamples."""
    label, members = short
    if not len(members):
        return
    longest = arms[0].buckets[-1]
    drops = {}
    for scores in arms:
        seed_bleus, short_samples = resampled(scores, members, counts)
        drops[scores.arm.label] = short_samples - long_samples[scores.arm.label]
        scores.drop = Drop(
            label,
            len(members),
            longest.label,
            longest.n,
            float(np.mean(seed_bleus)),
            scores.buckets[-1].bleu,
            percentile_interval(drops[scores.arm.label]),
        )
    for scores in arms:
        if scores.baseline is not None:
            base = next(a for a in arms if a.arm.label == scores.baseline)
            differences = drops[scores.baseline] - drops[scores.arm.label]
            scores.interaction = Interaction(
                base.drop.value - scores.drop.value, percentile_interval(differences), paired_p_value(differences)
            )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _repeated_seeds(arms: list[ArmScores]) -> list[str]:
    """Arms averaging two runs with the same seed (e.g. a train run and an evaluate run of its checkpoint)."""
    warnings = []
    for scores in arms:
        seeds = scores.arm.seeds
        for repeated in sorted({str(s) for s in seeds if seeds.count(s) > 1}):
            paths = ", ".join(str(r.path) for r in scores.arm.runs if str(r.seed) == repeated)
            warnings.append(
                f"{scores.arm.label}: seed {repeated} appears in several runs ({paths}); they are "
                "averaged as if they were different seeds. Leave one out if they repeat each other."
            )
    return warnings


def _disagreements(arms: list[ArmScores]) -> list[str]:
    """Runs whose results.json BLEU differs from the recomputation (e.g. hypotheses.tsv edited by hand)."""
    warnings = []
    for scores in arms:
        for i, run in enumerate(scores.arm.runs):
            test = run.results.test
            reported = {ALL: test.bleu, **{b.label: b.bleu for b in test.buckets}}
            for piece in scores.slices:
                if abs(reported.get(piece.label, piece.seed_bleus[i]) - piece.seed_bleus[i]) > REPORTED_TOLERANCE:
                    warnings.append(
                        f"{run.path}: results.json gives BLEU {reported[piece.label]:.2f} on "
                        f"{piece.label} but its hypotheses.tsv scores {piece.seed_bleus[i]:.2f}; "
                        "the report uses the latter."
                    )
    return warnings
