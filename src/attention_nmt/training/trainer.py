"""The Lightning Trainer built from the typed trainer config, with the configured callbacks and loggers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, ProgressBar

from attention_nmt.training.distributed import OwnMetricStates, resolve_strategy
from attention_nmt.training.slurm import cluster_plugins


def make_trainer(
    trainer_cfg: Any,
    callbacks: dict[str, Any],
    loggers: dict[str, Any],
    run_dir: Path,
    task_callbacks: Sequence[Callback] = (),
) -> L.Trainer:
    """A Trainer from the typed trainer config, with the configured callbacks and loggers instantiated, and the
    task's own callbacks (the test pass's `ResultsWriter`) installed beside them."""
    made_callbacks = [instantiate(c) for c in callbacks.values() if c is not None] + list(task_callbacks)
    if not trainer_cfg.enable_progress_bar:  # trainer.enable_progress_bar=false wins over the configured bar
        made_callbacks = [c for c in made_callbacks if not isinstance(c, ProgressBar)]
    made_callbacks.append(OwnMetricStates())  # ddp_spawn on CPU would share metric states between ranks
    made_loggers = [instantiate(c) for c in loggers.values() if c is not None]
    kwargs = asdict(trainer_cfg)
    kwargs["strategy"] = resolve_strategy(kwargs["strategy"])  # Hydra-aware `ddp` (attention_nmt.training.distributed)
    return L.Trainer(
        **kwargs,
        callbacks=made_callbacks,
        logger=made_loggers or False,
        default_root_dir=str(run_dir),
        plugins=cluster_plugins(),  # under SLURM: ranks from SLURM, requeueing left to submitit (training/slurm.py)
    )
