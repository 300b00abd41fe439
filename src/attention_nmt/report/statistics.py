"""Corpus BLEU from sacreBLEU's sufficient statistics, the bootstrap over test sentences (and seeds) built on
it, and Holm's correction of the p-values it gives.

Each sentence is reduced once to sacreBLEU's statistics [hyp_len, ref_len, correct_1..4, total_1..4]; the
BLEU of any multiset of sentences is sacreBLEU's own formula applied to their summed statistics (never an
average of sentence BLEU). A bootstrap resample of a set of S sentences is a vector of S draw counts
(multinomial, summing to S); summed statistics are `counts @ stats`, so every system and seed scored with
the same counts is scored on the same resampled test set, which is what makes the test *paired*
(Koehn 2004, "Statistical significance tests for machine translation evaluation").

With several seeds per arm, each resample also draws the arm's seeds with replacement (`seed_weights`): the
arm's value on that resample is the mean over the drawn seeds, so the spread between training runs widens the
intervals too. With one seed the weights are all 1 and the bootstrap is exactly Koehn's.

Shapes: `S` sentences in a slice, `B` resamples, `R` seeds of an arm, `K = 10` statistics per sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics import BLEU

from attention_nmt.evaluation.sacrebleu_stats import score_from_statistics, sentence_statistics

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345  # sacreBLEU's default bootstrap seed
CONFIDENCE = 0.95


def bleu_for_signature(signature: str, references: Sequence[str] | None = None) -> BLEU:
    """A sacreBLEU scorer configured like the one that wrote `signature` (tok, case, smooth), holding the
    single-reference test set `references` (tokenized once, for every system scored against it)."""
    fields = dict(part.split(":", 1) for part in signature.split("|") if ":" in part)
    return BLEU(
        tokenize=fields.get("tok", "13a"),
        lowercase=fields.get("case") == "lc",
        smooth_method=fields.get("smooth", "exp"),
        force=True,
        references=[list(references)] if references else None,
    )


def sentence_stats(bleu: BLEU, systems: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """[S, K] int64 per system: sacreBLEU's sufficient statistics of each hypothesis against the reference
    `bleu` holds (see `bleu_for_signature`); empty when it holds none (an empty test set)."""
    return [
        np.asarray(sentence_statistics(bleu, hypotheses), dtype=np.int64).reshape(len(hypotheses), -1)
        if len(hypotheses)
        else np.zeros((0, 10), dtype=np.int64)
        for hypotheses in systems
    ]


def corpus_bleu(bleu: BLEU, summed: np.ndarray) -> float:
    """Corpus BLEU from summed statistics [K] (0.0 for an empty set), exactly as sacreBLEU computes it."""
    summed = np.rint(summed).astype(np.int64)
    if summed[0] == 0 and summed[1] == 0:
        return 0.0
    return score_from_statistics(bleu, summed.tolist())


def resample_counts(num_sentences: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[B, S] draw counts of `resamples` bootstrap resamples (with replacement) of S sentences."""
    if num_sentences == 0:
        return np.zeros((resamples, 0), dtype=np.int64)
    return rng.multinomial(num_sentences, np.full(num_sentences, 1.0 / num_sentences), size=resamples)


def resampled_bleu(bleu: BLEU, stats: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[B] corpus BLEU of each resample: stats [S, K], counts [B, S]."""
    summed = counts @ stats  # [B, K]
    return np.array([corpus_bleu(bleu, row) for row in summed])


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central `confidence` percentile interval of bootstrap samples (NaN samples, e.g. the chrF of a
    resample without characters, left out)."""
    tail = (1.0 - confidence) / 2 * 100
    known = samples[~np.isnan(samples)]
    if not len(known):
        return float("nan"), float("nan")
    low, high = np.percentile(known, [tail, 100 - tail])
    return float(low), float(high)


def paired_p_value(differences: np.ndarray) -> float:
    """Two-sided paired-bootstrap p-value of a difference (system minus baseline) from its resampled values:
    twice the smaller share of resamples on either side of zero, ties counting on both sides, +1 smoothed
    (so it is never 0, and exactly 1 when the two systems never differ). Its smallest value is
    `p_floor(B)`: there no resample fell on the other side, and the p-value is only known to be at most that."""
    resamples = len(differences)
    not_above = int(np.sum(differences <= 0))
    not_below = int(np.sum(differences >= 0))
    return min(1.0, 2.0 * (min(not_above, not_below) + 1) / (resamples + 1))


def p_floor(resamples: int) -> float:
    """The smallest p-value B resamples can give, 2 / (B + 1): no resample on the other side of zero."""
    return min(1.0, 2.0 / (resamples + 1))


def at_floor(p_value: float, resamples: int) -> bool:
    """True when `p_value` is the resolution floor of B resamples, so only an upper bound."""
    return p_value <= p_floor(resamples) * (1 + 1e-9)


def seed_weights(num_seeds: int, resamples: int, rng: np.random.Generator, resample: bool = True) -> np.ndarray:
    """[B, R] how often each of R seeds is drawn in each of B resamples (R draws with replacement). With one
    seed, or `resample=False` (sentence-only bootstrap), every seed is drawn once in every resample, so the
    arm's value is the plain mean over its seeds (and `rng` is left untouched)."""
    if num_seeds == 1 or not resample:
        return np.ones((resamples, num_seeds), dtype=np.int64)
    return rng.multinomial(num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=resamples)


def mean_over_drawn_seeds(per_seed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[B] the mean over each resample's drawn seeds: per_seed [R, B] values, weights [B, R] draw counts."""
    if per_seed.shape[0] != weights.shape[1]:
        raise ValueError(f"{per_seed.shape[0]} seeds' values but draw counts for {weights.shape[1]} seeds")
    return np.einsum("rb,br->b", per_seed, weights) / weights.sum(1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's (1979) step-down adjusted p-values, in the order given: the i-th smallest p is multiplied by
    (m - i + 1), capped at 1, and made non-decreasing in that order. Reject where adjusted p < alpha."""
    return [p for p, _ in _holm_steps(p_values)]


def holm_bounds(p_values: Sequence[float], resamples: int) -> list[bool]:
    """For each Holm-adjusted p-value (in the order given): True when it is an upper bound only, because the
    raw p-value it was taken from (the running maximum's) sat at the resolution floor of B resamples."""
    return [at_floor(float(p_values[source]), resamples) for _, source in _holm_steps(p_values)]


def _holm_steps(p_values: Sequence[float]) -> list[tuple[float, int]]:
    """(adjusted p, index of the raw p that set it) for each p-value, in the order given."""
    order = np.argsort(np.asarray(p_values, dtype=float), kind="stable")
    steps: list[tuple[float, int]] = [(0.0, 0)] * len(order)
    running, source = 0.0, 0
    for rank, i in enumerate(order):
        candidate = min(1.0, (len(order) - rank) * float(p_values[i]))
        if candidate > running or rank == 0:
            running, source = candidate, int(i)
        steps[i] = (running, source)
    return steps
