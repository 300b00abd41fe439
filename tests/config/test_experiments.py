"""The experiment configs (conf/experiment/) and paper scales (conf/scale/): each composes into a valid typed
config, names its experiment, sweeps the arms it promises (seeds=N adds seeds), and trains one step."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import arm_names
from attention_nmt.tasks.config import seed_list
from attention_nmt.tasks.train import train
from attention_nmt.tracking.tuning import check_tuned, missing_tuned
from tests.conftest import CONF_DIR, ROOT, TINY, compose_config, first_loss_is_a_uniform_guess, log_span, run_script

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
# (experiment, scale) pairs a user runs; the paper scales go with their paper's experiment.
# The paper scales build GPU-sized models (30k vocabularies, 1000-unit layers): a minute of CPU, so `slow`.
RUNS = [(e, None) for e in EXPERIMENTS] + [
    pytest.param("bahdanau2014", "bahdanau2014_paper", marks=pytest.mark.slow),
    pytest.param("luong2015", "luong2015_paper", marks=pytest.mark.slow),
]
ARMS = arm_names()  # every registered arm (model/arms/), `none` first
# What each experiment sweeps besides the seed.
SWEEPS = {
    "bottleneck": {"attention": ARMS},
    "bottleneck_long": {"attention": ARMS},
    "bottleneck_synthetic": {"attention": ARMS},
    "length_generalisation": {"attention": ARMS},
    "bahdanau2014": {"attention": ["none", "additive"], "data.max_train_len": ["30", "50"]},
    "luong2015": {"attention.score": ["dot", "general"], "attention.input_feeding": ["true", "false"]},
    "bottleneck_tune": {  # an Optuna grid, one seed: every arm gets the same 8 learning rates
        "attention": ARMS,
        "optim.lr": ["0.0005", "0.00075", "0.001", "0.0015", "0.002", "0.003", "0.005", "0.008"],
    },
}
SEEDED = [e for e in EXPERIMENTS if e != "bottleneck_tune"]
DEFAULT_SEEDS = {"bottleneck": ["1234", "1235", "1236"]}  # the headline's verdict is over three seeds per arm


def sweep_params(experiment: str, *overrides: str) -> dict[str, list[str]]:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}", *overrides], return_hydra_config=True)
    return {
        k: str(v).removeprefix("choice(").removesuffix(")").replace(" ", "").split(",")
        for k, v in cfg.hydra.sweeper.params.items()
    }


def tuned_arms(experiment: str) -> list[str]:
    """The arms `experiment` can train: every arm, less those without tuned values where the recipe reads them."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        jobs = {arm: compose("train", [f"experiment={experiment}", f"attention={arm}"]) for arm in ARMS}
    return [arm for arm, cfg in jobs.items() if not missing_tuned(cfg)]


def test_every_experiment_file_is_covered():
    assert set(EXPERIMENTS) == set(SWEEPS)


@pytest.mark.parametrize("experiment", SEEDED)
def test_experiment_sweeps_its_arms_and_seeds_adds_seeds(experiment):
    assert sweep_params(experiment) == {**SWEEPS[experiment], "seed": DEFAULT_SEEDS.get(experiment, ["1234"])}
    assert sweep_params(experiment, "seeds=3")["seed"] == ["1234", "1235", "1236"]
    assert sweep_params(experiment, "seeds=1")["seed"] == ["1234"]


def test_the_headline_is_nine_jobs_two_at_a_time_and_seeds_1_is_three():
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=bottleneck"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("JoblibLauncher") and launcher.n_jobs == 2
    jobs = list(itertools.product(*sweep_params("bottleneck").values()))
    assert len(jobs) == 9 and {seed for _, seed in jobs} == {"1234", "1235", "1236"}
    assert len(list(itertools.product(*sweep_params("bottleneck", "seeds=1").values()))) == 3
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):  # one at a time, one override away
        basic = compose("train", ["experiment=bottleneck", "hydra/launcher=basic"], return_hydra_config=True)
    assert basic.hydra.launcher._target_.endswith("BasicLauncher")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_job_of_an_experiment_composes_into_a_valid_config(experiment, tmp_path, cache_dir):
    grid = SWEEPS[experiment]
    for values in itertools.product(*grid.values()):
        overrides = [f"experiment={experiment}", *(f"{k}={v}" for k, v in zip(grid, values))]
        composed = compose_config("train", overrides, tmp_path, cache_dir)
        if missing_tuned(composed):  # a new arm, in an experiment that trains every arm at its tuned values
            with pytest.raises(ConfigError, match=rf"tuned\.arms\.{composed.attention.name}: "):
                check_tuned(composed)
            continue
        cfg = OmegaConf.to_object(composed)  # the typed checks
        assert cfg.experiment_name == experiment
        for key, value in zip(grid, values):
            node = OmegaConf.select(OmegaConf.structured(cfg), key)
            node = node.name if OmegaConf.is_config(node) else getattr(node, "value", node)  # a group, enum or value
            assert str(node).lower() == value


def test_seeds_must_be_a_positive_count():
    assert seed_list(5, 2) == "5,6"
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ConfigError, match="seeds="):
            seed_list(1, bad)


@pytest.mark.parametrize("experiment,scale", RUNS, ids=lambda v: v)
def test_experiment_trains_one_fast_dev_run_step(experiment, scale, tmp_path, cache_dir):
    overrides = [
        f"experiment={experiment}",
        "trainer.fast_dev_run=1",
        "data.eval_batch_size=4",
        "logger=none",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
    ]
    if scale:
        overrides.append(f"scale={scale}")
    cfg = OmegaConf.to_object(compose_config("train", overrides, tmp_path / "run", cache_dir))
    if scale == "bahdanau2014_paper":
        assert (cfg.model.hidden_size, cfg.model.embedding_size, cfg.model.maxout) == (1000, 620, True)
        assert (cfg.optim.name.value, cfg.data.batch_size) == ("adadelta", 80)
    metrics = train(cfg)
    assert first_loss_is_a_uniform_guess(metrics, tmp_path / "run")


def test_experiment_multirun_launches_every_arm_and_seed_side_by_side_then_writes_the_report(tmp_path):
    arms = tuned_arms("bottleneck")
    tiny = [o for o in TINY if not o.startswith("trainer.max_steps")] + ["trainer.max_steps=2"]
    seeds = [1234, 1235, 1236]  # the default: three per arm
    done = run_script(
        "train.py",
        [
            "-m",
            "experiment=bottleneck",
            *([] if arms == ARMS else ["attention=" + ",".join(arms)]),  # an arm not yet tuned cannot run it
            *tiny,
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted(p.name for p in Path(tmp_path, "multirun").iterdir() if p.is_dir())
    expected = [
        f"{i}_{arm}_bigru_synthetic_reverse_map_s{seed}" for i, (arm, seed) in enumerate(itertools.product(arms, seeds))
    ]
    assert jobs == sorted(expected + ["report"])
    # two at a time: the first two jobs start together, and some job starts before the one before it has ended
    spans = [log_span(tmp_path / "multirun" / job) for job in expected]
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
    with open(tmp_path / "multirun" / "report" / "bleu.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {(r["arm"], r["runs"], r["seeds"]) for r in rows if r["slice"] == "all"} == {
        (arm, "3", "1234;1235;1236") for arm in arms
    }
    assert "Report: " in done.stderr + done.stdout
