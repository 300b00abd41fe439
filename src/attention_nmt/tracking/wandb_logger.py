"""Weights & Biases specifics: the logger (mode, group, run name, tags, flat config, declared metrics).

`TrackedWandbLogger` is Lightning's `WandbLogger` with this project's conventions:
- mode: `logger.wandb.mode` when given; else W&B's own settings (`WANDB_MODE`, `wandb offline` / `wandb
  disabled`, online when logged in); else offline (`attention_nmt.tracking.wandb_settings`). Offline runs land
  in `<run folder>/wandb/offline-run-*` for `wandb sync`.
- group: the experiment name, else the Hydra multirun folder, so a sweep's jobs sit together; job_type
  says train / evaluate / report; tags are the attention arm, encoder and dataset.
- config: flattened to dotted keys (`attention.name`, `data.max_train_len`, `seed`) so the run table can
  filter and group by them. The task's own config is logged first and wins: the module's stored
  hyperparameters, which Lightning logs later, only add keys (an evaluate job's `decoding.beam_size=5` stays 5).
- metrics: `val/bleu` is summarised by its maximum, `val/loss` by its minimum, all against `trainer/global_step`.
- `log_model` works offline too: Lightning refuses `offline=True` with `log_model`, so the mode is
  passed to `wandb.init` instead and the artifact is written to the offline run for a later sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from attention_nmt.tracking.wandb_private import forget_run, pending_init, started_run
from attention_nmt.tracking.wandb_settings import wandb_mode

ARM_KEYS = ("attention.name", "encoder.name", "data.name")  # the run's tags, in this order


# (key, summary): the best value of a validation metric is the run's summary, like the checkpoint that is tested;
# val/bleu_best keeps W&B's plain last-value summary, the number sweeps read (sweeps/*.yaml `metric`)
METRIC_SUMMARIES = (
    ("val/bleu", "max"),
    ("val/loss", "min"),
    ("val/bleu_best", None),
    # attention health (evaluation/attention_health.py): the state at the end of training, and the largest score
    *((f"val/attn_{key}", "last") for key in ("entropy", "entropy_norm", "max_weight", "score_mean_abs", "diagonal")),
    ("val/attn_score_max_abs", "max"),
    ("val/aer", "min"),
)
STEP = "trainer/global_step"


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"attention": {"name": "additive"}} -> {"attention.name": "additive"}; private keys (`_schema_`) dropped."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def default_group(experiment: str | None) -> str | None:
    """The experiment's name; else, inside a Hydra multirun, its folder (date_time); else no group."""
    if experiment and experiment != "default":
        return experiment
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return multirun_group(Path(HydraConfig.get().sweep.dir))
    return None


def multirun_group(sweep_dir: Path) -> str:
    """The W&B group of a multirun's jobs without an experiment name: multirun_<date>_<time> of its folder."""
    return f"multirun_{sweep_dir.parent.name}_{sweep_dir.name}"


def default_job_type() -> str:
    """The Hydra job's name, which is the script's (train / evaluate / report); "train" outside Hydra."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().job.name if HydraConfig.initialized() else "train"


def run_name(flat_config: Mapping[str, Any]) -> str | None:
    """additive-bigru-bible-s1: the arm, encoder, data and seed, readable in the run list."""
    parts = [str(flat_config[k]) for k in ARM_KEYS if k in flat_config]
    if "seed" in flat_config:
        parts.append(f"s{flat_config['seed']}")
    return "-".join(parts) or None


class TrackedWandbLogger(WandbLogger):
    """Lightning's WandbLogger with this project's mode, grouping, naming and flat config (module docstring)."""

    def __init__(
        self,
        project: str,
        save_dir: str,
        job_type: str | None = None,
        group: str | None = None,
        experiment_name: str | None = None,
        tags: Sequence[str] = (),
        mode: str | None = None,
        log_model: bool | str = False,
        entity: str | None = None,
        **kwargs: Any,
    ) -> None:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(
            project=project,
            save_dir=save_dir,
            job_type=job_type or default_job_type(),
            group=group or default_group(experiment_name),
            tags=list(tags or []),
            mode=wandb_mode(mode),
            log_model=log_model,
            entity=entity,
            **kwargs,
        )
        self._named = False  # set once a config has named and tagged the run
        self._logged_keys: set[str] = set()  # config keys already sent: the first (the task's) value wins
        self._metrics_declared = False

    @property
    def experiment(self) -> Any:
        """The W&B run (started on first use), its metrics declared (METRIC_SUMMARIES) once."""
        run = super().experiment
        if not self._metrics_declared and started_run(self) is not None:
            declare_metrics(run)
            self._metrics_declared = True
        return run

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Flatten to dotted keys; the first config that names the arm also names and tags the run."""
        flat = flatten_config(params if isinstance(params, Mapping) else vars(params))
        flat = {key: value for key, value in flat.items() if key not in self._logged_keys}
        self._logged_keys.update(flat)
        if not self._named and ARM_KEYS[0] in flat:
            init = pending_init(self)
            name = init.get("name") or run_name(flat)
            tags = list(dict.fromkeys([*(str(flat[k]) for k in ARM_KEYS if k in flat), *init.get("tags", [])]))
            run = started_run(self)
            if run is None:
                init.update(name=name, tags=tags)
            else:  # the run already started: rename it
                run.name, run.tags = name, tuple(tags)
            self._named = True
        if flat:
            super().log_hyperparams(flat)


def declare_metrics(run: Any) -> None:
    """Summaries and x-axis of the validation metrics (W&B's `define_metric`)."""
    for key, summary in METRIC_SUMMARIES:
        run.define_metric(key, step_metric=STEP, step_sync=True, **({"summary": summary} if summary else {}))


def wandb_loggers(trainer: L.Trainer) -> list[WandbLogger]:
    return [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]


def finish_wandb(trainer: L.Trainer, failed: bool = False) -> None:
    """End this job's W&B run (a multirun's next job must start a new one); failed runs exit with code 1."""
    for logger in wandb_loggers(trainer):
        run = started_run(logger)
        if run is not None and rank_zero_only.rank == 0:
            run.finish(exit_code=1 if failed else 0)
            forget_run(logger)


def wandb_reference(trainer: L.Trainer) -> dict[str, str | None] | None:
    """{"id", "url"} of this job's W&B run for results.json (url None offline); None without a started run."""
    for logger in wandb_loggers(trainer):
        run = started_run(logger)
        if run is not None and not getattr(run, "disabled", False):
            return {"id": run.id, "url": run.url or None}
    return None
