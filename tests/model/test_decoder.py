"""The decoder runs each arm in its paper's order, and its one-call fast paths equal the step loop."""

import pytest
import torch

from attention_nmt.model.encoder import Cell, EncoderOutput
from tests.model.arms import TRG_VOCAB, fits, make_model, padded_batch


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fast_path_equals_step_by_step_reference(arm, cell, bidirectional):
    if not fits(arm, bidirectional):
        pytest.skip("the arm's score needs equal sizes")
    model = make_model(arm, cell, bidirectional)
    src, lengths = padded_batch([7, 4, 1])
    trg = torch.randint(4, TRG_VOCAB, (3, 6))
    fast_logits, fast_weights = model(src, lengths, trg)
    step_logits, step_weights = model(src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_logits, step_logits, rtol=1e-5, atol=1e-5)
    if arm == "none":
        assert fast_weights is None and step_weights is None
    else:
        torch.testing.assert_close(fast_weights, step_weights, rtol=1e-5, atol=1e-6)


def test_only_arms_whose_steps_depend_on_attention_use_a_step_loop():
    loops = {
        arm: make_model(arm).decoder.needs_step_loop for arm in ("none", "additive", "general", "general+feed", "dot")
    }
    assert loops == {"none": False, "additive": True, "general": False, "general+feed": True, "dot": False}


def _record_queries(model):
    queries = []
    attend = model.decoder.attention.attend

    def recording(query, *args):
        queries.append(query.detach().clone())
        return attend(query, *args)

    model.decoder.attention.attend = recording
    return queries


@pytest.mark.parametrize("stepwise", [True, False], ids=["reference", "fused"])
def test_additive_attention_is_queried_with_the_previous_state(stepwise):
    model = make_model("additive")
    src, lengths = padded_batch([5, 3])
    _, memory, state0 = model.start(src, lengths)
    queries = _record_queries(model)
    prev = torch.tensor([[2], [2]])
    _, state1, weights1 = model.decoder(prev, state0, memory, stepwise=stepwise)
    _, state2, weights2 = model.decoder(prev, state1, memory, stepwise=stepwise)
    if stepwise:  # the reference loop calls `attend` with its query
        torch.testing.assert_close(queries[0][:, 0], state0.hidden[-1])  # c_1 from s_0
        torch.testing.assert_close(queries[1][:, 0], state1.hidden[-1])  # c_2 from s_1, not s_2
    else:  # the fused loop (`additive_scan`) scores by itself: its weights are those of s_{i-1}'s query
        attend = model.decoder.attention.attend
        torch.testing.assert_close(weights1, attend(state0.hidden[-1].unsqueeze(1), *memory)[1])
        torch.testing.assert_close(weights2, attend(state1.hidden[-1].unsqueeze(1), *memory)[1])
        assert not torch.allclose(weights2, attend(state2.hidden[-1].unsqueeze(1), *memory)[1])
    assert not torch.allclose(state1.hidden[-1], state2.hidden[-1])


@pytest.mark.parametrize("stepwise", [True, False], ids=["reference", "fast"])
@pytest.mark.parametrize("arm", ["general", "general+feed"])
def test_multiplicative_attention_is_queried_with_the_current_state(arm, stepwise):
    model = make_model(arm)
    src, lengths = padded_batch([5, 3])
    _, memory, state0 = model.start(src, lengths)
    queries = _record_queries(model)
    _, state1, weights = model.decoder(torch.tensor([[2], [2]]), state0, memory, stepwise=stepwise)
    if queries:  # the paths that call `attend` (the input-feeding fast path, `feed_scan`, scores by itself)
        torch.testing.assert_close(queries[0][:, 0], state1.hidden[-1])  # h_t after the update
        assert not torch.allclose(queries[0][:, 0], state0.hidden[-1])
    else:
        assert arm == "general+feed" and not stepwise
    attend = model.decoder.attention.attend
    torch.testing.assert_close(weights, attend(state1.hidden[-1].unsqueeze(1), *memory)[1])
    assert not torch.allclose(weights, attend(state0.hidden[-1].unsqueeze(1), *memory)[1])


def test_none_ignores_every_encoder_state_but_the_final_one():
    model = make_model("none", bidirectional=True)
    src, lengths = padded_batch([6, 4])
    encoded = model.encoder(src, lengths)
    trg = torch.randint(4, TRG_VOCAB, (2, 5))
    outputs = []
    for seed in (1, 2):
        states = torch.randn(encoded.states.shape, generator=torch.Generator().manual_seed(seed))
        changed = EncoderOutput(states, encoded.final, encoded.src_mask)
        memory, state = model.decoder.attention.memory(changed), model.decoder.init_state(changed)
        outputs.append(model.decoder(trg, state, memory)[0])
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
    final = EncoderOutput(encoded.states, encoded.final + 1.0, encoded.src_mask)
    moved = model.decoder(trg, model.decoder.init_state(final), model.decoder.attention.memory(final))[0]
    assert not torch.allclose(moved, outputs[0])  # ...and does depend on c


@pytest.mark.parametrize("cell", [Cell.gru, Cell.lstm])
def test_padding_never_changes_a_sentence_output(arm, cell):
    model = make_model(arm, cell, bidirectional=fits(arm, True))
    src, lengths = padded_batch([9, 3, 5])
    trg = torch.randint(4, TRG_VOCAB, (3, 4))
    batched, _ = model(src, lengths, trg)
    for row in range(3):
        alone_src = src[row : row + 1, : lengths[row]]
        alone, _ = model(alone_src, lengths[row : row + 1], trg[row : row + 1])
        torch.testing.assert_close(alone[0], batched[row], rtol=1e-5, atol=1e-5)


def test_stacked_maxout_tied_decoder_shares_weights_and_matches_its_step_loop():
    from attention_nmt.model.arms.additive import AdditiveAttentionConfig
    from attention_nmt.model.config import EncoderConfig, ModelConfig
    from attention_nmt.model.seq2seq import build_model
    from tests.model.arms import SPECIALS, SRC_VOCAB

    torch.manual_seed(0)
    model_cfg = ModelConfig(
        embedding_size=12,
        hidden_size=16,
        output_size=12,
        dropout=0.0,
        decoder_layers=2,
        decoder_cell=Cell.lstm,
        maxout=True,
        tie_embeddings=True,
    )
    encoder = EncoderConfig(
        name="bilstm", cell=Cell.lstm, bidirectional=True, num_layers=2, hidden_size=16, dropout=0.0
    )
    model = build_model(
        model_cfg, encoder, AdditiveAttentionConfig(attention_size=8), SRC_VOCAB, TRG_VOCAB, SPECIALS
    ).eval()
    assert model.decoder.output_layer.weight is model.decoder.embedding.weight
    assert model.decoder.deep_output.linear.out_features == 2 * 12  # maxout pools pairs of units
    src, lengths = padded_batch([6, 2])
    trg = torch.randint(4, TRG_VOCAB, (2, 5))
    fast, _ = model(src, lengths, trg)
    step, _ = model(src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast, step)
    assert model.decoder.init_state(model.encoder(src, lengths)).hidden.shape == (2, 2, 16)
