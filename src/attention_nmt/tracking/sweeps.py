"""W&B sweep files as Hydra multiruns: one grid, two ways to run it.

`python -m attention_nmt.tracking.sweeps sweeps/bottleneck.yaml` prints the `train.py -m ...` command that runs
the sweep file's grid locally (no W&B account needed); `--run` runs it, with any extra Hydra overrides
appended. Each job then logs its own W&B run, grouped under the sweep's experiment name. `--wandb` creates the
W&B sweep instead (`wandb sweep`) from the file as loaded.

A parameter whose `values` is the string "${arms:}" sweeps every registered attention arm (`model/arms/`, the
same list as the experiment configs' `${arms:}`): loading a sweep file writes the list out, so a new arm joins
the sweep without an edit here. W&B itself would not expand it: create such a sweep with `--wandb`.

Only grid sweeps translate: random and bayes sweeps draw their values on the W&B server (locally, the
Optuna sweeper does that job: `hparams_search=optuna`).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms import arm_names

HYDRA_SPECIAL = set(" ,[]{}()'\"=:\\")
EVERY_ARM = "${arms:}"  # as `values` of a parameter: every registered attention arm


def load_sweep(path: Path) -> dict[str, Any]:
    """The sweep file as a dict; a clear error if it is missing or not a mapping with parameters."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such sweep file (see sweeps/README.md for the shipped ones).")
    try:
        sweep = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{path}: not valid YAML ({error}). Quote W&B macros in flow lists, or write the "
            "command as a block list (one `- item` per line)."
        ) from None
    if not isinstance(sweep, dict) or not isinstance(sweep.get("parameters"), dict):
        raise ConfigError(f"{path}: not a W&B sweep configuration (a mapping with `method` and `parameters`).")
    for spec in sweep["parameters"].values():
        if isinstance(spec, dict) and spec.get("values") == EVERY_ARM:
            spec["values"] = arm_names()
    return sweep


def hydra_value(value: Any) -> str:
    """A parameter value in Hydra's override grammar (quoted where the grammar needs it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    text = str(value)
    return "'" + text.replace("'", "\\'") + "'" if HYDRA_SPECIAL & set(text) else text


AGENT_ONLY = ("hydra.mode=",)  # one grid point per agent process; a local multirun sets its own mode


def fixed_arguments(sweep: dict[str, Any]) -> list[str]:
    """The command's own arguments: everything but W&B's ${...} macros and what only the W&B agent needs
    (`hydra.mode=RUN`, which keeps an experiment config's multirun from starting inside an agent's run)."""
    return [
        str(a) for a in sweep.get("command", []) if not str(a).startswith("${") and not str(a).startswith(AGENT_ONLY)
    ]


def multirun_overrides(sweep: dict[str, Any], path: Path) -> list[str]:
    """The Hydra multirun overrides (`key=v1,v2` per parameter, then the fixed ones) of a grid sweep."""
    if sweep.get("method") != "grid":
        raise ConfigError(
            f"{path}: method={sweep.get('method')} draws its values on the W&B server; only grid "
            "sweeps run as a Hydra multirun. Run it with `wandb sweep` + `wandb agent`, or search "
            "locally with `python train.py -m hparams_search=optuna`."
        )
    overrides = []
    for name, spec in sweep["parameters"].items():
        if "values" in spec:
            overrides.append(f"{name}=" + ",".join(hydra_value(v) for v in spec["values"]))
        elif "value" in spec:
            overrides.append(f"{name}={hydra_value(spec['value'])}")
        else:
            raise ConfigError(f"{path}: parameter {name} has no `values` or `value`; a grid needs a finite list.")
    return overrides + fixed_arguments(sweep)


def multirun_command(path: Path, extra: Sequence[str] = ()) -> list[str]:
    """[python, train.py, -m, overrides..., extra...] for the sweep file at `path`."""
    sweep = load_sweep(path)
    program = sweep.get("program", "train.py")
    return [sys.executable, program, "-m", *multirun_overrides(sweep, path), *extra]


def create_wandb_sweep(path: Path, extra: Sequence[str] = ()) -> int:
    """`wandb sweep` on the sweep file as loaded (arm lists written out), with `extra` options for it."""
    with tempfile.TemporaryDirectory() as folder:
        loaded = Path(folder) / path.name
        loaded.write_text(yaml.safe_dump(load_sweep(path), sort_keys=False), encoding="utf-8")
        return subprocess.call(["wandb", "sweep", *extra, str(loaded)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attention_nmt.tracking.sweeps", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sweep_file", type=Path, help="a W&B sweep YAML with method: grid, e.g. sweeps/bottleneck.yaml")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every job, e.g. trainer.max_steps=100")
    parser.add_argument("--run", action="store_true", help="run the multirun instead of printing it")
    parser.add_argument("--wandb", action="store_true", help="create the W&B sweep (wandb sweep) instead")
    parser.add_argument("--project", help="with --wandb: the W&B project, instead of the file's")
    parser.add_argument("--entity", help="with --wandb: the W&B entity (user or team)")
    args = parser.parse_intermixed_args(argv)
    try:
        if args.wandb:
            options = [f"--{key}={value}" for key in ("project", "entity") if (value := getattr(args, key))]
            return create_wandb_sweep(args.sweep_file, options)
        command = multirun_command(args.sweep_file, args.overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.run:
        print(shlex.join(["python", *command[1:]]))
        return 0
    if not Path(command[1]).is_file():
        print(f"error: {command[1]} not found: run from the project's root folder.", file=sys.stderr)
        return 2
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
