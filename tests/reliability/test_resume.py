"""Interrupted runs resume exactly: a real `train.py` process is killed part-way through an epoch (SIGKILL), or
stopped by SIGTERM, and the resumed run ends with the uninterrupted run's weights, hypotheses and test BLEU.

The config has 19 batches an epoch, 40 steps (so the resumed part crosses an epoch boundary), validation
every 10 steps, dropout 0.2 (so the RNG state matters) and `last.ckpt` every 4 steps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.train import train
from tests.conftest import TINY, compose_config

ROOT = Path(__file__).resolve().parents[2]
RUN = [
    *TINY,
    "trainer.max_steps=40",
    "trainer.val_check_interval=10",
    "callbacks.model_checkpoint.every_n_train_steps=4",
    "data.vocab_size=12",
    "data.max_len=8",
    "data.tokenizer.kind=word",
    "model.hidden_size=32",
    "optim.lr=0.01",
]


def start_train(args: list[str], cwd: Path) -> subprocess.Popen:
    """`python train.py args` as a user runs it (one torch thread, to match the in-process reference)."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def paused(run_dir: Path, cache: Path, step: int, marker: Path) -> subprocess.Popen:
    """A training process that waits before step `step` (after writing `marker`), so a test can signal it there."""
    proc = start_train(
        [
            *RUN,
            f"hydra.run.dir={run_dir}",
            f"paths.cache_dir={cache}",
            "+callbacks.pause._target_=tests.reliability.faults.PauseAtStep",
            f"+callbacks.pause.step={step}",
            f"+callbacks.pause.marker={marker}",
        ],
        run_dir.parent,
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"training never reached step {step}: {proc.communicate()[1][-3000:]}")
        time.sleep(0.05)
    return proc


def checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def outcome(run_dir: Path) -> tuple[dict, str, float]:
    """Final weights, hypotheses.tsv and test BLEU of a finished run."""
    results = RunResults.read(run_dir / "results.json")
    return (
        checkpoint(run_dir / "checkpoints" / "last.ckpt")["state_dict"],
        (run_dir / "hypotheses.tsv").read_text(),
        results.test.bleu,
    )


def assert_same_outcome(resumed: Path, reference: Path) -> None:
    weights, hypotheses, bleu = outcome(resumed)
    ref_weights, ref_hypotheses, ref_bleu = outcome(reference)
    assert weights.keys() == ref_weights.keys()
    for name, value in ref_weights.items():
        assert torch.equal(weights[name], value), name
    assert hypotheses == ref_hypotheses
    assert bleu == ref_bleu > 0  # a model that learned something, so equal hypotheses mean something


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The uninterrupted run (in-process, one torch thread) and the cache it filled."""
    base = tmp_path_factory.mktemp("reference")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(OmegaConf.to_object(compose_config("train", RUN, base / "run", base / "cache")))
    finally:
        torch.set_num_threads(threads)
    assert checkpoint(base / "run" / "checkpoints" / "last.ckpt")["global_step"] == 40
    return base / "run", base / "cache"


def test_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(reference, tmp_path):
    ref_run, cache = reference
    run = tmp_path / "run"
    proc = paused(run, cache, step=14, marker=tmp_path / "at_step_14")
    proc.kill()  # SIGKILL: no handler runs, nothing is flushed
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    last = checkpoint(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 12  # written every 4 steps; 2 steps of epoch 0 are lost and redone
    assert last["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 0, "batches_done": 12}]
    assert not (run / "results.json").exists()

    resumed = start_train(
        [*RUN, f"ckpt_path={run}/checkpoints/last.ckpt", f"hydra.run.dir={run}", f"paths.cache_dir={cache}"], tmp_path
    )
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    assert_same_outcome(run, ref_run)


def test_sigterm_writes_a_checkpoint_first_and_resume_true_finishes_the_run(reference, tmp_path):
    ref_run, cache = reference
    run = tmp_path / "run"
    proc = paused(run, cache, step=21, marker=tmp_path / "at_step_21")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "Stopped by SIGTERM at global step 22" in out + err and "resume=true" in out + err
    last = checkpoint(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 22  # the batch in flight finished, then SIGTERM's own checkpoint (not a 4th step)
    assert last["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 3}]
    assert not (run / "results.json").exists()

    cfg = compose_config("train", [*RUN, "resume=true"], run, cache)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(OmegaConf.to_object(cfg))
    finally:
        torch.set_num_threads(threads)
    assert_same_outcome(run, ref_run)
