"""The benchmark's FLOP counts against formulas worked out by hand, and its peak and profile helpers."""

import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import flops  # noqa: E402
import profile_pass  # noqa: E402

from attention_nmt.data.tokenization import SPECIAL_IDS  # noqa: E402
from attention_nmt.model.additive_scan import AdditiveWeights, additive_scan  # noqa: E402
from attention_nmt.model.arms.none import NoAttentionConfig  # noqa: E402
from attention_nmt.model.config import EncoderConfig, ModelConfig  # noqa: E402
from attention_nmt.model.encoder import Cell  # noqa: E402
from attention_nmt.model.seq2seq import build_model, token_loss  # noqa: E402

T, B, S, A, D, H = 5, 3, 7, 6, 8, 4  # steps, batch, source, attention, value and hidden sizes
G = 3 * H


def _additive_inputs() -> tuple:
    torch.manual_seed(0)
    leaf = lambda *shape: torch.randn(*shape, requires_grad=True)  # noqa: E731
    weights = AdditiveWeights(leaf(A, H), leaf(A), leaf(A), leaf(G, D), leaf(G, H), leaf(G))
    mask = torch.ones(B, S, dtype=torch.bool)
    return leaf(T, B, G), leaf(B, H), leaf(B, S, A), leaf(B, S, D), mask, weights


def _additive_forward_formula() -> int:
    """Per step: [W_hh; W_a] s_{i-1} (B x H by H x (G + A)), v^T tanh over (B S, A), alpha . h over (B, S, D),
    W_c c_i (B x D by D x G); 2 FLOPs per multiply-add."""
    return T * 2 * B * (H * (G + A) + S * A + S * D + D * G)


def _run_additive_scan() -> None:
    gi_y, h0, keys, values, mask, weights = _additive_inputs()
    states, contexts, alphas = additive_scan(gi_y, h0, keys, values, mask, weights)
    (states.sum() + contexts.sum() + alphas.sum()).backward()


def test_the_fused_additive_loop_counts_three_times_its_forward_products_with_the_matrix_vector_ones():
    with flops.counter() as mode:
        _run_additive_scan()
    # the hand-written backward forms each product's two gradients (input and weight) once: 2 x the forward
    assert mode.get_total_flops() == 3 * _additive_forward_formula()
    counted = mode.get_flop_counts()["Global"]
    assert counted[torch.ops.aten.mv] == T * 2 * B * S * A  # the score v^T tanh(.), one mv per step
    assert counted[torch.ops.aten.addmv_] == T * 2 * B * S * A  # its weight gradient, accumulated in place
    with FlopCounterMode(display=False) as plain:  # without the formulas: the matrix-vector products count 0
        _run_additive_scan()
    assert plain.get_total_flops() == 3 * _additive_forward_formula() - 2 * T * 2 * B * S * A


def test_a_whole_model_counts_its_linear_layers_by_formula_and_backward_twice_forward():
    E, OUT, V = 5, 6, 11  # embedding, deep output, vocabulary (specials included)
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(embedding_size=E, hidden_size=H, output_size=OUT, dropout=0.0, decoder_cell=Cell.gru),
        EncoderConfig(name="bigru", cell=Cell.gru, bidirectional=True, hidden_size=H, dropout=0.0),
        NoAttentionConfig(),
        V,
        V,
        SPECIAL_IDS,
    )
    src = torch.randint(4, V, (B, S))
    trg = torch.randint(4, V, (B, T))
    lengths = torch.full((B,), S)
    encoder = 2 * (2 * S * B * E * G + S * 2 * B * H * G)  # per direction: W_ih x for all steps, then W_hh h per step
    init = 2 * B * (2 * H) * H  # s_0 = tanh(W_s h_1), from the backward direction's final state (D = 2H)
    gru_input = 2 * T * B * E * G + 2 * B * (2 * H) * G  # W_e E y for every step; W_c c once (c is fixed)
    recurrence = T * 2 * B * H * G
    deep_output = 2 * B * T * (H + E) * OUT + 2 * B * (2 * H) * OUT  # [s_i; E y_{i-1}] every step; c once
    output_layer = 2 * B * T * OUT * V
    forward = encoder + init + gru_input + recurrence + deep_output + output_layer
    with flops.counter() as mode:
        logits, _ = model(src, lengths, trg)
    assert mode.get_total_flops() == forward
    with flops.counter() as mode:
        logits, _ = model(src, lengths, trg)
        loss, _ = token_loss(logits, trg, SPECIAL_IDS.pad)
        loss.backward()
    assert mode.get_total_flops() == 3 * forward


def test_count_reports_flops_per_pass_and_the_work_the_pass_did():
    a, b = torch.randn(4, 6), torch.randn(6, 5)

    def one_pass() -> dict:
        torch.mm(a, b)
        torch.mv(a, torch.randn(6))
        return {"work": 2, "seconds": 0.0}

    counted = flops.count(one_pass)
    assert counted["flops"] == 2 * 4 * 6 * 5 + 2 * 4 * 6 and counted["work"] == 2
    assert counted["by_op"] == {"aten.mm": 240, "aten.mv": 48}


def test_the_matmul_pass_reports_the_flops_it_did():
    one_pass = flops.matmul_pass(8, 16, 4, seconds=0.01)
    result = one_pass()
    assert result["seconds"] >= 0.01
    assert result["work"] > 0 and result["work"] % (2 * 8 * 16 * 4) == 0


def test_profile_shares_add_up_and_rank_the_operators():
    events = [("aten::mm", 0.5, 10), ("aten::tanh", 0.2, 10), ("aten::addmv_", 0.1, 3), ("autograd::x", 0.05, 1)]
    split = profile_pass.split(events, seconds=1.0, top=2)
    assert split["matmul_share"] == pytest.approx(0.6)
    assert split["other_share"] == pytest.approx(0.2)
    assert split["framework_share"] == pytest.approx(0.2)
    assert [t["op"] for t in split["top"]] == ["aten::mm", "aten::tanh"]


def test_profile_of_a_real_pass_finds_its_products():
    a, b = torch.randn(256, 256), torch.randn(256, 256)

    def one_pass() -> dict:
        for _ in range(20):
            torch.mm(a, b).tanh_()
        return {"work": 20, "seconds": 0.0}

    def timed() -> dict:
        import time

        start = time.perf_counter()
        one_pass()
        return {"work": 20, "seconds": time.perf_counter() - start}

    timed()  # warm, as the benchmark's rows are before they are profiled
    shares = profile_pass.profile(timed)
    top = {t["op"]: t["share"] for t in shares["top"]}
    assert set(top) >= {"aten::mm", "aten::tanh_"}
    # shares are of the timed pass's wall time, which a busy machine stretches; the two operators' own times come
    # from the same profiled pass: a 256-cube product costs several times a 256 x 256 tanh
    assert shares["matmul_share"] == top["aten::mm"] > 2 * top["aten::tanh_"] > 0


def test_a_decoding_pass_is_counted_without_autograd_and_a_training_pass_with_it():
    weight = torch.randn(4, 4, requires_grad=True)
    seen = []

    def one_pass() -> dict:
        seen.append(torch.is_grad_enabled())
        torch.mm(weight, weight)
        return {"work": 1, "seconds": 0.0}

    assert flops.count(one_pass)["flops"] == 2 * 4**3
    one_pass.inference = True
    assert flops.count(one_pass)["flops"] == 2 * 4**3
    assert seen == [True, False]
