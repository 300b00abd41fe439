"""Greedy and batched beam search.

Both decode a whole batch at once, and sentences that are finished leave the batch, so the cost follows
the sentences still being decoded. A hypothesis may hold at most ceil(max_len_ratio * source tokens)
tokens before EOS; at that point EOS is forced. PAD and BOS are never produced. With beam size 1,
beam search makes exactly the greedy choices. Shapes: B batch, K beam, S source length, V vocabulary.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from attention_nmt.model.seq2seq import Seq2Seq


class Hypothesis(NamedTuple):
    """tokens without BOS/EOS; score the (length-normalised) log-probability; weights (len + 1, S) or None."""

    tokens: list[int]
    score: float
    weights: Optional[Tensor]


def max_output_lengths(src_lengths: Tensor, max_len_ratio: float) -> Tensor:
    """(B,) most tokens a hypothesis may hold before EOS."""
    return (src_lengths.float() * max_len_ratio).ceil().long().clamp(min=1)


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al. 2016: ((5 + |Y|) / 6)^alpha."""
    return ((5.0 + length) / 6.0) ** alpha


def _next_log_probs(model: Seq2Seq, prev: Tensor, state, memory, step: int, max_len: Tensor):
    """One decoder step: log-probabilities (N, V) in fp32 with PAD/BOS banned and EOS forced at max length."""
    logits, state, weights = model.decoder(prev.unsqueeze(1), state, memory)
    log_probs = torch.log_softmax(logits[:, 0].float(), dim=-1)  # (N, V)
    specials = model.specials
    log_probs[:, [specials.pad, specials.bos]] = -math.inf
    forced = step >= max_len  # (N,)
    if forced.any():
        log_probs[forced] = -math.inf
        log_probs[forced, specials.eos] = 0.0
    return log_probs, state, None if weights is None else weights[:, 0]


@torch.no_grad()
def greedy_search(model: Seq2Seq, src: Tensor, src_lengths: Tensor, max_len_ratio: float) -> list[Hypothesis]:
    """Pick the most probable token at every step. Returns one hypothesis per sentence, in batch order."""
    _, memory, state = model.start(src, src_lengths)
    batch_size, src_len = src.shape
    max_len = max_output_lengths(src_lengths, max_len_ratio).to(src.device)
    eos = model.specials.eos
    alive = torch.arange(batch_size, device=src.device)  # original row of each decoded row
    prev = torch.full((batch_size,), model.specials.bos, dtype=torch.long, device=src.device)
    tokens = torch.full((batch_size, int(max_len.max()) + 1), eos, dtype=torch.long, device=src.device)
    scores = torch.zeros(batch_size, device=src.device)
    weights_out = None
    for step in range(tokens.shape[1]):
        log_probs, state, weights = _next_log_probs(model, prev, state, memory, step, max_len[alive])
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
    return [_hypothesis(tokens[i], float(scores[i]), None if weights_out is None else weights_out[i], eos)
            for i in range(batch_size)]


def _hypothesis(row: Tensor, score: float, weights: Optional[Tensor], eos: int) -> Hypothesis:
    """Cut a token row at its first EOS (kept in weights, dropped from tokens)."""
    length = int((row == eos).nonzero()[0, 0]) if (row == eos).any() else row.numel()
    return Hypothesis(row[:length].tolist(), score, None if weights is None else weights[: length + 1])


@torch.no_grad()
def beam_search(model: Seq2Seq, src: Tensor, src_lengths: Tensor, beam_size: int, max_len_ratio: float,
                alpha: float = 0.0) -> list[Hypothesis]:
    """Batched beam search with Wu et al.'s length penalty; returns the best finished hypothesis per sentence.

    Each step ranks 2K candidates per sentence: EOS candidates ranked within the top K finish (score
    divided by the length penalty), and the best K others continue. A sentence is done when it holds K
    finished hypotheses or reaches its maximum length, and then leaves the batch.
    """
    k = beam_size
    _, memory, state = model.start(src, src_lengths)
    batch_size, device = src.shape[0], src.device
    rows = torch.arange(batch_size, device=device).repeat_interleave(k)  # (B*K,)
    memory, state = memory.index_select(rows), state.index_select(rows)
    max_len = max_output_lengths(src_lengths, max_len_ratio).to(device)
    eos = model.specials.eos
    sentences = torch.arange(batch_size, device=device)  # original index of each alive sentence
    scores = torch.full((batch_size, k), -math.inf, dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    prev = torch.full((batch_size * k,), model.specials.bos, dtype=torch.long, device=device)
    history = torch.empty(batch_size * k, 0, dtype=torch.long, device=device)
    weight_history: Optional[Tensor] = None
    finished: list[list[Hypothesis]] = [[] for _ in range(batch_size)]
    for step in range(int(max_len.max()) + 1):
        n = sentences.numel()
        log_probs, state, weights = _next_log_probs(model, prev, state, memory, step,
                                                    max_len[sentences].repeat_interleave(k))
        # Rank each beam's tokens by their own log-probability first (so K = 1 makes exactly the greedy
        # choice), then rank the K * 2K survivors by total score in fp64.
        beam_best, beam_tokens = log_probs.topk(2 * k, dim=-1)  # (n*K, 2K)
        totals = (scores.view(n * k, 1) + beam_best.double()).view(n, k * 2 * k)
        top_scores, top_index = totals.topk(2 * k, dim=1)  # (n, 2K)
        beam = top_index // (2 * k)
        token = beam_tokens.view(n, k * 2 * k).gather(1, top_index)
        origin = beam + torch.arange(n, device=device)[:, None] * k  # flat row each candidate extends
        if weights is not None:
            weight_history = weights[:, None] if weight_history is None else torch.cat(
                [weight_history, weights[:, None]], dim=1)  # (n*K, step+1, S)
        is_eos = token == eos
        ranked = torch.arange(2 * k, device=device)[None, :]
        ends = is_eos & (ranked < k) & torch.isfinite(top_scores)
        for i, j in ends.nonzero().tolist():
            row = int(origin[i, j])
            finished[int(sentences[i])].append(Hypothesis(
                history[row].tolist(), float(top_scores[i, j]) / length_penalty(step + 1, alpha),
                None if weight_history is None else weight_history[row]))
        n_finished = torch.tensor([len(finished[int(s)]) for s in sentences], device=device)
        done = (n_finished >= k) | (step >= max_len[sentences])
        if bool(done.all()):
            break
        # Continue with the best K non-EOS candidates of each sentence that is not done.
        continuing = ~is_eos & (torch.cumsum(~is_eos, dim=1) <= k)  # exactly K per row
        cols = continuing.nonzero()[:, 1].view(n, k)
        keep = (~done).nonzero().squeeze(1)
        cols = cols[keep]
        scores = top_scores[keep].gather(1, cols)
        parent = origin[keep].gather(1, cols).reshape(-1)  # (n'*K,)
        prev = token[keep].gather(1, cols).reshape(-1)
        history = torch.cat([history.index_select(0, parent), prev[:, None]], dim=1)
        if weight_history is not None:
            weight_history = weight_history.index_select(0, parent)
        state = state.index_select(parent)
        memory = memory.index_select(keep.repeat_interleave(k) * k + torch.arange(k, device=device).repeat(keep.numel()))
        sentences = sentences[keep]
    return [max(hyps, key=lambda h: h.score) for hyps in finished]


def search(model: Seq2Seq, src: Tensor, src_lengths: Tensor, beam_size: int, max_len_ratio: float,
           alpha: float = 0.0) -> list[Hypothesis]:
    """Greedy search for beam size 1, beam search otherwise."""
    if beam_size == 1:
        return greedy_search(model, src, src_lengths, max_len_ratio)
    return beam_search(model, src, src_lengths, beam_size, max_len_ratio, alpha)
