"""What a slice's BLEU is made of: BLEU without its brevity penalty (the geometric mean of the four n-gram
precisions, BLEU / BP), sacreBLEU's chrF, the brevity penalty and the hypothesis/reference length ratio.

All come from per-sentence count statistics summed over a slice, as corpus BLEU does in `statistics`, and are
read off sacreBLEU's own score objects: BLEU, BP and the precisions from one `BLEUScore` of summed BLEU
statistics, chrF from summed character n-gram counts, the ratio from BLEU's [hyp_len, ref_len] (words after
BLEU's tokenizer). A drop in BLEU with length is then either in content (precision, chrF) or in length (a
brevity penalty below 1: the system stops early); a ratio well above 1 says it wanders.

Shapes: `S` sentences, `B` resamples, `K = 10` BLEU statistics and `C = 18` chrF statistics per sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from attention_nmt.evaluation import bleu as bucketed
from attention_nmt.evaluation.sacrebleu_stats import score_object_from_statistics

BLEU_KEY, NO_BP, CHRF_KEY = "bleu", "bleu_nobp", "chrf"  # the measures with bootstrap intervals
MEASURES = (BLEU_KEY, NO_BP, CHRF_KEY)
MEASURE_NAMES = {BLEU_KEY: "BLEU", NO_BP: "BLEU without the brevity penalty", CHRF_KEY: "chrF"}
BP, LENGTH_RATIO = "bp", "length_ratio"  # point values only


@dataclass
class RunStats:
    """One run's sacreBLEU statistics of each test sentence: BLEU [S, K] and chrF [S, C]."""

    bleu: np.ndarray
    chrf: np.ndarray

    def take(self, members: np.ndarray) -> RunStats:
        """The statistics of the sentences `members` only."""
        return RunStats(self.bleu[members], self.chrf[members])


def chrf_stats(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """[S, C] sacreBLEU's chrF statistics of each hypothesis against its reference."""
    if not hypotheses:
        return np.zeros((0, 3 * CHRF.CHAR_ORDER), dtype=np.int64)
    return np.asarray(bucketed.chrf_statistics(CHRF(), hypotheses, references), dtype=np.int64)


def corpus_chrf(summed: np.ndarray) -> float | None:
    """Corpus chrF from summed statistics, exactly as `sacrebleu.corpus_chrf`; None for an empty slice."""
    return bucketed.chrf_from_stats(CHRF(), summed.tolist())


def length_ratio(bleu_stats: np.ndarray) -> float | None:
    """Hypothesis over reference words of a slice, from BLEU statistics [S, K] (columns hyp_len, ref_len)."""
    return bucketed.length_ratio(int(bleu_stats[:, 0].sum()), int(bleu_stats[:, 1].sum()))


def bleu_parts(bleu: BLEU, summed: np.ndarray) -> tuple[float, float, float]:
    """(BLEU, BLEU without the brevity penalty, brevity penalty) of summed BLEU statistics [K], from one
    sacreBLEU `BLEUScore`: BLEU = BP * precision part, so the precision part is BLEU / BP (0 when nothing
    matched, or for an empty set, where BP is taken as 1)."""
    summed = np.rint(summed).astype(np.int64)
    if summed[0] == 0 and summed[1] == 0:
        return 0.0, 0.0, 1.0
    score = score_object_from_statistics(bleu, summed.tolist())
    precision = score.score / score.bp if score.bp > 0 else 0.0
    return float(score.score), float(precision), float(score.bp)


def measures(bleu: BLEU, stats: RunStats) -> dict[str, float | None]:
    """Every measure of one run on a slice (its sentences' statistics summed): BLEU, BLEU without BP, chrF,
    BP and the length ratio."""
    score, precision, bp = bleu_parts(bleu, stats.bleu.sum(0))
    return {
        BLEU_KEY: score,
        NO_BP: precision,
        CHRF_KEY: corpus_chrf(stats.chrf.sum(0)),
        BP: bp,
        LENGTH_RATIO: length_ratio(stats.bleu),
    }


def resampled_measures(bleu: BLEU, stats: RunStats, counts: np.ndarray) -> dict[str, np.ndarray]:
    """{measure: [B]} BLEU, BLEU without BP and chrF of each resample (counts [B, S]); chrF is NaN where a
    resample holds no characters."""
    summed_bleu, summed_chrf = counts @ stats.bleu, counts @ stats.chrf  # [B, K], [B, C]
    parts = np.array([bleu_parts(bleu, row) for row in summed_bleu]).reshape(-1, 3)
    chrf = [corpus_chrf(row) for row in summed_chrf]
    return {
        BLEU_KEY: parts[:, 0],
        NO_BP: parts[:, 1],
        CHRF_KEY: np.array([np.nan if c is None else c for c in chrf], dtype=float),
    }
