"""A multirun in which one job fails (here: a corpus with a malformed line) still runs the others, records the
failure in that job's folder and in the sweep's failures.json, prints the one-line message naming file and
line, and exits non-zero; the failed job leaves no results."""

from __future__ import annotations

import json

import pytest

from attention_nmt.evaluation.results import RunResults
from tests.conftest import TINY, run_script


@pytest.mark.parametrize("launcher", ["basic", "side_by_side"])  # one at a time; two at a time (the headline's)
def test_failing_job_is_recorded_and_the_others_still_run(tmp_path, launcher):
    bad, good = tmp_path / "bad.tsv", tmp_path / "good.tsv"
    bad.write_text("uno\tone\ndos two\ntres\tthree\n", encoding="utf-8")
    good.write_text("".join(f"uno dos {i}\tone two {i}\n" for i in range(100)), encoding="utf-8")
    model_and_trainer = [o for o in TINY if not o.startswith("data") and o != "trainer.max_steps=4"]
    sweep = tmp_path / "multirun"
    done = run_script(
        "train.py",
        [
            "-m",
            f"data.path={bad},{good}",
            "data=local",
            "data.batch_size=16",
            *model_and_trainer,
            "trainer.max_steps=2",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={sweep}",
            f"hydra/launcher={launcher}",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode != 0  # the exit status says that a job failed
    message = f"{bad}:2: expected 2 tab-separated columns (source<TAB>target), found 1"
    assert any(line.startswith(message) for line in done.stderr.splitlines())  # the message alone, no traceback
    assert "Traceback" not in done.stderr
    first, second = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert first.name.startswith("0_") and second.name.startswith("1_")

    failed = json.loads((first / "failed.json").read_text())
    assert failed["error"] == "DataFormatError" and failed["message"].startswith(message)
    assert f"data.path={bad}" in failed["overrides"] and failed["job"]["num"] == 0
    assert "DataFormatError" in failed["traceback"].splitlines()[-1]
    assert not (first / "results.json").exists() and not (first / "checkpoints").exists()

    results = RunResults.read(second / "results.json")  # the job after the failure ran to the end
    assert results.config["data"]["path"] == str(good) and results.test.n == 5
    assert not (second / "failed.json").exists()

    summary = json.loads((sweep / "failures.json").read_text())
    assert [(f["folder"], f["error"]) for f in summary] == [(first.name, "DataFormatError")]
    assert f"{first}/failed.json" in done.stdout + done.stderr


def test_failures_json_lands_in_a_sweep_folder_named_by_the_time(tmp_path):
    """Hydra's default sweep folder holds `${now:...}`, which resolves anew on every read: the record of a failed
    job must still go to the folder the sweep was written to, not to one named by the moment the job ended."""
    bad = tmp_path / "bad.tsv"
    bad.write_text("uno\tone\ndos two\n", encoding="utf-8")
    model_and_trainer = [o for o in TINY if not o.startswith("data") and o != "trainer.max_steps=4"]
    done = run_script(
        "train.py",
        [
            "-m",
            f"data.path={bad}",
            "data=local",
            *model_and_trainer,
            "trainer.max_steps=2",
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun/" + "${now:%H-%M-%S-%f}",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode != 0
    (sweep,) = (tmp_path / "multirun").iterdir()  # one folder: the record did not make a second one
    summary = json.loads((sweep / "failures.json").read_text())
    assert [f["error"] for f in summary] == ["DataFormatError"]
