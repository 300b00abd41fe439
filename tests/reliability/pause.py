"""A test-only callback: pause a real training subprocess at a known step so the test can signal it there.

Used as `+callbacks.pause._target_=tests.reliability.pause.PauseAtStep +callbacks.pause.step=K
+callbacks.pause.marker=<file>`: before training step K it writes `marker` and sleeps (up to
`timeout` seconds, or until a SIGTERM arrives), so the killing test knows where the run stands.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class PauseAtStep(Callback):
    def __init__(self, step: int, marker: str, timeout: float = 120.0) -> None:
        self.step, self.marker, self.timeout = step, Path(marker), timeout

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if trainer.global_step != self.step:
            return
        self.marker.write_text(f"{trainer.global_step} {batch_idx}\n")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not trainer.received_sigterm:
            time.sleep(0.02)
