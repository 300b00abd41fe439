"""The run's checkpoints: `last.ckpt` that is always the newest state, and the best one by validation BLEU.

`RunCheckpoint` is Lightning's `ModelCheckpoint` with three changes that make `last.ckpt` something a
killed run can resume from:

* `every_n_train_steps=N` writes only `last.ckpt` every N steps. (The stock callback would also rank the
  weights of step N by the BLEU of an older validation, and stop ranking at validation time.)
  The best checkpoint is still chosen right after each validation.
* After every validation `last.ckpt` is written again, even when BLEU did not improve (the stock
  callback then skips it), so a resumed run neither repeats nor loses that validation.
* On SIGTERM (what a cluster scheduler sends before preemption, SLURM or not) Lightning stops after
  the current batch with `SIGTERMException`; this callback then writes `last.ckpt` before the exit. (If
  the signal arrives during a validation, the `last.ckpt` from before that validation is kept, since a
  half-done validation cannot be resumed exactly.)

`RNGState` stores the global RNG states (torch, CUDA, numpy, python) in every checkpoint and restores
them before the first training batch after a resume, so dropout draws the same masks as the
uninterrupted run. With the data loader's position (`data/resumable.py`), optimizer, scheduler and loop
counters (Lightning's own), a resumed run repeats the uninterrupted one exactly on the same machine.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)


class RunCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` whose `last.ckpt` is always resumable; see the module docstring."""

    def __init__(self, *args: Any, every_n_train_steps: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # best by `monitor` after each validation, as without a step interval
        if every_n_train_steps is not None and every_n_train_steps < 0:
            raise ValueError(
                f"callbacks.model_checkpoint.every_n_train_steps={every_n_train_steps}: must be >= 1 "
                "(or null to write last.ckpt only after validations)."
            )
        self.last_every_n_train_steps = every_n_train_steps or 0
        self._last_written: tuple[int, bool] | None = None  # (global step, during validation)

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, torch.Tensor]) -> None:
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_written = (trainer.global_step, bool(trainer.validating))

    def _may_save(self, trainer: L.Trainer) -> bool:
        return bool(self.save_last) and not trainer.fast_dev_run and not trainer.sanity_checking

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        n = self.last_every_n_train_steps
        if n and trainer.global_step % n == 0 and self._may_save(trainer):
            if self._last_written != (trainer.global_step, False):
                ranked_at = self._last_global_step_saved  # so the validation of this step still ranks the weights
                self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
                self._last_global_step_saved = ranked_at

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if self._may_save(trainer) and self._last_written != (trainer.global_step, True):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException) and self._may_save(trainer):
            if trainer.validating:  # a half-done validation cannot be resumed exactly
                log.warning(
                    "SIGTERM during validation: keeping %s from before it", self.last_model_path or "no checkpoint"
                )
                return
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            log.warning(
                "SIGTERM: wrote %s at global step %d before stopping", self.last_model_path, trainer.global_step
            )
            return
        super().on_exception(trainer, pl_module, exception)


class RNGState(Callback):
    """Saves the global RNG states in checkpoints; restores them before the first batch after a resume."""

    def __init__(self) -> None:
        self._to_restore: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        """Tensors, ints, tuples and lists only, so the checkpoint still loads with `weights_only=True`."""
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state = {
            "torch": torch.get_rng_state(),
            "python": random.getstate(),
            "numpy": {
                "kind": kind,
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "gauss": float(gauss),
            },
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._to_restore = state_dict

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._to_restore is None:
            return
        state, self._to_restore = self._to_restore, None
        torch.set_rng_state(state["torch"])
        random.setstate(state["python"])
        np_state = state["numpy"]
        np.random.set_state(
            (
                np_state["kind"],
                np_state["keys"].numpy().astype(np.uint32),
                np_state["pos"],
                np_state["has_gauss"],
                np_state["gauss"],
            )
        )
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
