"""`python train.py experiment=<name>` without `-m` runs the whole ablation, as the experiment configs say
(`hydra.mode: MULTIRUN`): every arm in its own job folder, then the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from attention_nmt.model.arms import arm_names
from tests.conftest import ROOT, TINY, run_script


@pytest.mark.parametrize("path", sorted((ROOT / "conf" / "experiment").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_experiment_config_is_a_multirun(path: Path):
    assert yaml.safe_load(path.read_text())["hydra"]["mode"] == "MULTIRUN"


def test_experiment_without_dash_m_runs_every_arm_and_the_report(tmp_path):
    done = run_script(
        "train.py",
        [
            "experiment=bottleneck_synthetic",
            *TINY,
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/sweep",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted(p for p in (tmp_path / "sweep").iterdir() if p.is_dir() and p.name[0].isdigit())
    arms = [json.loads((job / "results.json").read_text())["config"]["attention"]["name"] for job in jobs]
    assert arms == arm_names()  # every registered arm, `none` first
    assert (tmp_path / "sweep" / "report" / "report.html").is_file()


def test_help_lists_the_users_choices_not_the_schemas(tmp_path):
    done = run_script("train.py", ["--help"], tmp_path, timeout=120)
    assert done.returncode == 0
    groups = done.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    assert f"attention: {', '.join(sorted(arm_names()))}" in groups
    assert "encoder: bigru, bilstm, gru, lstm" in groups
    assert "_schema" not in groups
