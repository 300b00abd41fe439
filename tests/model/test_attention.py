"""The attention arms compute their papers' formulas, mask padding exactly, and keep keys per sentence."""

import math

import pytest
import torch

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms.additive import AdditiveAttention
from attention_nmt.model.arms.multiplicative import MultiplicativeAttention, MultiplicativeAttentionConfig, Score
from attention_nmt.model.arms.none import FixedContext
from attention_nmt.model.config import EncoderConfig, ModelConfig
from attention_nmt.model.encoder import Cell, EncoderOutput
from attention_nmt.model.seq2seq import build_model
from tests.model.arms import SPECIALS


def _memory_inputs(batch=3, src_len=5, size=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    states = torch.randn(batch, src_len, size, generator=gen)
    mask = torch.tensor([[True] * src_len, [True, True, True, False, False], [True] + [False] * (src_len - 1)])
    return EncoderOutput(states * mask[..., None], states[:, 0], mask)


@pytest.mark.parametrize(
    "make",
    [
        lambda: AdditiveAttention(4, 4, 6),
        lambda: MultiplicativeAttention(4, 4, Score.general),
        lambda: MultiplicativeAttention(4, 4, Score.dot),
        lambda: MultiplicativeAttention(4, 4, Score.scaled_dot),
    ],
)
def test_attend_weights_sum_to_one_and_are_exactly_zero_on_padding(make):
    torch.manual_seed(0)
    attention = make()
    encoded = _memory_inputs()
    query = torch.randn(3, 2, 4) * 10  # large scores: masking must still give exact zeros
    context, weights = attention.attend(query, *attention.memory(encoded))
    assert weights.shape == (3, 2, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))
    assert torch.all(weights[~encoded.src_mask[:, None, :].expand_as(weights)] == 0.0)
    assert torch.all(weights[2, :, 0] == 1.0)  # a one-token sentence attends to its token only
    torch.testing.assert_close(context, torch.einsum("bts,bsd->btd", weights, encoded.states))


def test_additive_score_matches_bahdanau_equation_on_hand_built_example():
    """e_ij = v^T tanh(W s_{i-1} + U h_j) with hand-set W, U, v on a 1-query, 3-position example."""
    attention = AdditiveAttention(query_size=2, value_size=2, attention_size=2)
    with torch.no_grad():
        attention.query_layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        attention.query_layer.bias.zero_()
        attention.key_layer.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, -1.0]]))
        attention.energy_layer.weight.copy_(torch.tensor([[1.0, 1.0]]))
    s = torch.tensor([[[0.2, -0.1]]])  # s_{i-1}
    h = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]])  # h_1..h_3
    mask = torch.ones(1, 3, dtype=torch.bool)
    _, weights = attention.attend(s, attention.project_keys(h), h, mask)
    e = [math.tanh(0.2 + 0.5 * hj[0]) + math.tanh(-0.2 - hj[1]) for hj in h[0].tolist()]
    expected = torch.softmax(torch.tensor(e), 0)
    torch.testing.assert_close(weights[0, 0], expected)


def test_multiplicative_scores_match_luong_equations():
    torch.manual_seed(0)
    q, h = torch.randn(1, 1, 4), torch.randn(1, 3, 4)
    mask = torch.ones(1, 3, dtype=torch.bool)
    general = MultiplicativeAttention(4, 4, Score.general)
    w_a = general.key_layer.weight  # keys = W_a h_s, so score = h_t^T W_a h_s
    expected = {
        Score.general: (q[0, 0] @ w_a @ h[0].T),
        Score.dot: q[0, 0] @ h[0].T,
        Score.scaled_dot: q[0, 0] @ h[0].T / 2.0,
        Score.scaled_general: (q[0, 0] @ w_a @ h[0].T) / 2.0,  # / sqrt(4)
    }
    for score, scores in expected.items():
        attention = general if score is Score.general else MultiplicativeAttention(4, 4, score)
        if score is Score.scaled_general:
            attention.load_state_dict(general.state_dict())  # the same W_a
        _, weights = attention.attend(q, attention.project_keys(h), h, mask)
        torch.testing.assert_close(weights[0, 0], torch.softmax(scores.detach(), 0))


def test_fixed_context_is_the_final_state_and_has_no_weights():
    encoded = _memory_inputs()
    attention = FixedContext(4, 4)
    context, weights = attention.attend(torch.randn(3, 2, 4), *attention.memory(encoded))
    assert weights is None
    torch.testing.assert_close(context, encoded.final[:, None, :].expand(3, 2, 4))


def test_attend_masking_is_exact_in_half_precision():
    attention = MultiplicativeAttention(4, 4, Score.dot)
    encoded = _memory_inputs()
    for dtype in (torch.float16, torch.bfloat16):
        states = encoded.states.to(dtype)
        _, weights = attention.attend(torch.randn(3, 1, 4).to(dtype) * 100, states, states, encoded.src_mask)
        assert weights.dtype == dtype
        assert torch.all(weights[~encoded.src_mask[:, None, :]] == 0)
        assert torch.isfinite(weights).all()


def test_dot_score_with_bidirectional_encoder_is_a_config_error():
    model = ModelConfig(embedding_size=8, hidden_size=8, output_size=8, decoder_cell=Cell.gru)
    encoder = EncoderConfig(name="bigru", bidirectional=True, hidden_size=8, dropout=0.0)
    with pytest.raises(ConfigError, match="attention.score=dot"):
        build_model(model, encoder, MultiplicativeAttentionConfig(score=Score.dot), 10, 10, SPECIALS)
