"""The learning-rate schedules OptimConfig builds: exponential decay, optionally after `decay_start` epochs
at the full rate (Luong et al. 2015 halve the rate every epoch after the 5th, or the 8th)."""

import pytest
import torch

from attention_nmt.errors import ConfigError
from attention_nmt.training.optim import OptimConfig, SchedulerName


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
