"""`gru_scan` (hand-written backward) equals torch's GRU in values and in every gradient."""

import pytest
import torch
import torch.nn.functional as F

from attention_nmt.model.gru import gru_scan, reverse_within_lengths, scan_without_grad


def _torch_and_scan(mask=None, steps=6, batch=4, inputs=5, hidden=7):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(inputs, hidden).double()
    x = torch.randn(steps, batch, inputs, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(batch, hidden, dtype=torch.double, requires_grad=True)
    gi = F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0)
    return rnn, x, h0, gru_scan(gi, h0, rnn.weight_hh_l0, rnn.bias_hh_l0, mask)


def test_gru_scan_equals_torch_gru_in_values_and_gradients():
    rnn, x, h0, scanned = _torch_and_scan()
    reference, _ = rnn(x, h0.unsqueeze(0))
    torch.testing.assert_close(scanned, reference, rtol=0, atol=1e-12)
    upstream = torch.randn_like(reference)
    wrt = [x, h0, *rnn.parameters()]
    for ours, theirs in zip(torch.autograd.grad(scanned, wrt, upstream), torch.autograd.grad(reference, wrt, upstream)):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


def test_masked_steps_keep_the_state_and_pass_gradients_through():
    mask = torch.tensor(
        [[1, 1, 1, 1], [1, 0, 1, 1], [1, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=torch.bool
    ).unsqueeze(-1)  # (T, B, 1): rows of length 3, 1, 2, 6
    rnn, x, h0, scanned = _torch_and_scan(mask)
    for row, length in enumerate([3, 1, 2, 6]):  # the state after a row's last real step never changes
        reference, _ = rnn(x[:length, row : row + 1], h0[row : row + 1].unsqueeze(0))
        torch.testing.assert_close(scanned[:length, row], reference[:, 0], rtol=0, atol=1e-12)
        assert torch.equal(scanned[length:, row], scanned[length - 1, row].expand(6 - length, -1))
    wrt = (x.detach(), h0.detach().requires_grad_(), rnn.weight_hh_l0, rnn.bias_hh_l0)
    gi = F.linear(wrt[0], rnn.weight_ih_l0, rnn.bias_ih_l0).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda g, h, w, b: gru_scan(g, h, w, b, mask), (gi, *wrt[1:]))


def test_gru_scan_without_gradients_gives_the_same_states():
    rnn, x, h0, scanned = _torch_and_scan(torch.rand(6, 4, 1) > 0.3)
    with torch.inference_mode():
        again = gru_scan(
            F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0),
            h0,
            rnn.weight_hh_l0,
            rnn.bias_hh_l0,
            scanned.new_ones(6, 4, 1, dtype=torch.bool) & (torch.rand(6, 4, 1) > 2),
        )
    assert again.shape == scanned.shape  # all-masked: every step keeps h0
    torch.testing.assert_close(again, h0.detach().expand(6, -1, -1), rtol=0, atol=0)


def test_a_reverse_scan_reads_each_sentence_backwards_after_holding_h0_through_its_padding():
    """`reverse=True` with a right-padding mask gives what a forward scan over each sentence reversed within its
    length gives, position by position, and h0 on the padding; `out` receives the states."""
    torch.manual_seed(0)
    rnn, lengths = torch.nn.GRU(5, 7).double(), torch.tensor([6, 2, 4, 1])
    gi = F.linear(torch.randn(6, 4, 5, dtype=torch.double), rnn.weight_ih_l0, rnn.bias_ih_l0)
    h0 = torch.randn(4, 7, dtype=torch.double)
    mask = (torch.arange(6)[:, None] < lengths[None, :]).unsqueeze(-1)  # (S, B, 1)
    reverse = reverse_within_lengths(lengths, 6).t().unsqueeze(-1)  # (S, B, 1)
    weights = (rnn.weight_hh_l0.detach(), rnn.bias_hh_l0.detach())
    out = torch.full((4, 6, 9), -1.0, dtype=torch.double).transpose(0, 1)  # a strided (S, B, 9) buffer
    with torch.no_grad():
        backwards = scan_without_grad(gi, h0, *weights, mask, reverse=True, out=out[:, :, 1:8])
        forwards_over_reversed = scan_without_grad(gi.gather(0, reverse.expand_as(gi)), h0, *weights, mask)
    assert backwards.data_ptr() == out[:, :, 1:8].data_ptr()
    expected = torch.where(mask, forwards_over_reversed.gather(0, reverse.expand(-1, -1, 7)), h0)
    torch.testing.assert_close(backwards, expected, rtol=0, atol=0)
    assert torch.all(out[:, :, 0] == -1) and torch.all(out[:, :, 8] == -1)  # nothing written outside its view


@pytest.mark.parametrize("lengths", [[3, 1, 4], [4, 4]])
def test_reverse_within_lengths_reverses_real_tokens_only(lengths):
    index = reverse_within_lengths(torch.tensor(lengths), 4)
    for row, length in enumerate(lengths):
        assert index[row].tolist() == list(range(length - 1, -1, -1)) + list(range(length, 4))


@pytest.mark.parametrize("grad", [True, False], ids=["training", "inference"])
def test_gru_scan_under_bf16_autocast_runs_the_recurrence_in_fp32(grad):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(5, 7)
    gi = F.linear(torch.randn(6, 4, 5), rnn.weight_ih_l0, rnn.bias_ih_l0).detach().bfloat16().requires_grad_(grad)
    h0 = torch.randn(4, 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gru_scan(gi, h0, rnn.weight_hh_l0, rnn.bias_hh_l0)
    plain = gru_scan(gi.detach().float(), h0, rnn.weight_hh_l0, rnn.bias_hh_l0)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed.detach(), plain.detach(), rtol=0, atol=0)  # bf16 inputs, fp32 state
    if grad:
        mixed.sum().backward()
        assert gi.grad.dtype == torch.bfloat16 and torch.isfinite(gi.grad.float()).all()
