"""`Decoder.step`, which a search calls at every step, computes exactly what `Decoder.forward` computes over one
step, for every arm and cell, in evaluation, under dropout and under bf16 autocast; the additive arm's step
runs without `forward` on the CPU."""

import pytest
import torch

from attention_nmt.model.decoder import CpuPath, Decoder
from attention_nmt.model.encoder import Cell
from attention_nmt.model.search import beam_search, greedy_search
from tests.model.arms import TRG_VOCAB, fits, make_model, padded_batch


def _steps(model, src, lengths, through_step: bool, steps: int = 3):
    """Logits, hidden state and attention weights of `steps` decoding steps from the same previous tokens."""
    _, memory, state = model.start(src, lengths, False)
    prevs = torch.randint(4, TRG_VOCAB, (steps, src.shape[0]), generator=torch.Generator().manual_seed(2))
    results = []
    for prev in prevs:
        if through_step:
            logits, state, weights = model.decoder.step(prev, state, memory)
        else:
            logits, state, weights = model.decoder(prev.unsqueeze(1), state, memory)
            logits, weights = logits[:, 0], None if weights is None else weights[:, 0]
        results.append((logits, state.hidden, weights))
    return results


def _assert_equal(step_results, forward_results):
    for (logits, hidden, weights), (ref_logits, ref_hidden, ref_weights) in zip(step_results, forward_results):
        assert torch.equal(logits, ref_logits)
        assert torch.equal(hidden, ref_hidden)
        assert (weights is None and ref_weights is None) or torch.equal(weights, ref_weights)


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
def test_one_step_equals_forward_over_one_step(arm, cell):
    model = make_model(arm, cell, bidirectional=fits(arm, True))
    src, lengths = padded_batch([7, 4, 1, 6])
    with torch.inference_mode():
        _assert_equal(_steps(model, src, lengths, True), _steps(model, src, lengths, False))


def test_one_step_under_dropout_draws_the_masks_forward_draws(arm):
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True)).train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.3
    src, lengths = padded_batch([7, 4, 1, 6])
    results = []
    with torch.no_grad():
        for through_step in (True, False):
            torch.manual_seed(11)
            results.append(_steps(model, src, lengths, through_step))
    _assert_equal(*results)


def test_one_step_under_bf16_autocast_equals_forward(arm):
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True))
    src, lengths = padded_batch([7, 4, 1, 6])
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        step_results = _steps(model, src, lengths, True)
        _assert_equal(step_results, _steps(model, src, lengths, False))
    assert step_results[0][0].dtype == torch.bfloat16  # the output layer ran under autocast
    assert step_results[0][1].dtype == torch.float32  # the recurrence in the weights' precision


def test_additive_search_steps_without_the_sequence_path(monkeypatch):
    """The additive arm's search step on the CPU does not go through `forward` (whose bookkeeping for T steps cost
    a search about 3% of its time), and decodes what the reference step loop decodes."""
    model = make_model("additive", Cell.gru, bidirectional=True)
    assert model.decoder.cpu_path is CpuPath.additive
    src, lengths = padded_batch([7, 4, 1, 6])
    reference = (
        greedy_search(model, src, lengths, 1.5, stepwise=True),
        beam_search(model, src, lengths, 3, 1.5, stepwise=True),
    )

    def no_forward(*args, **kwargs):
        raise AssertionError("the additive search step went through Decoder.forward")

    monkeypatch.setattr(Decoder, "forward", no_forward)
    searched = (greedy_search(model, src, lengths, 1.5), beam_search(model, src, lengths, 3, 1.5))
    for hyps, stepwise in zip(searched, reference):
        assert [h.tokens for h in hyps] == [h.tokens for h in stepwise]
        assert [h.score for h in hyps] == pytest.approx([h.score for h in stepwise], abs=1e-5)
