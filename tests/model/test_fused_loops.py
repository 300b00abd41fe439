"""The fused decoder loops (`additive_scan`, `feed_scan`) equal the torch step loop in every gradient path
(outputs, attention weights, final state), reuse their workspace safely, and run under bf16 autocast."""

import pytest
import torch
import torch.nn.functional as F

from attention_nmt.model import additive_scan as additive_module
from attention_nmt.model.encoder import Cell
from tests.model.arms import SPECIALS, TRG_VOCAB, make_model, padded_batch

FUSED = ["additive", "general+feed", "scaled_dot+feed"]


def _everything_loss(model, src, lengths, trg, stepwise, seed=3):
    """A loss that reaches the logits, every attention weight and the last decoder state (and feed)."""
    _, memory, state = model.start(src, lengths, stepwise)
    logits, last, weights = model.decoder(trg, state, memory, stepwise=stepwise)
    gen = torch.Generator().manual_seed(seed)
    loss = F.cross_entropy(logits.flatten(0, 1), trg.roll(-1, 1).flatten(), ignore_index=SPECIALS.pad)
    loss = loss + (weights * torch.randn(weights.shape, generator=gen, dtype=weights.dtype)).sum()
    loss = loss + (last.hidden * torch.randn(last.hidden.shape, generator=gen, dtype=weights.dtype)).sum()
    if last.feed is not None:
        loss = loss + last.feed.square().sum()
    params = [p for p in model.parameters() if p.requires_grad]
    return loss, torch.autograd.grad(loss, params, allow_unused=True)


@pytest.mark.parametrize("arm", FUSED)
def test_fused_loop_gradients_through_weights_and_final_state_equal_the_step_loop(arm):
    model = make_model(arm, Cell.gru, bidirectional="dot" not in arm).double()
    src, lengths = padded_batch([7, 4, 1, 6])
    trg = torch.randint(4, TRG_VOCAB, (4, 5))
    fast_loss, fast_grads = _everything_loss(model, src, lengths, trg, stepwise=False)
    ref_loss, ref_grads = _everything_loss(model, src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-12, atol=1e-12)
    for (name, _), fast, ref in zip(model.named_parameters(), fast_grads, ref_grads):
        assert ref is not None and fast is not None, name
        torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12, msg=name)


def _grads(model, src, lengths, trg):
    logits, _ = model(src, lengths, trg)
    return torch.autograd.grad(logits.square().mean(), list(model.parameters()))


def test_additive_workspace_lent_to_one_graph_at_a_time_gives_the_same_gradients():
    model = make_model("additive")
    batches = [(padded_batch([6, 3], seed=s), torch.randint(4, TRG_VOCAB, (2, 4 + s))) for s in (1, 2)]
    alone = [_grads(model, *src_lengths, trg) for src_lengths, trg in batches]  # one graph at a time
    outputs = [model(*src_lengths, trg)[0] for src_lengths, trg in batches]  # both graphs alive at once
    together = [torch.autograd.grad(out.square().mean(), list(model.parameters())) for out in outputs]
    for first, second in zip(alone, together):
        for a, b in zip(first, second):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_second_backward_after_the_workspace_was_lent_again_raises():
    model = make_model("additive")
    (src, lengths), trg = padded_batch([5, 2]), torch.randint(4, TRG_VOCAB, (2, 4))
    first = model(src, lengths, trg)[0].sum()
    first.backward(retain_graph=True)
    model(src, lengths, trg)[0].sum().backward()  # borrows the workspace the first graph gave back
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):  # autograd's version check
        first.backward()


def test_workspace_grows_and_is_reused_between_steps():
    additive_module.WORKSPACE.clear()
    model = make_model("additive")
    for trg_len in (3, 6, 4):
        (src, lengths), trg = padded_batch([6, 3]), torch.randint(4, TRG_VOCAB, (2, trg_len))
        model(src, lengths, trg)[0].sum().backward()
    buffer = additive_module.WORKSPACE._buffer
    assert buffer is not None and buffer.numel() == 6 * 2 * 6 * 16  # the largest (T, B, S, A) seen
    (src, lengths), trg = padded_batch([6, 3]), torch.randint(4, TRG_VOCAB, (2, 5))
    model(src, lengths, trg)[0].sum().backward()
    assert additive_module.WORKSPACE._buffer is buffer  # reused, not reallocated


@pytest.mark.parametrize("arm", FUSED)
def test_fused_loops_under_bf16_autocast_train_close_to_fp32(arm):
    model = make_model(arm, Cell.gru, bidirectional="dot" not in arm)
    src, lengths = padded_batch([7, 4, 1])
    trg = torch.randint(4, TRG_VOCAB, (3, 5))
    reference, _ = model(src, lengths, trg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, weights = model(src, lengths, trg)
    mixed.float().sum().backward()
    assert weights.dtype == torch.float32  # the loop ran in the weights' precision
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    torch.testing.assert_close(mixed.float(), reference, atol=5e-2, rtol=5e-2)
