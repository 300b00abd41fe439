"""What a test pass records about attention, for the report: the word-level attention of a few test
sentences (attention.json in the run folder) and, where the corpus has gold alignments (synthetic tasks),
the alignment error rate overall and per source-length bucket (results.json, `test.aer`).

Heatmap sentences are translated with the run's decoding settings, as in hypotheses.tsv. AER is
measured under forced decoding of the reference (Luong et al. 2015, section 5.3), so every target word
has a gold link to compare with. `attention=none` has no attention: nothing is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from attention_nmt.data.batching import collate
from attention_nmt.data.datamodule import EncodedSplit
from attention_nmt.data.tokenization import SPECIAL_IDS
from attention_nmt.evaluation.aer import AERCounts, argmax_links, corpus_aer, parse_pharaoh
from attention_nmt.evaluation.alignments import fold_to_words, words
from attention_nmt.evaluation.bleu import bucket_index, make_buckets
from attention_nmt.evaluation.results import write_text_atomically

ATTENTION_FILE = "attention.json"


def pick_by_length(src_words: Sequence[int], n: int, max_words: int) -> list[int]:
    """n sentence indices spread evenly over the length range (shortest to longest up to max_words)."""
    candidates = sorted((length, i) for i, length in enumerate(src_words) if length <= max_words)
    if not candidates or n <= 0:
        return []
    positions = np.linspace(0, len(candidates) - 1, num=min(n, len(candidates))).round().astype(int)
    return [candidates[p][1] for p in dict.fromkeys(positions.tolist())]


def word_attention(
    weights: np.ndarray, src_ids: Sequence[int], trg_ids: Sequence[int], tokenizers: tuple[Tokenizer, Tokenizer]
) -> tuple[np.ndarray, list[str], list[str]]:
    """(target pieces, source pieces) weights -> (target words, source words) matrix and the two word lists.
    `src_ids`/`trg_ids` include their final </s>, which stays a word of its own."""
    src_pieces = [tokenizers[0].id_to_token(t) for t in src_ids]
    trg_pieces = [tokenizers[1].id_to_token(t) for t in trg_ids]
    matrix = fold_to_words(weights[: len(trg_pieces), : len(src_pieces)], src_pieces, trg_pieces)
    return matrix, words(src_pieces), words(trg_pieces)


@torch.inference_mode()
def heatmap_sentences(
    module: Any, data: EncodedSplit, chosen: Sequence[int], beam_size: int | None = None
) -> list[dict[str, Any]]:
    """The chosen sentences translated by `module` (a TranslationModule; beam size: the run's decoding
    setting unless given) with their word attention; empty for attention=none."""
    if not chosen:
        return []
    batch = collate([data[i] for i in chosen], SPECIAL_IDS.pad, SPECIAL_IDS.bos)
    batch = batch._replace(src=batch.src.to(module.device), src_lengths=batch.src_lengths.to(module.device))
    hyps = module.translate(batch, beam_size=beam_size or module.decoding.beam_size)
    out = []
    for i, hyp in zip(chosen, hyps):
        if hyp.weights is None:
            return []
        trg_ids = [*hyp.tokens, SPECIAL_IDS.eos]
        matrix, src_words, trg_words = word_attention(
            hyp.weights.float().cpu().numpy(), data.src_ids[i], trg_ids, module.tokenizers
        )
        out.append(
            {
                "index": i,
                "source_words": src_words,
                "target_words": trg_words,
                "weights": np.round(matrix, 4).tolist(),
                "source": data.sources[i],
            }
        )
    return out


@torch.inference_mode()
def forced_aer(
    module: Any, data: EncodedSplit, bucket_edges: Sequence[int], batch_size: int = 200
) -> dict[str, Any] | None:
    """AER of the attention when the model is forced to produce each reference; None without gold alignments
    or without attention. Returns {"aer", "links", "buckets": [{"label", "lower", "upper", "n", "aer"}]}."""
    if data.alignments is None:
        return None
    buckets = make_buckets(list(bucket_edges))
    per_bucket = [AERCounts() for _ in buckets]
    for start in range(0, len(data), batch_size):
        index = list(range(start, min(start + batch_size, len(data))))
        batch = collate([data[i] for i in index], SPECIAL_IDS.pad, SPECIAL_IDS.bos)
        _, weights = module.model(
            batch.src.to(module.device), batch.src_lengths.to(module.device), batch.trg_input.to(module.device)
        )
        if weights is None:
            return None
        weights = weights.float().cpu().numpy()
        for row, i in enumerate(index):
            b = bucket_index(data.src_words[i], bucket_edges)
            per_bucket[b] = per_bucket[b] + sentence_aer(weights[row], data, i, module.tokenizers, "test")
    total = corpus_aer(per_bucket)
    return {
        "aer": total.aer,
        "links": total.sure,
        "buckets": [
            {
                "label": bucket.label,
                "lower": bucket.lower,
                "upper": bucket.upper,
                "n": counts.sure,
                "aer": counts.aer if counts.sure else None,
            }
            for bucket, counts in zip(buckets, per_bucket)
        ],
    }


def sentence_aer(
    weights: np.ndarray, data: EncodedSplit, i: int, tokenizers: tuple[Tokenizer, Tokenizer], split: str
) -> AERCounts:
    """AER set sizes of pair `i` of `data` (which has gold alignments): the argmax word links of its
    teacher-forced weights (target pieces, source pieces) against the gold links."""
    matrix, src_words, trg_words = word_attention(weights, data.src_ids[i], data.trg_ids[i], tokenizers)
    # Drop the </s> row and column: only real words have gold links.
    predicted = argmax_links(matrix[: len(trg_words) - 1, : len(src_words) - 1])
    return AERCounts.of(predicted, parse_pharaoh(data.alignments[i], where=f"{split} pair {i}: alignment"))


def write_attention(run_dir: Path, sentences: list[dict[str, Any]]) -> Path | None:
    """attention.json with the heatmap sentences (atomic write); nothing for a run without attention."""
    if not sentences:
        return None
    path = Path(run_dir) / ATTENTION_FILE
    write_text_atomically(path, json.dumps({"sentences": sentences}))
    return path
