"""The fast paths (GRU scans, one-call decoders, batched search) equal the step-by-step reference path
(packed torch RNN encoder, torch RNN decoder one step at a time) on the same weights: values, gradients
and search results."""

import pytest
import torch
import torch.nn.functional as F

from attention_nmt.model.encoder import Cell
from attention_nmt.model.search import beam_search, greedy_search
from tests.model.arms import SPECIALS, TRG_VOCAB, make_model, padded_batch


def _loss_and_grads(model, src, lengths, trg, stepwise):
    logits, _ = model(src, lengths, trg, stepwise=stepwise)
    loss = F.cross_entropy(logits.flatten(0, 1), trg.roll(-1, 1).flatten(), ignore_index=SPECIALS.pad)
    params = [p for p in model.parameters() if p.requires_grad]
    return loss, torch.autograd.grad(loss, params, allow_unused=True)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_training_gradients_of_the_fast_path_equal_the_reference(arm, bidirectional):
    if "dot" in arm and bidirectional:
        pytest.skip("dot needs equal sizes")
    model = make_model(arm, Cell.gru, bidirectional).double()
    src, lengths = padded_batch([7, 4, 1, 6])
    trg = torch.randint(4, TRG_VOCAB, (4, 6))
    trg[2, 3:] = SPECIALS.pad
    fast_loss, fast_grads = _loss_and_grads(model, src, lengths, trg, stepwise=False)
    ref_loss, ref_grads = _loss_and_grads(model, src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-10, atol=1e-10)
    for (name, _), fast, ref in zip(model.named_parameters(), fast_grads, ref_grads):
        if ref is None:
            assert fast is None or not fast.any(), name
        else:
            torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-10, msg=name)


def test_fast_encoder_equals_packed_encoder_with_two_layers():
    from attention_nmt.model.encoder import Encoder

    torch.manual_seed(0)
    encoder = Encoder(30, 6, 5, Cell.gru, num_layers=2, bidirectional=True, dropout=0.0, pad_id=0).double()
    src, lengths = padded_batch([5, 2, 4])
    fast, packed = encoder(src, lengths), encoder(src, lengths, packed=True)
    torch.testing.assert_close(fast.states, packed.states, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast.final, packed.final, rtol=0, atol=1e-12)
    assert torch.all(fast.states[1, 2:] == 0)  # padding stays zero


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
def test_greedy_and_beam_search_equal_the_reference_path(arm, cell):
    for seed in range(2):
        model = make_model(arm, cell, bidirectional="dot" not in arm, seed=seed)
        src, lengths = padded_batch([9, 5, 1, 7, 3], seed=seed)
        for search in (
            lambda **kw: greedy_search(model, src, lengths, 2.0, **kw),  # noqa: B023 (called in this iteration)
            lambda **kw: beam_search(model, src, lengths, 4, 2.0, alpha=0.6, **kw),  # noqa: B023
        ):
            fast, reference = search(), search(stepwise=True)
            assert [h.tokens for h in fast] == [h.tokens for h in reference]
            for f, r in zip(fast, reference):
                assert f.score == pytest.approx(r.score, abs=1e-5)
                if r.weights is not None:
                    torch.testing.assert_close(f.weights, r.weights, rtol=1e-5, atol=1e-6)
