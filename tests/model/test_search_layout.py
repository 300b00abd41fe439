"""A search multiplies column-major weights, decodes what the row-major layout decodes, and gives every parameter
back as it found it, also when the search fails."""

import dataclasses

import pytest
import torch
from torch import nn

from attention_nmt.model.encoder import Cell
from attention_nmt.model.init import Init
from attention_nmt.model.search import beam_search, greedy_search
from attention_nmt.model.search_layout import column_major_weights, is_column_major
from attention_nmt.model.seq2seq import build_model
from tests.model.arms import ARMS, SPECIALS, TRG_VOCAB, _sizes, fits, make_model, padded_batch


def _snapshot(model: nn.Module) -> dict[str, tuple[int, tuple[int, ...], torch.Tensor]]:
    return {name: (p.data_ptr(), p.stride(), p.detach().clone()) for name, p in model.named_parameters()}


def _assert_as_before(model: nn.Module, before: dict) -> None:
    for name, p in model.named_parameters():
        pointer, stride, values = before[name]
        assert (p.data_ptr(), p.stride()) == (pointer, stride), name
        assert torch.equal(p.detach(), values), name


def test_a_search_multiplies_column_major_weights_and_gives_the_parameters_back(arm):
    model = make_model(arm, bidirectional=fits(arm, True))
    before = _snapshot(model)
    seen: dict[str, bool] = {}

    step = model.decoder.step

    def record(*args, **kwargs):  # every decoding step: what layout do the weights have then?
        for name, p in model.named_parameters():
            seen[name] = is_column_major(p)
        return step(*args, **kwargs)

    model.decoder.step = record
    greedy_search(model, *padded_batch([7, 4, 2]), max_len_ratio=1.5)
    del model.decoder.step
    products = {n for n, p in model.named_parameters() if p.dim() == 2 and "embedding" not in n and p.shape[0] > 1}
    assert products and {n for n, column_major in seen.items() if column_major} == products
    _assert_as_before(model, before)


def test_column_major_weights_decode_what_row_major_weights_decode(arm):
    """The same tokens, and scores equal up to float noise (small batches may sum in another order)."""
    model = make_model(arm, bidirectional=fits(arm, True), seed=3)
    src, lengths = padded_batch([9, 3, 6, 8, 1], seed=3)
    laid_out = greedy_search(model, src, lengths, max_len_ratio=1.5)
    row_major = greedy_search.__wrapped__(model, src, lengths, max_len_ratio=1.5)  # without the layout
    assert [h.tokens for h in laid_out] == [h.tokens for h in row_major]
    assert [h.score for h in laid_out] == pytest.approx([h.score for h in row_major], abs=1e-5)


def test_beam_search_keeps_the_row_major_layout():
    model = make_model("additive")
    seen, step = [], model.decoder.step

    def record(*args, **kwargs):
        seen.append(model.decoder.output_layer.weight.stride())
        return step(*args, **kwargs)

    model.decoder.step = record
    beam_search(model, *padded_batch([6, 4]), beam_size=3, max_len_ratio=1.5)
    assert seen and all(stride == (model.decoder.output_layer.in_features, 1) for stride in seen)


def test_a_tied_output_layer_keeps_the_embedding_table_row_major():
    model_config, encoder_config = _sizes(Cell.gru, False, Init.torch)
    model_config = dataclasses.replace(model_config, tie_embeddings=True)
    model = build_model(model_config, encoder_config, ARMS["additive"], 30, TRG_VOCAB, SPECIALS).eval()
    with column_major_weights(model):
        assert model.decoder.output_layer.weight.is_contiguous()
        assert is_column_major(model.decoder.deep_output.linear.weight)


def test_a_failing_search_still_gives_the_parameters_back(monkeypatch):
    model = make_model("additive")
    before = _snapshot(model)

    def fail(*args, **kwargs):
        raise RuntimeError("decoder failed")

    monkeypatch.setattr(model.decoder, "step", fail)
    with pytest.raises(RuntimeError, match="decoder failed"):
        greedy_search(model, *padded_batch([5, 3]), max_len_ratio=1.5)
    _assert_as_before(model, before)


def test_nested_layouts_give_back_the_original_data_once():
    model = make_model("additive")
    before = _snapshot(model)
    with column_major_weights(model):
        inner_pointer = model.decoder.rnn.weight_hh_l0.data_ptr()
        with column_major_weights(model):  # already column-major: left as it is
            assert model.decoder.rnn.weight_hh_l0.data_ptr() == inner_pointer
        assert is_column_major(model.decoder.rnn.weight_hh_l0)
    _assert_as_before(model, before)


def test_weights_off_the_cpu_are_left_alone():
    layer = nn.Linear(4, 3, device="meta")
    with column_major_weights(layer):
        assert layer.weight.is_contiguous()
