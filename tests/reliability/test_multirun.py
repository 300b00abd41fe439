"""A multirun in which one job fails still runs the others, records the failure in that job's folder and in
the sweep's failures.json, and exits non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def test_failing_job_is_recorded_and_the_others_still_run(tmp_path):
    tiny = [o for o in TINY if o not in ("logger=none", "trainer.max_steps=4")]
    sweep = tmp_path / "multirun"
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), "-m", "model.dropout=1.5,0.1", *tiny,
                           "trainer.max_steps=2", "logger=none", f"paths.cache_dir={tmp_path}/cache",
                           f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0  # the exit status says that a job failed
    first, second = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert first.name.startswith("0_") and second.name.startswith("1_")

    failed = json.loads((first / "failed.json").read_text())
    assert failed["error"] == "ConfigError" and failed["message"].startswith("model.dropout=1.5: must lie in")
    assert "model.dropout=1.5" in failed["overrides"] and failed["job"]["num"] == 0
    assert "ConfigError" in failed["traceback"].splitlines()[-1]
    assert not (first / "results.json").exists()

    results = json.loads((second / "results.json").read_text())  # the job after the failure ran to the end
    assert results["config"]["model"]["dropout"] == 0.1 and results["test"]["n"] == 40
    assert not (second / "failed.json").exists()

    summary = json.loads((sweep / "failures.json").read_text())
    assert [(f["folder"], f["error"]) for f in summary] == [(first.name, "ConfigError")]
    assert f"{first}/failed.json" in done.stdout + done.stderr
