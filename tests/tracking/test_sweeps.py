"""The W&B sweep files: valid for W&B's own sweep engine, every combination a valid config of this project,
and the grid ones runnable locally as the equivalent Hydra multirun."""

from __future__ import annotations

import copy
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import arm_names
from attention_nmt.tracking.sweeps import fixed_arguments, hydra_value, load_sweep, main, multirun_command
from attention_nmt.tracking.tuning import check_tuned, missing_tuned
from tests.conftest import TINY, compose_config
from tests.tracking.offline_runs import offline_runs

ROOT = Path(__file__).resolve().parents[2]
SWEEP_FILES = sorted((ROOT / "sweeps").glob("*.yaml"))
LOGGED_METRICS = {"val/bleu_best"}  # the best validation BLEU: the tested checkpoint's, what sweeps optimise


def test_the_three_ablation_sweeps_ship():
    assert {p.stem for p in SWEEP_FILES} >= {"bottleneck", "bahdanau2014", "lr_dropout_bayes"}


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.stem)
def test_sweep_file_is_valid_for_wandb(path):
    from sweeps.config import schema  # W&B's sweep engine and its JSON schema

    sweep = load_sweep(path)
    schema.fill_validate_schema(copy.deepcopy(sweep))
    assert sweep["metric"]["name"] in LOGGED_METRICS and sweep["metric"]["goal"] == "maximize"
    assert (ROOT / sweep["program"]).is_file()
    assert sweep["command"][:4] == ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]
    assert any(a.split("=")[0] in ("experiment", "experiment_name") for a in fixed_arguments(sweep))  # W&B group
    logger = yaml.safe_load((ROOT / "conf" / "logger" / "wandb.yaml").read_text())
    assert sweep["project"] == logger["wandb"]["project"]  # one project for runs, evaluations, report, sweeps
    if any(a.startswith("experiment=") for a in sweep["command"]):
        assert "hydra.mode=RUN" in sweep["command"]  # an agent runs one grid point, not the experiment's multirun


def test_report_run_defaults_to_the_loggers_project():
    from attention_nmt.report.wandb_log import PROJECT

    logger = yaml.safe_load((ROOT / "conf" / "logger" / "wandb.yaml").read_text())
    assert PROJECT == logger["wandb"]["project"]


def combinations(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """Every assignment the sweep can produce: the full grid of listed values; distributions at both bounds."""
    choices = {}
    for name, spec in sweep["parameters"].items():
        if "values" in spec:
            choices[name] = spec["values"]
        elif "value" in spec:
            choices[name] = [spec["value"]]
        else:
            choices[name] = [spec["min"], spec["max"]]
    return [dict(zip(choices, combo)) for combo in itertools.product(*choices.values())]


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.stem)
def test_every_combination_composes_into_a_valid_config(path, tmp_path, cache_dir):
    sweep = load_sweep(path)
    for combo in combinations(sweep):
        overrides = [f"{k}={hydra_value(v)}" for k, v in combo.items()] + fixed_arguments(sweep)
        cfg = compose_config("train", overrides, tmp_path, cache_dir)
        if missing_tuned(cfg):  # a new arm in a recipe that trains every arm at its tuned values: named
            with pytest.raises(ConfigError, match=rf"tuned\.arms\.{cfg.attention.name}: "):
                check_tuned(cfg)
            continue
        OmegaConf.to_object(cfg)  # the typed schema's checks
        for key, value in combo.items():
            node = OmegaConf.select(cfg, key)
            assert (node.name if OmegaConf.is_config(node) else node) == value, (path.stem, key)


def test_grid_sweep_prints_the_equivalent_multirun(capsys):
    assert main([str(ROOT / "sweeps" / "bottleneck.yaml")]) == 0
    assert capsys.readouterr().out.split() == [
        "python",
        "train.py",
        "-m",
        "attention=" + ",".join(arm_names()),  # the file's "${arms:}": every registered arm
        "encoder=gru,bigru",
        "seed=1,2,3",
        "experiment=bottleneck",
    ]


def test_wandb_sweep_is_created_from_the_file_with_every_arm_written_out(monkeypatch, capsys):
    """`--wandb` runs `wandb sweep` on the file as loaded: W&B's engine never sees "${arms:}"."""
    from sweeps.config import schema

    created = []

    def wandb_cli(command):
        assert command[:2] == ["wandb", "sweep"]
        created.append((command[2:-1], yaml.safe_load(Path(command[-1]).read_text())))
        return 0

    monkeypatch.setattr(subprocess, "call", wandb_cli)
    assert main([str(ROOT / "sweeps" / "bottleneck.yaml"), "--wandb", "--project", "mine"]) == 0
    [(options, sweep)] = created
    assert options == ["--project=mine"]
    assert sweep["parameters"]["attention"]["values"] == arm_names()
    assert "${arms:}" in (ROOT / "sweeps" / "bottleneck.yaml").read_text()  # the file itself names no arm
    schema.fill_validate_schema(copy.deepcopy(sweep))


def test_bayes_sweep_is_refused_locally_with_the_alternative():
    with pytest.raises(ConfigError, match="hparams_search=optuna"):
        multirun_command(ROOT / "sweeps" / "lr_dropout_bayes.yaml")


def test_unreadable_sweep_file_gets_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("command: [${env}, ${program}]\n")  # YAML reads "{" in a flow list as a mapping
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_sweep(bad)
    with pytest.raises(ConfigError, match="no such sweep file"):
        load_sweep(tmp_path / "absent.yaml")


def test_hydra_values_are_quoted_where_the_grammar_needs_it():
    assert [hydra_value(v) for v in (3, 0.5, True, None, [10, 20], "a b", "x,y")] == [
        "3",
        "0.5",
        "true",
        "null",
        "[10,20]",
        "'a b'",
        "'x,y'",
    ]


def test_grid_sweep_runs_locally_each_job_a_wandb_run_in_the_sweep_group(tmp_path):
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(
        "name: tiny\nprogram: train.py\nmethod: grid\nmetric: {name: val/bleu, goal: maximize}\n"
        "parameters:\n  attention: {values: [none, additive]}\n"
        "command:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n  - ${args_no_hyphens}\n"
        "  - experiment_name=tiny_grid\n"
    )
    tiny = [o for o in TINY if not o.startswith("logger=")] + ["test=false"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "attention_nmt.tracking.sweeps",
            str(sweep_file),
            "--run",
            *tiny,
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WANDB_MODE": "offline"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted(p for p in (tmp_path / "multirun").iterdir() if p.is_dir() and not p.name.startswith("."))
    runs = [offline_runs(job) for job in jobs]
    assert [len(r) for r in runs] == [1, 1]
    metas = [r[0].run() for r in runs]
    assert [m["run_group"] for m in metas] == ["tiny_grid", "tiny_grid"]
    assert sorted(m["tags"][0] for m in metas) == ["additive", "none"]
