"""Sweeps on a real SLURM (hydra/launcher=slurm): the three arms of an experiment as three jobs, with the BLEU of the
default launcher and one report after the last job; a failing job that leaves its record while the others
finish; an Optuna study in sqlite that a second run of the same command continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from attention_nmt.evaluation.results import RunResults, read_hypotheses
from tests.conftest import run_script
from tests.reliability.test_resume import RUN
from tests.slurm.conftest import QueueWatch, finish, job_ids, sacct_states, start_train

pytestmark = pytest.mark.slurm

# TINY with the recipe of the resume tests (40 updates, a BLEU above 0, so that equal BLEU means something)
SWEEP = [o for o in RUN if not o.startswith("logger=")] + ["logger=csv"]


def _job_folders(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit())


def test_experiment_arms_run_as_slurm_jobs_with_the_default_launchers_bleu_and_one_report(tmp_path, launcher):
    experiment = ["experiment=bottleneck", "seeds=1", *SWEEP, f"paths.cache_dir={tmp_path}/cache"]  # one job per arm
    proc = start_train(["-m", *experiment, *launcher, f"hydra.sweep.dir={tmp_path}/slurm"], tmp_path)
    queue = QueueWatch(proc)
    code, output = finish(proc)
    assert code == 0, output[-4000:]
    local_sweep = f"hydra.sweep.dir={tmp_path}/local"
    local = run_script("train.py", ["-m", *experiment, local_sweep], tmp_path, OMP_NUM_THREADS="1")
    assert local.returncode == 0, local.stderr[-4000:]

    ids = job_ids(tmp_path / "slurm")
    assert len(ids) == 3 and len({i.split("_")[0] for i in ids}) == 1  # one array job, one task per arm
    assert all(states for states in queue.states(ids).values()), queue.seen  # squeue showed every job
    assert {i: sacct_states(i) for i in ids} == {i: ["COMPLETED"] for i in ids}

    jobs, references = _job_folders(tmp_path / "slurm"), _job_folders(tmp_path / "local")
    assert [j.name.split("_")[1] for j in jobs] == ["none", "additive", "multiplicative"]
    for job, reference, job_id in zip(jobs, references, ids):
        results, expected = RunResults.read(job / "results.json"), RunResults.read(reference / "results.json")
        assert results.test.bleu == expected.test.bleu and results.test.buckets == expected.test.buckets
        assert read_hypotheses(job / "hypotheses.tsv") == read_hypotheses(reference / "hypotheses.tsv")
        assert results.slurm_job["id"] == job_id and expected.slurm_job is None
        assert "Test BLEU" in Path(results.slurm_job["stdout"]).read_text()  # the job's own output, named

    assert max(RunResults.read(j / "results.json").test.bleu for j in jobs) > 0  # arms that learned something

    report = tmp_path / "slurm" / "report" / "report.html"
    assert report.stat().st_mtime >= max((j / "results.json").stat().st_mtime for j in jobs)  # after the last job
    assert output.count("Report: ") == 1  # written once, by the submitting process
    assert "Bypassing sacct error" not in output  # submitit's status polling got answers (accounting is on)
    logs = [p.read_text() for p in (tmp_path / "slurm" / ".submitit").rglob("*_log.*")]
    assert not any("Report: " in log for log in logs)  # no job wrote a report


def test_a_failing_job_leaves_its_record_and_logs_while_the_other_finishes(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    proc = start_train(
        ["-m", "model.dropout=0.1,1.5", *SWEEP, *launcher, f"paths.cache_dir={tmp_path}/cache"]
        + [f"hydra.sweep.dir={sweep}"],
        tmp_path,
    )
    code, output = finish(proc)
    assert code != 0  # a job failed
    message = "model.dropout=1.5: must lie in [0.0, 1.0)"
    assert message in output and "Traceback" not in output  # the job's one-line message, in the submitter

    good, bad = _job_folders(sweep)
    good_id, bad_id = job_ids(sweep)
    assert RunResults.read(good / "results.json").config["model"]["dropout"] == 0.1
    failed = json.loads((bad / "failed.json").read_text())
    assert failed["error"] == "ConfigError" and failed["message"].startswith(message)
    assert not (bad / "results.json").exists()
    job = failed["slurm_job"]
    assert job["id"] == bad_id and message in Path(job["stdout"]).read_text()  # the log it names holds the error
    assert json.loads((sweep / "failures.json").read_text())[0]["slurm_job"] == job
    # to SLURM both jobs ended well: Hydra caught the error inside the job and sent it back to the sweep
    assert (sacct_states(good_id), sacct_states(bad_id)) == (["COMPLETED"], ["COMPLETED"])


def test_optuna_study_in_sqlite_continues_when_the_same_command_runs_again(tmp_path, launcher):
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs pip install -e '.[sweep]'")
    storage = f"sqlite:///{tmp_path}/optuna.db"
    command = [
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",  # both trials of a batch in the queue at once
        f"hydra.sweeper.storage={storage}",
        "model.hidden_size=choice(16,24)",
        *[o for o in SWEEP if not o.startswith(("model.hidden_size", "optim.lr"))],  # searched, not fixed
        *launcher,
    ]  # no hydra.sweep.dir: each run gets its own outputs/multirun/<date>/<time> folder, as a user's does
    trials_after = []
    for _ in range(2):
        code, output = finish(start_train(command, tmp_path))
        assert code == 0, output[-4000:]
        study = optuna.load_study(study_name="attention_nmt", storage=storage)
        trials_after.append([(t.number, t.state.name, t.value) for t in study.trials])
    assert [len(t) for t in trials_after] == [2, 4] and trials_after[1][:2] == trials_after[0]
    assert all(state == "COMPLETE" for _, state, _ in trials_after[1])

    first, second = sorted((tmp_path / "outputs" / "multirun").glob("*/*"))
    values = {}
    for sweep, numbers in ((first, [0, 1]), (second, [2, 3])):
        ids = job_ids(sweep)
        assert len(ids) == 2 and all(sacct_states(i) == ["COMPLETED"] for i in ids)
        for job, number in zip(_job_folders(sweep), numbers):
            values[number] = RunResults.read(job / "results.json").config["optim"]["lr"]
    lrs = {t.number: t.params["optim.lr"] for t in study.trials}
    assert values == pytest.approx(lrs)  # each trial's job trained with the values the study drew for it
    best = yaml.safe_load((second / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(max(v for _, _, v in trials_after[1]))  # over both runs' trials
