"""attention=additive: Bahdanau et al. 2014's attention (RNNsearch), e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j).

Queried with the *previous* decoder state s_{i-1} (Bahdanau et al. 2014, eq. 6 and appendix A.1.2); U_a h_j is
projected once per sentence. On the CPU its decoder loop runs fused (`model/additive_scan.py`), which reads
W_a, b_a and v_a through `query_weights`. Shapes: B batch, T query steps, S source length, Q query size,
D encoder output size, A attention size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import II
from torch import Tensor, nn

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import register_arm
from attention_nmt.model.attention import Attention, AttentionConfig, FusedLoop


class AdditiveAttention(Attention):
    """Bahdanau et al. 2014: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)."""

    queries_previous_state = True
    fused_loop = FusedLoop.additive

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


@register_arm
@dataclass
class AdditiveAttentionConfig(AttentionConfig):
    attention_class: ClassVar[type[Attention]] = AdditiveAttention
    name: str = "additive"
    attention_size: int = II("model.hidden_size")  # A, size of the W s + U h layer

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention_size < 1:
            raise ConfigError(f"attention.attention_size={self.attention_size}: must be a positive integer.")

    def build(self, query_size: int, value_size: int) -> Attention:
        return AdditiveAttention(query_size, value_size, self.attention_size)
