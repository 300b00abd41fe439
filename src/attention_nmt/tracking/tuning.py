"""An equal tuning budget for every arm: the tuned values a recipe reads, and the record a tuning sweep writes.

`experiment=bottleneck_tune` gives every arm the same trials (a grid over the same learning rates, the same
seed, the headline's budget), chosen on validation BLEU only: the test split is never decoded. When its last
trial has finished, `TuningRecord` reads every trial folder of the sweep (`.hydra/overrides.yaml` for the
values tried, `csv/**/metrics.csv` for the learning curve) and writes, in the sweep folder:

- `tuning.json` and `tuning.md`: per arm, every trial's values, best validation BLEU (and its update), the last
  validation BLEU and the attention health at the end; the chosen values (the best validation BLEU);
- `tuned.yaml`: the chosen values in the form of `conf/tuned/<experiment>.yaml`, saying which command chose
  them, when and where, to be copied there (a sweep never edits the repository's configs itself).

`TunedConfig` is the schema of that file's `tuned:` node, which the headline's recipe interpolates
(`optim.lr: ${tuned.arms.${attention.name}.lr}`), so each arm reads its values from one place.
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import shlex
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import MISSING, DictConfig, OmegaConf

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.results import write_text_atomically
from attention_nmt.machine import cpu_info

log = logging.getLogger(__name__)

TUNED_KEYS = {"optim.lr": "lr"}  # sweep parameter -> key under tuned.arms.<arm>


@dataclass
class TunedArm:
    lr: float = MISSING  # optim.lr


@dataclass
class TunedConfig:
    """`tuned:` in conf/tuned/<experiment>.yaml: each arm's chosen values and where they came from."""

    command: str = MISSING  # the tuning command
    date: str = MISSING  # when it ran (ISO date)
    machine: str = MISSING  # the CPU/GPU it ran on
    record: str = MISSING  # where its record (tuning.md, every trial) is committed
    selection: str = "best validation BLEU of each arm (val/bleu_best); the test split is never decoded"
    arms: dict[str, TunedArm] = field(default_factory=dict)


def missing_tuned(cfg: DictConfig) -> list[str]:
    """The keys (`optim.lr`) that would read tuned values (conf/tuned/) this run's arm does not have: a new arm
    in a recipe that trains every arm at its tuned values, unless the command line sets the key itself."""
    tuned = OmegaConf.select(cfg, "tuned")
    if tuned is None or cfg.attention.name in tuned.arms:
        return []
    return [key for key in TUNED_KEYS if OmegaConf.is_interpolation(*_parent_and_leaf(cfg, key))]


def check_tuned(cfg: DictConfig) -> None:
    """A `ConfigError` naming `tuned.arms.<arm>` and what to do where `missing_tuned` finds keys."""
    reading, arm, tuned = missing_tuned(cfg), cfg.attention.name, OmegaConf.select(cfg, "tuned")
    if reading:
        raise ConfigError(
            f"tuned.arms.{arm}: conf/tuned/ has no tuned values for attention={arm} (it has "
            f"{', '.join(tuned.arms) or 'none'}), and this recipe trains every arm at its own tuned "
            f"{', '.join(reading)}. Give the arm the same tuning budget as the others (python train.py "
            "experiment=bottleneck_tune, then copy the sweep's tuned.yaml to conf/tuned/bottleneck.yaml), or "
            f"set {reading[0]}=<value> on the command line."
        )


def _parent_and_leaf(cfg: DictConfig, key: str) -> tuple[DictConfig, str]:
    parent, _, leaf = key.rpartition(".")
    return (OmegaConf.select(cfg, parent) if parent else cfg), leaf


@dataclass
class Trial:
    arm: str
    values: dict[str, float]  # tuned key (lr) -> value tried
    best_bleu: float  # best validation BLEU
    best_step: int
    last_bleu: float
    health: dict[str, float]  # val/attn_* at the last validation (empty for `none`)
    folder: str


def read_trial(folder: Path) -> Trial | None:
    """A finished trial from its folder; None where it has no validation yet (failed or still running)."""
    overrides = dict(
        line.split("=", 1) for line in yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []
    )
    metrics = sorted(folder.glob("csv/**/metrics.csv"))
    rows = [r for path in metrics for r in csv.DictReader(path.open()) if r.get("val/bleu")]
    if not rows or "attention" not in overrides:
        return None
    best = max(rows, key=lambda r: float(r["val/bleu"]))
    health = {k.removeprefix("val/"): float(v) for k, v in rows[-1].items() if k.startswith("val/attn_") and v}
    return Trial(
        arm=overrides["attention"],
        values={key: float(overrides[param]) for param, key in TUNED_KEYS.items() if param in overrides},
        best_bleu=float(best["val/bleu"]),
        best_step=int(best["step"]) + 1,
        last_bleu=float(rows[-1]["val/bleu"]),
        health=health,
        folder=folder.name,
    )


def chosen(trials: list[Trial]) -> dict[str, Trial]:
    """Each arm's trial with the best validation BLEU (ties: the first in sweep order)."""
    best: dict[str, Trial] = {}
    for trial in trials:
        if trial.arm not in best or trial.best_bleu > best[trial.arm].best_bleu:
            best[trial.arm] = trial
    return best


def tuned_yaml(best: dict[str, Trial], command: str, machine: str, record: str) -> str:
    """conf/tuned/<experiment>.yaml for these choices."""
    tuned = {
        "command": command,
        "date": date.today().isoformat(),
        "machine": machine,
        "record": record,
        "arms": {arm: trial.values for arm, trial in sorted(best.items())},
    }
    header = (
        "# @package _global_\n# Each arm's tuned values, chosen on validation BLEU by the command below (written by "
        "its TuningRecord).\n# Recipes that include this file train every arm at its own values.\n"
    )
    body = yaml.safe_dump({"tuned": tuned}, sort_keys=False)
    return header + body + "optim:\n  lr: ${tuned.arms.${attention.name}.lr}\n"


def tuning_markdown(trials: list[Trial], best: dict[str, Trial]) -> str:
    lines = ["# Tuning record", "", "Chosen on validation BLEU only (best per arm, marked *); test never decoded.", ""]
    for arm in sorted({t.arm for t in trials}):
        lines += [
            f"## {arm}",
            "",
            "| "
            + " | ".join(
                [
                    *TUNED_KEYS.values(),
                    "best val BLEU",
                    "at update",
                    "last val BLEU",
                    "entropy (norm.)",
                    "max weight",
                    "mean abs score",
                    "trial",
                ]
            )
            + " |",
            "|" + "---:|" * (len(TUNED_KEYS) + 7),
        ]
        for t in sorted((t for t in trials if t.arm == arm), key=lambda t: tuple(t.values.values())):
            mark = "*" if t is best[arm] else ""
            health = [t.health.get(k) for k in ("attn_entropy_norm", "attn_max_weight", "attn_score_mean_abs")]
            cells = [
                *(f"{v:.3g}" for v in t.values.values()),
                f"{t.best_bleu:.2f}{mark}",
                str(t.best_step),
                f"{t.last_bleu:.2f}",
                *("no weights" if v is None else f"{v:.3f}" for v in health),
                t.folder,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def machine_name() -> str:
    return cpu_info()[0] or platform.machine()


def write_record(sweep_dir: Path, command: str, record: str) -> list[Trial]:
    """tuning.json, tuning.md and tuned.yaml in `sweep_dir` from its finished trials; returns them."""
    trials = [
        t
        for folder in sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
        if (t := read_trial(folder)) is not None
    ]
    if not trials:
        log.warning("No finished trial in %s: no tuning record written.", sweep_dir)
        return []
    best = chosen(trials)
    machine = machine_name()
    record_json = {
        "command": command,
        "machine": machine,
        "trials": [vars(t) for t in trials],
        "chosen": {arm: t.values for arm, t in best.items()},
    }
    write_text_atomically(sweep_dir / "tuning.json", json.dumps(record_json, indent=1))
    write_text_atomically(sweep_dir / "tuning.md", tuning_markdown(trials, best))
    write_text_atomically(sweep_dir / "tuned.yaml", tuned_yaml(best, command, machine, record))
    return trials


class TuningRecord(Callback):
    """Hydra callback of the tuning experiments: the record of the sweep once its trials have finished."""

    def __init__(self, record: str) -> None:
        self.record = record  # where the record is to be committed, named in tuned.yaml

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        command = "python train.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        try:
            trials = write_record(sweep_dir, command, self.record)
        except Exception as e:  # the trials are complete; never fail the finished sweep over its summary
            log.error("The tuning record of %s failed (%s: %s).", sweep_dir, type(e).__name__, e)
            return
        if trials:
            log.info("Tuning record: %s (tuning.md; tuned.yaml goes to conf/tuned/)", sweep_dir / "tuning.md")
