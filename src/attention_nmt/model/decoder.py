"""The conditional GRU/LSTM decoder, which receives its attention arm and runs it in the paper's order.

Two orders, chosen by the attention module's `queries_previous_state`:

- Bahdanau order (none, additive): c_i = attend(s_{i-1}); s_i = RNN([E y_{i-1}; c_i], s_{i-1});
  deep output t_i = act(W_t [s_i; E y_{i-1}; c_i]) (Bahdanau et al. 2014, eq. 4 p(y_i) = g(y_{i-1}, s_i,
  c_i); their appendix A.2.2 writes s_{i-1} in t_i, we follow eq. 4). For `none`, c_i = c at every step
  (Cho et al. 2014).
- Luong order (multiplicative): h_t = RNN(E y_{t-1} [; h~_{t-1} with input feeding], h_{t-1});
  c_t = attend(h_t); attentional state h~_t = tanh(W_c [c_t; h_t]) (Luong et al. 2015, eq. 5).

`act` is tanh, or maxout over pairs of units when `maxout` is set. Logits are W_o t_i (W_o optionally
tied to the target embedding). Where no step depends on the previous step's attention (`none`, and
multiplicative without input feeding) the RNN runs over the whole target sequence in one call;
otherwise a step loop runs. On the CPU a one-layer GRU decoder runs its recurrence through `gru.gru_scan`,
or, where a step loop is needed and the attention class declares the fused loop written for its score
(`Attention.fused_loop`), through that autograd Function (`additive_scan`, `feed_scan`); any other arm,
a subclass of these included, runs the reference step loop. The fast paths project what does not change
between steps once (E y for all steps; for `none`, the context c and its share of the deep output);
`stepwise=True` keeps the torch-RNN step loop as the reference that tests hold these paths to.
A search calls `Decoder.step` once per step: what `forward` computes over one step; the additive loop's step
runs there as `additive_scan.additive_step`, without the bookkeeping `forward` does for a sequence.
Shapes: B batch, T target steps, S source length, E embedding, H hidden, L decoder layers, D encoder output
size, O output (pre-softmax) size, V target vocabulary.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attention_nmt.model.additive_scan import AdditiveWeights, additive_scan, additive_step
from attention_nmt.model.attention import Attention, FusedLoop, Memory
from attention_nmt.model.encoder import Cell, EncoderOutput, make_rnn
from attention_nmt.model.feed_scan import FeedWeights, feed_scan
from attention_nmt.model.gru import gru_scan


class CpuPath(Enum):
    """The decoder's fast path on the CPU (a one-layer GRU); None stands for the torch-RNN reference path."""

    whole = "whole"  # no step depends on the previous step's attention: one `gru_scan` over all T steps
    additive = "additive"  # the Bahdanau-order step loop fused into `additive_scan` (FusedLoop.additive)
    feed = "feed"  # the input-feeding step loop fused into `feed_scan` (FusedLoop.feed)


class FixedTerms(NamedTuple):
    """What a context that is the same at every step (`none`) adds to each step, projected once per sentence:
    gates (1, B, G) W_c c + b_ih, the GRU's input for c; output (B, 1, O) its share of the deep output."""

    gates: Tensor
    output: Tensor

    def index_select(self, index: Tensor) -> FixedTerms:
        """Keep (and repeat) the batch rows in `index`."""
        return FixedTerms(self.gates.index_select(1, index), self.output.index_select(0, index))


class DecoderState(NamedTuple):
    """Everything carried from one decoding step to the next; modules hold only parameters.

    hidden: (L, B, H) s_{i-1} / h_{t-1}; cell: (L, B, H) LSTM memory cell or None for a GRU;
    feed: (B, O) the previous attentional state h~_{t-1} for input feeding, or None;
    fixed: a fixed context's projections (`FixedTerms`), made by the first step that needs them and carried,
    so that a search, which runs one step per call, does not project the same c at every step; or None.
    """

    hidden: Tensor
    cell: Tensor | None
    feed: Tensor | None
    fixed: FixedTerms | None = None

    def index_select(self, index: Tensor) -> DecoderState:
        """Keep (and repeat) the batch rows in `index`, e.g. to reorder hypotheses in beam search."""
        return DecoderState(
            self.hidden.index_select(1, index),
            None if self.cell is None else self.cell.index_select(1, index),
            None if self.feed is None else self.feed.index_select(0, index),
            None if self.fixed is None else self.fixed.index_select(index),
        )


class DeepOutput(nn.Module):
    """t = act(W [features]) of size O; act is tanh or maxout over pairs of units (Goodfellow et al. 2013)."""

    def __init__(self, input_size: int, output_size: int, maxout: bool) -> None:
        super().__init__()
        self.pool = 2 if maxout else 1
        self.linear = nn.Linear(input_size, output_size * self.pool)

    def forward(self, features: Tensor) -> Tensor:
        return self.activate(self.linear(features))

    def of_parts(self, parts: list[Tensor], projected: dict[int, Tensor] | None = None) -> Tensor:
        """The same as `forward(torch.cat(parts, -1))` without the concatenation: each part (B, T or 1, F_k)
        meets its own block of columns of W, so a part that is the same at every step (B, 1, F_k) is
        projected once and broadcast. `projected` maps a part's position to its projection made earlier
        (`project_part`), which is then used as it is (the part is read for its width only)."""
        start, total = 0, None
        for k, part in enumerate(parts):
            term = projected[k] if projected and k in projected else self.project_part(part, start)
            start += part.shape[-1]
            total = term if total is None else total + term
        return self.activate(total + self.linear.bias)

    def project_part(self, part: Tensor, start: int) -> Tensor:
        """W's block of columns from `start` applied to one part of the features (no bias)."""
        return F.linear(part, self.linear.weight[:, start : start + part.shape[-1]])

    def activate(self, projected: Tensor) -> Tensor:
        """act(W features): tanh, or maxout over pairs of units. (B, T, O * pool) -> (B, T, O)"""
        if self.pool == 1:
            return torch.tanh(projected)
        return projected.unflatten(-1, (-1, self.pool)).amax(-1)  # (B, T, O)


class _LayerBridge(nn.Module):
    """Maps an encoder layer's final (h, c) of size D to a decoder layer's of size H where they differ (a
    bidirectional encoder): h_0 = tanh(W_h h), c_0 = W_c c, one pair of matrices per decoder layer."""

    def __init__(self, encoder_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(encoder_size, hidden_size) for _ in range(num_layers))
        self.cell = nn.ModuleList(nn.Linear(encoder_size, hidden_size) for _ in range(num_layers))

    def forward(self, hidden: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
        """hidden, cell: (L, B, D) -> (L, B, H) each."""
        return (
            torch.stack([torch.tanh(layer(h)) for layer, h in zip(self.hidden, hidden)]),
            torch.stack([layer(c) for layer, c in zip(self.cell, cell)]),
        )


class Decoder(nn.Module):
    """Conditional GRU/LSTM decoder around a given attention arm; see the module docstring for the math."""

    def __init__(
        self,
        *,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        cell: Cell,
        num_layers: int,
        dropout: float,
        attention: Attention,
        encoder_size: int,
        output_size: int,
        maxout: bool,
        input_feeding: bool,
        tie_embeddings: bool,
        pad_id: int,
    ) -> None:
        super().__init__()
        self.attention = attention
        self.input_feeding = input_feeding
        self.num_layers, self.hidden_size, self.output_size = num_layers, hidden_size, output_size
        self.cell_kind = cell
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        if cell is Cell.lstm:  # Luong et al.: layer l starts from encoder layer l's final (h, c)
            self.init_layer = (
                None if encoder_size == hidden_size else _LayerBridge(encoder_size, hidden_size, num_layers)
            )
        else:  # Bahdanau et al.: s_0 = tanh(W_s summary), every layer
            self.init_layer = nn.Linear(encoder_size, num_layers * hidden_size)
        if attention.queries_previous_state:
            rnn_input, features = embedding_size + encoder_size, hidden_size + embedding_size + encoder_size
        else:
            rnn_input = embedding_size + (output_size if input_feeding else 0)
            features = encoder_size + hidden_size  # [c_t; h_t]
        self.rnn = make_rnn(cell, rnn_input, hidden_size, num_layers, dropout)
        self.deep_output = DeepOutput(features, output_size, maxout)
        self.output_layer = nn.Linear(output_size, vocab_size, bias=True)
        if tie_embeddings:
            self.output_layer.weight = self.embedding.weight
        # A step loop is needed only where a step depends on the previous step's attention.
        self.needs_step_loop = input_feeding or (attention.queries_previous_state and attention.uses_query)
        self.cpu_path = self._choose_cpu_path(cell, num_layers, maxout)

    def _choose_cpu_path(self, cell: Cell, num_layers: int, maxout: bool) -> CpuPath | None:
        """A one-layer GRU on the CPU runs through `gru.py`'s scan (same parameters and results, faster there);
        a step loop runs fused only where the attention class itself declares the loop written for its score
        (`Attention.fused_loop`: a subclass, or any other class, gets the reference step loop). On other devices
        the torch RNN (cuDNN) is used."""
        loop = type(self.attention).fused_loop
        if cell is not Cell.gru or num_layers != 1:
            return None
        if not self.needs_step_loop:
            return CpuPath.whole
        if loop is FusedLoop.additive and self.attention.queries_previous_state and not self.input_feeding:
            return CpuPath.additive
        if loop is FusedLoop.feed and self.input_feeding and not maxout:  # `feed_scan`'s h~_t is tanh, not maxout
            return CpuPath.feed
        return None

    def init_state(self, encoded: EncoderOutput) -> DecoderState:
        """GRU: s_0 = tanh(W_s final) for every layer (Bahdanau et al. 2014). LSTM: decoder layer l starts from
        the final (h, c) of encoder layer l, counted from the top when the depths differ (Luong et al. 2015):
        copied where the sizes match, else mapped by `_LayerBridge`; a cell the encoder lacks (GRU) is zero.
        The input feed starts at zero."""
        batch_size = encoded.final.shape[0]
        if self.cell_kind is Cell.lstm:
            hidden, cell = self._layer_by_layer(encoded)
        else:
            hidden = torch.tanh(self.init_layer(encoded.final))  # (B, L * H)
            hidden = hidden.view(batch_size, self.num_layers, self.hidden_size).transpose(0, 1).contiguous()
            cell = None
        feed = hidden.new_zeros(batch_size, self.output_size) if self.input_feeding else None
        return DecoderState(hidden, cell, feed)

    def _layer_by_layer(self, encoded: EncoderOutput) -> tuple[Tensor, Tensor]:
        """The LSTM decoder's (h_0, c_0), each (L, B, H), from the encoder's per-layer finals."""
        layer_hidden = encoded.layer_hidden if encoded.layer_hidden is not None else encoded.final.unsqueeze(0)
        source = [max(0, len(layer_hidden) - self.num_layers + layer) for layer in range(self.num_layers)]
        hidden = layer_hidden[source]  # (L, B, D)
        cell = torch.zeros_like(hidden) if encoded.layer_cell is None else encoded.layer_cell[source]
        if self.init_layer is not None:
            hidden, cell = self.init_layer(hidden, cell)
        return hidden.contiguous(), cell.contiguous()

    def forward(
        self, trg_input: Tensor, state: DecoderState, memory: Memory, stepwise: bool = False
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Run the decoder over given previous tokens (teacher forcing, or one step while searching).

        Args:
            trg_input: (B, T) previous tokens y_{i-1} (BOS first).
            state: the state before the first of these steps.
            memory: the attention memory from `attention.memory(encoded)`.
            stepwise: force the step-by-step loop even where one call over the sequence is exact
                (the reference path that tests hold the fast path to).

        Returns:
            logits (B, T, V), the state after the last step, attention weights (B, T, S) or None for `none`.
        """
        embedded = self.dropout(self.embedding(trg_input))  # (B, T, E)
        path = None if stepwise or embedded.device.type != "cpu" else self.cpu_path  # on GPUs: cuDNN's GRU
        if path is None:
            pre_output, state, weights = self._reference(embedded, state, memory, stepwise)
        elif path is CpuPath.whole:
            pre_output, state, weights = self._scan_whole(embedded, state, memory)
        elif path is CpuPath.additive:
            pre_output, state, weights = self._additive_loop(embedded, state, memory)
        else:
            pre_output, state, weights = self._feed_loop(embedded, state, memory)
        # contiguous: dropout draws its mask in memory order, so every path drops the same (batch, step) positions
        return self.output_layer(self.dropout(pre_output.contiguous())), state, weights

    def step(
        self, prev: Tensor, state: DecoderState, memory: Memory, stepwise: bool = False
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoding step from the previous tokens `prev` (B,): logits (B, V), the new state and the attention
        weights (B, S) or None. The same as `forward` over one step; a search calls it at every step, so the
        additive loop's step runs without `forward`'s sequence-shaped bookkeeping (`additive_scan.additive_step`)."""
        if stepwise or prev.device.type != "cpu" or self.cpu_path is not CpuPath.additive:
            logits, state, weights = self(prev.unsqueeze(1), state, memory, stepwise)
            return logits[:, 0], state, None if weights is None else weights[:, 0]
        # the embedding and output layer read as functions, and dropout only where it draws (training): at this
        # size each module call is a share of a step worth measuring (2% of a greedy search, three calls)
        embedded = F.embedding(prev, self.embedding.weight, self.embedding.padding_idx)  # (B, E)
        if self.training:
            embedded = self.dropout(embedded)
        w_e, w_rest, b_ih, w_hh, b_hh = self._rnn_weights(embedded.shape[-1])
        weights = AdditiveWeights(*self.attention.query_weights(), w_rest, w_hh, b_hh)
        s, context, alpha = additive_step(F.linear(embedded, w_e, b_ih), state.hidden[0], *memory, weights)
        pre_output = self.deep_output.of_parts([s, embedded, context])  # [s_i; E y_{i-1}; c_i]
        if self.training:
            pre_output = self.dropout(pre_output)
        logits = F.linear(pre_output, self.output_layer.weight, self.output_layer.bias)
        return logits, DecoderState(s.unsqueeze(0), None, None), alpha

    def _reference(
        self, embedded: Tensor, state: DecoderState, memory: Memory, stepwise: bool
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """The torch-RNN path (any cell and depth): pre-outputs (B, T, O), the last state, weights."""
        if not (stepwise or self.needs_step_loop):
            features, state, weights = self._recur(embedded, state, memory)  # all T steps in one RNN call
            return self.deep_output(features), state, weights
        outputs, all_weights = [], []
        for t in range(embedded.shape[1]):
            step_features, state, step_weights = self._recur(embedded[:, t : t + 1], state, memory)
            if self.input_feeding:  # h~_t is needed by the next step, so it is made here
                step_features = self.deep_output(step_features)  # (B, 1, O)
                state = state._replace(feed=step_features[:, 0])
            outputs.append(step_features)
            all_weights.append(step_weights)
        pre_output = torch.cat(outputs, dim=1)
        if not self.input_feeding:  # the deep output runs once over all steps
            pre_output = self.deep_output(pre_output)  # (B, T, O)
        weights = None if all_weights[0] is None else torch.cat(all_weights, dim=1)  # (B, T, S)
        return pre_output, state, weights

    def _rnn_weights(self, embedding_size: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """The one-layer GRU's W_ih split into its columns for E y and for the rest (c, or h~ when input
        feeding), b_ih, W_hh, b_hh."""
        rnn = self.rnn
        w_ih = rnn.weight_ih_l0
        return w_ih[:, :embedding_size], w_ih[:, embedding_size:], rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0

    def _scan_whole(
        self, embedded: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """No step depends on the previous attention (none; Luong without input feeding): one scan over T."""
        if self.attention.queries_previous_state:
            return self._scan_fixed_context(embedded, state, memory)
        w_e, _, b_ih, w_hh, b_hh = self._rnn_weights(embedded.shape[-1])  # Luong order: h_t first, c_t from h_t
        states = gru_scan(F.linear(embedded.transpose(0, 1), w_e, b_ih), state.hidden[0], w_hh, b_hh)  # (T, B, H)
        h = states.transpose(0, 1)  # (B, T, H)
        context, weights = self.attention.attend(h, *memory)  # c_t, (B, T, D)
        pre_output = self.deep_output.of_parts([context, h])  # [c_t; h_t]
        return pre_output, DecoderState(states[-1].unsqueeze(0), None, state.feed), weights

    def _scan_fixed_context(
        self, embedded: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Bahdanau order with a context c that is the same at every step (none): c's share of the GRU input and
        of the deep output is projected once (`FixedTerms`) and carried in the state to the next call."""
        w_e, w_rest, b_ih, w_hh, b_hh = self._rnn_weights(embedded.shape[-1])
        context, weights = self.attention.attend(state.hidden[-1].unsqueeze(1), *memory)  # c, (B, 1, D)
        fixed = state.fixed
        if fixed is None:  # a teacher-forced batch, or the first step of a search
            context_columns = self.hidden_size + embedded.shape[-1]  # where c starts in [s_i; E y_{i-1}; c]
            fixed = FixedTerms(
                F.linear(context.transpose(0, 1), w_rest, b_ih), self.deep_output.project_part(context, context_columns)
            )
        gi = F.linear(embedded.transpose(0, 1), w_e) + fixed.gates  # (T, B, G)
        states = gru_scan(gi, state.hidden[0], w_hh, b_hh)  # s_1 .. s_T, (T, B, H)
        s = states.transpose(0, 1)  # (B, T, H)
        pre_output = self.deep_output.of_parts([s, embedded, context], {2: fixed.output})  # [s_i; E y_{i-1}; c]
        if weights is not None:
            weights = weights.expand(-1, s.shape[1], -1)
        return pre_output, DecoderState(states[-1].unsqueeze(0), None, state.feed, fixed), weights

    def _additive_loop(
        self, embedded: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Bahdanau order, c_i from s_{i-1} entering the GRU: the step loop fused into `additive_scan`, with E y
        projected for all steps at once and the deep output run once at the end."""
        w_e, w_rest, b_ih, w_hh, b_hh = self._rnn_weights(embedded.shape[-1])
        gi_y = F.linear(embedded.transpose(0, 1), w_e, b_ih)  # W E y_{i-1} + b for every step, (T, B, G)
        weights = AdditiveWeights(*self.attention.query_weights(), w_rest, w_hh, b_hh)
        states, contexts, alphas = additive_scan(gi_y, state.hidden[0], *memory, weights)
        contexts = contexts.transpose(0, 1)  # (B, T, D)
        pre_output = self.deep_output.of_parts([states.transpose(0, 1), embedded, contexts])  # [s_i; E y; c_i]
        return pre_output, DecoderState(states[-1].unsqueeze(0), None, None), alphas.transpose(0, 1)

    def _feed_loop(
        self, embedded: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Luong order with input feeding: h_t from [E y; h~_{t-1}], c_t from h_t, h~_t = tanh(W_c [c_t; h_t] + b),
        the step loop fused into `feed_scan`, with E y projected for all steps at once."""
        w_e, w_rest, b_ih, w_hh, b_hh = self._rnn_weights(embedded.shape[-1])
        gi_y = F.linear(embedded.transpose(0, 1), w_e, b_ih)  # W E y_{t-1} + b for every step, (T, B, G)
        linear = self.deep_output.linear
        weights = FeedWeights(w_rest, w_hh, b_hh, linear.weight, linear.bias)
        states, feeds, alphas = feed_scan(
            gi_y, state.hidden[0], state.feed, *memory, scale=self.attention.scale, weights=weights
        )
        return feeds.transpose(0, 1), DecoderState(states[-1].unsqueeze(0), None, feeds[-1]), alphas.transpose(0, 1)

    def _recur(
        self, embedded: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One RNN call over T steps (T = 1 inside the step loop): the deep-output features (B, T, F), the
        new state and the attention weights (B, T, S) or None."""
        rnn_state = state.hidden if state.cell is None else (state.hidden, state.cell)
        if self.attention.queries_previous_state:
            query = state.hidden[-1].unsqueeze(1).expand(-1, embedded.shape[1], -1)  # s_{i-1}, (B, T, H)
            context, weights = self.attention.attend(query, *memory)  # c_i, (B, T, D)
            rnn_output, rnn_state = self.rnn(torch.cat([embedded, context], dim=-1), rnn_state)  # s_i, (B, T, H)
            features = torch.cat([rnn_output, embedded, context], dim=-1)  # [s_i; E y_{i-1}; c_i]
        else:
            rnn_input = embedded if state.feed is None else torch.cat([embedded, state.feed.unsqueeze(1)], dim=-1)
            rnn_output, rnn_state = self.rnn(rnn_input, rnn_state)  # h_t, (B, T, H)
            context, weights = self.attention.attend(rnn_output, *memory)  # c_t from h_t, (B, T, D)
            features = torch.cat([context, rnn_output], dim=-1)  # [c_t; h_t]
        hidden, cell = rnn_state if isinstance(rnn_state, tuple) else (rnn_state, None)
        return features, DecoderState(hidden, cell, state.feed), weights
