"""The Lightning and Hydra internals that DDP inside Hydra jobs needs, each behind one function named for what
it does, so that an upgrade that moves one breaks here and nowhere else.

None has a public route. Lightning's `ddp` starts ranks 1..N-1 by re-running the command line through its
script launcher, whose parts (the command of this script, the observer that ends every rank when one dies,
the per-rank thread limit) are private; `HydraJobLauncher` subclasses that launcher to start each child as a
single Hydra run instead. Hydra parses `--config-path/--config-name/--config-dir` with a parser it keeps in
`hydra._internal`. `RunCheckpoint` (training/checkpointing.py) overrides `ModelCheckpoint`'s private
`_save_last_checkpoint`, the one hook that writes last.ckpt. pyproject pins lightning and hydra-core to the
minor versions tested (2.6, 1.3).
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Sequence

from lightning.fabric.strategies.launchers.subprocess_script import _basic_subprocess_cmd, _launch_process_observer
from lightning.fabric.utilities.distributed import _set_num_threads_if_needed
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

ScriptLauncher = _SubprocessScriptLauncher  # Lightning's launcher of `ddp` ranks as re-run scripts


def this_script_command() -> list[str]:
    """The command line that started this process (`python script.py args` or `python -m module args`)."""
    return list(_basic_subprocess_cmd())


def end_all_ranks_when_one_dies(procs: Sequence[subprocess.Popen]) -> None:
    """Lightning's observer thread: when a child rank fails, the others are terminated."""
    _launch_process_observer(list(procs))


def share_cpu_threads_between_ranks(num_processes: int) -> None:
    """Lightning's default torch thread count per rank (CPU cores / ranks) unless the user set OMP_NUM_THREADS."""
    _set_num_threads_if_needed(num_processes=num_processes)


def hydra_config_flags(argv: Sequence[str]) -> argparse.Namespace:
    """`--config-path`, `--config-name` and `--config-dir` of a Hydra command line, parsed as Hydra does."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser().parse_args(list(argv))
