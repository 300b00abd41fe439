"""The fused decoder loops (`additive_scan`, `feed_scan`) equal the torch step loop in every gradient path
(outputs, attention weights, final state), reuse their workspace safely, and run under bf16 autocast."""

import pytest
import torch
import torch.nn.functional as F

from attention_nmt.model import additive_scan as additive_module
from attention_nmt.model.encoder import Cell
from attention_nmt.model.workspace import WorkspaceReusedError
from tests.model.arms import SPECIALS, TRG_VOCAB, fits, make_model, padded_batch

FUSED = ["additive", "general+feed", "scaled_dot+feed"]


def _everything_loss(model, src, lengths, trg, stepwise, seed=3):
    """A loss that reaches the logits, every attention weight and the last decoder state (and feed)."""
    _, memory, state = model.start(src, lengths, stepwise)
    logits, last, weights = model.decoder(trg, state, memory, stepwise=stepwise)
    gen = torch.Generator().manual_seed(seed)
    loss = F.cross_entropy(logits.flatten(0, 1), trg.roll(-1, 1).flatten(), ignore_index=SPECIALS.pad)
    if weights is not None:
        loss = loss + (weights * torch.randn(weights.shape, generator=gen, dtype=weights.dtype)).sum()
    loss = loss + (last.hidden * torch.randn(last.hidden.shape, generator=gen, dtype=last.hidden.dtype)).sum()
    if last.feed is not None:
        loss = loss + last.feed.square().sum()
    params = [p for p in model.parameters() if p.requires_grad]
    return loss, torch.autograd.grad(loss, params, allow_unused=True)


@pytest.mark.parametrize("arm", FUSED)
def test_fused_loop_gradients_through_weights_and_final_state_equal_the_step_loop(arm):
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True)).double()
    src, lengths = padded_batch([7, 4, 1, 6])
    trg = torch.randint(4, TRG_VOCAB, (4, 5))
    fast_loss, fast_grads = _everything_loss(model, src, lengths, trg, stepwise=False)
    ref_loss, ref_grads = _everything_loss(model, src, lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-12, atol=1e-12)
    for (name, _), fast, ref in zip(model.named_parameters(), fast_grads, ref_grads):
        assert ref is not None and fast is not None, name
        torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12, msg=name)


def _grads(model, src, lengths, trg):
    logits, _ = model(src, lengths, trg)
    return torch.autograd.grad(logits.square().mean(), list(model.parameters()))


def test_additive_workspace_lent_to_one_graph_at_a_time_gives_the_same_gradients():
    model = make_model("additive")
    batches = [(padded_batch([6, 3], seed=s), torch.randint(4, TRG_VOCAB, (2, 4 + s))) for s in (1, 2)]
    alone = [_grads(model, *src_lengths, trg) for src_lengths, trg in batches]  # one graph at a time
    outputs = [model(*src_lengths, trg)[0] for src_lengths, trg in batches]  # both graphs alive at once
    together = [torch.autograd.grad(out.square().mean(), list(model.parameters())) for out in outputs]
    for first, second in zip(alone, together):
        for a, b in zip(first, second):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_second_backward_after_the_workspace_was_lent_again_raises():
    model = make_model("additive")
    (src, lengths), trg = padded_batch([5, 2]), torch.randint(4, TRG_VOCAB, (2, 4))
    first = model(src, lengths, trg)[0].sum()
    first.backward(retain_graph=True)
    model(src, lengths, trg)[0].sum().backward()  # borrows the workspace the first graph gave back
    with pytest.raises(WorkspaceReusedError, match="workspace was lent to a newer forward pass"):
        first.backward()


def test_workspace_grows_and_is_reused_between_steps():
    additive_module.WORKSPACE.clear()
    model = make_model("additive")
    for trg_len in (3, 6, 4):
        (src, lengths), trg = padded_batch([6, 3]), torch.randint(4, TRG_VOCAB, (2, trg_len))
        model(src, lengths, trg)[0].sum().backward()
    buffer = additive_module.WORKSPACE._buffer
    assert buffer is not None and buffer.numel() == 6 * 2 * 6 * 16  # the largest (T, B, S, A) seen
    (src, lengths), trg = padded_batch([6, 3]), torch.randint(4, TRG_VOCAB, (2, 5))
    model(src, lengths, trg)[0].sum().backward()
    assert additive_module.WORKSPACE._buffer is buffer  # reused, not reallocated


@pytest.mark.parametrize("arm", FUSED)
def test_fused_loops_under_bf16_autocast_train_close_to_fp32(arm):
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True))
    src, lengths = padded_batch([7, 4, 1])
    trg = torch.randint(4, TRG_VOCAB, (3, 5))
    reference, _ = model(src, lengths, trg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, weights = model(src, lengths, trg)
    mixed.float().sum().backward()
    assert weights.dtype == torch.float32  # the loop ran in the weights' precision
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    torch.testing.assert_close(mixed.float(), reference, atol=5e-2, rtol=5e-2)


# (source lengths, target length): the usual batch, one sentence, one step, and one step of several sentences
SHAPES = [([7, 4, 1, 6], 5), ([5], 4), ([5], 1), ([7, 1, 3], 1)]


@pytest.mark.parametrize("lengths,steps", SHAPES, ids=["B4T5", "B1T4", "B1T1", "B3T1"])
@pytest.mark.parametrize("arm", FUSED)
def test_fused_loop_equals_the_step_loop_for_one_sentence_and_one_step(arm, lengths, steps):
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True)).double()
    src, src_lengths = padded_batch(lengths)
    trg = torch.randint(4, TRG_VOCAB, (len(lengths), steps), generator=torch.Generator().manual_seed(5))
    fast_loss, fast_grads = _everything_loss(model, src, src_lengths, trg, stepwise=False)
    ref_loss, ref_grads = _everything_loss(model, src, src_lengths, trg, stepwise=True)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-12, atol=1e-12)
    for (name, _), fast, ref in zip(model.named_parameters(), fast_grads, ref_grads):
        torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12, msg=name)


def test_fast_path_equals_the_step_loop_under_dropout(arm):
    """With dropout on, both paths draw the same masks at the same (batch, step) positions: the same loss and
    gradients in training mode."""
    model = make_model(arm, Cell.gru, bidirectional=fits(arm, True)).double()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.3
    model.train()
    src, lengths = padded_batch([7, 4, 1, 6])
    trg = torch.randint(4, TRG_VOCAB, (4, 5), generator=torch.Generator().manual_seed(5))
    results = []
    for stepwise in (False, True):
        torch.manual_seed(11)  # the same dropout draws on both paths
        results.append(_everything_loss(model, src, lengths, trg, stepwise=stepwise))
    (fast_loss, fast_grads), (ref_loss, ref_grads) = results
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-12, atol=1e-12)
    for (name, _), fast, ref in zip(model.named_parameters(), fast_grads, ref_grads):
        torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12, msg=name)


def _random(*shape: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()


def _mask(lengths: list[int]) -> torch.Tensor:
    return torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]  # (B, S)


@pytest.mark.parametrize("lengths,steps", SHAPES, ids=["B4T5", "B1T4", "B1T1", "B3T1"])
def test_additive_scan_passes_gradcheck(lengths, steps):
    """Every input and parameter of `additive_scan` against finite differences in float64 (which needs the
    softmax in float64 too)."""
    from attention_nmt.model.additive_scan import AdditiveWeights, additive_scan

    batch, src_len, hidden, attention_size, value_size = len(lengths), max(lengths), 3, 4, 5
    inputs = [
        _random(steps, batch, 3 * hidden, seed=1),  # gi_y
        _random(batch, hidden, seed=2),  # h0
        _random(batch, src_len, attention_size, seed=3),  # keys
        _random(batch, src_len, value_size, seed=4),  # values
        _random(attention_size, hidden, seed=5),  # W_a
        _random(attention_size, seed=6),  # b_a
        _random(attention_size, seed=7),  # v
        _random(3 * hidden, value_size, seed=8),  # W_c
        _random(3 * hidden, hidden, seed=9),  # W_hh
        _random(3 * hidden, seed=10),  # b_hh
    ]
    mask = _mask(lengths)

    def run(gi_y, h0, keys, values, *weights):
        return additive_scan(gi_y, h0, keys, values, mask, AdditiveWeights(*weights))

    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lengths", [[7, 4, 1, 6], [5]], ids=["B4", "B1"])
def test_additive_step_is_one_step_of_additive_scan(lengths, dtype):
    """A search's step (`additive_step`, with a (B, G) input) gives exactly the first step of the loop."""
    from attention_nmt.model.additive_scan import AdditiveWeights, additive_scan, additive_step

    batch, src_len, hidden, attention_size, value_size = len(lengths), max(lengths), 6, 5, 7
    shapes = [
        (2, batch, 3 * hidden),  # gi_y: two steps; the step takes the first
        (batch, hidden),  # h0
        (batch, src_len, attention_size),  # keys
        (batch, src_len, value_size),  # values
        (attention_size, hidden),
        (attention_size,),
        (attention_size,),
        (3 * hidden, value_size),
        (3 * hidden, hidden),
        (3 * hidden,),
    ]
    gi_y, h0, keys, values, *params = (_random(*shape, seed=i).detach().to(dtype) for i, shape in enumerate(shapes))
    weights, mask = AdditiveWeights(*params), _mask(lengths)
    with torch.no_grad():
        states, contexts, alphas = additive_scan(gi_y, h0, keys, values, mask, weights)
        state, context, alpha = additive_step(gi_y[0], h0, keys, values, mask, weights)
    assert torch.equal(state, states[0]) and torch.equal(context, contexts[0]) and torch.equal(alpha, alphas[0])
    assert torch.all(alpha[~mask] == 0)


@pytest.mark.parametrize("lengths,steps", SHAPES, ids=["B4T5", "B1T4", "B1T1", "B3T1"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_feed_scan_passes_gradcheck(lengths, steps, scale):
    from attention_nmt.model.feed_scan import FeedWeights, feed_scan

    batch, src_len, hidden, output_size, value_size = len(lengths), max(lengths), 3, 4, 5
    inputs = [
        _random(steps, batch, 3 * hidden, seed=1),  # gi_y
        _random(batch, hidden, seed=2),  # h0
        _random(batch, output_size, seed=3),  # feed0
        _random(batch, src_len, hidden, seed=4),  # keys
        _random(batch, src_len, value_size, seed=5),  # values
        _random(3 * hidden, output_size, seed=6),  # W_f
        _random(3 * hidden, hidden, seed=7),  # W_hh
        _random(3 * hidden, seed=8),  # b_hh
        _random(output_size, value_size + hidden, seed=9),  # W_c
        _random(output_size, seed=10),  # b_c
    ]
    mask = _mask(lengths)

    def run(gi_y, h0, feed0, keys, values, *weights):
        return feed_scan(gi_y, h0, feed0, keys, values, mask, scale, FeedWeights(*weights))

    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_feed_scan_scores_query_first_only_while_searching():
    """Without autograd (a search) `feed_scan` scores h_t^T K^T; with it (training) K h_t, the order training's
    numbers were summed in. Both forms give the same loop up to float noise."""
    from attention_nmt.model import feed_scan as feed_module

    batch, src_len, hidden, output_size, value_size = 6, 23, 32, 16, 40
    args = [
        _random(3, batch, 3 * hidden, seed=1).float(),  # gi_y
        _random(batch, hidden, seed=2).float(),  # h0
        _random(batch, output_size, seed=3).float(),  # feed0
        _random(batch, src_len, hidden, seed=4).float(),  # keys
        _random(batch, src_len, value_size, seed=5).float(),  # values
        _mask([23, 20, 17, 9, 4, 1]),
        0.5,
    ]
    weights = feed_module.FeedWeights(
        *(
            _random(*shape, seed=6 + k).float()
            for k, shape in enumerate(
                [
                    (3 * hidden, output_size),
                    (3 * hidden, hidden),
                    (3 * hidden,),
                    (output_size, value_size + hidden),
                    (output_size,),
                ]
            )
        )
    )
    plain = [t.detach() for t in args[:5]] + args[5:]
    by_keys = feed_module._forward(*plain, feed_module.FeedWeights(*(w.detach() for w in weights)))
    query_first = feed_module._forward(
        *plain, feed_module.FeedWeights(*(w.detach() for w in weights)), query_first=True
    )
    with torch.no_grad():
        searched = feed_module.feed_scan(*plain, weights)
    trained = feed_module.feed_scan(*args, weights)
    for got, expected in zip(searched, (query_first[0][1:], query_first[1][1:], query_first[2])):
        assert torch.equal(got, expected)
    for got, expected in zip(trained, (by_keys[0][1:], by_keys[1][1:], by_keys[2])):
        assert torch.equal(got.detach(), expected)
    assert not torch.equal(by_keys[2], query_first[2])  # the two forms sum in another order: the test tells them apart
    for a, b in zip(by_keys, query_first):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
