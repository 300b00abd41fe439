"""`BestValue`: the best value so far of a validation metric, logged beside it as `<metric>_best`.

The run's best checkpoint (by `val/bleu`) is the one tested, so `val/bleu_best` is what a sweep should optimise:
the Optuna objective (`train` returns it) and the W&B sweep metric (sweeps/*.yaml). It goes to every logger
(W&B and CSV) at each validation and into `trainer.callback_metrics`; it survives a resume with the checkpoint.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch


class BestValue(L.Callback):
    """Track max (or min) of `monitor` over validations; log it as `<monitor>_best`."""

    def __init__(self, monitor: str = "val/bleu", mode: str = "max") -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"BestValue(mode={mode!r}): must be 'max' or 'min'.")
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None

    @property
    def key(self) -> str:
        return f"{self.monitor}_best"

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if math.isfinite(value) and (self.best is None or better(value, self.best, self.mode)):
            self.best = value
        if self.best is None:
            return
        trainer.callback_metrics[self.key] = torch.tensor(self.best)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({self.key: self.best}, step=trainer.global_step)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict.get("best")


def better(value: float, best: float, mode: str) -> bool:
    return value > best if mode == "max" else value < best
