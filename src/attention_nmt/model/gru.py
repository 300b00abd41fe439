"""A GRU recurrence for the CPU with a hand-written backward pass, equal to `torch.nn.GRU` up to float noise.

On the CPU, `nn.GRU` runs its time loop through autograd: every step records a graph, and the backward
pass adds each step's weight gradient into the accumulator separately. Here the input projections of
all steps are one matrix product (done by the caller, through autograd), the loop keeps only what the
backward pass needs, and the backward pass collects the recurrent gradients of every step and forms
dW_hh and db_hh in one product at the end. The parameters stay those of the `nn.GRU` module, so
checkpoints do not change. Equations (PyTorch's GRU, Cho et al. 2014):
r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.
One step's gate math and its backward (`cell_forward`, `cell_backward`) are shared with the decoders'
fused loops (`additive_scan`, `feed_scan`).
Shapes: T steps, B batch, H hidden size, G = 3H gate pre-activations (r, z, n, PyTorch's order).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class _GRUScan(torch.autograd.Function):
    """h_t for t = 1..T from precomputed input projections gi (T, B, G); masked rows keep h_{t-1}."""

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None) -> Tensor:
        steps, batch, hidden = gi.shape[0], gi.shape[1], h0.shape[1]
        states = gi.new_empty(steps + 1, batch, hidden)  # h_0 .. h_T
        states[0] = h0
        gates = gi.new_empty(steps, batch, 3 * hidden)  # r, z, n after their nonlinearities
        gh_n = gi.new_empty(steps, batch, hidden)  # W_hn h + b_hn, needed for dr
        w_t = w_hh.t()
        for t in range(steps):
            h = cell_forward(gi[t], torch.addmm(b_hh, states[t], w_t), states[t], gates[t], gh_n[t])
            states[t + 1] = h if mask is None else torch.where(mask[t], h, states[t])
        ctx.save_for_backward(states, gates, gh_n, w_hh, mask)
        return states[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        states, gates, gh_n, w_hh, mask = ctx.saved_tensors
        steps, batch, hidden = grad_out.shape[0], grad_out.shape[1], states.shape[2]
        d_gi = grad_out.new_empty(steps, batch, 3 * hidden)
        d_gh = grad_out.new_empty(steps, batch, 3 * hidden)
        dh = grad_out.new_zeros(batch, hidden)
        for t in range(steps - 1, -1, -1):
            dh = dh + grad_out[t]
            held = None
            if mask is not None:  # rows that kept h_{t-1} pass their gradient straight through
                held = torch.where(mask[t], 0.0, dh)
                dh = torch.where(mask[t], dh, 0.0)
            dh_prev = torch.addmm(cell_backward(dh, states[t], gates[t], gh_n[t], d_gi[t], d_gh[t]), d_gh[t], w_hh)
            dh = dh_prev if held is None else dh_prev + held
        flat = d_gh.view(steps * batch, 3 * hidden)
        d_w_hh = flat.t().mm(states[:-1].reshape(steps * batch, hidden))  # sum_t dgh_t^T h_{t-1}
        return d_gi, dh, d_w_hh, flat.sum(0), None


def cell_forward(gi: Tensor, gh: Tensor, h: Tensor, gates: Tensor, gh_n: Tensor) -> Tensor:
    """One GRU step from its pre-activations gi = W_i x + b_i and gh = W_h h + b_h, each (B, G), and the
    state h (B, H): returns h' and keeps what `cell_backward` needs, the gates r, z, n in `gates` (B, G) and
    W_hn h + b_hn in `gh_n` (B, H)."""
    hidden = h.shape[1]
    rz = torch.sigmoid(gi[:, : 2 * hidden] + gh[:, : 2 * hidden], out=gates[:, : 2 * hidden])
    r, z = rz[:, :hidden], rz[:, hidden:]
    gh_n.copy_(gh[:, 2 * hidden :])
    n = torch.tanh(gi[:, 2 * hidden :] + r * gh_n, out=gates[:, 2 * hidden :])
    return n + z * (h - n)  # (1 - z) * n + z * h


def cell_backward(dh: Tensor, h: Tensor, gates: Tensor, gh_n: Tensor, d_gi: Tensor, d_gh: Tensor) -> Tensor:
    """The backward of `cell_forward` for dL/dh' = dh (B, H): writes dL/dgi and dL/dgh into `d_gi`, `d_gh`
    (B, G) and returns the direct part of dL/dh, z * dh (the caller adds d_gh @ W_hh)."""
    hidden = h.shape[1]
    r, z, n = gates[:, :hidden], gates[:, hidden : 2 * hidden], gates[:, 2 * hidden :]
    d_pre_n = dh * (1 - z) * (1 - n * n)  # through n = tanh(.)
    d_gi[:, 2 * hidden :] = d_pre_n
    d_gh[:, 2 * hidden :] = d_pre_n * r
    d_r = d_pre_n * gh_n
    d_z = dh * (h - n)
    d_gi[:, :hidden] = d_r * r * (1 - r)
    d_gi[:, hidden : 2 * hidden] = d_z * z * (1 - z)
    d_gh[:, : 2 * hidden] = d_gi[:, : 2 * hidden]
    return dh * z


def gru_scan(gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None = None) -> Tensor:
    """Run the GRU recurrence over precomputed input projections.

    Args:
        gi: (T, B, G) W_ih x_t + b_ih for every step; h0: (B, H) the initial state.
        w_hh: (G, H) and b_hh: (G,) the recurrent weights (`weight_hh_l*`, `bias_hh_l*` of an `nn.GRU`).
        mask: (T, B, 1) bool, False where a row keeps its previous state (padding), or None.

    Returns:
        (T, B, H) the states h_1 .. h_T (a masked step repeats the previous state), in the weights' dtype.
        Under mixed precision the projections arrive in bf16/fp16; the recurrence itself runs in the
        weights' precision with autocast off, so the state does not lose precision step after step.
    """
    gi, h0 = gi.to(w_hh.dtype), h0.to(w_hh.dtype)
    with torch.autocast(device_type=gi.device.type, enabled=False):
        if torch.is_grad_enabled() and any(t.requires_grad for t in (gi, h0, w_hh, b_hh)):
            return _GRUScan.apply(gi, h0, w_hh, b_hh, mask)
        return scan_without_grad(gi, h0, w_hh, b_hh, mask)


def scan_without_grad(
    gi: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor,
    mask: Tensor | None = None,
    *,
    reverse: bool = False,
    out: Tensor | None = None,
) -> Tensor:
    """The forward loop of `_GRUScan` without keeping anything for backward (decoding, evaluation).

    `reverse` runs from step T down to 1: with right-padded sentences and their `mask`, each row stays at h0
    through its padding and then reads its sentence backwards, as the backward direction of a packed GRU
    does, with no reversed copy of `gi`. `out` (T, B, H), e.g. one direction's half of a bidirectional
    layer's output, receives the states in place of a new tensor. Same arguments and result as `gru_scan`.
    """
    hidden = h0.shape[1]
    states = gi.new_empty(gi.shape[0], gi.shape[1], hidden) if out is None else out
    h, w_t = h0, w_hh.t()
    gh = gi.new_empty(gi.shape[1], 3 * hidden)  # one buffer for every step's W_hh h + b_hh (B, G)
    # steps where every row is real need no masking (most of them, in batches of similar lengths)
    partial = [False] * gi.shape[0] if mask is None else (~mask).flatten(1).any(1).tolist()
    for t in reversed(range(gi.shape[0])) if reverse else range(gi.shape[0]):
        torch.addmm(b_hh, h, w_t, out=gh)
        rz = gh[:, : 2 * hidden].add_(gi[t, :, : 2 * hidden]).sigmoid_()
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = gh[:, 2 * hidden :].mul_(r).add_(gi[t, :, 2 * hidden :]).tanh_()
        new = torch.addcmul(n, z, h - n)  # (1 - z) * n + z * h_{t-1}
        h = torch.where(mask[t], new, h) if partial[t] else new
        states[t] = h
    return states


def reverse_within_lengths(lengths: Tensor, max_len: int) -> Tensor:
    """(B, S) index that reverses each row's first `lengths[b]` positions and leaves the padding in place."""
    positions = torch.arange(max_len, device=lengths.device)[None, :]  # (1, S)
    lengths = lengths.to(positions.device)[:, None]
    return torch.where(positions < lengths, lengths - 1 - positions, positions)
