"""The three attention arms behind one interface: `attend(query, keys, values, mask) -> (context, weights)`.

- `FixedContext` (attention=none): no attention at all; every step sees the same context vector c,
  the encoder's final state (RNNencdec: Cho et al. 2014; Bahdanau et al. 2014, sec. 2).
- `AdditiveAttention`: e_ij = v^T tanh(W s_{i-1} + U h_j), queried with the *previous* decoder state
  s_{i-1} (Bahdanau et al. 2014, eq. 6 and appendix A.1.2).
- `MultiplicativeAttention`: score(h_t, h_s) from the *current* decoder state h_t: general h_t^T W_a h_s,
  dot h_t^T h_s (Luong et al. 2015, eq. 8), or their scaled forms scaled_general h_t^T W_a h_s / sqrt(H) and
  scaled_dot h_t^T h_s / sqrt(H). The scaling is not Luong's: it is Vaswani et al. 2017's remedy (eq. 1) for
  dot products whose spread grows with the state size and saturate the softmax.

The base class owns masking, the softmax (in fp32, or float64 for float64 scores) and the weighted sum;
subclasses supply the key projection (done once per sentence, in `memory`) and `score`. Shapes: B batch,
T query steps (1 while decoding step by step), S source length, D encoder output size, Q query size,
A attention size.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import NamedTuple

import torch
from torch import Tensor, nn

from attention_nmt.model.encoder import EncoderOutput


class Score(Enum):
    general = "general"  # Luong et al. 2015, eq. 8
    dot = "dot"  # Luong et al. 2015, eq. 8
    scaled_general = "scaled_general"  # general / sqrt(H): a departure from Luong (Vaswani et al. 2017's scale)
    scaled_dot = "scaled_dot"  # dot / sqrt(H): a departure from Luong (Vaswani et al. 2017's scale)

    @property
    def projects_keys(self) -> bool:
        """True where the score has Luong's W_a (general, scaled_general); dot scores need Q == D."""
        return self in (Score.general, Score.scaled_general)

    @property
    def scaled(self) -> bool:
        return self in (Score.scaled_general, Score.scaled_dot)


class Memory(NamedTuple):
    """The per-sentence attention memory, computed once by `Attention.memory`.

    keys: (B, S, K) projected keys; values: (B, S, D) what the context averages; mask: (B, S) True = real token.
    """

    keys: Tensor
    values: Tensor
    mask: Tensor

    def index_select(self, index: Tensor) -> Memory:
        return Memory(*(t.index_select(0, index) for t in self))


def softmax_dtype(dtype: torch.dtype) -> torch.dtype:
    """The softmax's precision: fp32 for fp32 and below (bf16/fp16 under mixed precision), float64 for float64."""
    return torch.promote_types(dtype, torch.float32)


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """alpha = softmax of `scores` over the last dimension, in `softmax_dtype` (fp32 also under mixed precision),
    exactly 0 where `mask` (broadcast to the scores) is False."""
    dtype = softmax_dtype(scores.dtype)
    return torch.softmax(scores.to(dtype).masked_fill(~mask, torch.finfo(dtype).min), dim=-1)


def softmax_backward(alpha: Tensor, d_alpha: Tensor) -> Tensor:
    """dL/de for alpha = `masked_softmax`(e) given dL/dalpha, computed as autograd does (in `softmax_dtype`,
    with torch's own softmax backward kernel), in alpha's dtype; 0 where alpha is 0 (padding)."""
    dtype = softmax_dtype(alpha.dtype)
    return torch.ops.aten._softmax_backward_data(d_alpha.to(dtype), alpha.to(dtype), -1, dtype).to(alpha.dtype)


class Attention(nn.Module):
    """Base class: masked softmax over scores and the weighted sum of values."""

    #: True if the score uses the decoder state before the step's update (s_{i-1}), False for h_t after it.
    queries_previous_state: bool = True
    #: False where the context does not depend on the query (so the decoder needs no step loop for it).
    uses_query: bool = True

    def __init__(self, query_size: int, value_size: int) -> None:
        super().__init__()
        self.query_size = query_size
        self.value_size = value_size

    def memory(self, encoded: EncoderOutput) -> Memory:
        """Project the keys once per sentence (not once per decoding step)."""
        return Memory(self.project_keys(encoded.states), encoded.states, encoded.src_mask)

    def project_keys(self, states: Tensor) -> Tensor:
        return states

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores e: query (B, T, Q), keys (B, S, K) -> (B, T, S)."""
        raise NotImplementedError

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None]:
        """Attend over the source.

        Args:
            query: (B, T, Q) decoder states (s_{i-1} or h_t, see `queries_previous_state`).
            keys: (B, S, K) from `memory`; values: (B, S, D); mask: (B, S), True marks a real token.

        Returns:
            context (B, T, D) = sum_j alpha_ij h_j, and weights alpha (B, T, S): each row sums to 1 and is
            exactly 0 on padding.
        """
        weights = masked_softmax(self.score(query, keys), mask[:, None, :]).to(values.dtype)  # alpha_ij, (B, T, S)
        return torch.bmm(weights, values), weights


class FixedContext(Attention):
    """attention=none: c is the encoder's final state, the same for every target step; no weights exist."""

    uses_query = False

    def memory(self, encoded: EncoderOutput) -> Memory:
        mask = encoded.src_mask.new_ones(encoded.final.shape[0], 1)
        fixed = encoded.final.unsqueeze(1)  # (B, 1, D): c
        return Memory(fixed, fixed, mask)

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        return values.expand(-1, query.shape[1], -1), None  # c at every step, (B, T, D)


class AdditiveAttention(Attention):
    """Bahdanau et al. 2014: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)."""

    queries_previous_state = True

    def __init__(self, query_size: int, value_size: int, attention_size: int) -> None:
        super().__init__(query_size, value_size)
        self.key_layer = nn.Linear(value_size, attention_size, bias=False)  # U_a, applied once per sentence
        self.query_layer = nn.Linear(query_size, attention_size, bias=True)  # W_a
        self.energy_layer = nn.Linear(attention_size, 1, bias=False)  # v_a

    def project_keys(self, states: Tensor) -> Tensor:
        return self.key_layer(states)  # U_a h_j, (B, S, A)

    def query_weights(self) -> tuple[Tensor, Tensor, Tensor]:
        """W_a (A, Q), b_a (A,) and v_a (A,): what `additive_scan` reads to score without this module."""
        return self.query_layer.weight, self.query_layer.bias, self.energy_layer.weight[0]

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        hidden = (self.query_layer(query)[:, :, None, :] + keys[:, None, :, :]).tanh_()  # (B, T, S, A), in place
        return self.energy_layer(hidden).squeeze(-1)  # (B, T, S)


class MultiplicativeAttention(Attention):
    """Luong et al. 2015 global attention, queried with the current state h_t.

    general: h_t^T W_a h_s (W_a is applied to the keys once per sentence: (W_a^T h_t)^T h_s is the same
    bilinear form); dot: h_t^T h_s; scaled_general and scaled_dot: the same divided by sqrt(Q). dot and
    scaled_dot need Q == D.
    """

    queries_previous_state = False

    def __init__(self, query_size: int, value_size: int, score: Score) -> None:
        super().__init__(query_size, value_size)
        self.score_kind = score
        self.key_layer = nn.Linear(value_size, query_size, bias=False) if score.projects_keys else None  # W_a
        self.scale = 1.0 / math.sqrt(query_size) if score.scaled else 1.0

    def project_keys(self, states: Tensor) -> Tensor:
        return self.key_layer(states) if self.key_layer is not None else states  # (B, S, Q)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(query, keys.transpose(1, 2)) * self.scale  # (B, T, S)
