"""Luong et al.'s decoder loop with input feeding (one-layer GRU) as one autograd Function for the CPU.

The same computation as `Decoder._reference` for attention=multiplicative with input feeding, step by step
(Luong et al. 2015, sec. 3.3 and eq. 5):
    h_t = GRU([E y_{t-1}; h~_{t-1}], h_{t-1}),  alpha_t = masked softmax_s(score(h_t, h_s)),
    c_t = sum_s alpha_ts h_s,  h~_t = tanh(W_c [c_t; h_t] + b_c),
with score(h_t, h_s) = scale * h_t . k_s over keys k_s projected once per sentence (`MultiplicativeAttention`).
Faster than autograd's step loop, with the same parameters and results up to float noise: the forward keeps
no autograd graph, and the backward forms the gradients of W_hh, the feed's GRU input columns, W_c, the keys
and the values once from all steps instead of one small product per step.
Shapes: T steps, B batch, S source length, Q key (= hidden) size, D value size, H hidden, G = 3H, O output.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from attention_nmt.model.attention import masked_softmax, softmax_backward
from attention_nmt.model.gru import cell_backward, cell_forward


class FeedWeights(NamedTuple):
    """The parameters the loop reads: W_f (G, O) the GRU's input columns for h~_{t-1}, W_hh (G, H),
    b_hh (G,), W_c (O, D + H) and b_c (O,) of the attentional layer."""

    w_feed: Tensor
    w_hh: Tensor
    b_hh: Tensor
    w_out: Tensor
    b_out: Tensor


def _forward(
    gi_y: Tensor,
    h0: Tensor,
    feed0: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor,
    scale: float,
    weights: FeedWeights,
    query_first: bool = False,
) -> tuple[Tensor, ...]:
    """The loop: states h_0..h_T (T+1, B, H), feeds h~_0..h~_T (T+1, B, O), alphas (T, B, S), [c_t; h_t]
    (T, B, D + H), gates (T, B, G) and W_hn h + b_hn (T, B, H).

    `query_first` scores each row as h_t^T K^T, (1, Q) by (Q, S), as `MultiplicativeAttention.score` does, which
    MKL runs about 1.8x as fast as K h_t, (S, Q) by (Q, 1), at a search's batch of 64 x 61 x 256. Searches use it.
    Training keeps K h_t, the order its published numbers were summed in."""
    steps, batch, gates_size = gi_y.shape
    hidden, value_size = h0.shape[1], values.shape[2]
    w_hh_t, w_feed_t, w_out_t = weights.w_hh.t(), weights.w_feed.t(), weights.w_out.t()
    states = gi_y.new_empty(steps + 1, batch, hidden)
    feeds = gi_y.new_empty(steps + 1, batch, feed0.shape[1])
    states[0], feeds[0] = h0, feed0
    alphas = gi_y.new_empty(steps, batch, keys.shape[1])
    context_state = gi_y.new_empty(steps, batch, value_size + hidden)
    gates, gh_n = gi_y.new_empty(steps, batch, gates_size), gi_y.new_empty(steps, batch, hidden)
    for t in range(steps):
        gh = torch.addmm(weights.b_hh, states[t], w_hh_t)
        gi = torch.addmm(gi_y[t], feeds[t], w_feed_t)
        h = states[t + 1] = cell_forward(gi, gh, states[t], gates[t], gh_n[t])  # h_t
        if query_first:
            scores = torch.bmm(h.unsqueeze(1), keys.transpose(1, 2)).squeeze(1)  # (B, S)
        else:
            scores = torch.bmm(keys, h.unsqueeze(2)).squeeze(2)
        alphas[t] = masked_softmax(scores * scale if scale != 1.0 else scores, mask)
        context_state[t, :, :value_size] = torch.bmm(alphas[t].unsqueeze(1), values).squeeze(1)  # c_t
        context_state[t, :, value_size:] = h
        torch.addmm(weights.b_out, context_state[t], w_out_t, out=feeds[t + 1]).tanh_()  # h~_t
    return states, feeds, alphas, context_state, gates, gh_n


class _FeedScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gi_y, h0, feed0, keys, values, mask, scale, w_feed, w_hh, b_hh, w_out, b_out):
        weights = FeedWeights(w_feed, w_hh, b_hh, w_out, b_out)
        states, feeds, alphas, context_state, gates, gh_n = _forward(
            gi_y, h0, feed0, keys, values, mask, scale, weights
        )
        ctx.save_for_backward(states, feeds, alphas, context_state, gates, gh_n, keys, values, *weights)
        ctx.scale = scale
        ctx.set_materialize_grads(False)
        return states[1:], feeds[1:], alphas

    @staticmethod
    @once_differentiable
    def backward(ctx, d_states, d_feeds, d_alphas):
        states, feeds, alphas, context_state, gates, gh_n, keys, values, *params = ctx.saved_tensors
        weights = FeedWeights(*params)
        steps, batch, hidden = alphas.shape[0], alphas.shape[1], states.shape[2]
        value_size, gates_size = values.shape[2], weights.w_hh.shape[0]
        d_gi, d_gh = states.new_empty(steps, batch, gates_size), states.new_empty(steps, batch, gates_size)
        d_pre_out = feeds.new_empty(steps, batch, feeds.shape[2])  # through h~_t = tanh(.)
        d_contexts, d_scores = values.new_empty(steps, batch, value_size), alphas.new_empty(alphas.shape)
        dh, d_feed = states.new_zeros(batch, hidden), feeds.new_zeros(batch, feeds.shape[2])
        for t in range(steps - 1, -1, -1):
            if d_feeds is not None:
                d_feed = d_feed + d_feeds[t]
            feed = feeds[t + 1]
            torch.mul(d_feed, 1 - feed * feed, out=d_pre_out[t])
            d_context_state = d_pre_out[t].mm(weights.w_out)  # (B, D + H)
            d_contexts[t] = d_context_state[:, :value_size]
            d_alpha = torch.bmm(values, d_contexts[t].unsqueeze(2)).squeeze(2)  # (B, S)
            if d_alphas is not None:
                d_alpha = d_alpha + d_alphas[t]
            d_scores[t] = softmax_backward(alphas[t], d_alpha) * ctx.scale
            dh = dh + d_context_state[:, value_size:] + torch.bmm(d_scores[t].unsqueeze(1), keys).squeeze(1)
            if d_states is not None:
                dh = dh + d_states[t]
            dh_direct = cell_backward(dh, states[t], gates[t], gh_n[t], d_gi[t], d_gh[t])
            dh = torch.addmm(dh_direct, d_gh[t], weights.w_hh)  # dL/dh_{t-1}
            d_feed = d_gi[t].mm(weights.w_feed)  # dL/dh~_{t-1}
        d_keys = torch.bmm(d_scores.permute(1, 2, 0), states[1:].transpose(0, 1))  # (B, S, Q)
        d_values = torch.bmm(alphas.permute(1, 2, 0), d_contexts.transpose(0, 1))  # (B, S, D)
        flat_gh, flat_gi = d_gh.view(steps * batch, -1), d_gi.view(steps * batch, -1)
        flat_out = d_pre_out.view(steps * batch, -1)
        return (
            d_gi,
            dh,
            d_feed,
            d_keys,
            d_values,
            None,
            None,
            flat_gi.t().mm(feeds[:-1].reshape(steps * batch, -1)),
            flat_gh.t().mm(states[:-1].reshape(steps * batch, -1)),
            flat_gh.sum(0),
            flat_out.t().mm(context_state.view(steps * batch, -1)),
            flat_out.sum(0),
        )


def feed_scan(
    gi_y: Tensor,
    h0: Tensor,
    feed0: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor,
    scale: float,
    weights: FeedWeights,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run the input-feeding GRU decoder over T teacher-forced (or, while searching, one) steps.

    Args:
        gi_y: (T, B, G) W_e E y_{t-1} + b_ih for every step; h0: (B, H) h_0; feed0: (B, O) h~_0.
        keys: (B, S, Q) the projected keys; values: (B, S, D); mask: (B, S) True marks a real source token.
        scale: the score's factor (1, or 1/sqrt(Q) for scaled_general and scaled_dot); weights: the loop's parameters.

    Returns:
        states h_1..h_T (T, B, H), attentional states h~_1..h~_T (T, B, O), attention weights (T, B, S),
        exactly 0 on padding, in the weights' dtype: under autocast the loop runs in the weights' precision.
    """
    dtype = weights.w_hh.dtype
    gi_y, h0, feed0, keys, values = (t.to(dtype) for t in (gi_y, h0, feed0, keys, values))
    with torch.autocast(device_type=gi_y.device.type, enabled=False):
        if torch.is_grad_enabled() and any(t.requires_grad for t in (gi_y, h0, feed0, keys, values, *weights)):
            return _FeedScan.apply(gi_y, h0, feed0, keys, values, mask, scale, *weights)
        states, feeds, alphas, *_ = _forward(gi_y, h0, feed0, keys, values, mask, scale, weights, query_first=True)
        return states[1:], feeds[1:], alphas
