"""DDP runs on the CPU (gloo, 2 processes): test BLEU equals the single-process BLEU of the same checkpoint,
exactly, overall and per bucket; rank 0 alone writes; a Hydra multirun of DDP jobs gives one folder and one
result per job, with Lightning's `ddp` (ranks re-run train.py) and with `ddp_spawn` (trainer=ddp_sim)."""

import subprocess
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults, read_hypotheses
from attention_nmt.tasks.evaluate import evaluate
from attention_nmt.tasks.train import train
from tests.conftest import TINY, compose_config, run_script

# TINY, minus what the DDP trainer configs decide; 8 sentences an eval batch gives each rank several batches.
DDP_TINY = [o for o in TINY if not o.startswith(("trainer.devices", "trainer.accelerator", "logger="))]
DDP_TINY += ["data.eval_batch_size=8"]
PLAIN_DDP = [
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.precision=32-true",
    "trainer.benchmark=null",
]


def _train_py(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = run_script("train.py", args, cwd)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def _single_process_results(ckpt: Path, run_dir: Path, cache_dir: Path) -> dict:
    cfg = compose_config(
        "evaluate",
        [
            f"ckpt_path={ckpt}",
            "trainer.accelerator=cpu",
            "trainer.devices=1",
            "trainer.enable_progress_bar=false",
            "logger=none",
        ],
        run_dir,
        cache_dir,
    )
    return evaluate(OmegaConf.to_object(cfg))


def _assert_same_evaluation(ddp_run: Path, single: dict, single_dir: Path) -> None:
    ddp = RunResults.read(ddp_run / "results.json")
    assert ddp.test.n == single.test.n == 40  # no sentence counted twice, none lost
    assert ddp.test.bleu == single.test.bleu  # exactly, not approximately
    assert ddp.test.buckets == single.test.buckets  # every bucket's BLEU and sentence count
    assert read_hypotheses(ddp_run / "hypotheses.tsv") == read_hypotheses(single_dir / "hypotheses.tsv")


def _best_checkpoint(run: Path) -> Path:
    (best,) = (run / "checkpoints").glob("best-*.ckpt")  # one, written once by rank 0 (no -v1 copies)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == sorted([best.name, "last.ckpt"])
    return best


def test_plain_ddp_test_bleu_equals_single_process_bleu_of_its_checkpoint(tmp_path):
    done = _train_py(
        [*DDP_TINY, *PLAIN_DDP, "logger=csv", f"paths.cache_dir={tmp_path}/cache", f"hydra.run.dir={tmp_path}/run"],
        tmp_path,
    )
    log = done.stdout + done.stderr
    assert "MEMBER: 1/2" in log and "MEMBER: 2/2" in log  # two ranks really trained and tested
    run = tmp_path / "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "run"]  # rank 1 made no folder of its own
    assert (run / "train_rank1.log").is_file() and (run / ".hydra" / "config.yaml").is_file()
    assert RunResults.read(run / "results.json").global_step == 4
    single = _single_process_results(_best_checkpoint(run), tmp_path / "single", tmp_path / "cache")
    assert RunResults.read(run / "results.json").checkpoint == str(_best_checkpoint(run))
    _assert_same_evaluation(run, single, tmp_path / "single")


@pytest.mark.slow
def test_ddp_sim_test_bleu_equals_single_process_bleu_of_its_checkpoint(tmp_path, cache_dir):
    cfg = compose_config("train", [*DDP_TINY, "trainer=ddp_sim", "logger=none"], tmp_path / "run", cache_dir)
    metrics = train(OmegaConf.to_object(cfg))
    run = tmp_path / "run"
    single = _single_process_results(_best_checkpoint(run), tmp_path / "single", cache_dir)
    _assert_same_evaluation(run, single, tmp_path / "single")
    assert metrics["test/bleu"] == single.test.bleu


def _job_folders(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.slow
@pytest.mark.parametrize("trainer,groups_per_job", [(PLAIN_DDP, 1), (["trainer=ddp_sim"], 2)], ids=["ddp", "ddp_sim"])
def test_multirun_of_ddp_jobs_gives_one_folder_and_one_result_per_job(tmp_path, trainer, groups_per_job):
    done = _train_py(
        [
            "-m",
            "attention=none,additive",
            *DDP_TINY,
            *trainer,
            "logger=csv",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "multirun"]
    jobs = _job_folders(tmp_path / "multirun")
    assert [j.name.split("_")[:2] for j in jobs] == [["0", "none"], ["1", "additive"]]
    for job in jobs:
        results = RunResults.read(job / "results.json")
        assert results.config["attention"]["name"] == job.name.split("_")[1]  # its own overrides in every rank
        assert results.config["paths"]["output_dir"] == "."  # the run folder, stored relative to itself
        assert results.test.n == 40 and len(read_hypotheses(job / "hypotheses.tsv")) == 40
        _best_checkpoint(job)
    log = done.stdout + done.stderr
    # rank 1 joins once per process group (ddp_spawn starts one for fit and one for test): no child re-ran the sweep
    assert log.count("MEMBER: 2/2") == 2 * groups_per_job
    assert log.count("Test BLEU") == 2
