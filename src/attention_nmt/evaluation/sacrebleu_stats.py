"""The one place that reaches into sacreBLEU for sufficient statistics.

Exact corpus BLEU and chrF per bucket, summed across DDP ranks and resampled by the report's bootstrap, need
each sentence's n-gram statistics and the corpus score of summed statistics. sacreBLEU 2.x computes both
(`_extract_corpus_statistics`, `_compute_score_from_stats`) but exposes them only as private methods, so they
are called here alone, behind two functions, and pyproject pins sacreBLEU to the minor versions tested
(tests/evaluation/test_bleu.py holds every score to the public `corpus_bleu`/`corpus_chrf`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics.base import Metric, Score


def sentence_statistics(
    metric: Metric, hypotheses: Sequence[str], references: Sequence[str] | None = None
) -> list[list[int]]:
    """One row of statistics per hypothesis against its single reference; `references=None` scores against
    the references `metric` was built with (tokenized once, for many systems)."""
    refs = None if references is None else [list(references)]
    return metric._extract_corpus_statistics(list(hypotheses), refs)


def score_from_statistics(metric: Metric, summed: Sequence[int]) -> float:
    """The corpus score of summed statistics, exactly as sacreBLEU's corpus_score computes it."""
    return float(score_object_from_statistics(metric, summed).score)


def score_object_from_statistics(metric: Metric, summed: Sequence[int]) -> Score:
    """sacreBLEU's score object of summed statistics (a BLEUScore holds its brevity penalty `bp`, its
    n-gram `precisions`, `sys_len` and `ref_len` beside `score`)."""
    return metric._compute_score_from_stats([int(x) for x in summed])
