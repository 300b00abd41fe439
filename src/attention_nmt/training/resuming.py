"""Starting, resuming and stopping a training run: which checkpoint to resume from, and how a stop is reported.

* `resume_checkpoint` turns `ckpt_path=` / `resume=true` into the checkpoint to resume from, and refuses
  to start a fresh run in a folder that already holds one (two runs never share a folder by accident). A
  SLURM job that was requeued resumes as with `resume=true` (training/slurm.py).
* `stops_reported` wraps `trainer.fit`: a SIGTERM stop exits with status 143 and says how to resume (in a
  submitit job, its preemption signal stops the same way and submitit requeues the job); a
  loss that became NaN/inf raises `TrainingDivergedError` naming the step and the last good checkpoint;
  a checkpoint that holds more than tensors and plain data (refused by `weights_only=True` loading, so
  nothing in it ran) is a `ConfigError` naming the file.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException

from attention_nmt.errors import ConfigError, TrainingDivergedError
from attention_nmt.training.slurm import PreemptionStop, restart_count

log = logging.getLogger(__name__)

SIGTERM_EXIT_STATUS = 143  # 128 + SIGTERM, what a shell reports for a process ended by SIGTERM
LAST = Path("checkpoints") / "last.ckpt"


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def resume_checkpoint(run_dir: Path, ckpt_path: str | None, resume: bool) -> str | None:
    """The checkpoint `trainer.fit` resumes from, or None for a fresh run.

    Args:
        run_dir: The run folder (`paths.output_dir`).
        ckpt_path: `ckpt_path=` from the config: resume from this file.
        resume: `resume=true`: resume from `run_dir/checkpoints/last.ckpt`. In a multirun a job whose
            folder has no checkpoint yet starts fresh, so a whole sweep can be resumed with one command.
            A requeued SLURM job (SLURM_RESTART_COUNT >= 1) resumes so too, and starts fresh when
            it had written no checkpoint.

    Raises:
        ConfigError: The named checkpoint does not exist, or a fresh run would write into a folder
            that already holds another run's checkpoints or results.
    """
    if ckpt_path is not None:
        if not Path(ckpt_path).is_file():
            raise ConfigError(
                f"ckpt_path={ckpt_path}: no such file. Point it at <run folder>/checkpoints/last.ckpt, "
                "or use resume=true hydra.run.dir=<run folder>."
            )
        return ckpt_path
    last = run_dir / LAST
    requeued = restart_count()
    if resume or requeued:
        why = "resume=true" if resume else f"SLURM requeued this job (restart {requeued})"
        if last.is_file():
            log.info("%s: resuming from %s", why, last)
            return str(last)
        if not (requeued or _in_multirun()):
            raise ConfigError(
                f"resume=true: {last} does not exist. Give the folder of the run to resume with "
                "hydra.run.dir=<run folder> (it holds checkpoints/last.ckpt), or drop resume=true "
                "to start a new run."
            )
        log.info("%s: %s has no checkpoint yet; this job starts from scratch", why, run_dir)
        return None
    used = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt")) + [
        name for name in ("results.json", "hypotheses.tsv") if (run_dir / name).exists()
    ]
    if used:
        raise ConfigError(
            f"{run_dir} already holds a run ({', '.join(used)}): a new run would mix its files with "
            "that one's. Continue that run with resume=true (same hydra.run.dir), or give this run "
            "its own folder (drop hydra.run.dir, or set a new one)."
        )
    return None


def last_good_checkpoint(trainer: L.Trainer, check_weights: bool = False) -> str | None:
    """The newest checkpoint on disk (last.ckpt, else the best); with `check_weights`, only one whose weights
    are all finite (an update that produced NaN may have been saved just before the loss showed it)."""
    callback = trainer.checkpoint_callback
    for path in (getattr(callback, "last_model_path", ""), getattr(callback, "best_model_path", "")):
        if path and Path(path).is_file() and (not check_weights or _finite_weights(path)):
            return path
    return None


def _finite_weights(path: str) -> bool:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return all(bool(torch.isfinite(value).all()) for value in state.values() if value.is_floating_point())


@contextmanager
def stops_reported(trainer: L.Trainer, run_dir: Path, ckpt_path: str | None = None) -> Iterator[None]:
    """Around `trainer.fit`: turn a SIGTERM stop, a non-finite loss and an unsafe checkpoint into clear errors; in a
    submitit job, a preemption signal stops training as SIGTERM does and submitit then requeues the job."""
    preemption = PreemptionStop()
    preemption.install()
    try:
        yield
    except pickle.UnpicklingError as unsafe:
        raise ConfigError(unsafe_checkpoint_message(ckpt_path, unsafe)) from unsafe
    except SIGTERMException as stop:
        checkpoint = last_good_checkpoint(trainer)
        if preemption.received:
            log.warning(
                "Preempted at global step %d; checkpoint %s. The requeued job resumes from it.",
                trainer.global_step,
                checkpoint or "(none written)",
            )
            preemption.requeue()  # ends the process, except in DDP ranks other than 0 (they end below)
            raise SystemExit(SIGTERM_EXIT_STATUS) from stop
        log.error(
            "Stopped by SIGTERM at global step %d; checkpoint %s. Resume with the same command plus "
            "resume=true hydra.run.dir=%s",
            trainer.global_step,
            checkpoint or "(none written)",
            run_dir,
        )
        raise SystemExit(SIGTERM_EXIT_STATUS) from stop
    except FloatingPointError as diverged:
        checkpoint = last_good_checkpoint(trainer, check_weights=True)
        where = (
            f"The last good checkpoint is {checkpoint}"
            if checkpoint
            else "No checkpoint was written before it (set callbacks.model_checkpoint.every_n_train_steps=N "
            "to write last.ckpt every N steps)"
        )
        what = str(diverged).split(";")[0]  # "training loss became nan at global step N"
        raise TrainingDivergedError(
            f"{what}. {where}; no results were written. Lower optim.lr or check the data, then start a new run."
        ) from diverged
    finally:
        preemption.restore()
    if preemption.received:  # the signal came as training ended: requeue all the same, before the job is killed
        preemption.requeue()


def unsafe_checkpoint_message(ckpt_path: str | None, error: BaseException) -> str:
    """Why a checkpoint was refused by safe (`weights_only=True`) loading, and what to do."""
    first_line = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    return (
        f"ckpt_path={ckpt_path}: refused to load. Checkpoints are loaded with torch.load(weights_only=True), "
        f"which accepts only tensors and plain data, and this file holds something else ({first_line}). "
        "Nothing from it was run. Use a checkpoint written by this project's train.py."
    )
