"""Finding and reading finished runs: which folders are runs, whether each finished, failed or stopped
short, and what it translated.

A run folder holds `results.json` (a `RunResults`) + `hypotheses.tsv`, written by the test pass
(`tasks/final_test.py`), when it finished; `failed.json` when the task caught an exception (a results.json
written after it means the job was rerun and finished); only `.hydra/` when it was killed or is still running.
Every folder found is returned with its status, so the report can list the ones it cannot use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.results import ResultsFormatError, RunResults, read_hypotheses
from attention_nmt.tracking.wandb_logger import flatten_config

OK, FAILED, INCOMPLETE = "finished", "failed", "incomplete"
RUN_MARKERS = ("results.json", "failed.json", ".hydra")
SKIPPED = ("report", "wandb")  # folders never searched for runs
FAILURE_FIELDS = ("error", "message", "exception")  # the first present explains a failed.json


class ReportError(ConfigError):
    """The report cannot be made from the folders given; the message says which and why."""


@dataclass
class Run:
    """One run folder. `rows` are hypotheses.tsv rows (src_words, source, reference, hypothesis)."""

    path: Path
    status: str  # OK, FAILED or INCOMPLETE
    reason: str = ""  # why a run is not OK, in words
    results: RunResults | None = None  # None unless results.json was readable
    rows: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # flat: {"attention.name": "additive", ...}

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def seed(self) -> int | None:
        return self.config.get("seed")

    @property
    def attention(self) -> str:
        return str(self.config.get("attention.name", "?"))


def is_run_folder(path: Path) -> bool:
    return any((path / marker).exists() for marker in RUN_MARKERS)


def find_run_folders(paths: Iterable[Path]) -> list[Path]:
    """Run folders among `paths`: each path is a run folder itself, or a folder (e.g. a Hydra multirun) searched
    recursively for them. Report folders and W&B folders are skipped; a path that does not exist is an error."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise ReportError(
                f"{path}: no such folder. Give a multirun folder (outputs/multirun/<date>/<time>) "
                "or run folders that hold results.json."
            )
        if is_run_folder(path):
            found.append(path)
            continue
        for sub in sorted(path.rglob("*")):
            if sub.is_dir() and is_run_folder(sub) and not _inside_run_or_skipped(sub, path):
                found.append(sub)
    return list(dict.fromkeys(p.resolve() for p in found))


def _inside_run_or_skipped(folder: Path, root: Path) -> bool:
    """True for folders below another run folder (checkpoints/, csv/...) or in a report/ or wandb/ folder."""
    relative = folder.relative_to(root)
    if any(part in SKIPPED for part in relative.parts):
        return True
    return any(is_run_folder(root / above) for above in list(relative.parents)[:-1])


def read_run(path: Path) -> Run:
    """The run in `path` with its status; never raises for a broken run, which is returned as failed/incomplete."""
    failed, results_path, hyps_path = path / "failed.json", path / "results.json", path / "hypotheses.tsv"
    if failed.exists() and not (results_path.exists() and results_path.stat().st_mtime > failed.stat().st_mtime):
        return Run(path, FAILED, _failure_reason(failed), config=_hydra_config(path))  # unless rerun since
    if not results_path.exists():
        return Run(
            path,
            INCOMPLETE,
            "no results.json (killed, still running, or trained with test=false)",
            config=_hydra_config(path),
        )
    try:
        results = RunResults.read(results_path)
    except ResultsFormatError as e:
        return Run(path, INCOMPLETE, f"results.json unreadable ({e})")
    except OSError as e:
        return Run(path, INCOMPLETE, f"results.json unreadable ({type(e).__name__}: {e})")
    config = flatten_config(run_config(results))
    if not hyps_path.exists():
        return Run(path, INCOMPLETE, "results.json but no hypotheses.tsv", results, config=config)
    try:
        rows = read_hypotheses(hyps_path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Run(path, INCOMPLETE, f"hypotheses.tsv unreadable ({type(e).__name__}: {e})", results, config=config)
    if len(rows) != results.test.n:
        return Run(
            path,
            INCOMPLETE,
            f"hypotheses.tsv has {len(rows)} rows but results.json counts {results.test.n} test sentences",
            results,
            config=config,
        )
    return Run(path, OK, "", results, rows, config)


def run_config(results: RunResults) -> dict[str, Any]:
    """The config that made the translations: a train run's own; for an evaluate run, the checkpoint's
    model/encoder/attention/data (`trained_with`) overlaid by the evaluate config's non-null values."""
    config = dict(results.config or {})
    trained_with = results.trained_with or {}
    merged = {**trained_with, **{k: v for k, v in config.items() if v is not None}}
    merged.setdefault("decoding", results.decoding)
    return merged


def _failure_reason(path: Path) -> str:
    try:
        failure = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"failed.json unreadable ({type(e).__name__})"
    if isinstance(failure, dict):
        for key in FAILURE_FIELDS:
            if failure.get(key):
                return f"failed: {failure[key]}"
    return "failed (failed.json gives no error message)"


def _hydra_config(path: Path) -> dict[str, Any]:
    """The flat config of a run without results, from .hydra/config.yaml when readable (for its arm and seed)."""
    config_path = path / ".hydra" / "config.yaml"
    if not config_path.exists():
        return {}
    try:
        from omegaconf import OmegaConf

        raw = OmegaConf.to_container(OmegaConf.load(config_path), resolve=False)
    except Exception:  # a half-written or hand-edited YAML must not stop the report
        return {}
    return flatten_config(raw) if isinstance(raw, dict) else {}


def collect(paths: Iterable[Path]) -> list[Run]:
    """Every run under `paths`, read. Raises ReportError when no run folder is found at all."""
    paths = list(paths)
    folders = find_run_folders(paths)
    if not folders:
        raise ReportError(
            f"No run folders under {', '.join(map(str, paths))}: a run folder holds results.json, "
            "failed.json or .hydra/."
        )
    return [read_run(folder) for folder in folders]
