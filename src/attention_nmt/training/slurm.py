"""A run as a SLURM job (`hydra/launcher=slurm`, Hydra's submitit launcher): where its logs are, who requeues it
when it is preempted, and how it comes back.

Requeueing is submitit's alone. Lightning's own SLURM auto-requeue (a SIGUSR1 handler that saves an
`hpc_ckpt_N.ckpt` from inside the signal handler, mid-batch, and runs `scontrol requeue` itself) is turned off by
`cluster_plugins()`: Lightning still reads ranks and addresses from SLURM, and nothing requeues a job twice.
Submitit's handler for its preemption signal (USR2, which sbatch asks SLURM to send `signal_delay_s` before the
time limit, or a scheduler before preemption) would requeue at once, in the middle of a batch.
`PreemptionStop` puts a stop in front of it while `trainer.fit` runs:

1. the signal stops training after the current batch, as SIGTERM does (Lightning's handler), and `RunCheckpoint`
   writes `last.ckpt` at that step (training/checkpointing.py);
2. then submitit's handler runs: it pickles the job again, requeues it (`scontrol requeue`; timeouts count against
   `hydra.launcher.max_num_timeout`, preemptions do not) and ends the process;
3. the requeued job (SLURM_RESTART_COUNT >= 1) resumes from its folder's `last.ckpt` (`restart_count`, read by
   `training/resuming.resume_checkpoint`), so it ends as an uninterrupted run would.

Outside `trainer.fit` (data loading, the test pass) the signal goes to submitit's handler unchanged, and the requeued
job resumes from the newest `last.ckpt` there is (exactly, repeating at most the updates after it). A plain
SIGTERM (a scheduler's preemption with PreemptMode=REQUEUE, `scontrol requeue`, `scancel`) stops the run the same
way and exits 143 without requeueing: SLURM requeues the job or not, and a requeued job resumes as in 3.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from lightning.fabric.plugins.environments import SLURMEnvironment

log = logging.getLogger(__name__)

SUBMITIT_SIGNAL_VARIABLE = "SUBMITIT_PREEMPT_SIGNAL"  # submitit's own setting of its preemption signal


def restart_count() -> int:
    """How often SLURM has requeued the job this process runs in (0 outside SLURM and on the first start)."""
    try:
        return int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    except ValueError:
        return 0


def slurm_job() -> dict[str, Any] | None:
    """The SLURM job this process runs in: {"id", "stdout", "stderr"}, the logs being submitit's files of this task
    (None for jobs not started by submitit); None outside SLURM."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    job_id = f"{array_job}_{array_task}" if array_job and array_task else os.environ["SLURM_JOB_ID"]
    stdout = stderr = None
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and "SUBMITIT_FOLDER" in os.environ:
        from submitit import JobEnvironment

        paths = JobEnvironment().paths
        stdout, stderr = str(Path(paths.stdout).resolve()), str(Path(paths.stderr).resolve())
    return {"id": job_id, "stdout": stdout, "stderr": stderr}


def cluster_plugins() -> list[Any]:
    """The Trainer's cluster environment under SLURM: Lightning's, with its auto-requeue off (module docstring)."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def _from_submitit(handler: Any) -> bool:
    owner = getattr(handler, "__self__", None)
    return type(owner).__module__.startswith("submitit.")


class PreemptionStop:
    """Around `trainer.fit` in a submitit job: submitit's preemption signal stops training after the current
    batch instead of requeueing in the middle of it; `requeue()` then hands over to submitit. Inert (its
    `received` stays False) in a process where submitit has not installed its handler."""

    def __init__(self) -> None:
        name = os.environ.get(SUBMITIT_SIGNAL_VARIABLE, "USR2")
        self.signum = getattr(signal, f"SIG{name}", signal.SIGUSR2)
        current = signal.getsignal(self.signum)
        self._submitit = current if _from_submitit(current) else None
        self.received = False

    def install(self) -> None:
        if self._submitit is not None:
            signal.signal(self.signum, self._on_signal)

    def restore(self) -> None:
        if self._submitit is not None:
            signal.signal(self.signum, self._submitit)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        stop_training = signal.getsignal(signal.SIGTERM)
        if not callable(stop_training) or _from_submitit(stop_training):  # fit is not training (yet)
            self._submitit(signum, frame)
            return
        self.received = True
        log.warning(
            "Got %s (preemption or time limit): stopping after this batch to write last.ckpt, then requeueing",
            signal.Signals(signum).name,
        )
        stop_training(signal.SIGTERM, frame)  # Lightning's handler: stop after the current batch

    def requeue(self) -> None:
        """Submitit's handler: pickle the job again, `scontrol requeue` it, exit (global rank 0; others return)."""
        if self._submitit is not None:
            self._submitit(self.signum, None)
