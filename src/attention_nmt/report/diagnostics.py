"""Why long sentences fail, per slice: sacreBLEU's chrF and the hypothesis/reference length ratio.

Both come from per-sentence count statistics summed over a slice, as corpus BLEU does in `statistics`:
chrF from sacreBLEU's character n-gram counts, the ratio from BLEU's own [hyp_len, ref_len] (words after
BLEU's tokenizer). A ratio well below 1 says a system stops early (truncates), well above 1 that it wanders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics import CHRF

from attention_nmt.evaluation import bleu


def chrf_stats(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """[S, 18] sacreBLEU's chrF statistics of each hypothesis against its reference."""
    if not hypotheses:
        return np.zeros((0, 3 * CHRF.CHAR_ORDER), dtype=np.int64)
    return np.asarray(bleu.chrf_statistics(CHRF(), hypotheses, references), dtype=np.int64)


def corpus_chrf(summed: np.ndarray) -> float | None:
    """Corpus chrF from summed statistics, exactly as `sacrebleu.corpus_chrf`; None for an empty slice."""
    return bleu.chrf_from_stats(CHRF(), summed.tolist())


def length_ratio(bleu_stats: np.ndarray) -> float | None:
    """Hypothesis over reference words of a slice, from BLEU statistics [S, K] (columns hyp_len, ref_len)."""
    return bleu.length_ratio(int(bleu_stats[:, 0].sum()), int(bleu_stats[:, 1].sum()))
