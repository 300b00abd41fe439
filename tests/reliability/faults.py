"""Test-only callbacks that put a real training run into a known situation at a known step.

* `PauseAtStep`, used as `+callbacks.pause._target_=tests.reliability.faults.PauseAtStep
  +callbacks.pause.step=K +callbacks.pause.marker=<file>`: before training step K it writes `marker`
  and sleeps (up to `timeout` seconds, or until a SIGTERM arrives), so a test can signal the process there.
* `PoisonWeightsAtStep`: before training step K it fills a weight matrix with NaN, as a diverging run would,
  so the loss of step K is NaN; with `after_update=true` it does so right after update K, so the
  checkpoint written at the end of that step already holds the NaN weights.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


class PauseAtStep(Callback):
    def __init__(self, step: int, marker: str, timeout: float = 120.0) -> None:
        self.step, self.marker, self.timeout = step, Path(marker), timeout

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step != self.step:
            return
        self.marker.write_text(f"{trainer.global_step} {batch_idx}\n")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not trainer.received_sigterm:
            time.sleep(0.02)


class PoisonWeightsAtStep(Callback):
    def __init__(self, step: int, after_update: bool = False) -> None:
        self.step, self.after_update = step, after_update  # after_update: poison right after update `step`

    def _poison(self, pl_module: L.LightningModule) -> None:
        with torch.no_grad():
            next(pl_module.parameters()).fill_(float("nan"))

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not self.after_update and trainer.global_step == self.step:
            self._poison(pl_module)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.after_update and trainer.global_step == self.step:  # runs before the checkpoint callback saves
            self._poison(pl_module)
