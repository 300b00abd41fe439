"""Greedy and batched beam search.

Both decode a whole batch at once, and sentences that are finished leave the batch, so the cost follows
the sentences still being decoded. A hypothesis may hold at most ceil(max_len_ratio * source tokens)
tokens before EOS; at that point EOS is forced. PAD and BOS are never produced.

Greedy search runs with the model's weights stored column-major (`search_layout`), which MKL multiplies faster
at a search's batch sizes. Beam search keeps the row-major layout: it holds K copies of every sentence's
attention memory, and with column-major weights (their copies and MKL's larger buffers for those products) its
peak memory on the benchmark rose by 9-16 MiB, to 1.09-1.17x Joey NMT's. So with beam size 1, beam search makes
the greedy choices up to the last bit of a score, which below 16 rows the two layouts may sum differently.
Shapes: B batch, K beam, S source length, V vocabulary.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import torch
from torch import Tensor

from attention_nmt.model.attention import Memory
from attention_nmt.model.decoder import DecoderState
from attention_nmt.model.search_layout import column_major_weights
from attention_nmt.model.seq2seq import Seq2Seq

_Search = TypeVar("_Search", bound=Callable[..., list])


class Hypothesis(NamedTuple):
    """tokens without BOS/EOS; score the (length-normalised) log-probability; weights (len + 1, S) or None."""

    tokens: list[int]
    score: float
    weights: Tensor | None


def max_output_lengths(src_lengths: Tensor, max_len_ratio: float) -> Tensor:
    """(B,) most tokens a hypothesis may hold before EOS."""
    return (src_lengths.float() * max_len_ratio).ceil().long().clamp(min=1)


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al. 2016: ((5 + |Y|) / 6)^alpha."""
    return ((5.0 + length) / 6.0) ** alpha


def _column_major(search_fn: _Search) -> _Search:
    """Run a search with the model's product weights column-major (`search_layout.column_major_weights`)."""

    @functools.wraps(search_fn)
    def run(model: Seq2Seq, *args, **kwargs) -> list[Hypothesis]:
        with column_major_weights(model):
            return search_fn(model, *args, **kwargs)

    return run  # type: ignore[return-value]


def _next_log_probs(
    model: Seq2Seq, prev: Tensor, state, memory, step: int, max_len: Tensor | None, stepwise: bool
) -> tuple[Tensor, DecoderState, Tensor | None]:
    """One decoder step: log-probabilities (N, V) in fp32 with PAD/BOS banned and EOS forced where a row has
    reached its maximum length `max_len` (N,); None where the caller knows that no row has."""
    logits, state, weights = model.decoder.step(prev, state, memory, stepwise=stepwise)
    log_probs = torch.log_softmax(logits.float(), dim=-1)  # (N, V)
    specials = model.specials
    log_probs[:, specials.pad] = -math.inf
    log_probs[:, specials.bos] = -math.inf
    if max_len is not None:
        forced = step >= max_len  # (N,)
        if forced.any():
            log_probs[forced] = -math.inf
            log_probs[forced, specials.eos] = 0.0
    return log_probs, state, weights


@_column_major
@torch.inference_mode()
def greedy_search(
    model: Seq2Seq, src: Tensor, src_lengths: Tensor, max_len_ratio: float, stepwise: bool = False
) -> list[Hypothesis]:
    """Pick the most probable token at every step. Returns one hypothesis per sentence, in batch order.
    `stepwise` decodes through the model's reference path (what tests hold the fast path to)."""
    _, memory, state = model.start(src, src_lengths, stepwise)
    batch_size, src_len = src.shape
    max_len = max_output_lengths(src_lengths, max_len_ratio).to(src.device)
    eos = model.specials.eos
    alive = torch.arange(batch_size, device=src.device)  # original row of each decoded row
    prev = torch.full((batch_size,), model.specials.bos, dtype=torch.long, device=src.device)
    tokens = torch.full((batch_size, int(max_len.max()) + 1), eos, dtype=torch.long, device=src.device)
    scores = torch.zeros(batch_size, device=src.device)
    weights_out = None
    first_forced = int(max_len.min())  # no row reaches its maximum length before this step
    for step in range(tokens.shape[1]):
        limit = max_len[alive] if step >= first_forced else None
        log_probs, state, weights = _next_log_probs(model, prev, state, memory, step, limit, stepwise)
        best_scores, prev = log_probs.max(dim=-1)  # (N,)
        tokens[alive, step] = prev
        scores[alive] += best_scores
        if weights is not None:
            if weights_out is None:
                weights_out = weights.new_zeros(batch_size, tokens.shape[1], src_len)
            weights_out[alive, step, : weights.shape[1]] = weights
        keep = (prev != eos).nonzero().squeeze(1)
        if keep.numel() == 0:
            break
        if keep.numel() < alive.numel():  # finished sentences leave the batch
            alive, prev = alive[keep], prev[keep]
            state, memory = state.index_select(keep), memory.index_select(keep)
    return [
        _hypothesis(tokens[i], float(scores[i]), None if weights_out is None else weights_out[i], eos)
        for i in range(batch_size)
    ]


def _hypothesis(row: Tensor, score: float, weights: Tensor | None, eos: int) -> Hypothesis:
    """Cut a token row at its first EOS (kept in weights, dropped from tokens)."""
    length = int((row == eos).nonzero()[0, 0]) if (row == eos).any() else row.numel()
    return Hypothesis(row[:length].tolist(), score, None if weights is None else weights[: length + 1])


class _Alive(NamedTuple):
    """The hypotheses still being extended: K rows for each of the n sentences not yet done."""

    sentences: Tensor  # (n,) index of each sentence in the input batch
    scores: Tensor  # (n, K) fp64 log-probabilities
    prev: Tensor  # (n*K,) last token of each hypothesis
    history: Tensor  # (n*K, t) tokens so far
    weights: Tensor | None  # (n*K, t, S) attention so far, or None for `none`
    state: DecoderState
    memory: Memory


class _Candidates(NamedTuple):
    """The 2K best extensions of each sentence, best first: (n, 2K) each."""

    scores: Tensor
    tokens: Tensor
    origin: Tensor  # the flat row (into n*K) each candidate extends


def _start(model: Seq2Seq, src: Tensor, src_lengths: Tensor, k: int, stepwise: bool) -> _Alive:
    """Encode once, then repeat every sentence's memory and state K times; only beam 0 starts alive."""
    _, memory, state = model.start(src, src_lengths, stepwise)
    batch_size, device = src.shape[0], src.device
    rows = torch.arange(batch_size, device=device).repeat_interleave(k)  # (B*K,)
    scores = torch.full((batch_size, k), -math.inf, dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    prev = torch.full((batch_size * k,), model.specials.bos, dtype=torch.long, device=device)
    history = torch.empty(batch_size * k, 0, dtype=torch.long, device=device)
    return _Alive(
        torch.arange(batch_size, device=device),
        scores,
        prev,
        history,
        None,
        state.index_select(rows),
        memory.index_select(rows),
    )


def _expand(log_probs: Tensor, scores: Tensor, k: int) -> _Candidates:
    """Rank each beam's tokens by their own log-probability first (so K = 1 makes exactly the greedy
    choice), then the K * 2K survivors of each sentence by total score in fp64."""
    n = scores.shape[0]
    beam_best, beam_tokens = log_probs.topk(2 * k, dim=-1)  # (n*K, 2K)
    totals = (scores.view(n * k, 1) + beam_best.double()).view(n, k * 2 * k)
    top_scores, top_index = totals.topk(2 * k, dim=1)  # (n, 2K)
    origin = top_index // (2 * k) + torch.arange(n, device=scores.device)[:, None] * k
    return _Candidates(top_scores, beam_tokens.view(n, k * 2 * k).gather(1, top_index), origin)


def _finish(
    candidates: _Candidates,
    alive: _Alive,
    finished: list[list[Hypothesis]],
    eos: int,
    k: int,
    length: int,
    alpha: float,
) -> None:
    """Store the EOS candidates ranked within the top K, scored with the length penalty."""
    ranked = torch.arange(2 * k, device=candidates.tokens.device)[None, :]
    ends = (candidates.tokens == eos) & (ranked < k) & torch.isfinite(candidates.scores)
    for i, j in ends.nonzero().tolist():
        row = int(candidates.origin[i, j])
        finished[int(alive.sentences[i])].append(
            Hypothesis(
                alive.history[row].tolist(),
                float(candidates.scores[i, j]) / length_penalty(length, alpha),
                None if alive.weights is None else alive.weights[row],
            )
        )


def _reorder(candidates: _Candidates, alive: _Alive, keep: Tensor, eos: int, k: int) -> _Alive:
    """Continue the best K non-EOS candidates of each kept sentence; reorder state and history to them."""
    continuing = candidates.tokens != eos
    chosen = continuing & (torch.cumsum(continuing, dim=1) <= k)  # exactly K per row: at most K are EOS
    cols = chosen.nonzero()[:, 1].view(-1, k)[keep]  # (n', K)
    parent = candidates.origin[keep].gather(1, cols).reshape(-1)  # (n'*K,)
    prev = candidates.tokens[keep].gather(1, cols).reshape(-1)
    memory = alive.memory  # the same for the K rows of a sentence: reindexed only when sentences leave
    if keep.numel() < alive.sentences.numel():
        memory = memory.index_select((keep[:, None] * k + torch.arange(k, device=keep.device)).reshape(-1))
    return _Alive(
        alive.sentences[keep],
        candidates.scores[keep].gather(1, cols),
        prev,
        torch.cat([alive.history.index_select(0, parent), prev[:, None]], dim=1),
        None if alive.weights is None else alive.weights.index_select(0, parent),
        alive.state.index_select(parent),
        memory,
    )


@torch.inference_mode()
def beam_search(
    model: Seq2Seq,
    src: Tensor,
    src_lengths: Tensor,
    beam_size: int,
    max_len_ratio: float,
    alpha: float = 0.0,
    stepwise: bool = False,
) -> list[Hypothesis]:
    """Batched beam search with Wu et al.'s length penalty; returns the best finished hypothesis per sentence.

    Each step ranks 2K candidates per sentence: EOS candidates ranked within the top K finish (score
    divided by the length penalty), and the best K others continue. A sentence is done when it holds K
    finished hypotheses or reaches its maximum length, and then leaves the batch. `stepwise` decodes
    through the model's reference path.
    """
    k, eos = beam_size, model.specials.eos
    max_len = max_output_lengths(src_lengths, max_len_ratio).to(src.device)
    alive = _start(model, src, src_lengths, k, stepwise)
    finished: list[list[Hypothesis]] = [[] for _ in range(src.shape[0])]
    first_forced = int(max_len.min())  # no sentence reaches its maximum length before this step
    for step in range(int(max_len.max()) + 1):
        limit = max_len[alive.sentences].repeat_interleave(k) if step >= first_forced else None
        log_probs, state, weights = _next_log_probs(model, alive.prev, alive.state, alive.memory, step, limit, stepwise)
        if weights is not None:  # (n*K, step + 1, S)
            weights = weights[:, None] if alive.weights is None else torch.cat([alive.weights, weights[:, None]], 1)
        alive = alive._replace(state=state, weights=weights)
        candidates = _expand(log_probs, alive.scores, k)
        _finish(candidates, alive, finished, eos, k, step + 1, alpha)
        n_finished = torch.tensor([len(finished[int(s)]) for s in alive.sentences], device=src.device)
        done = (n_finished >= k) | (step >= max_len[alive.sentences])
        if bool(done.all()):
            break
        alive = _reorder(candidates, alive, (~done).nonzero().squeeze(1), eos, k)
    return [max(hyps, key=lambda h: h.score) for hyps in finished]


def search(
    model: Seq2Seq, src: Tensor, src_lengths: Tensor, beam_size: int, max_len_ratio: float, alpha: float = 0.0
) -> list[Hypothesis]:
    """Greedy search for beam size 1, beam search otherwise."""
    if beam_size == 1:
        return greedy_search(model, src, src_lengths, max_len_ratio)
    return beam_search(model, src, src_lengths, beam_size, max_len_ratio, alpha)
