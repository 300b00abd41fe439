"""Small models of every arm, built from the real config classes, for the model tests."""

from __future__ import annotations

import torch

from attention_nmt.model.attention import Score
from attention_nmt.model.config import (
    AdditiveAttentionConfig,
    EncoderConfig,
    ModelConfig,
    MultiplicativeAttentionConfig,
    NoAttentionConfig,
)
from attention_nmt.model.encoder import Cell
from attention_nmt.model.init import Init
from attention_nmt.model.seq2seq import Seq2Seq, SpecialIds, build_model

SPECIALS = SpecialIds(pad=0, unk=1, bos=2, eos=3)
SRC_VOCAB, TRG_VOCAB = 30, 40

ARMS = {
    "none": NoAttentionConfig(),
    "additive": AdditiveAttentionConfig(attention_size=16),
    "general+feed": MultiplicativeAttentionConfig(score=Score.general, input_feeding=True),
    "general": MultiplicativeAttentionConfig(score=Score.general, input_feeding=False),
    "dot": MultiplicativeAttentionConfig(score=Score.dot, input_feeding=False),
    "scaled_dot+feed": MultiplicativeAttentionConfig(score=Score.scaled_dot, input_feeding=True),
    "scaled_general+feed": MultiplicativeAttentionConfig(score=Score.scaled_general, input_feeding=True),
}


def make_model(
    arm: str, cell: Cell = Cell.gru, bidirectional: bool = False, seed: int = 0, init: Init = Init.torch
) -> Seq2Seq:
    """An untrained model. Init.torch by default: the papers' small initialisations leave an untrained model's
    logits and attention scores nearly tied, where greedy/beam and fast/reference paths may pick differently."""
    torch.manual_seed(seed)
    model = ModelConfig(embedding_size=12, hidden_size=16, output_size=12, dropout=0.0, decoder_cell=cell, init=init)
    encoder = EncoderConfig(name="test", cell=cell, bidirectional=bidirectional, hidden_size=16, dropout=0.0)
    return build_model(model, encoder, ARMS[arm], SRC_VOCAB, TRG_VOCAB, SPECIALS).eval()


def padded_batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random source ids (B, S) padded after each sentence, and the lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_VOCAB, (len(lengths), max(lengths)), generator=gen)
    for row, length in enumerate(lengths):
        src[row, length:] = SPECIALS.pad
    return src, torch.tensor(lengths)
