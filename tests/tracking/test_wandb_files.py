"""Every W&B file of a run lies in its run folder, DDP or not: a command started from a temporary working
directory leaves nothing there but the folders it was told to use, and the run's media (heatmaps, tables)
are in the run's own offline folder, where `wandb sync` finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY, run_script
from tests.tracking.offline_runs import offline_runs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "premove" / "last.ckpt"


def _media(run_dir: Path) -> set[str]:
    [run] = offline_runs(run_dir)
    return {p.name.split("_")[0] for p in (run.folder / "files" / "media").rglob("*.json")}


def test_a_ddp_spawn_evaluation_keeps_every_wandb_file_in_its_run_folder(tmp_path):
    done = run_script(
        "evaluate.py",
        [
            f"ckpt_path={FIXTURE}",
            "trainer=ddp_sim",
            "trainer.enable_progress_bar=false",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.run.dir={tmp_path}/eval",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "eval"]  # no ./wandb of the working directory
    assert {"predictions", "bleu"} <= _media(tmp_path / "eval")  # the test tables, logged by the spawned rank 0


@pytest.mark.slow
def test_each_ddp_spawn_job_of_a_multirun_keeps_every_wandb_file_in_its_folder(tmp_path):
    tiny = [o for o in TINY if not o.startswith(("trainer.devices", "trainer.accelerator", "logger="))]
    done = run_script(
        "train.py",
        [
            "-m",
            "attention=none,additive",
            *tiny,
            "trainer=ddp_sim",
            "data.eval_batch_size=8",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "multirun"]
    jobs = sorted(p for p in (tmp_path / "multirun").iterdir() if p.is_dir() and p.name[0].isdigit())
    assert len(jobs) == 2
    assert {"predictions", "bleu"} <= _media(jobs[1])  # the additive job: heatmaps too
    assert any((jobs[1] / "wandb").rglob("media/images/val/attention/*.png"))
