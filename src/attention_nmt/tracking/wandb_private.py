"""The few places where this project needs what Lightning's `WandbLogger` keeps private, each behind one named
function, so that a Lightning upgrade that renames them breaks here and nowhere else.

- `pending_init`: the keyword arguments the logger will pass to `wandb.init` (`_wandb_init`): a run is named
  and tagged from its config before it starts, and Lightning has no public setter for that.
- `started_run` / `forget_run`: the run if it has started (`_experiment`): the public `experiment` property
  would start a run just to finish it, and a multirun's next job must not reuse the finished one.
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
