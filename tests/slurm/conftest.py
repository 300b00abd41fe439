"""The `slurm` tests run `train.py` with hydra/launcher=slurm against a real SLURM controller: the one
tests/slurm/cluster.sh starts on this machine (`eval "$(tests/slurm/cluster.sh start)"` exports its SLURM_CONF),
or any cluster `sinfo` reaches. Without one they are skipped, saying so; the default `pytest` command leaves
them out (`-m slurm` runs them).

Every job asks for one CPU and 1 GB (`LAUNCHER`), so the tests fit a 2-core node; jobs run with one torch thread.
Jobs a test leaves in the queue (a failed assertion, a timeout) are cancelled by id afterwards, and only those.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLUSTER_SCRIPT = ROOT / "tests" / "slurm" / "cluster.sh"


def _run(*command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def partition() -> str:
    """The cluster's default partition; skips the test when no controller answers or no node is up."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs pip install -e '.[slurm]'")
    try:
        info = _run("sinfo", "-h", "-o", "%P %t")
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        info = subprocess.CompletedProcess([], 1, "", f"{type(error).__name__}: {error}")
    if info.returncode != 0:
        pytest.skip(
            f"no SLURM controller answers sinfo ({info.stderr.strip().splitlines()[-1:]}); start one with "
            f'eval "$({CLUSTER_SCRIPT.relative_to(ROOT)} start)"'
        )
    rows = [line.split() for line in info.stdout.splitlines() if line.strip()]
    up = [name for name, state in rows if state.rstrip("*~#!%$@^-") in ("idle", "mix", "alloc", "comp")]
    if not up:
        pytest.skip(f"SLURM answers but no node is up: {info.stdout.strip()}")
    defaults = [name for name in up if name.endswith("*")] or up
    return defaults[0].rstrip("*")


@pytest.fixture
def launcher(partition: str) -> list[str]:
    """The launcher overrides of every test job: the default partition, one CPU, 1 GB, 15 minutes."""
    return [
        "hydra/launcher=slurm",
        f"hydra.launcher.partition={partition}",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=15",
    ]


def job_env() -> dict[str, str]:
    """The environment of `train.py` and, through sbatch (which exports it), of its jobs: one torch thread, W&B
    offline, and this checkout first on the path (the jobs import `tests.reliability.faults`)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "PYTHONPATH": path}


def start_train(args: list[str], cwd: Path) -> subprocess.Popen:
    """`python train.py args` as a user starts it; its output is read with `finish`."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=job_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    """Wait for `train.py` to end; its exit status and its stdout + stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"train.py did not end in {timeout}s:\n{(out + err)[-4000:]}")
    return proc.returncode, out + err


class QueueWatch:
    """What `squeue` shows (one line per array task) while a process runs: {job id: [states in order seen]}."""

    def __init__(self, proc: subprocess.Popen, interval: float = 0.25) -> None:
        self.proc, self.interval, self.seen = proc, interval, {}
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while self.proc.poll() is None:
            queue = _run("squeue", "-h", "-r", "-o", "%i %T")
            for line in queue.stdout.splitlines():
                job_id, state = line.split()
                states = self.seen.setdefault(job_id, [])
                if not states or states[-1] != state:
                    states.append(state)
            time.sleep(self.interval)

    def states(self, job_ids: list[str]) -> dict[str, list[str]]:
        self._thread.join(timeout=10)
        return {job_id: self.seen.get(job_id, []) for job_id in job_ids}


def job_ids(sweep: Path) -> list[str]:
    """The SLURM job ids of a sweep's jobs (array tasks: `<array>_<index>`), from submitit's folders."""
    folders = (sweep / ".submitit").glob("*")
    ids = [f.name for f in folders if f.is_dir() and any(f.glob("*_log.out"))]
    return sorted(ids, key=lambda i: [int(part) for part in i.split("_")])


UNFINISHED = ("PENDING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED")


def sacct_states(job_id: str, timeout: float = 90) -> list[str]:
    """Every state the accounting database recorded for a job, oldest first (a requeued job: REQUEUED, then
    its final state), once the job has ended: submitit hands back a result as soon as the job has written it,
    a moment before the job's processes exit."""
    deadline = time.monotonic() + timeout
    while True:
        done = _run("sacct", "-n", "-P", "-X", "-D", "-o", "JobID,State", "-j", job_id)
        assert done.returncode == 0, done.stderr
        states = [line.split("|")[1] for line in done.stdout.splitlines() if line.split("|")[0] == job_id]
        if (states and states[-1] not in UNFINISHED) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            code, output = finish(proc, timeout=30)
            pytest.fail(f"{path} never appeared (train.py exit {code}):\n{output[-4000:]}")
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def cancel_leftover_jobs(tmp_path: Path) -> Iterator[None]:
    """After the test, `scancel` the jobs of its sweeps (found by submitit's folders) that are still queued."""
    yield
    ids = [job_id for submitit in tmp_path.rglob(".submitit") for job_id in job_ids(submitit.parent)]
    if ids:
        _run("scancel", *ids)
