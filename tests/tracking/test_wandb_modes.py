"""W&B's own mode settings are respected: `wandb disabled` / `wandb offline` (its settings file) decide unless the
user sets `logger.wandb.mode=`; with no setting at all a run is offline, not a login prompt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from attention_nmt.evaluation.results import RunResults
from tests.conftest import ROOT, TINY

TINY_WANDB = [o for o in TINY if not o.startswith("logger=")] + ["logger=[wandb]", "trainer.max_steps=2"]


def train_in(cwd: Path, *overrides: str, settings_mode: str | None) -> Path:
    """Run train.py in `cwd`, where `wandb <settings_mode>` was run first; no WANDB_MODE, no credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(cwd), WANDB_CONFIG_DIR=str(cwd / ".config" / "wandb"), NETRC=str(cwd / "no-netrc"))
    if settings_mode is not None:
        done = subprocess.run([sys.executable, "-m", "wandb", settings_mode], cwd=cwd, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert f"mode = {settings_mode}" in (cwd / "wandb" / "settings").read_text()
    run_dir = cwd / "run"
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *TINY_WANDB, *overrides, f"hydra.run.dir={run_dir}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


@pytest.mark.parametrize(
    ("settings_mode", "overrides", "offline_runs"),
    [
        ("disabled", [], 0),  # `wandb disabled`: no run at all
        ("disabled", ["logger.wandb.mode=offline"], 1),  # the user's explicit choice wins
        (None, [], 1),  # nothing decides: offline
    ],
    ids=["wandb-disabled", "explicit-mode-wins", "default-offline"],
)
def test_settings_file_mode_is_respected(tmp_path, settings_mode, overrides, offline_runs):
    run_dir = train_in(tmp_path, f"paths.cache_dir={tmp_path}/cache", *overrides, settings_mode=settings_mode)
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == offline_runs
    assert not list((run_dir / "wandb").glob("run-*"))  # never online
    results = RunResults.read(run_dir / "results.json")
    assert (results.wandb is None) == (offline_runs == 0)
