"""A run as a SLURM job, without a cluster (the environment SLURM and submitit set, faked): a requeued job resumes
from its folder's last.ckpt, the job's id and submitit log files are found, and Lightning's own SLURM
auto-requeue is off (submitit requeues). tests/slurm/ runs all of it on a real SLURM."""

from __future__ import annotations

import os

import pytest
from lightning.fabric.plugins.environments import SLURMEnvironment

from attention_nmt.errors import ConfigError
from attention_nmt.training.resuming import resume_checkpoint
from attention_nmt.training.slurm import cluster_plugins, restart_count, slurm_job


@pytest.fixture
def outside_slurm(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("SLURM_", "SUBMITIT_")):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def in_submitit_array_job(outside_slurm, tmp_path):
    """Task 0 of array job 41_2, as submitit's sbatch script and srun leave the environment."""
    env = {
        "SLURM_JOB_ID": "43",
        "SLURM_ARRAY_JOB_ID": "41",
        "SLURM_ARRAY_TASK_ID": "2",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": "train",
        "SUBMITIT_EXECUTOR": "slurm",
        "SUBMITIT_FOLDER": f"{tmp_path}/sweep/.submitit/%j",
    }
    for key, value in env.items():
        outside_slurm.setenv(key, value)
    return outside_slurm


def _run_with_checkpoint(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    return run


def test_a_requeued_job_resumes_from_last_ckpt_and_a_first_start_refuses_the_used_folder(
    in_submitit_array_job, tmp_path
):
    run = _run_with_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match="already holds a run"):
        resume_checkpoint(run, None, resume=False)  # first start: SLURM_RESTART_COUNT unset
    in_submitit_array_job.setenv("SLURM_RESTART_COUNT", "1")
    assert restart_count() == 1
    assert resume_checkpoint(run, None, resume=False) == str(run / "checkpoints" / "last.ckpt")


def test_a_requeued_job_without_a_checkpoint_starts_fresh(in_submitit_array_job, tmp_path):
    in_submitit_array_job.setenv("SLURM_RESTART_COUNT", "2")
    assert resume_checkpoint(tmp_path / "run", None, resume=False) is None


def test_the_job_id_and_its_submitit_logs_are_found(in_submitit_array_job, tmp_path):
    folder = tmp_path / "sweep" / ".submitit" / "41_2"
    assert slurm_job() == {
        "id": "41_2",
        "stdout": str(folder / "41_2_0_log.out"),
        "stderr": str(folder / "41_2_0_log.err"),
    }


def test_outside_slurm_there_is_no_job_and_no_cluster_plugin(outside_slurm):
    assert slurm_job() is None and cluster_plugins() == [] and restart_count() == 0


def test_under_slurm_lightning_reads_ranks_but_does_not_requeue(in_submitit_array_job):
    (environment,) = cluster_plugins()
    assert isinstance(environment, SLURMEnvironment) and environment.auto_requeue is False
    assert (environment.global_rank(), environment.world_size()) == (0, 1)
