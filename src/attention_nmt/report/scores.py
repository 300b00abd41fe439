"""The numbers of a comparison: per arm and per slice (the whole test set, then each non-empty source-length
bucket) the BLEU, its bootstrap confidence interval, and the difference to the `none` arm with its p-value.

How seeds are combined: an arm's BLEU on a slice is the mean over its seeds of each seed's corpus BLEU. The
bootstrap resamples the slice's sentences (B times, fixed seed); on every resample each seed's corpus BLEU is
recomputed and averaged, giving B values of the arm's mean, whose 2.5-97.5 percentiles are the 95% interval.
All arms and seeds are scored on the same resamples, so the difference to `none` (mean minus mean) is paired
and its p-value is `statistics.paired_p_value`. With one seed per arm this is exactly Koehn's (2004) paired
bootstrap on corpus BLEU; the interval covers test-set sampling, not seed-to-seed spread (reported apart as
`seed_sd`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from attention_nmt.evaluation.bleu import bucket_index
from attention_nmt.report.grouping import Arm, Comparison
from attention_nmt.report.statistics import (DEFAULT_RESAMPLES, DEFAULT_SEED, bleu_for_signature, corpus_bleu,
                                             paired_p_value, percentile_interval, resample_counts, resampled_bleu,
                                             sentence_stats)

ALL = "all"
REPORTED_TOLERANCE = 0.01  # BLEU points between results.json and the recomputation before a warning


@dataclass
class SliceScore:
    """One arm on one slice of the test set."""

    label: str  # "all" or a bucket label such as "51+"
    lower: Optional[int]
    upper: Optional[int]
    n: int  # sentences
    bleu: float  # mean over seeds of corpus BLEU
    ci: tuple[float, float]
    seed_bleus: list[float]
    delta: Optional[float] = None  # bleu minus the baseline's; None for `none` itself or without a baseline
    delta_ci: Optional[tuple[float, float]] = None
    p_value: Optional[float] = None

    @property
    def seed_sd(self) -> Optional[float]:
        return float(np.std(self.seed_bleus, ddof=1)) if len(self.seed_bleus) > 1 else None


@dataclass
class ArmScores:
    arm: Arm
    baseline: Optional[str]  # label of the `none` arm it is compared with
    num_parameters: list[int]  # distinct counts among its runs (one, normally)
    slices: list[SliceScore] = field(default_factory=list)  # ALL first, then buckets in length order

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


def score_comparison(comparison: Comparison, resamples: int = DEFAULT_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> ComparisonScores:
    """BLEU, intervals, differences and p-values of every arm on every slice (module docstring)."""
    bleu = bleu_for_signature(comparison.signature, [row["reference"] for row in comparison.rows])
    runs = [run for arm in comparison.arms for run in arm.runs]
    systems = sentence_stats(bleu, [[r["hypothesis"] for r in run.rows] for run in runs])
    stats = {id(run): system for run, system in zip(runs, systems)}
    arms = [ArmScores(arm, getattr(comparison.baseline(arm), "label", None),
                      sorted({int(r.results.get("num_parameters", 0)) for r in arm.runs})) for arm in comparison.arms]
    slices = slices_of(comparison)
    for position, (bucket, members) in enumerate(slices):
        counts = resample_counts(len(members), resamples, np.random.default_rng([seed, position]))
        samples = {}
        for scores in arms:
            per_seed = [stats[id(run)][members] for run in scores.arm.runs]
            seed_bleus = [corpus_bleu(bleu, s.sum(0)) for s in per_seed]
            samples[scores.arm.label] = np.mean([resampled_bleu(bleu, s, counts) for s in per_seed], axis=0)
            scores.slices.append(SliceScore(bucket["label"], bucket["lower"], bucket["upper"], len(members),
                                            float(np.mean(seed_bleus)), percentile_interval(samples[scores.arm.label]),
                                            seed_bleus))
        for scores in arms:
            if scores.baseline is not None:
                mine, base = scores.slices[-1], next(a for a in arms if a.arm.label == scores.baseline).slices[-1]
                differences = samples[scores.arm.label] - samples[scores.baseline]
                mine.delta, mine.delta_ci = mine.bleu - base.bleu, percentile_interval(differences)
                mine.p_value = paired_p_value(differences)
    labels = {bucket["label"] for bucket, _ in slices}
    empty = [b["label"] for b in comparison.buckets if b["label"] not in labels]
    return ComparisonScores(comparison, arms, resamples, seed, empty, _repeated_seeds(arms) + _disagreements(arms))


def _repeated_seeds(arms: list[ArmScores]) -> list[str]:
    """Arms averaging two runs with the same seed (e.g. a train run and an evaluate run of its checkpoint)."""
    warnings = []
    for scores in arms:
        seeds = scores.arm.seeds
        for repeated in sorted({str(s) for s in seeds if seeds.count(s) > 1}):
            paths = ", ".join(str(r.path) for r in scores.arm.runs if str(r.seed) == repeated)
            warnings.append(f"{scores.arm.label}: seed {repeated} appears in several runs ({paths}); they are "
                            "averaged as if they were different seeds. Leave one out if they repeat each other.")
    return warnings


def _disagreements(arms: list[ArmScores]) -> list[str]:
    """Runs whose results.json BLEU differs from the recomputation (e.g. hypotheses.tsv edited by hand)."""
    warnings = []
    for scores in arms:
        for i, run in enumerate(scores.arm.runs):
            test = run.results["test"]
            reported = {ALL: test["bleu"], **{b["label"]: b["bleu"] for b in test["buckets"]}}
            for piece in scores.slices:
                if abs(reported.get(piece.label, piece.seed_bleus[i]) - piece.seed_bleus[i]) > REPORTED_TOLERANCE:
                    warnings.append(f"{run.path}: results.json gives BLEU {reported[piece.label]:.2f} on "
                                    f"{piece.label} but its hypotheses.tsv scores {piece.seed_bleus[i]:.2f}; "
                                    "the report uses the latter.")
    return warnings
