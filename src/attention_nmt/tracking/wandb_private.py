"""The few places where this project needs what Lightning's `WandbLogger` or W&B keep private, each behind one
named function, so that an upgrade that renames them breaks here and nowhere else.

- `pending_init`: the keyword arguments the logger will pass to `wandb.init` (`_wandb_init`): a run is named
  and tagged from its config before it starts, and Lightning has no public setter for that.
- `started_run` / `forget_run`: the run if it has started (`_experiment`): the public `experiment` property
  would start a run just to finish it, and a multirun's next job must not reuse the finished one.
- `wandb_settings`: W&B's settings as W&B resolves them (settings files, environment), the way its own
  `wandb offline` command reads them; the public `wandb.setup()` would also start W&B's service process (and
  name it in `WANDB_SERVICE`, which every child process inherits) just to read one setting.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import WandbLogger


def pending_init(logger: WandbLogger) -> dict[str, Any]:
    """The (mutable) keyword arguments for `wandb.init`; changes take effect if the run has not started."""
    return logger._wandb_init


def started_run(logger: WandbLogger) -> Any | None:
    """The logger's W&B run if it has started, without starting one."""
    return logger._experiment


def forget_run(logger: WandbLogger) -> None:
    """Drop the logger's (finished) run, so nothing logs into it again."""
    logger._experiment = None


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
