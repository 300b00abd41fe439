"""BLEU per source-length bucket as a torchmetrics `Metric` whose states are sacreBLEU's n-gram statistics.

Each sentence is scored by sacreBLEU into [hyp_len, ref_len, correct_1..4, total_1..4]; the metric sums
those per bucket. Sums of counts are exact under DDP (each rank holds part of the test set and the
states are added), and corpus BLEU of a bucket computed from its summed statistics is exactly what
`sacrebleu.corpus_bleu` gives on that bucket's sentences. Buckets are by source length in words:
edges [10, 20] give 1-10, 11-20 and 21+.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from sacrebleu.metrics import BLEU
from sacrebleu.metrics.bleu import MAX_NGRAM_ORDER
from torchmetrics import Metric

from attention_nmt.errors import ConfigError

_STATS = 2 + 2 * MAX_NGRAM_ORDER  # hyp_len, ref_len, correct_1..4, total_1..4


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


class BucketedBLEU(Metric):
    """Corpus BLEU overall and per source-length bucket, with sentence counts; DDP-exact.

    update(hypotheses, references, src_words) takes detokenized strings and source lengths in words.
    compute() returns a dict: {"bleu": overall BLEU, "buckets": [{label, lower, upper, n, bleu}]}.
    """

    full_state_update = False

    def __init__(self, bucket_edges: Sequence[int], tokenize: str = "13a") -> None:
        super().__init__()
        self.edges = list(bucket_edges)
        self.buckets = make_buckets(self.edges)
        self.bleu = BLEU(tokenize=tokenize, force=True)
        self.add_state("stats", torch.zeros(len(self.buckets), _STATS, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(len(self.buckets), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, hypotheses: Sequence[str], references: Sequence[str], src_words: Sequence[int]) -> None:
        if not len(hypotheses) == len(references) == len(src_words):
            raise ValueError(f"BucketedBLEU.update: {len(hypotheses)} hypotheses, {len(references)} references "
                             f"and {len(src_words)} source lengths; they must match.")
        if not hypotheses:
            return
        rows = self.bleu._extract_corpus_statistics(list(hypotheses), [list(references)])
        index = torch.tensor([bucket_index(n, self.edges) for n in src_words], device=self.stats.device)
        self.stats.index_add_(0, index, torch.tensor(rows, dtype=torch.long, device=self.stats.device))
        self.counts.index_add_(0, index, torch.ones_like(index))

    def score(self, stats: torch.Tensor) -> float:
        """Corpus BLEU from summed statistics (0.0 for an empty bucket)."""
        if int(stats[0]) == 0 and int(stats[1]) == 0:
            return 0.0
        return float(self.bleu._compute_score_from_stats([int(x) for x in stats]).score)

    def compute(self) -> dict:
        buckets = [
            {"label": b.label, "lower": b.lower, "upper": b.upper, "n": int(n), "bleu": self.score(s)}
            for b, s, n in zip(self.buckets, self.stats, self.counts)
        ]
        return {"bleu": self.score(self.stats.sum(0)), "n": int(self.counts.sum()), "buckets": buckets}

    def signature(self) -> str:
        """sacreBLEU's signature, e.g. nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0."""
        return str(self.bleu.get_signature())
