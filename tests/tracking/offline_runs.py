"""Reading offline W&B runs back with wandb's own CLI (`wandb leet inspect`), as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple


class OfflineRun(NamedTuple):
    folder: Path  # wandb/offline-run-*
    records: list[dict[str, Any]]  # the .wandb transaction log, one dict per record
    summary: dict[str, Any]  # state, config, summary, tags... as `--summary` prints them

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r[kind] for r in self.records if r["type"] == kind]

    def run(self) -> dict[str, Any]:
        """The run's metadata: the first run record, updated by later ones (renames, new tags)."""
        merged: dict[str, Any] = {}
        for record in self.of_type("run"):
            merged.update(record)
        return merged

    def history(self, key: str) -> list[Any]:
        """Every logged value of `key`, in order."""
        return [h["item"][key] for h in self.of_type("history") if key in h["item"]]


def wandb_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "wandb", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def offline_runs(run_dir: Path) -> list[OfflineRun]:
    """Every offline W&B run under a run folder's wandb/ directory."""
    runs = []
    for folder in sorted((run_dir / "wandb").glob("offline-run-*")):
        records = [
            json.loads(line)
            for line in wandb_cli("leet", "inspect", "--json", str(folder)).splitlines()
            if line.strip()
        ]
        summary = json.loads(wandb_cli("leet", "inspect", "--summary", "--json", str(folder)))
        runs.append(OfflineRun(folder, records, summary))
    return runs
