"""`val/bleu_best`: the running best validation BLEU, logged to every logger and returned as the sweep objective."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from attention_nmt.tasks.train import train
from attention_nmt.tracking.best_value import BestValue


def test_objective_is_the_best_validation_bleu_not_the_last(tiny_config, tmp_path):
    cfg = tiny_config("logger=[csv]", "trainer.max_steps=8", "data.max_len=6", "trainer.val_check_interval=2")
    metrics = train(OmegaConf.to_object(cfg))
    with (tmp_path / "run" / "csv" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    bleus = [float(r["val/bleu"]) for r in rows if r.get("val/bleu")]
    best = [float(r["val/bleu_best"]) for r in rows if r.get("val/bleu_best")]
    assert len(bleus) == len(best) == 4
    assert best == pytest.approx([max(bleus[: i + 1]) for i in range(4)])
    assert metrics["objective"] == pytest.approx(max(bleus))


def test_best_value_keeps_the_best_across_a_resume_and_by_mode():
    lowest = BestValue("val/loss", "min")
    lowest.load_state_dict({"best": 2.5})
    assert lowest.key == "val/loss_best" and lowest.state_dict() == {"best": 2.5}
    with pytest.raises(ValueError, match="mode='median'"):
        BestValue(mode="median")


class Recorder:
    def __init__(self) -> None:
        self.logged: list[tuple[dict, int]] = []

    def log_metrics(self, metrics: dict, step: int) -> None:
        self.logged.append((metrics, step))


def test_best_value_logs_the_running_best_at_each_validation():
    callback, logger = BestValue(), Recorder()
    trainer = SimpleNamespace(sanity_checking=False, is_global_zero=True, loggers=[logger], callback_metrics={})
    for step, bleu in enumerate([1.0, 3.0, 2.0, float("nan"), 4.0], start=1):
        trainer.global_step = step * 10
        trainer.callback_metrics["val/bleu"] = torch.tensor(bleu)
        callback.on_validation_end(trainer, None)
    assert logger.logged == [({"val/bleu_best": v}, s) for v, s in zip([1.0, 3.0, 3.0, 3.0, 4.0], [10, 20, 30, 40, 50])]
    assert float(trainer.callback_metrics["val/bleu_best"]) == 4.0
    assert callback.state_dict() == {"best": 4.0}
