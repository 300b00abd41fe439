"""A SLURM job signalled as a scheduler signals it, part-way through training, comes back where it stopped and
ends with the uninterrupted run's hypotheses, weights and BLEU.

* USR2 (`scancel --signal=USR2`: what sbatch asks SLURM to send before the time limit, and schedulers before a
  preemption): the run stops after its batch and writes last.ckpt, then submitit requeues the job.
* `scontrol requeue` (SIGTERM, as a preemption with PreemptMode=REQUEUE): the run stops the same way, and
  SLURM itself requeues the job.

In both, the job is requeued exactly once (Lightning's auto-requeue is off: no hpc_ckpt) and the requeued job
resumes from last.ckpt because SLURM_RESTART_COUNT says it was requeued. A requeued job waits for SLURM's
requeue delay (BeginTime, about two minutes); the test lets it start at once with `scontrol update StartTime=now`.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability.test_resume import RUN, assert_same_outcome, checkpoint, reference  # noqa: F401
from tests.slurm.conftest import finish, job_ids, sacct_states, start_train, wait_for_file

pytestmark = pytest.mark.slurm

PAUSE_STEP = 21  # PauseAtStep holds the run before this update until it is told to stop


def _wait_until_pending_then_release(job_id: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Once the job is back in the queue, let it start now instead of after SLURM's requeue delay."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        state = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True).stdout
        if state.strip() == "PENDING":
            subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)
            return
        time.sleep(0.2)
    code, output = finish(proc, timeout=30)
    pytest.fail(f"job {job_id} never went back to the queue (train.py exit {code}):\n{output[-4000:]}")


@pytest.mark.parametrize(
    "signal_job, requeued_by",
    [
        (["scancel", "--signal=USR2"], "submitit"),
        (["scontrol", "requeue"], "SLURM"),
    ],
    ids=["usr2", "scontrol_requeue"],
)
def test_a_signalled_job_is_requeued_once_and_resumes_to_the_uninterrupted_result(
    reference,  # noqa: F811
    tmp_path,
    launcher,
    signal_job,
    requeued_by,
):
    ref_run, cache = reference
    sweep, marker = tmp_path / "sweep", tmp_path / "paused"
    proc = start_train(
        [
            "-m",
            *RUN,
            *launcher,
            f"paths.cache_dir={cache}",
            f"hydra.sweep.dir={sweep}",
            "+callbacks.pause._target_=tests.reliability.faults.PauseAtStep",
            f"+callbacks.pause.step={PAUSE_STEP}",
            f"+callbacks.pause.marker={marker}",
        ],
        tmp_path,
    )
    wait_for_file(marker, proc)
    (job_id,) = job_ids(sweep)
    subprocess.run([*signal_job, job_id], check=True)
    _wait_until_pending_then_release(job_id, proc)
    code, output = finish(proc)
    assert code == 0, output[-4000:]

    (run,) = (p for p in sweep.iterdir() if p.name.startswith("0_"))
    assert_same_outcome(run, ref_run)  # weights, hypotheses.tsv and test BLEU of the uninterrupted run
    assert checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 40
    assert sacct_states(job_id) == ["REQUEUED", "COMPLETED"]  # requeued once, then finished

    log = Path(run / "train.log").read_text()
    stop = PAUSE_STEP + 1  # the update in flight finishes, then the run stops
    assert f"wrote {run}/checkpoints/last.ckpt at global step {stop} before stopping" in log
    assert f"SLURM requeued this job (restart 1): resuming from {run}/checkpoints/last.ckpt" in log
    submitit_log = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.*"))
    requeues = re.findall(r"^submitit INFO .* - Requeued job", submitit_log, re.M)  # its own handler's lines
    assert len(requeues) == (1 if requeued_by == "submitit" else 0)
    assert "SLURM auto-requeueing enabled" not in submitit_log  # Lightning's requeue handler was never set
    assert "requeing job" not in submitit_log and not list(run.rglob("hpc_ckpt*"))
