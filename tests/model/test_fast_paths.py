"""The fast paths (GRU scans, one-call decoders, batched search) equal the step-by-step reference path
(packed torch RNN encoder, torch RNN decoder one step at a time) on the same weights: values, gradients
and search results."""

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F

from attention_nmt.model.arms.additive import AdditiveAttention
from attention_nmt.model.arms.multiplicative import MultiplicativeAttention, MultiplicativeAttentionConfig, Score
from attention_nmt.model.arms.none import FixedContext
from attention_nmt.model.attention import Attention, AttentionConfig, FusedLoop
from attention_nmt.model.config import EncoderConfig, ModelConfig
from attention_nmt.model.encoder import Cell
from attention_nmt.model.search import beam_search, greedy_search
from attention_nmt.model.seq2seq import build_model
from tests.model.arms import SPECIALS, TRG_VOCAB, fits, make_model, padded_batch


def _loss_and_grads(model, src, lengths, trg, stepwise):
    logits, _ = model(src, lengths, trg, stepwise=stepwise)
    loss = F.cross_entropy(logits.flatten(0, 1), trg.roll(-1, 1).flatten(), ignore_index=SPECIALS.pad)
    params = [p for p in model.parameters() if p.requires_grad]
    return loss, torch.autograd.grad(loss, params, allow_unused=True)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_training_gradients_of_the_fast_path_equal_the_reference(arm, bidirectional):
    if not fits(arm, bidirectional):
        pytest.skip("the arm's score needs equal sizes")
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


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_the_encoder_without_gradients_equals_its_training_path(bidirectional, training):
    """Search and evaluation encode through `_scan_gru_without_grad` (a reverse scan, no reversed copies, one
    output buffer): the same values as the path training differentiates, dropout masks included, with the
    padding zero and the states contiguous for the attention."""
    from attention_nmt.model.encoder import Encoder

    torch.manual_seed(0)
    encoder = Encoder(30, 6, 5, Cell.gru, num_layers=2, bidirectional=bidirectional, dropout=0.3, pad_id=0)
    encoder.double().train(training)
    src, lengths = padded_batch([5, 2, 4, 1])
    torch.manual_seed(3)
    differentiable = encoder(src, lengths)
    torch.manual_seed(3)
    with torch.no_grad():
        searched = encoder(src, lengths)
    assert differentiable.states.requires_grad and not searched.states.requires_grad
    for name in ("states", "final", "layer_hidden"):
        torch.testing.assert_close(getattr(searched, name), getattr(differentiable, name), rtol=0, atol=1e-12)
    assert searched.states.is_contiguous()  # what the attention reads every step
    assert torch.all(searched.states[1, 2:] == 0) and torch.all(searched.states[3, 1:] == 0)  # padding
    assert training or searched.states[0].abs().min() > 0  # a full-length sentence: every state written


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
def test_greedy_and_beam_search_equal_the_reference_path(arm, cell):
    for seed in range(2):
        model = make_model(arm, cell, bidirectional=fits(arm, True), seed=seed)
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


class _NegatedScore(MultiplicativeAttention):
    """Luong's attention with a changed score, e = -(h_t . k_s): it must not run the loop written for the
    parent's score, which it inherits no declaration of."""

    def score(self, query, keys):
        return -super().score(query, keys)


class _PreviousStateDot(Attention):
    """Queried with s_{i-1} (a step loop is needed) by a dot product: no fused loop exists for it."""

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2))


@dataclass
class _NegatedConfig(MultiplicativeAttentionConfig):
    def build(self, query_size, value_size):
        return _NegatedScore(query_size, value_size, self.score)


@dataclass
class _PreviousStateDotConfig(AttentionConfig):
    attention_class: ClassVar[type[Attention]] = _PreviousStateDot
    name: str = "previous_dot"

    def build(self, query_size, value_size):
        return _PreviousStateDot(query_size, value_size)


@pytest.mark.parametrize(
    "config",
    [_NegatedConfig(score=Score.general, input_feeding=True), _PreviousStateDotConfig()],
    ids=["subclass-with-its-own-score", "class-without-a-fused-loop"],
)
def test_an_attention_class_without_its_own_fused_loop_runs_the_step_loop_on_the_cpu(config):
    """Only a class that declares a fused loop itself runs one: any other class (a subclass of a fused arm
    included) gets the reference step loop, with its own score, on the CPU with a one-layer GRU too."""
    torch.manual_seed(0)
    model_cfg = ModelConfig(embedding_size=12, hidden_size=16, output_size=12, dropout=0.0, decoder_cell=Cell.gru)
    encoder = EncoderConfig(name="test", cell=Cell.gru, bidirectional=False, hidden_size=16, dropout=0.0)
    model = build_model(model_cfg, encoder, config, 30, TRG_VOCAB, SPECIALS).double().eval()
    assert type(model.decoder.attention).fused_loop is None and model.decoder.cpu_path is None
    src, lengths = padded_batch([7, 4, 1])
    trg = torch.randint(4, TRG_VOCAB, (3, 5), generator=torch.Generator().manual_seed(2))
    fast_loss, fast_grads = _loss_and_grads(model, src, lengths, trg, stepwise=False)
    ref_loss, ref_grads = _loss_and_grads(model, src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-12, atol=1e-12)
    for fast, ref in zip(fast_grads, ref_grads):
        torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-12)


def test_the_shipped_arms_declare_the_fused_loops_written_for_them():
    assert MultiplicativeAttention.fused_loop is FusedLoop.feed and AdditiveAttention.fused_loop is FusedLoop.additive
    assert FixedContext.fused_loop is None and _NegatedScore.fused_loop is None


def test_a_fixed_context_is_projected_once_per_search_and_follows_its_rows(monkeypatch):
    """`none`'s c is the same at every step: a search projects it at its first step only and carries the
    projections in the state, reordered with the rows when sentences leave the batch or beams are reordered."""
    model = make_model("none", Cell.gru, bidirectional=True)
    src, lengths = padded_batch([9, 5, 1, 7, 3])
    context_columns = model.decoder.hidden_size + model.decoder.embedding.embedding_dim
    calls = []
    project_part = model.decoder.deep_output.project_part

    def counted(part, start):
        calls.append(start)
        return project_part(part, start)

    monkeypatch.setattr(model.decoder.deep_output, "project_part", counted)
    for search in (
        lambda: greedy_search(model, src, lengths, 2.0),
        lambda: beam_search(model, src, lengths, 3, 2.0),
    ):
        calls.clear()
        search()  # (that the results equal the reference path's: test_greedy_and_beam_search_equal_...)
        assert calls.count(context_columns) == 1 and len(calls) > 3 * 2  # s and E y projected at every step
    with torch.no_grad():
        _, memory, state = model.start(src, lengths)
        _, state, _ = model.decoder(torch.full((5, 1), SPECIALS.bos), state, memory)
        rows = torch.tensor([3, 0])
        kept = state.index_select(rows)
    torch.testing.assert_close(kept.fixed.gates, state.fixed.gates[:, rows], rtol=0, atol=0)
    torch.testing.assert_close(kept.fixed.output, state.fixed.output[rows], rtol=0, atol=0)


def test_the_encoder_takes_the_training_path_whenever_any_of_its_weights_learns():
    """With one recurrent weight frozen and the embeddings frozen, the others still need the differentiable scan:
    gradients reach them."""
    from attention_nmt.model.encoder import Encoder

    torch.manual_seed(0)
    encoder = Encoder(30, 6, 5, Cell.gru, num_layers=1, bidirectional=True, dropout=0.0, pad_id=0)
    encoder.embedding.weight.requires_grad_(False)
    encoder.rnn.weight_hh_l0.requires_grad_(False)
    encoder(*padded_batch([5, 2, 4])).states.square().sum().backward()
    assert encoder.rnn.weight_ih_l0.grad is not None and encoder.rnn.weight_ih_l0.grad.abs().sum() > 0
