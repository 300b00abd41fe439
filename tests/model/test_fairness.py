"""A fair ablation: every arm gets the same initialisation, widths, dropout and optimiser defaults, and
parameter counts stay close; LSTM decoders start layer by layer as in Luong et al. 2015."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from attention_nmt.model.arms import arm_names, stored_arm
from attention_nmt.model.arms.none import FixedContext, NoAttentionConfig
from attention_nmt.model.config import EncoderConfig, ModelConfig
from attention_nmt.model.encoder import Cell
from attention_nmt.model.init import ATTENTION_STD, UNIFORM_RANGE, WEIGHT_STD, Init
from attention_nmt.model.seq2seq import build_model, count_parameters
from attention_nmt.stored_config import from_plain
from attention_nmt.training.optim import OptimConfig, OptimizerName
from tests.conftest import CONF_DIR
from tests.model.arms import ARMS as ARM_CONFIGS
from tests.model.arms import SPECIALS, SRC_VOCAB, TRG_VOCAB, padded_batch

ARMS = arm_names()  # every registered arm


def _big(arm: str, init: Init) -> torch.nn.Module:
    """Large enough for the sample statistics of each parameter group to be tight."""
    torch.manual_seed(0)
    model = ModelConfig(
        embedding_size=64, hidden_size=128, output_size=128, dropout=0.0, decoder_cell=Cell.gru, init=init
    )
    encoder = EncoderConfig(name="t", cell=Cell.gru, bidirectional=True, hidden_size=128, dropout=0.0)
    attention = ARM_CONFIGS[arm]
    return build_model(model, encoder, attention, 500, 600, SPECIALS)


@pytest.mark.parametrize("arm", ARMS)
def test_bahdanau2014_initialisation_of_each_parameter_group(arm: str) -> None:
    model = _big(arm, Init.bahdanau2014)
    for name, param in model.named_parameters():
        if "bias" in name or "energy_layer" in name:  # v_a and biases: zero
            assert torch.count_nonzero(param) == 0, name
        elif "weight_hh" in name:  # orthogonal per gate: W W^T = I for each (H, H) block
            for gate in param.split(128, dim=0):
                torch.testing.assert_close(gate @ gate.T, torch.eye(128), atol=1e-5, rtol=0)
        elif name.startswith("decoder.attention."):  # W_a, U_a ~ N(0, 0.001^2)
            assert param.std().item() == pytest.approx(ATTENTION_STD, rel=0.05), name
        else:  # every other matrix, embeddings included, ~ N(0, 0.01^2); padding rows stay zero
            if "embedding" in name:
                assert torch.count_nonzero(param[SPECIALS.pad]) == 0, name
                param = param[SPECIALS.pad + 1 :]
            assert param.mean().abs().item() < 0.1 * WEIGHT_STD, name
            assert param.std().item() == pytest.approx(WEIGHT_STD, rel=0.05), name


@pytest.mark.parametrize("arm", ARMS)
def test_luong2015_initialisation_is_uniform_in_a_tenth(arm: str) -> None:
    model = _big(arm, Init.luong2015)
    for name, param in model.named_parameters():
        values = param.flatten()
        if "embedding" in name:
            values = param[SPECIALS.pad + 1 :].flatten()
        assert values.abs().max().item() <= UNIFORM_RANGE, name
        if values.numel() > 10_000:  # U(-a, a) has sd a / sqrt(3)
            assert values.std().item() == pytest.approx(UNIFORM_RANGE / 3**0.5, rel=0.05), name


def test_torch_initialisation_leaves_module_defaults() -> None:
    model = _big("none", Init.torch)
    embedding = model.encoder.embedding.weight[SPECIALS.pad + 1 :]
    assert embedding.std().item() == pytest.approx(1.0, rel=0.05)  # nn.Embedding's N(0, 1)


def _default_cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def test_defaults_make_luong_attentional_state_as_wide_as_the_hidden_size() -> None:
    cfg = _default_cfg("attention=multiplicative")
    model = from_plain(OmegaConf.to_container(cfg.model, resolve=True), ModelConfig)
    assert model.init is Init.luong2015
    assert model.output_size == model.hidden_size == 256
    cfg = _default_cfg("attention=multiplicative", "model.hidden_size=64")
    assert OmegaConf.to_container(cfg.model, resolve=True)["output_size"] == 64


def test_parameter_counts_of_the_arms_at_the_defaults_are_within_ten_percent() -> None:
    counts = {}
    for arm in ARMS:
        cfg = _default_cfg(f"attention={arm}")
        plain = {key: OmegaConf.to_container(cfg[key], resolve=True) for key in ("model", "encoder", "attention")}
        model = build_model(
            from_plain(plain["model"], ModelConfig),
            from_plain(plain["encoder"], EncoderConfig),
            stored_arm(plain["attention"]),
            4000,
            4000,
            SPECIALS,
        )
        counts[arm] = count_parameters(model)
    assert max(counts.values()) / min(counts.values()) <= 1.10, counts


def test_adam_eps_is_1e8_and_adadelta_keeps_1e6() -> None:
    param = [torch.nn.Parameter(torch.zeros(2))]
    adam = OptimConfig().build(param)["optimizer"]
    assert adam.defaults["eps"] == 1e-8
    adadelta = OptimConfig(name=OptimizerName.adadelta, lr=1.0).build(param)["optimizer"]
    assert adadelta.defaults["eps"] == 1e-6
    assert OptimConfig(eps=1e-3).build(param)["optimizer"].defaults["eps"] == 1e-3


def test_dropout_reaches_the_fixed_context_of_none_as_it_reaches_the_attended_states() -> None:
    torch.manual_seed(0)
    model = ModelConfig(embedding_size=12, hidden_size=16, output_size=16, dropout=0.5, decoder_cell=Cell.gru)
    encoder = EncoderConfig(name="t", cell=Cell.gru, bidirectional=True, hidden_size=16, dropout=0.5)
    seq2seq = build_model(model, encoder, NoAttentionConfig(), SRC_VOCAB, TRG_VOCAB, SPECIALS)
    assert isinstance(seq2seq.decoder.attention, FixedContext)
    src, lengths = padded_batch([6, 4, 5])
    seq2seq.eval()
    assert torch.count_nonzero(seq2seq.start(src, lengths)[1].values) == 3 * 32  # no zero unit without dropout
    seq2seq.train()
    torch.manual_seed(1)
    encoded, memory, _ = seq2seq.start(src, lengths)
    context = memory.values[:, 0]  # c, what `none` reads at every step
    torch.testing.assert_close(context, encoded.final)
    assert 0.3 < (context == 0).float().mean().item() < 0.7  # about half its units dropped, as in the states
    assert 0.3 < (encoded.states[encoded.src_mask] == 0).float().mean().item() < 0.7


def test_lstm_decoder_starts_from_each_encoder_layer_final_state() -> None:
    """Unidirectional LSTM encoder of the decoder's size and depth: (h_0, c_0) of decoder layer l are encoder
    layer l's final (h, c), copied (Luong et al. 2015)."""
    torch.manual_seed(0)
    model = ModelConfig(
        embedding_size=12, hidden_size=16, output_size=16, dropout=0.0, decoder_layers=2, decoder_cell=Cell.lstm
    )
    encoder = EncoderConfig(name="t", cell=Cell.lstm, num_layers=2, hidden_size=16, dropout=0.0)
    seq2seq = build_model(model, encoder, NoAttentionConfig(), SRC_VOCAB, TRG_VOCAB, SPECIALS).eval()
    src, lengths = padded_batch([6, 4, 5])
    _, (h_n, c_n) = seq2seq.encoder.rnn(
        torch.nn.utils.rnn.pack_padded_sequence(
            seq2seq.encoder.embedding(src), lengths, batch_first=True, enforce_sorted=False
        )
    )
    _, _, state = seq2seq.start(src, lengths)
    assert seq2seq.decoder.init_layer is None  # a copy: no parameters
    torch.testing.assert_close(state.hidden, h_n)
    torch.testing.assert_close(state.cell, c_n)


def test_lstm_decoder_maps_bidirectional_layers_and_takes_the_top_ones() -> None:
    """A 3-layer bidirectional encoder (D = 2H) and a 2-layer decoder: decoder layer l reads encoder layer l + 1
    through its own map, h_0 = tanh(W_h h), c_0 = W_c c."""
    torch.manual_seed(0)
    cfg = ModelConfig(
        embedding_size=12, hidden_size=16, output_size=16, dropout=0.0, decoder_layers=2, decoder_cell=Cell.lstm
    )
    encoder = EncoderConfig(name="t", cell=Cell.lstm, bidirectional=True, num_layers=3, hidden_size=16, dropout=0.0)
    model = build_model(cfg, encoder, NoAttentionConfig(), SRC_VOCAB, TRG_VOCAB, SPECIALS).eval()
    src, lengths = padded_batch([6, 4, 5])
    encoded, _, state = model.start(src, lengths)
    assert encoded.layer_hidden.shape == encoded.layer_cell.shape == (3, 3, 32)
    torch.testing.assert_close(encoded.layer_hidden[-1], encoded.final)
    bridge = model.decoder.init_layer
    for layer in range(2):
        torch.testing.assert_close(
            state.hidden[layer], torch.tanh(bridge.hidden[layer](encoded.layer_hidden[layer + 1]))
        )
        torch.testing.assert_close(state.cell[layer], bridge.cell[layer](encoded.layer_cell[layer + 1]))
