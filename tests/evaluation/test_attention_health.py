"""Attention health on hand-made weights: entropy, largest weight, score scale, diagonal share, AER; padding
never counts; the arm's own scores are recorded."""

from __future__ import annotations

import math

import pytest
import torch

from attention_nmt.evaluation.aer import AERCounts
from attention_nmt.evaluation.attention_health import AttentionHealth, recorded_scores
from attention_nmt.model.arms.additive import AdditiveAttention
from attention_nmt.model.arms.multiplicative import MultiplicativeAttention, Score
from attention_nmt.model.attention import masked_softmax


def _health(weights, scores=None, src_mask=None, trg_mask=None) -> dict[str, float]:
    metric = AttentionHealth()
    B, T, S = weights.shape
    src_mask = torch.ones(B, S, dtype=torch.bool) if src_mask is None else src_mask
    trg_mask = torch.ones(B, T, dtype=torch.bool) if trg_mask is None else trg_mask
    metric.update(weights, scores, src_mask, trg_mask)
    return metric.compute()


def test_uniform_rows_have_normalised_entropy_one_and_max_weight_one_over_s():
    health = _health(torch.full((2, 3, 5), 0.2))
    assert health["entropy_norm"] == pytest.approx(1.0)
    assert health["entropy"] == pytest.approx(math.log(5))
    assert health["max_weight"] == pytest.approx(0.2)


def test_one_hot_rows_have_entropy_zero_max_weight_one_and_the_diagonal_counts_hits():
    weights = torch.eye(4).unsqueeze(0)  # target step i on source position i: the monotone diagonal
    health = _health(weights)
    assert health["entropy"] == 0.0 and health["entropy_norm"] == 0.0
    assert health["max_weight"] == 1.0 and health["diagonal"] == 1.0
    reversed_rows = torch.eye(8).flip(0).unsqueeze(0)  # anti-diagonal: only the middle steps lie within 1 token
    assert _health(reversed_rows)["diagonal"] == pytest.approx(2 / 8)


def test_padding_rows_and_columns_change_nothing():
    """A sentence padded with extra source columns and target rows (any values there) gives the same health."""
    scores = torch.randn(1, 3, 4)
    weights = torch.softmax(scores, -1)
    alone = _health(weights, scores)
    padded_scores = torch.full((1, 5, 7), 50.0)
    padded_scores[:, :3, :4] = scores
    padded = torch.zeros(1, 5, 7)
    padded[:, :3, :4] = weights
    padded[:, 3:, :] = 1.0 / 7  # garbage on padded target rows
    src_mask = torch.tensor([[True] * 4 + [False] * 3])
    trg_mask = torch.tensor([[True] * 3 + [False] * 2])
    assert _health(padded, padded_scores, src_mask, trg_mask) == pytest.approx(alone)


def test_score_scale_is_the_mean_and_largest_absolute_real_score():
    scores = torch.tensor([[[1.0, -3.0, 9.0]]])
    src_mask = torch.tensor([[True, True, False]])
    health = _health(masked_softmax(scores, src_mask[:, None, :]), scores, src_mask)
    assert health["score_mean_abs"] == pytest.approx(2.0) and health["score_max_abs"] == 3.0


def test_batches_add_up_to_the_whole():
    weights, scores = torch.softmax(torch.randn(4, 6, 5), -1), torch.randn(4, 6, 5)
    metric = AttentionHealth()
    for rows in (slice(0, 1), slice(1, 4)):
        metric.update(
            weights[rows],
            scores[rows],
            torch.ones(3, 5, dtype=bool)[: rows.stop - rows.start],
            torch.ones(3, 6, dtype=bool)[: rows.stop - rows.start],
        )
    assert metric.compute() == pytest.approx(_health(weights, scores))


def test_one_token_sources_leave_normalised_entropy_out_and_no_weights_give_none():
    health = _health(torch.ones(1, 2, 1))
    assert health["entropy"] == 0.0 and math.isnan(health["entropy_norm"])
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert AttentionHealth().compute() is None


def test_aer_is_reported_only_where_counts_were_added():
    weights, src_mask, trg_mask = torch.eye(3).unsqueeze(0), torch.ones(1, 3, dtype=bool), torch.ones(1, 3, dtype=bool)
    health = _health(weights, None, src_mask, trg_mask)
    assert "aer" not in health and "score_max_abs" not in health
    metric = AttentionHealth()
    metric.update(
        weights, None, src_mask, trg_mask, AERCounts(predicted=4, sure=4, predicted_sure=3, predicted_possible=3)
    )
    metric.update(
        weights, None, src_mask, trg_mask, AERCounts(predicted=2, sure=2, predicted_sure=2, predicted_possible=2)
    )
    assert metric.compute()["aer"] == pytest.approx(1 - (5 + 5) / (6 + 6))


@pytest.mark.parametrize(
    "arm", [AdditiveAttention(6, 8, 5), MultiplicativeAttention(6, 8, Score.general)], ids=["additive", "general"]
)
def test_recorded_scores_are_the_arms_own_and_the_method_comes_back(arm):
    query, keys, values = torch.randn(2, 3, 6), torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    mask = torch.ones(2, 4, dtype=torch.bool)
    projected = arm.project_keys(keys)
    with recorded_scores(arm) as record:
        _, weights = arm.attend(query, projected, values, mask)
    assert len(record) == 1 and torch.equal(record[0], arm.score(query, projected))
    assert torch.allclose(weights, torch.softmax(record[0], -1))
    assert "score" not in vars(arm)  # the method is back
