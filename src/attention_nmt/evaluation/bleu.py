"""BLEU per source-length bucket as a torchmetrics `Metric` whose states are sacreBLEU's n-gram statistics.

Each sentence is scored by sacreBLEU into [hyp_len, ref_len, correct_1..4, total_1..4]; the metric sums
those per bucket. Sums of counts are exact under DDP (each rank holds part of the test set and the
states are added), and corpus BLEU of a bucket computed from its summed statistics is exactly what
`sacrebleu.corpus_bleu` gives on that bucket's sentences. Buckets are by source length in words:
edges [10, 20] give 1-10, 11-20 and 21+.

Beside BLEU, every bucket reports the length ratio (hypothesis words / reference words, BLEU's
sys_len / ref_len with its tokenizer) and, with `chrf=True`, sacreBLEU's chrF, also from summed count
statistics (chrF's character n-gram counts), so both stay exact under DDP too. They tell whether a system
truncates (ratio well below 1) or wanders (above 1) on long sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.bleu import MAX_NGRAM_ORDER
from torchmetrics import Metric

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.sacrebleu_stats import score_from_statistics, sentence_statistics

_STATS = 2 + 2 * MAX_NGRAM_ORDER  # hyp_len, ref_len, correct_1..4, total_1..4
_CHRF_STATS = 3 * CHRF.CHAR_ORDER  # hyp, ref and matching n-grams for each character order (no word n-grams)


@dataclass(frozen=True)
class Bucket:
    label: str  # e.g. "11-20" or "51+"
    lower: int  # smallest source length in words, inclusive
    upper: int | None  # largest, inclusive; None for the open last bucket


def make_buckets(edges: Sequence[int]) -> list[Bucket]:
    """Buckets from increasing upper edges: [10, 20] -> 1-10, 11-20, 21+."""
    edges = list(edges)
    if any(e < 1 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ConfigError(f"evaluation.bucket_edges={edges}: must be positive and strictly increasing.")
    lowers = [1] + [e + 1 for e in edges]
    uppers: list[int | None] = [*edges, None]
    return [Bucket(f"{lo}-{up}" if up is not None else f"{lo}+", lo, up) for lo, up in zip(lowers, uppers)]


def bucket_middles(bounds: Sequence[tuple[int, int | None]]) -> list[float]:
    """x of each (lower, upper) bucket on a length axis: its middle; the open last bucket (51+) is drawn as
    wide as the one before it."""
    middles, width = [], 10
    for lower, upper in bounds:
        if upper is not None:
            width = upper - lower + 1
        middles.append((lower + (upper if upper is not None else lower + width - 1)) / 2)
    return middles


def bucket_index(src_words: int, edges: Sequence[int]) -> int:
    """Index of the bucket holding a source of `src_words` words (0-word sources go to the first)."""
    return sum(src_words > e for e in edges)


def length_ratio(hyp_len: int, ref_len: int) -> float | None:
    """Hypothesis words over reference words (BLEU's sys_len / ref_len); None without reference words."""
    return hyp_len / ref_len if ref_len else None


def chrf_statistics(chrf: CHRF, hypotheses: Sequence[str], references: Sequence[str]) -> list[list[int]]:
    """sacreBLEU's chrF statistics of each hypothesis against its reference (one row per sentence)."""
    return sentence_statistics(chrf, hypotheses, references)


def chrf_from_stats(chrf: CHRF, summed: Sequence[int]) -> float | None:
    """Corpus chrF from summed statistics, exactly as `sacrebleu.corpus_chrf`; None for an empty set."""
    values = [int(x) for x in summed]
    return score_from_statistics(chrf, values) if sum(values) else None


class BucketedBLEU(Metric):
    """Corpus BLEU overall and per source-length bucket, with sentence counts and length ratios; DDP-exact.

    update(hypotheses, references, src_words) takes detokenized strings and source lengths in words.
    compute() returns a dict: {"bleu", "n", "length_ratio", "buckets": [{label, lower, upper, n, bleu,
    length_ratio}]}, plus "chrf" overall and per bucket when built with `chrf=True`. An empty bucket has
    BLEU 0.0 and length ratio (and chrF) None.
    """

    full_state_update = False

    def __init__(self, bucket_edges: Sequence[int], tokenize: str = "13a", chrf: bool = False) -> None:
        super().__init__()
        self.edges = list(bucket_edges)
        self.buckets = make_buckets(self.edges)
        self.bleu = BLEU(tokenize=tokenize, force=True)
        self.chrf = CHRF() if chrf else None
        self.add_state("stats", torch.zeros(len(self.buckets), _STATS, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(len(self.buckets), dtype=torch.long), dist_reduce_fx="sum")
        if self.chrf is not None:
            self.add_state(
                "chrf_stats", torch.zeros(len(self.buckets), _CHRF_STATS, dtype=torch.long), dist_reduce_fx="sum"
            )

    def update(self, hypotheses: Sequence[str], references: Sequence[str], src_words: Sequence[int]) -> None:
        if not len(hypotheses) == len(references) == len(src_words):
            raise ValueError(
                f"BucketedBLEU.update: {len(hypotheses)} hypotheses, {len(references)} references "
                f"and {len(src_words)} source lengths; they must match."
            )
        if not hypotheses:
            return
        rows = sentence_statistics(self.bleu, hypotheses, references)
        index = torch.tensor([bucket_index(n, self.edges) for n in src_words], device=self.stats.device)
        self.stats.index_add_(0, index, torch.tensor(rows, dtype=torch.long, device=self.stats.device))
        self.counts.index_add_(0, index, torch.ones_like(index))
        if self.chrf is not None:
            chrf_rows = chrf_statistics(self.chrf, hypotheses, references)
            self.chrf_stats.index_add_(0, index, torch.tensor(chrf_rows, dtype=torch.long, device=self.stats.device))

    def score(self, stats: torch.Tensor) -> float:
        """Corpus BLEU from summed statistics (0.0 for an empty bucket)."""
        if int(stats[0]) == 0 and int(stats[1]) == 0:
            return 0.0
        return score_from_statistics(self.bleu, stats.tolist())

    def chrf_score(self, stats: torch.Tensor) -> float | None:
        """Corpus chrF from summed chrF statistics (None when the metric has no chrF or the set is empty)."""
        return None if self.chrf is None else chrf_from_stats(self.chrf, stats.tolist())

    def _extras(self, stats: torch.Tensor, chrf_stats: torch.Tensor | None) -> dict:
        """length_ratio (and chrf) of a slice's summed statistics."""
        extras = {"length_ratio": length_ratio(int(stats[0]), int(stats[1]))}
        if chrf_stats is not None:
            extras["chrf"] = self.chrf_score(chrf_stats)
        return extras

    def compute(self) -> dict:
        chrf_stats = list(self.chrf_stats) if self.chrf is not None else [None] * len(self.buckets)
        buckets = [
            {
                "label": b.label,
                "lower": b.lower,
                "upper": b.upper,
                "n": int(n),
                "bleu": self.score(s),
                **self._extras(s, c),
            }
            for b, s, n, c in zip(self.buckets, self.stats, self.counts, chrf_stats)
        ]
        total_chrf = self.chrf_stats.sum(0) if self.chrf is not None else None
        return {
            "bleu": self.score(self.stats.sum(0)),
            "n": int(self.counts.sum()),
            **self._extras(self.stats.sum(0), total_chrf),
            "buckets": buckets,
        }

    def chrf_signature(self) -> str | None:
        """sacreBLEU's chrF signature, e.g. nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0."""
        return str(self.chrf.get_signature()) if self.chrf is not None else None

    def signature(self) -> str:
        """sacreBLEU's signature, e.g. nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0."""
        return str(self.bleu.get_signature())
