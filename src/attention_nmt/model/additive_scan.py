"""Bahdanau et al.'s decoder loop (additive attention into a one-layer GRU) as one autograd Function for the CPU.

The same computation as `Decoder._reference` for attention=additive, step by step (Bahdanau et al. 2014,
eq. 6 and appendix A.1.2): with h = s_{i-1},
    e_ij = v^T tanh(W_a s_{i-1} + b_a + U h_j),  alpha_i = masked softmax_j(e_i),  c_i = sum_j alpha_ij h_j,
    s_i = GRU([E y_{i-1}; c_i], s_{i-1}).
What makes it faster than autograd's step loop, with the same parameters and results up to float noise:

- W_a s_{i-1} and W_hh s_{i-1} (both read s_{i-1}) are written into one buffer, whose rows the backward pass
  turns into dL/ds_{i-1} with one product per step;
- the forward keeps one (B, S, A) tensor per step, t_i = tanh(.), in a buffer reused between training steps
  (`workspace`), and no autograd graph;
- the backward forms the gradients of W_a, W_hh, W_c (the context's GRU input columns), v and of the values
  once, from all steps, instead of one small product per step, and the gradient of the keys U h_j by
  accumulating in place: since d tanh(x) = 1 - tanh(x)^2, sum_i d_e_i v (1 - t_i^2) = v (sum_i d_e_i -
  sum_i d_e_i t_i^2), so no step materialises its own (B, S, A) gradient of the keys or of the tanh input.
A search runs one step at a time through `additive_step`, the same step (`_step`) without autograd.
Shapes: T steps, B batch, S source length, A attention size, D value size, H hidden, G = 3H.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from attention_nmt.model.attention import masked_softmax, softmax_backward
from attention_nmt.model.gru import cell_backward, cell_forward
from attention_nmt.model.workspace import Workspace

#: the tanh outputs of the last training step's loop, kept for its backward pass (see `workspace`)
WORKSPACE = Workspace()


class AdditiveWeights(NamedTuple):
    """The parameters the loop reads: W_a (A, H), b_a (A,), v (A,), W_c (G, D) the GRU's input columns for
    c_i, W_hh (G, H), b_hh (G,)."""

    w_query: Tensor
    b_query: Tensor
    energy: Tensor
    w_context: Tensor
    w_hh: Tensor
    b_hh: Tensor


def _step(
    gi_y: Tensor,
    h: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor,
    weights: AdditiveWeights,
    buffers: tuple[Tensor, Tensor, Tensor, Tensor, Tensor],
) -> tuple[Tensor, Tensor]:
    """One step from s_{i-1} = `h` (B, H) and gi_y (B, G): returns s_i (B, H) and alpha_i (B, S). `buffers` are
    what the step writes: tanh (B, S, A), [W_hh s + b_hh; W_a s + b_a] (B, G + A), c_i (B, D), and for
    `cell_backward` the gates (B, G) and W_hn s + b_hn (B, H)."""
    tanh, projected, context, gates, gh_n = buffers
    gates_size = weights.w_hh.shape[0]
    torch.addmm(weights.b_hh, h, weights.w_hh.t(), out=projected[:, :gates_size])
    torch.addmm(weights.b_query, h, weights.w_query.t(), out=projected[:, gates_size:])
    torch.add(keys, projected[:, None, gates_size:], out=tanh).tanh_()  # (B, S, A)
    alpha = masked_softmax(torch.matmul(tanh, weights.energy), mask)  # from e_i (B, S), as `Attention.attend`
    torch.bmm(alpha.unsqueeze(1), values, out=context.unsqueeze(1))  # c_i
    gi = torch.addmm(gi_y, context, weights.w_context.t())  # (B, G)
    return cell_forward(gi, projected[:, :gates_size], h, gates, gh_n), alpha


def _forward(
    gi_y: Tensor,
    h0: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor,
    weights: AdditiveWeights,
    tanhs: Tensor,
    keep: bool,
) -> tuple[Tensor, ...]:
    """The loop. Returns states s_0..s_T (T+1, B, H), contexts (T, B, D), alphas (T, B, S), gates (T, B, G)
    and W_hn s + b_hn (T, B, H). With `keep`, every step's tanh output is kept in `tanhs` (T, B, S, A) for the
    backward pass; without, `tanhs` (1, B, S, A) is the one buffer every step reuses."""
    steps, batch, gates_size = gi_y.shape
    hidden, (src_len, attention_size) = h0.shape[1], keys.shape[1:]
    keys, values = keys.contiguous(), values.contiguous()  # the encoder's are time-major underneath
    states = gi_y.new_empty(steps + 1, batch, hidden)
    states[0] = h0
    contexts = gi_y.new_empty(steps, batch, values.shape[2])
    alphas = gi_y.new_empty(steps, batch, src_len)
    gates, gh_n = gi_y.new_empty(steps, batch, gates_size), gi_y.new_empty(steps, batch, hidden)
    projected = gi_y.new_empty(batch, gates_size + attention_size)  # [W_hh s + b_hh; W_a s + b_a], every step
    for t in range(steps):
        buffers = (tanhs[t if keep else 0], projected, contexts[t], gates[t], gh_n[t])
        states[t + 1], alphas[t] = _step(gi_y[t], states[t], keys, values, mask, weights, buffers)
    return states, contexts, alphas, gates, gh_n


class _AdditiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gi_y, h0, keys, values, mask, w_query, b_query, energy, w_context, w_hh, b_hh):
        weights = AdditiveWeights(w_query, b_query, energy, w_context, w_hh, b_hh)
        shape = (gi_y.shape[0], *keys.shape)  # (T, B, S, A)
        tanhs, ctx.loan = WORKSPACE.borrow(shape, gi_y, ctx)
        states, contexts, alphas, gates, gh_n = _forward(gi_y, h0, keys, values, mask, weights, tanhs, keep=True)
        ctx.save_for_backward(states, contexts, alphas, tanhs, gates, gh_n, values, *weights)
        ctx.set_materialize_grads(False)
        return states[1:], contexts, alphas

    @staticmethod
    @once_differentiable
    def backward(ctx, d_states, d_contexts, d_alphas):
        WORKSPACE.resume(ctx.loan, ctx)  # before reading the saved tanh outputs: still this graph's?
        states, contexts, alphas, tanhs, gates, gh_n, values, *params = ctx.saved_tensors
        weights = AdditiveWeights(*params)
        steps, batch, hidden = contexts.shape[0], contexts.shape[1], states.shape[2]
        gates_size, attention_size = weights.w_hh.shape[0], weights.energy.shape[0]
        w_cat = torch.cat([weights.w_hh, weights.w_query])  # (G + A, H)
        d_gi = contexts.new_empty(steps, batch, gates_size)
        d_projected = contexts.new_empty(steps, batch, gates_size + attention_size)  # [dL/d(W_hh s); dL/dq]
        d_contexts_total = contexts.new_empty(contexts.shape)
        d_energy = contexts.new_zeros(attention_size)
        sum_d_e = alphas.new_zeros(alphas.shape[1:])  # sum_i d_e_i, (B, S)
        sum_d_e_t2 = tanhs.new_zeros(tanhs.shape[1:])  # sum_i d_e_i t_i^2, (B, S, A)
        t2_buffer = tanhs.new_empty(tanhs.shape[1:])
        dh = states.new_zeros(batch, hidden)
        for t in range(steps - 1, -1, -1):
            if d_states is not None:
                dh = dh + d_states[t]
            dh_direct = cell_backward(dh, states[t], gates[t], gh_n[t], d_gi[t], d_projected[t, :, :gates_size])
            d_context = d_contexts_total[t]
            if d_contexts is None:
                torch.mm(d_gi[t], weights.w_context, out=d_context)
            else:
                torch.addmm(d_contexts[t], d_gi[t], weights.w_context, out=d_context)
            d_alpha = torch.bmm(values, d_context.unsqueeze(2)).squeeze(2)  # (B, S)
            if d_alphas is not None:
                d_alpha = d_alpha + d_alphas[t]
            d_e = softmax_backward(alphas[t], d_alpha)  # (B, S), 0 on padding
            tanh = tanhs[t]
            d_energy.addmv_(tanh.view(-1, attention_size).t(), d_e.view(-1))  # sum_{b,j} d_e t
            t2 = torch.mul(tanh, tanh, out=t2_buffer)
            row_d_e = d_e.sum(-1, keepdim=True)  # (B, 1)
            d_query = (row_d_e - torch.bmm(d_e.unsqueeze(1), t2).squeeze(1)) * weights.energy  # (B, A)
            d_projected[t, :, gates_size:] = d_query
            sum_d_e += d_e
            sum_d_e_t2.addcmul_(d_e.unsqueeze(2), t2)
            dh = torch.addmm(dh_direct, d_projected[t], w_cat)  # dL/ds_{i-1}
        WORKSPACE.give_back(ctx.loan)
        d_keys = (sum_d_e.unsqueeze(2) - sum_d_e_t2).mul_(weights.energy)  # (B, S, A)
        d_values = torch.bmm(alphas.permute(1, 2, 0), d_contexts_total.transpose(0, 1))  # (B, S, D)
        flat = d_projected.view(steps * batch, -1)
        d_w_cat = flat.t().mm(states[:-1].reshape(steps * batch, hidden))  # (G + A, H)
        d_b_cat = flat.sum(0)
        d_w_context = d_gi.view(steps * batch, gates_size).t().mm(contexts.view(steps * batch, -1))  # (G, D)
        return (
            d_gi,
            dh,
            d_keys,
            d_values,
            None,
            d_w_cat[gates_size:],
            d_b_cat[gates_size:],
            d_energy,
            d_w_context,
            d_w_cat[:gates_size],
            d_b_cat[:gates_size],
        )


def additive_scan(
    gi_y: Tensor, h0: Tensor, keys: Tensor, values: Tensor, mask: Tensor, weights: AdditiveWeights
) -> tuple[Tensor, Tensor, Tensor]:
    """Run the additive-attention GRU decoder over T teacher-forced steps (`additive_step` runs one, searching).

    Args:
        gi_y: (T, B, G) W_e E y_{i-1} + b_ih for every step; h0: (B, H) s_0.
        keys: (B, S, A) U h_j; values: (B, S, D) h_j; mask: (B, S) True marks a real source token.
        weights: the loop's parameters (`AdditiveWeights`).

    Returns:
        states s_1..s_T (T, B, H), contexts c_1..c_T (T, B, D), attention weights alpha (T, B, S), exactly 0
        on padding, in the weights' dtype: under autocast the loop runs in the weights' precision.
    """
    gi_y, h0, keys, values = _in_weights_dtype(weights, gi_y, h0, keys, values)
    with _autocast_off(gi_y):
        if torch.is_grad_enabled() and any(t.requires_grad for t in (gi_y, h0, keys, values, *weights)):
            return _AdditiveScan.apply(gi_y, h0, keys, values, mask, *weights)
        with WORKSPACE.lent_for_call((1, *keys.shape), gi_y) as scratch:  # one step's tanh outputs at a time
            states, contexts, alphas, _, _ = _forward(gi_y, h0, keys, values, mask, weights, scratch, keep=False)
        return states[1:], contexts, alphas


@torch.no_grad()
def additive_step(
    gi_y: Tensor, h: Tensor, keys: Tensor, values: Tensor, mask: Tensor, weights: AdditiveWeights
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the loop without autograd, for a search: the same arithmetic as each step of `additive_scan`.

    Args:
        gi_y: (B, G) W_e E y_{i-1} + b_ih; h: (B, H) s_{i-1}; keys, values, mask and weights as `additive_scan`'s.

    Returns:
        s_i (B, H), c_i (B, D) and alpha_i (B, S), in the weights' dtype.
    """
    gi_y, h, keys, values = _in_weights_dtype(weights, gi_y, h, keys, values)
    batch, gates_size, attention_size = h.shape[0], weights.w_hh.shape[0], keys.shape[2]
    # Every buffer is allocated afresh, the (B, S, A) tanh outputs included: with glibc keeping freed memory
    # (`allocator.keep_freed_memory`, set by training, evaluation and the benchmark) a step gets the blocks the
    # step before freed, without page faults. Borrowing the workspace instead cost a greedy search 2-3.5% of its
    # time: the lending's Python runs with the caches cold after the attention's arithmetic.
    buffers = (
        h.new_empty(keys.shape),
        h.new_empty(batch, gates_size + attention_size),
        h.new_empty(batch, values.shape[2]),
        h.new_empty(batch, gates_size),
        h.new_empty(batch, h.shape[1]),
    )
    with _autocast_off(h):
        state, alpha = _step(gi_y, h, keys.contiguous(), values.contiguous(), mask, weights, buffers)
    return state, buffers[2], alpha


def _in_weights_dtype(weights: AdditiveWeights, *tensors: Tensor) -> tuple[Tensor, ...]:
    """The inputs in the weights' dtype: under mixed precision they arrive in bf16/fp16, and the loop runs in fp32."""
    dtype = weights.w_hh.dtype
    return tuple(t if t.dtype == dtype else t.to(dtype) for t in tensors)


def _autocast_off(like: Tensor) -> contextlib.AbstractContextManager:
    """Autocast switched off for the loop where it is on (entering a context costs a search step a few us)."""
    device = like.device.type
    return torch.autocast(device_type=device, enabled=False) if torch.is_autocast_enabled(device) else _NO_CONTEXT


_NO_CONTEXT = contextlib.nullcontext()
