"""Failed jobs leave a record: `failed.json` in the job's folder and `failures.json` in the sweep folder.

`RecordFailures` is a Hydra callback (registered in conf/hydra/default.yaml). Hydra's `run_job` catches
an exception raised by a job, so the other jobs of a multirun still run, and the basic sweeper re-raises
the first failure after the batch, so the process exits non-zero. This callback adds what a user (or
report.py) needs afterwards: for every failed job a `failed.json` (error type, message, traceback,
overrides, job number, time; under SLURM the job's id and log files), written atomically; a job that later
succeeds in the same folder removes its stale record. In a multirun, `failures.json` in the sweep folder lists
every failed job; it is
rebuilt after each job (under a `filelock` lock, so concurrent jobs of a parallel launcher cannot lose an
entry), because Hydra skips `on_multirun_end` when a job has failed.

A config error found while Hydra composes the jobs (unknown key, wrong type) stops the whole sweep
before any job starts, so nothing is lost; values that only the typed config rejects (e.g.
`model.dropout=1.5`) and crashes fail their own job.
"""

from __future__ import annotations

import datetime
import json
import logging
import traceback
from pathlib import Path
from typing import Any

from filelock import FileLock
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from attention_nmt.evaluation.results import write_text_atomically
from attention_nmt.tracking.user_errors import original_error
from attention_nmt.training.slurm import slurm_job

log = logging.getLogger(__name__)

FAILED = "failed.json"
SWEEP_FAILURES = "failures.json"


def write_json_atomically(path: Path, data: Any) -> None:
    """JSON via a temporary file and rename, so a reader never sees half a record."""
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def failure_record(error: BaseException, overrides: list[str], job: dict[str, Any]) -> dict[str, Any]:
    """What failed.json holds for one failed job (`slurm_job`: {"id", "stdout", "stderr"} as in results.json,
    None outside SLURM)."""
    return {
        "status": "failed",
        "error": type(error).__name__,
        "message": str(error),
        "traceback": "".join(traceback.format_exception(error)),
        "overrides": list(overrides),
        "job": job,
        "slurm_job": slurm_job(),
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
    }


class RecordFailures(Callback):
    """Hydra callback: failed.json per failed job, failures.json per multirun."""

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        hydra_cfg = job_return.hydra_cfg.hydra if job_return.hydra_cfg is not None else config.hydra
        out_dir = Path(hydra_cfg.runtime.output_dir)
        record = out_dir / FAILED
        if job_return.status == JobStatus.FAILED:
            error = original_error(job_return._return_value)  # the named error, not its one-line wrapper
            job = {"num": hydra_cfg.job.get("num"), "name": hydra_cfg.job.name, "output_dir": str(out_dir)}
            out_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomically(record, failure_record(error, job_return.overrides or [], job))
            log.error(
                "Job failed (%s: %s); error, traceback and overrides are in %s", type(error).__name__, error, record
            )
        else:
            record.unlink(missing_ok=True)  # this folder's earlier failure was resumed or rerun successfully
        if hydra_cfg.mode == RunMode.MULTIRUN:
            summarize_sweep(sweep_dir_of(out_dir))


def sweep_dir_of(job_dir: Path) -> Path:
    """The sweep folder of a job: the nearest folder above the job's that holds Hydra's `multirun.yaml` (each
    launcher writes it there when the sweep starts), else the job folder's parent.

    Not `hydra.sweep.dir`: its default holds `${now:...}`, which resolves anew on every read, so at the end of a
    job it names a folder of that moment, not the sweep's."""
    for folder in job_dir.parents:
        if (folder / "multirun.yaml").is_file():
            return folder
    return job_dir.parent


def summarize_sweep(sweep_dir: Path) -> list[dict[str, Any]]:
    """Rewrite `sweep_dir/failures.json` from the jobs' failed.json files (removed when none failed)."""
    with FileLock(sweep_dir / ".failures.lock"):  # portable (Windows too), unlike fcntl
        failed = []
        for path in sorted(sweep_dir.glob(f"*/{FAILED}")):
            record = json.loads(path.read_text(encoding="utf-8"))
            failed.append(
                {
                    "folder": path.parent.name,
                    "overrides": record["overrides"],
                    "error": record["error"],
                    "message": record["message"],
                    "slurm_job": record.get("slurm_job"),  # the SLURM job's id and log files (older records: none)
                }
            )
        summary = sweep_dir / SWEEP_FAILURES
        if failed:
            write_json_atomically(summary, failed)
        else:
            summary.unlink(missing_ok=True)
    return failed
