"""Shared fixtures: the real Hydra config, composed with the compose API and shrunk for tests."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from attention_nmt.tasks.config import register_configs

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = str(ROOT / "conf")
register_configs()

# A tiny synthetic task and a tiny model: seconds per run on a CPU.
TINY = [
    "data=synthetic_reverse_map",
    "data.num_train=300",
    "data.num_validation=20",
    "data.num_test=40",
    "data.min_len=3",
    "data.max_len=12",
    "data.vocab_size=30",
    "data.batch_size=16",
    "model.embedding_size=16",
    "model.hidden_size=16",
    "model.output_size=16",
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "trainer.accelerator=cpu",
    "trainer.devices=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
    "logger=none",
]


def compose_config(name: str, overrides: list[str], run_dir: Path, cache_dir: Path) -> DictConfig:
    """The project's real config `name` with overrides, writing into run_dir (no Hydra run folder)."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides)
    OmegaConf.set_struct(cfg, False)
    cfg.paths.output_dir = str(run_dir)
    cfg.paths.cache_dir = str(cache_dir)
    OmegaConf.set_struct(cfg, True)
    return cfg


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One corpus/tokenizer cache for the whole session, as users share outputs/.cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def tiny_config(tmp_path, cache_dir):
    """compose(overrides) -> a shrunk train config writing into tmp_path/run."""

    def make(*overrides: str, name: str = "train") -> DictConfig:
        return compose_config(
            name, [*TINY, *overrides] if name == "train" else list(overrides), tmp_path / "run", cache_dir
        )

    return make


@contextmanager
def wandb_offline_in_process() -> Iterator[None]:
    """W&B offline for code run inside the test process, and no W&B service left behind afterwards: wandb
    names its service in WANDB_SERVICE, which later subprocess tests would otherwise inherit and share."""
    import wandb

    service = os.environ.get("WANDB_SERVICE")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "offline")
        try:
            yield
        finally:
            wandb.teardown()
            if service is None:
                os.environ.pop("WANDB_SERVICE", None)


def first_loss_is_a_uniform_guess(metrics: dict, run_dir: Path) -> bool:
    """An untrained network (small initial weights) guesses every target token about uniformly, so the
    token-averaged cross-entropy of its first batch is ln(target vocabulary), whatever the arm. A summed or
    mis-normalised loss, a wrong log-softmax or label smoothing leaking in would move it."""
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(run_dir / "tokenizers" / "trg.json")).get_vocab_size()
    return abs(metrics["train/loss"] / math.log(vocab) - 1.0) < 0.03  # wider models start a little further off


def run_script(script: str, args: list[str], cwd: Path, timeout: int = 900, **env: str) -> subprocess.CompletedProcess:
    """`python <project root>/<script> args...` as a user runs it, W&B offline (a test never reaches for the
    W&B cloud, even on a logged-in machine); `env`: extra environment variables."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "WANDB_MODE": "offline", **env},
    )


def log_span(job: Path) -> tuple[datetime, datetime]:
    """The first and last timestamps of a job's train.log: when it started and ended, to tell jobs that ran
    side by side from jobs that ran one after the other."""
    stamps = [
        datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
        for line in (job / "train.log").read_text(encoding="utf-8").splitlines()
        if line.startswith("[20")
    ]
    return stamps[0], stamps[-1]
