"""results.json as `RunResults`: what the test pass writes is what every reader gets back, old files read as
version 1, and a file that is not a RunResults is refused naming the file and the key."""

import dataclasses
import json
from pathlib import Path

import pytest

from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RESULTS_VERSION, BucketScores, ResultsFormatError, RunResults

PREMOVE = Path(__file__).resolve().parents[1] / "fixtures" / "premove" / "results.json"


def _scored() -> RunResults:
    metric = BucketedBLEU([3, 6], chrf=True)
    metric.update(["a b c", "d e f g h", "x"], ["a b c", "d e f g i", "y"], [3, 5, 9])
    return RunResults.from_dict(
        {
            "config": {"seed": 1},
            "num_parameters": 12,
            "decoding": {"beam_size": 1},
            "bleu_signature": metric.signature(),
            "test": metric.compute(),
            "global_step": 7,
        }
    )


def test_what_is_written_reads_back_equal_and_typed(tmp_path):
    results = _scored()
    results.write(tmp_path / "results.json")
    again = RunResults.read(tmp_path / "results.json")
    assert again == results and again.version == RESULTS_VERSION
    assert [b.label for b in again.test.buckets] == ["1-3", "4-6", "7+"]
    assert isinstance(again.test.buckets[0], BucketScores) and again.test.buckets[0].chrf == pytest.approx(100.0)
    assert again.test.n == 3 and again.global_step == 7 and again.trained_with is None
    assert json.loads((tmp_path / "results.json").read_text())["version"] == RESULTS_VERSION


def test_a_file_from_before_the_version_field_reads_as_version_1():
    assert "version" not in json.loads(PREMOVE.read_text())
    old = RunResults.read(PREMOVE)
    assert old.test.n == 20 and old.test.aer is not None and old.test.aer.buckets[0].label == "1-10"
    assert old.global_step == 2 and old.config["attention"]["name"] == "additive"


def test_a_version_2_file_reads_without_a_slurm_job_and_a_new_one_keeps_it(tmp_path):
    values = dataclasses.asdict(_scored())
    del values["slurm_job"]
    (tmp_path / "v2.json").write_text(json.dumps({**values, "version": 2}))
    assert RunResults.read(tmp_path / "v2.json").slurm_job is None
    job = {"id": "7_1", "stdout": "/sweep/.submitit/7_1/7_1_0_log.out", "stderr": "/sweep/.submitit/7_1/7_1_0_log.err"}
    dataclasses.replace(_scored(), slurm_job=job).write(tmp_path / "v3.json")
    assert RunResults.read(tmp_path / "v3.json").slurm_job == job


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(version=RESULTS_VERSION + 1), f"version={RESULTS_VERSION + 1}.*newer"),
        (lambda d: d.update(bleu_sigature="x"), r"unknown key\(s\) bleu_sigature"),
        (lambda d: d["test"]["buckets"][1].pop("n"), r"test.buckets\[1\]: no `n`"),
        (lambda d: d.pop("test"), "no `test`"),
        (lambda d: d["test"].update(buckets="1-10"), r"test.buckets\[0\]: holds a str"),
    ],
)
def test_a_file_that_is_not_a_run_results_is_refused_by_name(tmp_path, change, message):
    values = dataclasses.asdict(_scored())
    change(values)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ResultsFormatError, match=message) as refused:
        RunResults.read(path)
    assert str(path) in str(refused.value)


def test_a_truncated_file_is_refused_as_not_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"test": {"bleu": 1')
    with pytest.raises(ResultsFormatError, match="not JSON"):
        RunResults.read(path)
