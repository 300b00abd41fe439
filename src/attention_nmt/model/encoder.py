"""The source encoder: embeddings and a (bi)directional, stacked GRU or LSTM over packed sequences.

Shapes: B batch, S source length, E embedding size, H hidden size per direction, D = H * directions.
Padding never reaches a recurrent state: the forward direction's final state is the state at each
sentence's last real token and the backward direction starts at it. A GRU runs through `gru.gru_scan`
(masked steps keep their state, the backward direction reads each sentence reversed within its length),
which is faster on the CPU than packing; an LSTM runs packed through `nn.LSTM`. Both give what packed
`nn.GRU`/`nn.LSTM` give, with the same parameters.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attention_nmt.model.gru import gru_scan, reverse_within_lengths, scan_without_grad


class Cell(Enum):
    gru = "gru"
    lstm = "lstm"


def make_rnn(
    cell: Cell, input_size: int, hidden_size: int, num_layers: int, dropout: float, bidirectional: bool = False
) -> nn.RNNBase:
    """A batch-first torch GRU or LSTM (cuDNN-fused on GPU); dropout applies between layers only."""
    rnn_class = nn.GRU if cell is Cell.gru else nn.LSTM
    return rnn_class(
        input_size,
        hidden_size,
        num_layers=num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


class EncoderOutput(NamedTuple):
    """What the decoder and the attention arms read from the encoder.

    states: (B, S, D) annotations h_j, zero at padded positions.
    final: (B, D) the last layer's final state (forward at the last real token, backward at the first),
        the fixed-length summary of the sentence.
    src_mask: (B, S) bool, True marks a real source token.
    layer_hidden: (L, B, D) every layer's final state (directions concatenated, as `final` for the last),
        from which an LSTM decoder starts layer by layer (Luong et al. 2015); None where not computed.
    layer_cell: (L, B, D) every LSTM layer's final memory cell; None for a GRU.
    """

    states: Tensor
    final: Tensor
    src_mask: Tensor
    layer_hidden: Tensor | None = None
    layer_cell: Tensor | None = None

    def index_select(self, index: Tensor) -> EncoderOutput:
        """Keep (and repeat) the batch rows in `index` (B',), e.g. to expand for beam search."""
        per_layer = [None if t is None else t.index_select(1, index) for t in (self.layer_hidden, self.layer_cell)]
        return EncoderOutput(*(t.index_select(0, index) for t in self[:3]), *per_layer)


class Encoder(nn.Module):
    """Embeds the source and runs a stacked, optionally bidirectional GRU/LSTM over it."""

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        cell: Cell,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        pad_id: int,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.rnn = make_rnn(cell, embedding_size, hidden_size, num_layers, dropout, bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.pad_id = pad_id

    @property
    def output_size(self) -> int:
        """D: size of each annotation h_j and of the final summary."""
        return self.hidden_size * self.num_directions

    def forward(self, src: Tensor, src_lengths: Tensor, packed: bool = False) -> EncoderOutput:
        """Encode a padded batch.

        Args:
            src: (B, S) token ids, padded with `pad_id` after each sentence.
            src_lengths: (B,) number of real tokens per sentence (>= 1).
            packed: run the torch RNN over packed sequences even for a GRU (the reference path that tests
                hold `gru_scan` to).

        Returns:
            EncoderOutput with states (B, S, D), final (B, D), src_mask (B, S) and the per-layer finals. The
            same dropout as on the embeddings applies to everything the decoder reads (states, summaries), so
            every arm's path from encoder to decoder is regularised alike.
        """
        src_len = src.shape[1]
        embedded = self.dropout(self.embedding(src))  # (B, S, E)
        src_mask = torch.arange(src_len, device=src.device)[None, :] < src_lengths.to(src.device)[:, None]
        if isinstance(self.rnn, nn.GRU) and not packed and src.device.type == "cpu":  # cuDNN is faster on GPUs
            differentiable = embedded.requires_grad or any(p.requires_grad for p in self.rnn.parameters())
            if torch.is_grad_enabled() and differentiable:
                states, layer_hidden, layer_cell = self._scan_gru(embedded, src_lengths, src_mask)
            else:
                states, layer_hidden, layer_cell = self._scan_gru_without_grad(embedded, src_mask)
        else:
            states, layer_hidden, layer_cell = self._packed_rnn(embedded, src_lengths)
        layer_hidden = self.dropout(layer_hidden)
        layer_cell = None if layer_cell is None else self.dropout(layer_cell)
        return EncoderOutput(self.dropout(states), layer_hidden[-1], src_mask, layer_hidden, layer_cell)

    def _layers(self, last: Tensor) -> Tensor:
        """torch's (L * dirs, B, H) final states -> (L, B, D), directions concatenated per layer."""
        per_layer = last.view(-1, self.num_directions, last.shape[1], self.hidden_size)  # (L, dirs, B, H)
        return per_layer.permute(0, 2, 1, 3).flatten(2)  # (L, B, D)

    def _packed_rnn(self, embedded: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """The torch RNN over packed sequences: states (B, S, D), zero on padding, every layer's final state
        (L, B, D) and, for an LSTM, every layer's final cell (L, B, D)."""
        src_len = embedded.shape[1]
        packed = pack_padded_sequence(embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_states, last = self.rnn(packed)
        states, _ = pad_packed_sequence(packed_states, batch_first=True, total_length=src_len)  # (B, S, D)
        if isinstance(last, tuple):  # LSTM: (h_n, c_n)
            return states, self._layers(last[0]), self._layers(last[1])
        return states, self._layers(last), None

    def _scan_gru(self, embedded: Tensor, src_lengths: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor, None]:
        """The same as `_packed_rnn` for a GRU, with `gru_scan` over masked time-major inputs."""
        rnn, (batch_size, src_len) = self.rnn, embedded.shape[:2]
        mask = src_mask.t().unsqueeze(-1)  # (S, B, 1)
        reverse = reverse_within_lengths(src_lengths, src_len).t().unsqueeze(-1)  # (S, B, 1)
        h0 = embedded.new_zeros(batch_size, self.hidden_size)
        layer_input = embedded.transpose(0, 1)  # (S, B, E), time-major
        layer_finals = []
        for layer in range(rnn.num_layers):
            if layer > 0:  # nn.GRU's dropout between layers
                layer_input = F.dropout(layer_input, rnn.dropout, self.training)
            outputs, finals = [], []
            for suffix in ("", "_reverse")[: self.num_directions]:
                weight = lambda name: getattr(rnn, f"{name}_l{layer}{suffix}")  # noqa: E731, B023 (called within this iteration)
                gi = F.linear(layer_input, weight("weight_ih"), weight("bias_ih"))  # (S, B, G)
                if suffix:  # read each sentence backwards within its length
                    gi = gi.gather(0, reverse.expand_as(gi))
                out = gru_scan(gi, h0, weight("weight_hh"), weight("bias_hh"), mask)  # (S, B, H)
                finals.append(out[-1])  # masked steps hold the state: the last real token's (or first's)
                outputs.append(out.gather(0, reverse.expand_as(out)) if suffix else out)
            layer_input = torch.where(mask, torch.cat(outputs, dim=-1), 0.0)  # (S, B, D), zero on padding
            layer_finals.append(torch.cat(finals, dim=-1))  # (B, D)
        return layer_input.transpose(0, 1), torch.stack(layer_finals), None  # (B, S, D), (L, B, D)

    def _scan_gru_without_grad(self, embedded: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor, None]:
        """`_scan_gru` where nothing needs a gradient (search, evaluation): the same states up to rounding, with
        less memory traffic. The backward direction runs from the last position down
        (`scan_without_grad(reverse=True)`), so neither its inputs nor its outputs are reversed by copies; both
        directions share one input-projection buffer and write into their halves of one (S, B, D) tensor,
        whose padding is then zeroed in place. Training keeps `_scan_gru`: a reverse scan there would change
        the order in which its backward pass sums the recurrent gradients, and with it every trained result."""
        rnn, (batch_size, src_len), hidden = self.rnn, embedded.shape[:2], self.hidden_size
        mask = src_mask.t().unsqueeze(-1)  # (S, B, 1)
        h0 = embedded.new_zeros(batch_size, hidden)
        layer_input = embedded.transpose(0, 1)  # (S, B, E), time-major
        layer_finals = []
        for layer in range(rnn.num_layers):
            if layer > 0:  # nn.GRU's dropout between layers
                layer_input = F.dropout(layer_input, rnn.dropout, self.training)
            # (S, B, D) over batch-major memory, so the states the attention reads are contiguous
            out = embedded.new_empty(batch_size, src_len, self.output_size).transpose(0, 1)
            flat_input = layer_input.reshape(src_len * batch_size, -1)
            gi = embedded.new_empty(src_len, batch_size, 3 * hidden)  # (S, B, G), reused by both directions
            flat_gi = gi.view(src_len * batch_size, -1)
            for direction, suffix in enumerate(("", "_reverse")[: self.num_directions]):
                weight = lambda name: getattr(rnn, f"{name}_l{layer}{suffix}")  # noqa: E731, B023 (called within this iteration)
                torch.addmm(weight("bias_ih"), flat_input, weight("weight_ih").t(), out=flat_gi)
                half = out[:, :, direction * hidden : (direction + 1) * hidden]
                scan_without_grad(gi, h0, weight("weight_hh"), weight("bias_hh"), mask, reverse=bool(suffix), out=half)
            del gi
            # forward: the state held from the last real token; backward: the state after the first token
            layer_finals.append(torch.cat([out[-1, :, :hidden], out[0, :, hidden:]], dim=-1))  # (B, D)
            layer_input = out.masked_fill_(~mask, 0.0)  # (S, B, D), zero on padding
        return layer_input.transpose(0, 1), torch.stack(layer_finals), None  # (B, S, D), (L, B, D)
