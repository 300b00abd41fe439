"""hydra/launcher=slurm with every trainer config: tasks and GPUs per node follow the trainer (one CPU task by
default, one task per GPU), and a launcher key that cannot work stops the sweep with one line naming it, before
anything is submitted (no SLURM controller needed)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from attention_nmt.errors import ConfigError
from attention_nmt.tasks.launcher import check_launcher
from tests.conftest import CONF_DIR, run_script

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs pip install -e '.[slurm]'")


def _launcher(*overrides: str) -> dict | None:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", ["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    resolved = check_launcher(cfg)
    return {k: resolved[k] for k in ("nodes", "tasks_per_node", "gpus_per_node")}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ([], (1, 1, None)),  # the default trainer (accelerator and devices auto): one CPU task, no GPU asked
        (["trainer=cpu"], (1, 1, None)),
        (["trainer=gpu"], (1, 1, 1)),
        (["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"], (2, 4, 4)),
        (["trainer=ddp", "hydra.launcher.gpus_per_node=4"], (1, 4, 4)),  # devices=auto: every GPU asked for
        (["trainer=gpu", "trainer.devices=[0,1]"], (1, 2, 2)),
        (["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"], (1, 2, None)),  # 2 CPU ranks under srun
    ],
)
def test_tasks_and_gpus_per_node_follow_the_trainer(overrides, expected):
    launcher = _launcher(*overrides)
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == expected


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["trainer=ddp"], "hydra.launcher.gpus_per_node: "),  # GPUs auto: SLURM must be told how many
        (["trainer=ddp_sim"], "hydra.launcher.tasks_per_node: trainer.strategy=ddp_spawn"),
        (["trainer=ddp", "hydra.launcher.gpus_per_node=0"], "hydra.launcher.gpus_per_node=0: "),
        (["hydra.launcher.tasks_per_node=2"], "hydra.launcher.tasks_per_node=2: "),  # devices=auto makes 1
        (["trainer=gpu", "hydra.launcher.tasks_per_node=4"], "hydra.launcher.tasks_per_node=4: "),
        (["hydra.launcher.nodes=2"], "hydra.launcher.nodes=2: trainer.num_nodes=1"),
        (["trainer=cpu", "trainer.devices=0"], "trainer.devices=0: "),
    ],
)
def test_a_launcher_key_that_cannot_work_is_named(overrides, key):
    with pytest.raises(ConfigError) as refused:
        _launcher(*overrides)
    assert str(refused.value).startswith(key)


def test_other_launchers_are_not_checked():
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", ["hydra/launcher=submitit_local", "trainer=ddp_sim"], return_hydra_config=True)
    assert check_launcher(cfg) is None


def test_the_sweep_stops_with_one_line_before_anything_is_submitted(tmp_path):
    done = run_script(
        "train.py",
        ["-m", "attention=none,additive", "hydra/launcher=slurm", "trainer=ddp", f"hydra.sweep.dir={tmp_path}/sweep"],
        tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "hydra.launcher.gpus_per_node: trainer.accelerator=gpu with trainer.devices=auto uses every GPU a job is "
        "given, and SLURM must be told how many: add hydra.launcher.gpus_per_node=N (tasks per node follow it) "
        "or trainer.devices=N."
    ]
    assert not (tmp_path / "sweep").exists()  # no job folder, no submitit folder: nothing was submitted
