"""What a SLURM job asks for (`hydra/launcher=slurm`), taken from the trainer config and checked before submission.

Each job of a sweep is one SLURM job, submitted by Hydra's submitit launcher; `srun` starts one task per rank
and Lightning reads the ranks from SLURM, so a job needs one task per device on every node. Two resolvers,
used by conf/hydra/launcher/slurm.yaml and registered by `register_resolvers()`, derive that from the trainer:

* `${slurm_gpus_per_node:accelerator,devices}`: `trainer.devices` GPUs on a GPU accelerator (trainer=gpu: 1),
  none otherwise (the default trainer and trainer=cpu run on the CPU). `devices=auto` on GPUs means "every GPU
  the job is given", which SLURM must be told: `hydra.launcher.gpus_per_node=N`.
* `${slurm_tasks_per_node:strategy,accelerator,devices,gpus_per_node}`: `trainer.devices` tasks (2 for CPU DDP
  with trainer.devices=2), or one per GPU asked for when devices is auto, or 1 on the CPU.

`CheckSlurmLauncher`, a Hydra callback (conf/hydra/default.yaml), resolves the launcher config when a multirun
starts, before the launcher exists and anything is submitted: a value that cannot work (a launcher key the
trainer contradicts, `ddp_spawn` under srun) stops the sweep with one line naming the key, as the project's
other config errors do, instead of an OmegaConf traceback or a job that fails in the queue.
"""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from attention_nmt.errors import ConfigError

GPU_ACCELERATORS = ("gpu", "cuda")
# strategies that start their ranks as processes of their own; under SLURM, srun starts them
SELF_SPAWNING = ("ddp_spawn", "ddp_fork", "ddp_notebook")


def _device_count(devices: Any) -> int | None:
    """`trainer.devices` as a number of devices; None for "auto" or -1 (all there are)."""
    if isinstance(devices, (list, tuple, ListConfig)):
        return len(devices)
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1:
        return devices
    if devices in ("auto", -1):
        return None
    raise ConfigError(f"trainer.devices={devices!r}: must be a number of devices, a list of device ids, or auto.")


def slurm_gpus_per_node(accelerator: str, devices: Any) -> int | None:
    """GPUs a job asks for on each node (None: no `--gpus-per-node` flag, a CPU job)."""
    if str(accelerator) not in GPU_ACCELERATORS:
        return None
    count = _device_count(devices)
    if count is None:
        raise ConfigError(
            f"hydra.launcher.gpus_per_node: trainer.accelerator={accelerator} with trainer.devices={devices} uses "
            "every GPU a job is given, and SLURM must be told how many: add hydra.launcher.gpus_per_node=N "
            "(tasks per node follow it) or trainer.devices=N."
        )
    return count


def slurm_tasks_per_node(strategy: str, accelerator: str, devices: Any, gpus_per_node: int | None) -> int:
    """Tasks (ranks) a job starts on each node: one per device Lightning trains on."""
    if str(strategy) in SELF_SPAWNING:
        raise ConfigError(
            f"hydra.launcher.tasks_per_node: trainer.strategy={strategy} starts its ranks itself, but in a SLURM "
            "job srun starts one task per rank. Use trainer=ddp (on CPUs: trainer=ddp trainer.accelerator=cpu "
            "trainer.devices=N)."
        )
    count = _device_count(devices)
    if count is not None:
        return count
    if str(accelerator) in GPU_ACCELERATORS:
        if not gpus_per_node:
            raise ConfigError(
                f"hydra.launcher.gpus_per_node={gpus_per_node}: trainer.accelerator={accelerator} with "
                f"trainer.devices={devices} trains on every GPU of the job, one task each; ask for "
                "hydra.launcher.gpus_per_node=N (N >= 1)."
            )
        return int(gpus_per_node)
    return 1  # accelerator cpu or auto with devices auto: Lightning trains on one CPU device


def register_resolvers() -> None:
    """The resolvers conf/hydra/launcher/slurm.yaml uses (called by `tasks.config.register_configs`)."""
    OmegaConf.register_new_resolver("slurm_gpus_per_node", slurm_gpus_per_node, replace=True)
    OmegaConf.register_new_resolver("slurm_tasks_per_node", slurm_tasks_per_node, replace=True)


def check_launcher(config: DictConfig) -> dict[str, Any] | None:
    """The resolved SLURM launcher config, after checking that a job of it can run the trainer config;
    None when the launcher is not SLURM's.

    Raises:
        ConfigError: A launcher key cannot work; the message names it.
    """
    launcher = OmegaConf.select(config, "hydra.launcher")
    if launcher is None or not str(launcher.get("_target_", "")).endswith("SlurmLauncher"):
        return None
    try:
        resolved = OmegaConf.to_container(launcher, resolve=True)
    except InterpolationResolutionError as error:
        cause = _config_error_in(error)
        if cause is None:
            raise
        raise cause from None
    trainer = config.trainer
    expected = slurm_tasks_per_node(trainer.strategy, trainer.accelerator, trainer.devices, resolved["gpus_per_node"])
    if resolved["tasks_per_node"] != expected:
        raise ConfigError(
            f"hydra.launcher.tasks_per_node={resolved['tasks_per_node']}: Lightning trains one rank per SLURM task "
            f"and one device per rank, and trainer.devices={trainer.devices} makes {expected}. Set trainer.devices="
            f"{resolved['tasks_per_node']}, or drop the override (it follows trainer.devices)."
        )
    if resolved["nodes"] != trainer.num_nodes:
        raise ConfigError(
            f"hydra.launcher.nodes={resolved['nodes']}: trainer.num_nodes={trainer.num_nodes} must match it. Set "
            f"trainer.num_nodes={resolved['nodes']}, or drop the override (it follows trainer.num_nodes)."
        )
    return resolved


def _config_error_in(error: BaseException | None) -> ConfigError | None:
    """The ConfigError a resolver raised, found in the chain of errors OmegaConf wrapped it in."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ConfigError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


class CheckSlurmLauncher(Callback):
    """Hydra callback: `check_launcher` when a multirun starts. Its `ConfigError` ends the process with the
    message alone and exit status 1, as Hydra ends on its own composition errors (Hydra turns an `Exception`
    from a callback into a warning and carries on, so the stop is a `SystemExit`)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_launcher(config)
        except ConfigError as error:
            raise SystemExit(str(error)) from error
