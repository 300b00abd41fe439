"""Trainer configs and sweeps on more hardware: the trainer/launcher/search configs compose to what the
README promises, joblib runs jobs in parallel, submitit runs jobs, and Optuna searches val/bleu."""

import csv
import subprocess
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.types import RunMode
from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults
from tests.conftest import CONF_DIR, TINY, log_span, run_script

SWEEP_TINY = [o for o in TINY if not o.startswith("logger=")] + ["logger=csv"]


def _needs(plugin: str):
    return pytest.importorskip(f"hydra_plugins.{plugin}", reason="needs pip install -e '.[sweep,slurm]'")


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", list(overrides), return_hydra_config=True)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("cpu", {"accelerator": "cpu", "devices": 1, "strategy": "auto", "precision": "32-true"}),
        ("gpu", {"accelerator": "gpu", "devices": 1, "precision": "bf16-mixed", "benchmark": True}),
        (
            "ddp",
            {"accelerator": "gpu", "devices": "auto", "strategy": "ddp", "num_nodes": 1, "precision": "bf16-mixed"},
        ),
        ("ddp_sim", {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}),
    ],
)
def test_trainer_configs_compose_to_their_documented_settings(name, expected):
    trainer = OmegaConf.to_object(_compose(f"trainer={name}").trainer)
    assert {k: getattr(trainer, k) for k in expected} == expected


def test_ddp_config_takes_nodes_and_fp16_from_the_command_line():
    trainer = _compose("trainer=ddp", "trainer.num_nodes=4", "trainer.devices=8", "trainer.precision=16-mixed").trainer
    assert (trainer.num_nodes, trainer.devices, trainer.precision) == (4, 8, "16-mixed")


def test_slurm_launcher_asks_for_one_task_per_gpu_on_every_node():
    _needs("hydra_submitit_launcher")
    cfg = _compose(
        "hydra/launcher=slurm",
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.timeout_min=600",
    )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == (2, 4, 4)
    assert (launcher["partition"], launcher["timeout_min"]) == ("gpu", 600)


def test_local_launchers_compose():
    _needs("hydra_submitit_launcher")
    _needs("hydra_joblib_launcher")
    assert _compose("hydra/launcher=joblib", "hydra.launcher.n_jobs=2").hydra.launcher.n_jobs == 2
    assert _compose("hydra/launcher=submitit_local").hydra.launcher._target_.endswith("LocalLauncher")


def test_optuna_search_maximises_over_lr_dropout_and_hidden_size():
    _needs("hydra_optuna_sweeper")
    hydra_cfg = _compose("hparams_search=optuna").hydra
    assert hydra_cfg.mode == RunMode.MULTIRUN
    sweeper = hydra_cfg.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert sweeper.direction == "maximize"
    assert set(sweeper.params) == {"optim.lr", "model.dropout", "model.hidden_size"}


def _train_py(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = run_script("train.py", args, cwd)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def _jobs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.slow
def test_joblib_launcher_runs_the_jobs_of_a_sweep_at_the_same_time(tmp_path):
    _needs("hydra_joblib_launcher")
    _train_py(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "attention=none,additive",
            *SWEEP_TINY,
            "trainer.max_steps=40",
            "trainer.val_check_interval=20",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
    )
    jobs = _jobs(tmp_path / "multirun")
    assert len(jobs) == 2 and all(RunResults.read(j / "results.json").test.n == 40 for j in jobs)
    (start0, end0), (start1, end1) = (log_span(j) for j in jobs)
    assert start0 < end1 and start1 < end0  # the two jobs overlapped in time


@pytest.mark.slow
def test_submitit_local_launcher_runs_two_jobs(tmp_path):
    _needs("hydra_submitit_launcher")
    _train_py(
        [
            "-m",
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=20",
            "attention=none,additive",
            *SWEEP_TINY,
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
    )
    jobs = _jobs(tmp_path / "multirun")
    assert [RunResults.read(j / "results.json").config["attention"]["name"] for j in jobs] == [
        "none",
        "additive",
    ]  # the typed config (enums included) survived submitit's pickling
    assert (tmp_path / "multirun" / ".submitit").is_dir()


@pytest.mark.slow
def test_optuna_search_runs_two_trials_and_optimises_the_logged_val_bleu(tmp_path):
    _needs("hydra_optuna_sweeper")
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path}/optuna.db"
    _train_py(
        [
            "hparams_search=optuna",
            "hydra.sweeper.n_trials=2",
            f"hydra.sweeper.storage={storage}",
            "model.hidden_size=choice(16,24)",
            *[o for o in SWEEP_TINY if not o.startswith("model.hidden_size")],
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
    )
    jobs = _jobs(tmp_path / "multirun")
    assert len(jobs) == 2
    objectives = []
    for job in jobs:
        config = RunResults.read(job / "results.json").config
        assert 3e-4 <= config["optim"]["lr"] <= 1e-2 and 0.0 <= config["model"]["dropout"] <= 0.5
        assert config["model"]["hidden_size"] in (16, 24)
        with (job / "csv" / "metrics.csv").open() as f:
            val_bleu = [float(r["val/bleu"]) for r in csv.DictReader(f) if r.get("val/bleu")]
        objectives.append(max(val_bleu))  # the objective is the best validation BLEU (val/bleu_best), as tested
    study = optuna.load_study(study_name="attention_nmt", storage=storage)
    assert sorted(t.value for t in study.trials) == pytest.approx(sorted(objectives))
    best = yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(max(objectives))
