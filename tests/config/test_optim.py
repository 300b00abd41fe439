"""What OptimConfig builds: Adam, fused on the CPU, and the learning-rate schedules: exponential decay,
optionally after `decay_start` epochs at the full rate (Luong et al. 2015 halve the rate every epoch after the
5th, or the 8th)."""

import pytest
import torch

from attention_nmt.errors import ConfigError
from attention_nmt.training.optim import OptimConfig, SchedulerName, fused_adam_supported


def lrs_per_epoch(cfg: OptimConfig, epochs: int) -> list[float]:
    built = cfg.build([torch.nn.Parameter(torch.zeros(1))])
    optimizer, scheduler = built["optimizer"], built["lr_scheduler"]["scheduler"]
    assert built["lr_scheduler"]["interval"] == "epoch"
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_exponential_decay_starts_after_decay_start_epochs():
    cfg = OptimConfig(name="sgd", lr=1.0, scheduler=SchedulerName.exponential, decay=0.5, decay_start=2)
    assert lrs_per_epoch(cfg, 5) == pytest.approx([1.0, 1.0, 0.5, 0.25, 0.125])  # two epochs at the full rate
    luong = OptimConfig(name="sgd", lr=1.0, scheduler=SchedulerName.exponential, decay=0.5, decay_start=8)
    assert lrs_per_epoch(luong, 12)[7:] == pytest.approx([1.0, 0.5, 0.25, 0.125, 0.0625])  # halved from epoch 9


def test_exponential_decay_from_the_start_is_torchs_exponential_schedule():
    cfg = OptimConfig(lr=3e-3, scheduler=SchedulerName.exponential, decay=0.8)
    assert lrs_per_epoch(cfg, 4) == pytest.approx([3e-3 * 0.8**e for e in range(4)])


def test_decay_start_below_one_is_refused_naming_the_key():
    for bad in (0, -1):
        with pytest.raises(ConfigError, match=f"optim.decay_start={bad}: must be a number of epochs >= 1"):
            OptimConfig(decay_start=bad)


def test_adam_runs_fused_on_the_cpu_and_makes_the_same_update_as_the_per_tensor_loop():
    torch.manual_seed(0)
    weights = [torch.randn(5, 3, requires_grad=True), torch.randn(3, requires_grad=True)]
    reference = [w.detach().clone().requires_grad_() for w in weights]
    fused = OptimConfig(lr=1e-2).build(weights)["optimizer"]
    loop = torch.optim.Adam(reference, lr=1e-2, eps=1e-8, fused=False, foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(3):
        for params, optimizer in ((weights, fused), (reference, loop)):
            optimizer.zero_grad()
            (params[0].sum(0) * params[1]).pow(2).sum().backward()
            optimizer.step()
    for w, r in zip(weights, reference):
        assert torch.allclose(w, r, rtol=1e-6, atol=1e-7)
    assert not fused_adam_supported([]) and fused_adam_supported(weights)
