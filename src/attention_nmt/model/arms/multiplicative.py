"""attention=multiplicative: Luong et al. 2015's global attention, queried with the *current* state h_t.

score(h_t, h_s): general h_t^T W_a h_s, dot h_t^T h_s (Luong et al. 2015, eq. 8), or their scaled forms
scaled_general h_t^T W_a h_s / sqrt(H) and scaled_dot h_t^T h_s / sqrt(H). The scaling is not Luong's: it is
Vaswani et al. 2017's remedy (eq. 1) for dot products whose spread grows with the state size and saturate the
softmax. The decoder forms the attentional state h~_t = tanh(W_c [c_t; h_t]) and, with input feeding, feeds it
to the next step (eq. 5, sec. 3.3); that loop runs fused on the CPU (`model/feed_scan.py`), which reads the
projected keys and `scale`. Shapes: B batch, T query steps, S source length, Q query (= hidden) size H,
D encoder output size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import torch
from torch import Tensor, nn

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import register_arm
from attention_nmt.model.attention import Attention, AttentionConfig, FusedLoop
from attention_nmt.model.config import EncoderConfig


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


class MultiplicativeAttention(Attention):
    """Luong et al. 2015 global attention, queried with the current state h_t.

    general: h_t^T W_a h_s (W_a is applied to the keys once per sentence: (W_a^T h_t)^T h_s is the same
    bilinear form); dot: h_t^T h_s; scaled_general and scaled_dot: the same divided by sqrt(Q). dot and
    scaled_dot need Q == D.
    """

    queries_previous_state = False
    fused_loop = FusedLoop.feed

    def __init__(self, query_size: int, value_size: int, score: Score) -> None:
        super().__init__(query_size, value_size)
        self.score_kind = score
        self.key_layer = nn.Linear(value_size, query_size, bias=False) if score.projects_keys else None  # W_a
        self.scale = 1.0 / math.sqrt(query_size) if score.scaled else 1.0

    def project_keys(self, states: Tensor) -> Tensor:
        return self.key_layer(states) if self.key_layer is not None else states  # (B, S, Q)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(query, keys.transpose(1, 2)) * self.scale  # (B, T, S)


@register_arm
@dataclass
class MultiplicativeAttentionConfig(AttentionConfig):
    attention_class: ClassVar[type[Attention]] = MultiplicativeAttention
    name: str = "multiplicative"
    score: Score = Score.general
    input_feeding: bool = True

    def check_fits(self, hidden_size: int, encoder: EncoderConfig) -> None:
        if not self.score.projects_keys and encoder.output_size != hidden_size:
            raise ConfigError(
                f"attention.score={self.score.value} needs the decoder hidden size (model.hidden_size="
                f"{hidden_size}) to equal the encoder output size ({encoder.output_size}, encoder={encoder.name}"
                f"{', bidirectional' if encoder.bidirectional else ''}). Use attention.score=general (or "
                "scaled_general), or a unidirectional encoder (encoder=gru or encoder=lstm)."
            )

    def build(self, query_size: int, value_size: int) -> Attention:
        return MultiplicativeAttention(query_size, value_size, self.score)
