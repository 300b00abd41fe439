"""Weights & Biases: which mode a run gets, the logger with this project's conventions, and the few private
parts of Lightning's `WandbLogger` and of W&B it needs.

Mode. W&B decides by itself from, in this order: `WANDB_MODE`, the settings file that `wandb offline` /
`wandb disabled` write (`./wandb/settings`, or the global `~/.config/wandb/settings`), and otherwise online. So a
mode is passed to `wandb.init` only when the user asked for one (`logger.wandb.mode=`) or nothing else decides:
no `WANDB_MODE`, no mode in a settings file and no credentials, where W&B's own default (online) would stop
to ask for a login; this project then runs offline, writing `<run folder>/wandb/offline-run-*` for `wandb sync`.

`TrackedWandbLogger` is Lightning's `WandbLogger` with this project's conventions:
- files: every file of the run in `<run folder>/wandb/`, also from a rank that `ddp_spawn` started (which
  joins the run through `wandb._attach` and would otherwise put its media under `./wandb` of the working
  directory, outside the run folder and outside what `wandb sync` uploads).
- group: the experiment name, else the Hydra multirun folder, so a sweep's jobs sit together; job_type
  says train / evaluate / report; tags are the attention arm, encoder and dataset.
- config: flattened to dotted keys (`attention.name`, `data.max_train_len`, `seed`) so the run table can
  filter and group by them. The task's own config is logged first and wins: the module's stored
  hyperparameters, which Lightning logs later, only add keys (an evaluate job's `decoding.beam_size=5` stays 5).
- metrics: `val/bleu` is summarised by its maximum, `val/loss` by its minimum, all against `trainer/global_step`.
- `log_model` works offline too: Lightning refuses `offline=True` with `log_model`, so the mode is
  passed to `wandb.init` instead and the artifact is written to the offline run for a later sync.

Private parts, each behind one named function so that an upgrade that renames them breaks here and nowhere
else: `pending_init` (the keyword arguments the logger will pass to `wandb.init`: a run is named and tagged
from its config before it starts, and Lightning has no public setter for that); `started_run` / `forget_run`
(the run if it has started: the public `experiment` property would start a run just to finish it, and a
multirun's next job must not reuse the finished one); `attach_id` (the run a spawned rank joins);
`wandb_settings` (W&B's settings as W&B resolves them, the way its own `wandb offline` command reads them: the
public `wandb.setup()` would also start W&B's service process, and name it in `WANDB_SERVICE`, which every
child process inherits, just to read one setting).
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import lightning as L
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

W_AND_B_DEFAULT = "online"  # what wandb.init does when nothing says otherwise


def wandb_mode(requested: str | None = None, env: Mapping[str, str] = os.environ) -> str | None:
    """The `mode` to pass to `wandb.init`: `requested` when given; None when W&B's own settings decide
    (`WANDB_MODE`, a settings-file mode, or credentials for online); else "offline"."""
    if requested:
        return requested
    if env.get("WANDB_MODE") or settings_file_mode() is not None or has_wandb_credentials(env):
        return None
    return "offline"


def effective_mode(requested: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """The mode the run will get: ours when we pass one, else W&B's own decision."""
    return wandb_mode(requested, env) or env.get("WANDB_MODE") or settings_file_mode() or W_AND_B_DEFAULT


def settings_file_mode() -> str | None:
    """The mode `wandb offline` / `wandb disabled` saved in W&B's settings files, as W&B itself reads them (with
    `WANDB_MODE` layered on top, which callers check first); None when the files set none."""
    mode = wandb_settings().mode
    return None if mode == W_AND_B_DEFAULT else mode


def has_wandb_credentials(env: Mapping[str, str] = os.environ) -> bool:
    """An API key in `WANDB_API_KEY`, or the netrc entry `wandb login` writes; read locally, no network."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    try:
        entries = netrc.netrc(env.get("NETRC") or None).hosts
    except (OSError, netrc.NetrcParseError):
        return False
    return host in entries or any("wandb" in machine for machine in entries)


# ---- private parts of Lightning's WandbLogger and of W&B (module docstring) ------------------------------
def pending_init(logger: WandbLogger) -> dict[str, Any]:
    """The (mutable) keyword arguments for `wandb.init`; changes take effect if the run has not started."""
    return logger._wandb_init


def started_run(logger: WandbLogger) -> Any | None:
    """The logger's W&B run if it has started, without starting one."""
    return logger._experiment


def forget_run(logger: WandbLogger) -> None:
    """Drop the logger's (finished) run, so nothing logs into it again."""
    logger._experiment = None


def attach_id(logger: WandbLogger) -> str | None:
    """The run a rank started by `ddp_spawn` joins (the pickled logger carries it), or None."""
    return getattr(logger, "_attach_id", None)


def wandb_settings() -> Any:
    """W&B's global settings (settings files and environment), loaded without starting its service. W&B keeps
    what it loads for the rest of the process, so when nothing had loaded them yet they are dropped again
    (`wandb.teardown`): a later `wandb.init` then reads the environment as it is by then."""
    import wandb
    from wandb.sdk import wandb_setup

    loaded = wandb_setup._singleton is not None
    settings = wandb_setup._setup(start_service=False).settings
    if not loaded:
        wandb.teardown()
    return settings


# ---- the logger ---------------------------------------------------------------------------------------
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
        if started_run(self) is None and attach_id(self) is not None and rank_zero_only.rank == 0:
            import wandb

            # A rank started by ddp_spawn joins the parent's run with this process's own W&B settings, whose
            # root is the working directory: root them in the run folder, where the run itself writes.
            wandb.setup(wandb.Settings(root_dir=self.save_dir))
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
