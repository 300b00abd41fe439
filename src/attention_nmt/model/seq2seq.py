"""The encoder-decoder and `build_model`, which wires vocabularies, encoder, attention arm and decoder.

Shapes: B batch, S source length, T target length, V target vocabulary.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from attention_nmt.data.tokenization import SpecialIds
from attention_nmt.model.attention import AttentionConfig, Memory
from attention_nmt.model.config import EncoderConfig, ModelConfig
from attention_nmt.model.decoder import Decoder, DecoderState
from attention_nmt.model.encoder import Encoder, EncoderOutput
from attention_nmt.model.init import initialise


class Seq2Seq(nn.Module):
    """An RNN encoder-decoder; the attention arm lives inside the decoder."""

    def __init__(self, encoder: Encoder, decoder: Decoder, specials: SpecialIds) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.specials = specials

    def start(
        self, src: Tensor, src_lengths: Tensor, stepwise: bool = False
    ) -> tuple[EncoderOutput, Memory, DecoderState]:
        """Encode a batch and prepare what decoding needs: the attention memory and the initial state.
        `stepwise` encodes through the reference path (packed torch RNN)."""
        encoded = self.encoder(src, src_lengths, packed=stepwise)
        return encoded, self.decoder.attention.memory(encoded), self.decoder.init_state(encoded)

    def forward(
        self, src: Tensor, src_lengths: Tensor, trg_input: Tensor, stepwise: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced pass: logits (B, T, V) for every target position, and attention weights (B, T, S).
        `stepwise` runs the reference path: packed torch RNN encoder, torch RNN decoder one step at a time."""
        _, memory, state = self.start(src, src_lengths, stepwise)
        logits, _, weights = self.decoder(trg_input, state, memory, stepwise=stepwise)
        return logits, weights


def token_loss(logits: Tensor, trg_output: Tensor, pad_id: int, label_smoothing: float = 0.0) -> tuple[Tensor, int]:
    """Training loss: mean cross-entropy (in fp32) over the real target tokens, and their number.

    Args:
        logits: (B, T, V) from `Seq2Seq.forward`; trg_output: (B, T) y followed by EOS, padded with `pad_id`.
    """
    loss = F.cross_entropy(
        logits.flatten(0, 1).float(), trg_output.flatten(), ignore_index=pad_id, label_smoothing=label_smoothing
    )
    return loss, int((trg_output != pad_id).sum())


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (tied weights counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build_model(
    model: ModelConfig,
    encoder: EncoderConfig,
    attention: AttentionConfig,
    src_vocab_size: int,
    trg_vocab_size: int,
    specials: SpecialIds,
) -> Seq2Seq:
    """Build the encoder-decoder for one arm; every arm gets the same sizes and initialisation from `model`."""
    attention.check_fits(model.hidden_size, encoder)
    enc = Encoder(
        vocab_size=src_vocab_size,
        embedding_size=model.embedding_size,
        hidden_size=encoder.hidden_size,
        cell=encoder.cell,
        num_layers=encoder.num_layers,
        bidirectional=encoder.bidirectional,
        dropout=encoder.dropout,
        pad_id=specials.pad,
    )
    dec = Decoder(
        vocab_size=trg_vocab_size,
        embedding_size=model.embedding_size,
        hidden_size=model.hidden_size,
        cell=model.decoder_cell,
        num_layers=model.decoder_layers,
        dropout=model.dropout,
        attention=attention.build(query_size=model.hidden_size, value_size=enc.output_size),
        encoder_size=enc.output_size,
        output_size=model.output_size,
        maxout=model.maxout,
        input_feeding=attention.input_feeding,
        tie_embeddings=model.tie_embeddings,
        pad_id=specials.pad,
    )
    seq2seq = Seq2Seq(enc, dec, specials)
    initialise(seq2seq, model.init)
    return seq2seq
