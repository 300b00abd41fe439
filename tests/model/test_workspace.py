"""The additive loop's workspace (`model/workspace.py`) is lent to one autograd graph at a time and never hands a
graph values another graph wrote: a second backward after the buffer grew, saved-tensor hooks (which skip
autograd's own version check), two threads borrowing at once; and it is released after training."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from attention_nmt.model import additive_scan as additive_module
from attention_nmt.model import workspace as workspace_module
from tests.model.arms import TRG_VOCAB, make_model, padded_batch


def _loss(model, steps: int, seed: int = 1) -> torch.Tensor:
    """A training loss through the fused additive loop for a batch of `steps` target steps."""
    src, lengths = padded_batch([6, 3], seed=seed)
    trg = torch.randint(4, TRG_VOCAB, (2, steps), generator=torch.Generator().manual_seed(seed))
    return model(src, lengths, trg)[0].square().mean()


def _grads(loss: torch.Tensor, model, retain: bool = False) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(model.parameters()), retain_graph=retain))


def _assert_equal(got: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.fixture
def model():
    additive_module.WORKSPACE.clear()
    yield make_model("additive")
    additive_module.WORKSPACE.clear()


def test_a_second_backward_of_an_old_graph_leaves_the_loan_of_a_newer_graph_alone(model):
    """The sequence of the issue: forward T=3, backward with retain_graph, forward T=8 (the buffer grows), the
    old graph's second backward, a third forward, then the T=8 graph's backward: every gradient is right."""
    expected = {steps: _grads(_loss(model, steps, seed=steps), model) for steps in (3, 8)}
    additive_module.WORKSPACE.clear()  # the sequence starts from an empty workspace
    short = _loss(model, 3, seed=3)
    _assert_equal(_grads(short, model, retain=True), expected[3])
    long = _loss(model, 8, seed=8)  # a bigger request: the buffer grows
    _assert_equal(_grads(short, model), expected[3])  # the old graph's values live in the old buffer
    _loss(model, 5, seed=5)  # a third forward while the T=8 graph holds the buffer
    _assert_equal(_grads(long, model), expected[8])


@pytest.mark.parametrize("hooks", ["identity", "save_on_cpu"])
def test_a_stale_second_backward_raises_under_saved_tensor_hooks(model, hooks):
    """Saved-tensor hooks turn autograd's version check off; the loan's own check still stops a backward pass
    over values a newer forward pass overwrote, instead of returning wrong gradients."""
    context = (
        torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t)
        if hooks == "identity"
        else torch.autograd.graph.save_on_cpu()
    )
    with context:
        first = _loss(model, 5, seed=1)
        _grads(first, model, retain=True)
        _grads(_loss(model, 5, seed=2), model)  # the same size: the same buffer, lent again and overwritten
        with pytest.raises(RuntimeError, match="workspace"):
            _grads(first, model)


def test_a_second_backward_with_nothing_borrowed_in_between_is_right(model):
    expected = _grads(_loss(model, 4), model)
    loss = _loss(model, 4)
    _assert_equal(_grads(loss, model, retain=True), expected)
    _assert_equal(_grads(loss, model), expected)


def test_two_threads_borrowing_at_the_same_moment_never_share_the_buffer(model, monkeypatch):
    """Both threads are held at the same point inside `borrow` (a rendezvous where it sizes the request) and
    again after their forward passes, so the two graphs are alive at once; each gets its own gradients."""
    expected = {steps: _grads(_loss(model, steps, seed=steps), model) for steps in (4, 7)}
    inside, after_forward = threading.Barrier(2, timeout=1.0), threading.Barrier(2, timeout=10.0)

    class Rendezvous:
        @staticmethod
        def prod(shape):
            try:
                inside.wait()
            except threading.BrokenBarrierError:  # the other thread is kept out (a lock): go on alone
                pass
            return math.prod(shape)

    monkeypatch.setattr(workspace_module, "math", Rendezvous)
    got, errors = {}, []

    def work(steps: int) -> None:
        try:
            loss = _loss(model, steps, seed=steps)
            after_forward.wait()
            got[steps] = _grads(loss, model)
        except Exception as error:  # reported below, with the thread's own traceback lost
            errors.append(error)

    threads = [threading.Thread(target=work, args=(steps,)) for steps in (4, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    for steps in (4, 7):
        _assert_equal(got[steps], expected[steps])


def test_searching_leaves_the_workspace_alone_and_a_training_graph_its_values(model):
    """A search's steps allocate their own (B, S, A) tanh buffer (`additive_step`) and never borrow the workspace:
    it stays empty through a greedy search, and a training graph that holds it gets back what its own forward
    pass wrote after a search in between."""
    from attention_nmt.model.search import greedy_search

    src, lengths = padded_batch([9] * 8, seed=5)
    model.eval()
    greedy_search(model, src, lengths, max_len_ratio=2.0)
    workspace = additive_module.WORKSPACE
    assert workspace.size == 0 and not workspace._held()
    model.train()
    torch.manual_seed(0)
    expected = _grads(_loss(model, 5), model)
    torch.manual_seed(0)
    loss = _loss(model, 5)  # this graph holds the workspace until its backward pass
    held = workspace._buffer
    model.eval()
    with torch.no_grad():
        greedy_search(model, *padded_batch([9, 9, 9, 9], seed=6), max_len_ratio=2.0)
    assert workspace._buffer is held and workspace._held()
    model.train()
    _assert_equal(_grads(loss, model), expected)
