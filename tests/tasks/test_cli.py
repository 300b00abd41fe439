"""The command lines users type: train.py as a Hydra multirun (one folder per arm), then evaluate.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_multirun_trains_each_arm_in_its_own_folder_and_evaluate_reads_one(tmp_path):
    tiny = [o for o in TINY if not o.startswith("logger=")]
    done = _run("train.py", ["-m", "attention=none,additive,multiplicative", *tiny,
                             f"paths.cache_dir={tmp_path}/cache", f"hydra.sweep.dir={tmp_path}/multirun"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted(p for p in (tmp_path / "multirun").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(jobs) == 3
    arms = {json.loads((j / "results.json").read_text())["config"]["attention"]["name"]: j for j in jobs}
    assert set(arms) == {"none", "additive", "multiplicative"}
    for job in jobs:
        assert (job / "hypotheses.tsv").is_file() and (job / "csv" / "metrics.csv").is_file()
    log = done.stdout + done.stderr
    assert "Test BLEU" in log and "source words" in log  # the table each run prints

    ckpt = arms["none"] / "checkpoints" / "last.ckpt"
    evaluated = _run("evaluate.py", [f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path}/eval",
                                     f"paths.cache_dir={tmp_path}/cache", "trainer.enable_progress_bar=false"], tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["test"]["n"] == 40


def test_bad_override_exits_nonzero_naming_the_key(tmp_path):
    done = _run("train.py", ["model.dropout=1.5", f"hydra.run.dir={tmp_path}/run"], tmp_path)
    assert done.returncode != 0
    assert "model.dropout=1.5" in done.stderr
    assert not (tmp_path / "run" / "results.json").exists()
