"""The interface every attention arm implements: `attend(query, keys, values, mask) -> (context, weights)`.

An arm is one module in `model/arms/` (a subclass of `Attention` and its typed config, a subclass of
`AttentionConfig`, registered with `model.arms.register_arm`) plus its YAML in `conf/attention/`. This module
owns what every arm shares: masking, the softmax (in fp32, or float64 for float64 scores) and the weighted
sum; subclasses supply the key projection (done once per sentence, in `memory`) and `score`. Each class says
which decoder order it needs (`queries_previous_state`), whether its context depends on the query at all
(`uses_query`), and which fused CPU loop, if any, was written for its score (`fused_loop`).

Shapes: B batch, T query steps (1 while decoding step by step), S source length, D encoder output size,
Q query size, K key size.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import torch
from omegaconf import MISSING
from torch import Tensor, nn

from attention_nmt.errors import ConfigError
from attention_nmt.model.encoder import EncoderOutput

if TYPE_CHECKING:  # model/config.py -> model/init.py imports this module
    from attention_nmt.model.config import EncoderConfig


class FusedLoop(Enum):
    """A decoder step loop fused into one autograd Function for the CPU, written for one score."""

    additive = "additive"  # `additive_scan`: e_ij = v_a^T tanh(W_a s_{i-1} + b_a + k_j), from `query_weights()`
    feed = "feed"  # `feed_scan`, input feeding: e_ts = scale * h_t . k_s over the projected keys, from `scale`


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

    #: True if the score uses the decoder state before the step's update (s_{i-1}, Bahdanau order), False for
    #: h_t after it (Luong order).
    queries_previous_state: ClassVar[bool] = True
    #: False where the context does not depend on the query (so the decoder needs no step loop for it).
    uses_query: ClassVar[bool] = True
    #: The fused CPU loop written for exactly this class's score, or None: the decoder's reference step loop.
    #: Each class declares its own; a subclass inherits None (`__init_subclass__`), so a subclass that changes
    #: the score can never run a loop written for its parent's.
    fused_loop: ClassVar[FusedLoop | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.fused_loop = vars(cls).get("fused_loop")

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


@dataclass
class AttentionConfig:
    """The typed config of an arm (`conf/attention/<name>.yaml` names its schema first). A subclass sets `name`
    (the arm's name everywhere: the YAML's file name, `attention=<name>`, run names, the report), names its
    module class in `attention_class`, adds its own keys and builds the module in `build`."""

    attention_class: ClassVar[type[Attention]] = Attention
    name: str = MISSING
    input_feeding: bool = False  # h~_{t-1} into the next step (Luong et al. 2015, sec. 3.3)

    def __post_init__(self) -> None:
        if self.input_feeding and self.attention_class.queries_previous_state:
            raise ConfigError(
                f"attention.input_feeding=true feeds the attentional state h~_(t-1) of a decoder queried with its "
                f"current state (Luong et al. 2015, e.g. attention=multiplicative); attention={self.name} is "
                "queried with the previous state. Set attention.input_feeding=false."
            )

    def build(self, query_size: int, value_size: int) -> Attention:
        """The arm's module for a decoder of `query_size` attending over encoder states of `value_size`."""
        raise NotImplementedError

    def check_fits(self, hidden_size: int, encoder: EncoderConfig) -> None:
        """Raise a `ConfigError` where this arm cannot attend over `encoder`'s states from a decoder state of
        `hidden_size` (e.g. a dot score across different sizes); every arm fits by default."""
