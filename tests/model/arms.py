"""The model tests' matrix of arms: every registered attention arm (`model/arms/`) as its YAML configures it, plus
Luong's score and input-feeding variants of the multiplicative arm; and small models of each."""

from __future__ import annotations

import dataclasses

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from attention_nmt.data.tokenization import SpecialIds
from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import arm_names
from attention_nmt.model.arms.multiplicative import Score
from attention_nmt.model.attention import AttentionConfig
from attention_nmt.model.config import EncoderConfig, ModelConfig
from attention_nmt.model.encoder import Cell
from attention_nmt.model.init import Init
from attention_nmt.model.seq2seq import Seq2Seq, build_model
from tests.conftest import CONF_DIR

SPECIALS = SpecialIds(pad=0, unk=1, bos=2, eos=3)
SRC_VOCAB, TRG_VOCAB = 30, 40
HIDDEN = 16


def registered_arm(name: str, *overrides: str) -> AttentionConfig:
    """Arm `name` as `attention=<name>` composes it (conf/attention/<name>.yaml over its schema), with the model
    tests' hidden size; `overrides`: more Hydra overrides (another config search path, say)."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", [f"attention={name}", f"model.hidden_size={HIDDEN}", *overrides])
    return OmegaConf.to_object(cfg.attention)


def arm_matrix(*overrides: str) -> dict[str, AttentionConfig]:
    """Every registered arm under its name, then Luong's variants of the multiplicative arm."""
    arms = {name: registered_arm(name, *overrides) for name in arm_names()}
    luong = arms["multiplicative"]
    variants = {
        "general+feed": (Score.general, True),
        "general": (Score.general, False),
        "dot": (Score.dot, False),
        "scaled_dot+feed": (Score.scaled_dot, True),
    }
    for name, (score, feeding) in variants.items():
        arms[name] = dataclasses.replace(luong, score=score, input_feeding=feeding)
    return arms


ARMS = arm_matrix()


def _sizes(cell: Cell, bidirectional: bool, init: Init) -> tuple[ModelConfig, EncoderConfig]:
    model = ModelConfig(
        embedding_size=12, hidden_size=HIDDEN, output_size=12, dropout=0.0, decoder_cell=cell, init=init
    )
    encoder = EncoderConfig(name="test", cell=cell, bidirectional=bidirectional, hidden_size=HIDDEN, dropout=0.0)
    return model, encoder


def fits(arm: str, bidirectional: bool) -> bool:
    """Whether the arm attends over a (bidirectional) encoder of these sizes: dot scores need equal sizes."""
    try:
        ARMS[arm].check_fits(HIDDEN, _sizes(Cell.gru, bidirectional, Init.torch)[1])
    except ConfigError:
        return False
    return True


def make_model(
    arm: str, cell: Cell = Cell.gru, bidirectional: bool = False, seed: int = 0, init: Init = Init.torch
) -> Seq2Seq:
    """An untrained model. Init.torch by default: the papers' small initialisations leave an untrained model's
    logits and attention scores nearly tied, where greedy/beam and fast/reference paths may pick differently."""
    torch.manual_seed(seed)
    model, encoder = _sizes(cell, bidirectional, init)
    return build_model(model, encoder, ARMS[arm], SRC_VOCAB, TRG_VOCAB, SPECIALS).eval()


def padded_batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random source ids (B, S) padded after each sentence, and the lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_VOCAB, (len(lengths), max(lengths)), generator=gen)
    for row, length in enumerate(lengths):
        src[row, length:] = SPECIALS.pad
    return src, torch.tensor(lengths)
