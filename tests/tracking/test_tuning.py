"""The equal tuning budget: experiment=bottleneck_tune gives every arm the same grid, never decodes the test
split, and records each arm's choice; the headline reads the chosen values from conf/tuned/."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from attention_nmt.model.arms import arm_names
from tests.conftest import CONF_DIR, ROOT, TINY, run_script

ARMS = arm_names()  # every registered arm (model/arms/)
TUNED_FILE = ROOT / "conf" / "tuned" / "bottleneck.yaml"
TUNED_ARMS = list(yaml.safe_load(TUNED_FILE.read_text())["tuned"]["arms"])  # a new arm has none until tuned


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", list(overrides), return_hydra_config=True)


def test_tuning_gives_every_arm_the_same_grid_chosen_on_validation():
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs pip install -e '.[sweep]'")
    cfg = _compose("experiment=bottleneck_tune")
    sweeper = cfg.hydra.sweeper
    assert sweeper.sampler._target_ == "optuna.samplers.GridSampler" and sweeper.direction == "maximize"
    assert sweeper.params.attention == f"choice({','.join(ARMS)})"
    rates = sweeper.params["optim.lr"].removeprefix("choice(").removesuffix(")").split(",")
    assert len(rates) >= 8 and sweeper.n_trials >= len(ARMS) * len(rates)  # the whole grid: equal trials per arm
    assert cfg.test is False and cfg.tuned is None  # no test decoding; no tuned values read while tuning
    assert (cfg.trainer.max_steps, cfg.data.batch_size) == (1200, 32)  # the headline's budget
    assert _compose("experiment=bottleneck").trainer.max_steps == 1200


def test_every_tuned_arm_is_a_registered_arm():
    assert set(TUNED_ARMS) <= set(ARMS)


@pytest.mark.parametrize("arm", TUNED_ARMS)
def test_the_headline_reads_each_arms_tuned_values(arm):
    tuned = yaml.safe_load(TUNED_FILE.read_text())["tuned"]
    cfg = _compose("experiment=bottleneck", f"attention={arm}")
    assert cfg.optim.lr == tuned["arms"][arm]["lr"] and cfg.tuned.command == tuned["command"]
    assert _compose("experiment=bottleneck", f"attention={arm}", f"tuned.arms.{arm}.lr=0.0123").optim.lr == 0.0123
    assert _compose("experiment=bottleneck", f"attention={arm}", "optim.lr=0.02").optim.lr == 0.02  # a user's own
    assert _compose(f"attention={arm}").optim.lr == 3e-3  # outside the experiment: the schema's default


def _val_bleu(trial: Path) -> list[float]:
    [metrics] = trial.glob("csv/**/metrics.csv")
    return [float(r["val/bleu"]) for r in csv.DictReader(metrics.open()) if r.get("val/bleu")]


def test_tuning_runs_two_trials_per_arm_and_records_each_arms_best(tmp_path):  # about 20 s
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs pip install -e '.[sweep]'")
    sweep = tmp_path / "tune"
    tiny = [o for o in TINY if not o.startswith(("logger=", "trainer.max_steps"))]
    done = run_script(
        "train.py",
        [
            "experiment=bottleneck_tune",
            "optim.lr=choice(0.001,0.01)",  # replaces the grid's learning rates: a command-line sweep wins
            "hydra.sweeper.n_trials=6",
            *tiny,
            "trainer.max_steps=6",
            "logger=csv",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trials = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    tried = {tuple(p.name.split("_")[1:]) for p in trials}
    assert tried == {(arm, f"lr{lr}") for arm, lr in itertools.product(ARMS, ("0.001", "0.01"))}
    assert not any((p / "results.json").exists() or (p / "hypotheses.tsv").exists() for p in trials)  # no test
    record = json.loads((sweep / "tuning.json").read_text())
    assert len(record["trials"]) == 6
    for arm in ARMS:  # the choice is each arm's best validation BLEU, read back independently
        best = max((p for p in trials if p.name.split("_")[1] == arm), key=lambda p: max(_val_bleu(p)))
        lr = float(best.name.split("_lr")[1])
        assert record["chosen"][arm] == {"lr": lr}
    assert "## multiplicative" in (sweep / "tuning.md").read_text()
    tuned = OmegaConf.create((sweep / "tuned.yaml").read_text())  # ready for conf/tuned/: each arm reads its value
    assert tuned.tuned.command.startswith("python train.py experiment=bottleneck_tune")
    for arm in ARMS:
        assert OmegaConf.merge(tuned, {"attention": {"name": arm}}).optim.lr == record["chosen"][arm]["lr"]
