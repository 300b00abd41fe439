"""What a run needs to be right under DDP: ranks that re-run the script train only their own Hydra job,
a multirun's next job starts its own process group, every process counts into its own metric states, and
per-rank test hypotheses are gathered on rank 0.

Lightning's `ddp` (start method "popen") starts ranks 1..N-1 by re-running the command line. Inside a Hydra
multirun that command holds `-m` and the whole sweep, so each child would run every job of the sweep, in
new folders (Lightning issue #11300, Hydra issue #2070). `HydraJobDDPStrategy` starts each child as a
single Hydra *run* of the current job instead: the job's own overrides, its output folder as
`hydra.run.dir`, no second `.hydra/` folder. `distributed_job` ends the process group and restores the
rank variables after a job, so the next job of the same multirun launches fresh ranks instead of reusing
the finished ones. `OwnMetricStates` un-shares metric states that `ddp_spawn` put in shared memory.
"""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.strategies import DDPStrategy, Strategy, StrategyRegistry
from torchmetrics import Metric

from attention_nmt.errors import ConfigError
from attention_nmt.training.library_internals import (
    ScriptLauncher,
    end_all_ranks_when_one_dies,
    hydra_config_flags,
    share_cpu_threads_between_ranks,
    this_script_command,
)

log = logging.getLogger(__name__)

# What Lightning's launchers put in os.environ for one process group; restored after each job.
RANK_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", "RANK", "GROUP_RANK")


def quote_override_value(value: str) -> str:
    """A value in Hydra's override grammar: single-quoted, so `=`, `,` or spaces in a path survive."""
    return "'" + value.replace("'", "\\'") + "'"


def hydra_job_command(local_rank: int) -> tuple[list[str], str]:
    """The command (and working directory) that runs the current Hydra job again as one rank.

    The child is a Hydra run, never a multirun: the job's own task overrides, `hydra.run.dir` set to the
    job's output folder (so `${hydra:runtime.output_dir}` is the same folder), `hydra.output_subdir=null`
    (the job's `.hydra/` is written once, by rank 0) and `hydra.mode=RUN` (wins over a search config that
    switches to multirun). `--config-path/--config-name/--config-dir` are kept from the command line.
    """
    from hydra.utils import to_absolute_path

    import __main__

    hydra_cfg = HydraConfig.get()
    launcher_target = str((hydra_cfg.get("launcher") or {}).get("_target_", ""))
    if "joblib" in launcher_target.lower():
        raise ConfigError(
            "trainer.strategy=ddp re-runs the training script for each rank, which a joblib worker "
            "cannot do, and this multirun's launcher is joblib's (hydra/launcher=joblib, or side_by_side, "
            "which experiment=bottleneck uses). Run DDP jobs one at a time with hydra/launcher=basic, or "
            "with hydra/launcher=slurm."
        )
    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    args = hydra_config_flags(sys.argv[1:])
    for flag, value in (
        ("--config-path", args.config_path),
        ("--config-name", args.config_name),
        ("--config-dir", args.config_dir),
    ):
        if value is not None:
            command.append(f"{flag}={value}")
    command += list(hydra_cfg.overrides.task)
    command += [
        f"hydra.run.dir={quote_override_value(hydra_cfg.runtime.output_dir)}",
        "hydra.output_subdir=null",
        f"hydra.job.name={hydra_cfg.job.name}_rank{local_rank}",
        "hydra.mode=RUN",
    ]
    return command, hydra_cfg.runtime.cwd


class HydraJobLauncher(ScriptLauncher):
    """Lightning's script launcher, with children that run only the current Hydra job (see module docstring)."""

    def launch(self, function: Any, *args: Any, trainer: Any | None = None, **kwargs: Any) -> Any:
        self.cluster_environment.validate_settings(num_devices=self.num_processes, num_nodes=self.num_nodes)
        if not self.cluster_environment.creates_processes_externally:
            self._start_children()
            end_all_ranks_when_one_dies(self.procs)
        share_cpu_threads_between_ranks(self.num_processes)
        return function(*args, **kwargs)

    def _start_children(self) -> None:
        self._check_can_spawn_children()
        self.procs = []
        env = self.cluster_environment
        os.environ.update(
            MASTER_ADDR=env.main_address,
            MASTER_PORT=str(env.main_port),
            NODE_RANK=str(env.node_rank()),
            LOCAL_RANK=str(env.local_rank()),
            WORLD_SIZE=str(self.num_processes * self.num_nodes),
        )
        for local_rank in range(1, self.num_processes):
            child_env = {**os.environ, "LOCAL_RANK": str(local_rank)}
            if HydraConfig.initialized():
                command, cwd = hydra_job_command(local_rank)
            else:
                command, cwd = this_script_command(), None
            log.info("Starting rank %d: %s", local_rank, " ".join(command))
            self.procs.append(subprocess.Popen(command, env=child_env, cwd=cwd))


class HydraJobDDPStrategy(DDPStrategy):
    """`ddp` (start method popen) whose child ranks train only the current Hydra job."""

    def _configure_launcher(self) -> None:
        if self._start_method == "popen":
            self._launcher = HydraJobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)
        else:
            super()._configure_launcher()


def resolve_strategy(name: str | Strategy) -> str | Strategy:
    """`trainer.strategy`, with Lightning's script-launched DDP strategies ("ddp", "ddp_find_unused_parameters_true")
    replaced by their Hydra-aware equivalent; every other choice is passed to Lightning unchanged."""
    if not isinstance(name, str) or name not in StrategyRegistry:
        return name
    entry = StrategyRegistry[name]
    params = dict(entry["init_params"])
    if entry["strategy"] is DDPStrategy and params.get("start_method", "popen") == "popen":
        return HydraJobDDPStrategy(**params)
    return name


@contextmanager
def distributed_job() -> Iterator[None]:
    """One job's lifetime as far as DDP is concerned: afterwards the process group is destroyed and the rank
    variables are restored, so the next job of a multirun (in this process) launches and joins its own ranks."""
    saved = {key: os.environ.get(key) for key in RANK_VARIABLES}
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class OwnMetricStates(Callback):
    """Gives every process its own torchmetrics state tensors, and the CSV logger the columns already in its
    file, before a fit/validate/test starts.

    `ddp_spawn` pickles the module into its workers through torch.multiprocessing, which moves CPU tensors
    into shared memory. Lightning un-shares parameters and buffers, but a Metric's states are neither, so
    both ranks would add their n-gram counts into one tensor and BLEU would count sentences twice.
    `Metric.reset()` replaces each state with a fresh clone of its default.
    ddp_spawn also runs fit and test in different processes, so the test's CSV writer starts without the
    columns fit wrote and Lightning fails rewriting metrics.csv ("dict contains fields not in fieldnames").
    """

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        for module in pl_module.modules():
            if isinstance(module, Metric):
                module.reset()
        for logger in trainer.loggers if trainer.is_global_zero else []:
            if isinstance(logger, CSVLogger) and os.path.isfile(logger.experiment.metrics_file_path):
                with open(logger.experiment.metrics_file_path, newline="", encoding="utf-8") as f:
                    header = next(csv.reader(f), [])
                logger.experiment.metrics_keys = sorted(set(logger.experiment.metrics_keys) | set(header))


def gather_objects(items: Sequence[Any]) -> list[Any]:
    """Concatenate a list from every rank, in rank order (this rank's list alone when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(items)
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, list(items))
    return [item for part in parts for item in part]
