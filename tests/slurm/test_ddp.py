"""DDP under srun: one SLURM job with two tasks on the node (trainer=ddp on the CPU, gloo), whose ranks Lightning takes
from SLURM, gives the test BLEU of the 2-process DDP run that tests/scale/test_ddp.py holds equal to one process's:
overall, bucket by bucket, and hypothesis by hypothesis."""

from __future__ import annotations

import subprocess

import pytest

from attention_nmt.evaluation.results import RunResults, read_hypotheses
from tests.conftest import run_script
from tests.scale.test_ddp import DDP_TINY, PLAIN_DDP
from tests.slurm.conftest import finish, job_ids, sacct_states, start_train

pytestmark = pytest.mark.slurm


def test_two_srun_tasks_train_as_two_ranks_with_the_bleu_of_plain_ddp(tmp_path, launcher):
    run_config = [*DDP_TINY, *PLAIN_DDP, "logger=csv", f"paths.cache_dir={tmp_path}/cache"]
    plain = run_script("train.py", [*run_config, f"hydra.run.dir={tmp_path}/plain"], tmp_path, OMP_NUM_THREADS="1")
    assert plain.returncode == 0, plain.stderr[-4000:]
    sweep = tmp_path / "sweep"
    code, output = finish(start_train(["-m", *run_config, *launcher, f"hydra.sweep.dir={sweep}"], tmp_path))
    assert code == 0, output[-4000:]

    (job_id,) = job_ids(sweep)
    assert sacct_states(job_id) == ["COMPLETED"]
    steps = subprocess.run(
        ["sacct", "-n", "-P", "-o", "JobID,NTasks,State", "-j", job_id], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert f"{job_id}.0|2|COMPLETED" in steps  # one job step (srun) of 2 tasks
    folder = sweep / ".submitit" / job_id
    for rank in (0, 1):  # each srun task is one rank, numbered by SLURM_PROCID
        assert f"GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/2" in (folder / f"{job_id}_{rank}_log.err").read_text()
    (run,) = (p for p in sweep.iterdir() if p.name.startswith("0_"))
    assert not (run / "train_rank1.log").exists()  # no rank was started by Lightning re-running train.py

    srun_ddp, plain_ddp = RunResults.read(run / "results.json"), RunResults.read(tmp_path / "plain" / "results.json")
    assert srun_ddp.test.n == plain_ddp.test.n == 40 and srun_ddp.global_step == plain_ddp.global_step == 4
    assert srun_ddp.test.bleu == plain_ddp.test.bleu and srun_ddp.test.buckets == plain_ddp.test.buckets
    assert read_hypotheses(run / "hypotheses.tsv") == read_hypotheses(tmp_path / "plain" / "hypotheses.tsv")
    assert srun_ddp.slurm_job["stdout"] == str(folder / f"{job_id}_0_log.out")  # rank 0 wrote the results
