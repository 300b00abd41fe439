"""Typed config schemas for the model: sizes, the encoder and decoding.

Each attention arm's schema lives with its module (`model/arms/`, based on `attention.AttentionConfig`).
Sizes shared by every arm live in `model` and are interpolated into the groups, so the arms of an
ablation differ in attention alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II, MISSING

from attention_nmt.errors import ConfigError
from attention_nmt.model.encoder import Cell
from attention_nmt.model.init import Init


def _check_range(key: str, value: float, low: float, high: float, high_open: bool = False) -> None:
    if not (low <= value < high if high_open else low <= value <= high):
        bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ConfigError(f"{key}={value}: must lie in {bound}.")


@dataclass
class ModelConfig:
    embedding_size: int = 128  # source and target embeddings, E
    hidden_size: int = 256  # encoder (per direction) and decoder RNN size, H
    # deep output / Luong's attentional state h~_t, O: as wide as the hidden size (Luong et al. 2015), for
    # every arm, so that the arms' parameter counts stay within 10% of each other
    output_size: int = II("model.hidden_size")
    dropout: float = 0.2  # on embeddings, on everything the decoder reads from the encoder, before W_o
    decoder_layers: int = 1
    decoder_cell: Cell = II("encoder.cell")
    maxout: bool = False  # Bahdanau's maxout deep output instead of tanh
    tie_embeddings: bool = False  # W_o shares the target embedding (needs output_size == embedding_size)
    init: Init = Init.luong2015  # parameter initialisation of every arm (model/init.py); measured fastest

    def __post_init__(self) -> None:
        for key in ("embedding_size", "hidden_size", "output_size", "decoder_layers"):
            value = getattr(self, key)
            if isinstance(value, int) and value < 1:  # not yet an int: an interpolation, checked once resolved
                raise ConfigError(f"model.{key}={value}: must be a positive integer.")
        _check_range("model.dropout", self.dropout, 0.0, 1.0, high_open=True)
        if self.tie_embeddings and self.output_size != self.embedding_size:
            raise ConfigError(
                f"model.tie_embeddings=true needs model.output_size ({self.output_size}) == "
                f"model.embedding_size ({self.embedding_size}); set them equal or untie the embeddings."
            )


@dataclass
class EncoderConfig:
    name: str = MISSING  # gru | bigru | lstm | bilstm, for run names and tags
    cell: Cell = Cell.gru
    bidirectional: bool = False
    num_layers: int = 1
    hidden_size: int = II("model.hidden_size")  # per direction
    dropout: float = II("model.dropout")

    def __post_init__(self) -> None:
        if self.num_layers < 1 or self.hidden_size < 1:
            raise ConfigError(
                f"encoder.num_layers={self.num_layers}, encoder.hidden_size={self.hidden_size}: "
                "both must be positive integers."
            )
        _check_range("encoder.dropout", self.dropout, 0.0, 1.0, high_open=True)

    @property
    def output_size(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)


@dataclass
class DecodingConfig:
    beam_size: int = 1  # 1 = greedy
    length_penalty: float = 0.0  # alpha of Wu et al. 2016's ((5 + |y|) / 6)^alpha; 0 = raw log-probability
    max_len_ratio: float = 1.5  # a hypothesis may have at most ratio * source tokens before EOS

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ConfigError(f"decoding.beam_size={self.beam_size}: must be >= 1 (1 is greedy search).")
        if self.max_len_ratio <= 0:
            raise ConfigError(f"decoding.max_len_ratio={self.max_len_ratio}: must be > 0.")
        if self.length_penalty < 0:
            raise ConfigError(f"decoding.length_penalty={self.length_penalty}: must be >= 0.")
