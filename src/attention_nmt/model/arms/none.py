"""attention=none: no attention at all (RNNencdec: Cho et al. 2014; Bahdanau et al. 2014, sec. 2).

Every target step sees the same context vector c, the encoder's final state; no weights exist. The decoder,
deep output and sizes are the additive arm's (Bahdanau order). Shapes: B batch, T target steps, D encoder
output size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from attention_nmt.model.arms import register_arm
from attention_nmt.model.attention import Attention, AttentionConfig, Memory
from attention_nmt.model.encoder import EncoderOutput


class FixedContext(Attention):
    """c is the encoder's final state, the same for every target step."""

    uses_query = False

    def memory(self, encoded: EncoderOutput) -> Memory:
        mask = encoded.src_mask.new_ones(encoded.final.shape[0], 1)
        fixed = encoded.final.unsqueeze(1)  # (B, 1, D): c
        return Memory(fixed, fixed, mask)

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        return values.expand(-1, query.shape[1], -1), None  # c at every step, (B, T, D)


@register_arm
@dataclass
class NoAttentionConfig(AttentionConfig):
    attention_class: ClassVar[type[Attention]] = FixedContext
    name: str = "none"

    def build(self, query_size: int, value_size: int) -> Attention:
        return FixedContext(query_size, value_size)
