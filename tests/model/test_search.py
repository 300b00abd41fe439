"""Greedy and beam search: beam size 1 is greedy, beams never do worse than greedy, lengths are bounded."""

import pytest
import torch

from attention_nmt.model.encoder import Cell
from attention_nmt.model.search import beam_search, greedy_search, max_output_lengths
from tests.model.arms import SPECIALS, fits, make_model, padded_batch


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
def test_beam_size_one_gives_exactly_the_greedy_output(arm, cell):
    for seed in range(3):
        model = make_model(arm, cell, seed=seed)
        src, lengths = padded_batch([8, 5, 1, 3, 8], seed=seed)
        greedy = greedy_search(model, src, lengths, max_len_ratio=2.0)
        beam = beam_search(model, src, lengths, beam_size=1, max_len_ratio=2.0)
        assert [h.tokens for h in beam] == [h.tokens for h in greedy]
        for g, b in zip(greedy, beam):
            assert b.score == pytest.approx(g.score, abs=1e-4)


def test_beam_search_finds_at_least_the_greedy_log_probability(arm):
    model = make_model(arm)
    src, lengths = padded_batch([8, 6, 2, 7])
    greedy = greedy_search(model, src, lengths, max_len_ratio=1.5)
    beam = beam_search(model, src, lengths, beam_size=5, max_len_ratio=1.5)
    for g, b in zip(greedy, beam):
        assert b.score >= g.score - 1e-4


def test_hypotheses_respect_the_maximum_length_and_contain_no_specials(arm):
    model = make_model(arm)
    src, lengths = padded_batch([8, 4, 1])
    limits = max_output_lengths(lengths, 0.5).tolist()
    for hyps in (greedy_search(model, src, lengths, 0.5), beam_search(model, src, lengths, 3, 0.5)):
        for hyp, limit in zip(hyps, limits):
            assert len(hyp.tokens) <= limit
            assert not set(hyp.tokens) & {SPECIALS.pad, SPECIALS.bos, SPECIALS.eos}


def test_search_is_independent_of_batch_composition(arm):
    model = make_model(arm, bidirectional=fits(arm, True))
    src, lengths = padded_batch([9, 2, 6, 4])
    for search in (lambda s, n: greedy_search(model, s, n, 1.5), lambda s, n: beam_search(model, s, n, 4, 1.5)):
        batched = search(src, lengths)
        for row in range(4):
            alone = search(src[row : row + 1, : lengths[row]], lengths[row : row + 1])
            assert alone[0].tokens == batched[row].tokens


def test_greedy_returns_attention_weights_for_each_output_token():
    model = make_model("additive")
    src, lengths = padded_batch([6, 3])
    for hyp, length in zip(greedy_search(model, src, lengths, 1.5), lengths.tolist()):
        assert hyp.weights.shape[0] == len(hyp.tokens) + 1  # one row per output token and EOS
        torch.testing.assert_close(hyp.weights.sum(-1), torch.ones(hyp.weights.shape[0]))
        assert torch.all(hyp.weights[:, length:] == 0)
