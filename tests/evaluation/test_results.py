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


def test_paths_are_stored_relative_to_the_run_folder_and_read_back_from_where_it_is_now(tmp_path):
    run = tmp_path / "outputs" / "run"
    results = dataclasses.replace(
        _scored(),
        checkpoint=str(run / "checkpoints" / "best.ckpt"),
        config={"paths": {"output_dir": str(run), "cache_dir": "outputs/.cache"}, "data": {"path": "/data/a.tsv"}},
    )
    (run / "checkpoints").mkdir(parents=True)
    results.write(run / "results.json")
    stored = json.loads((run / "results.json").read_text())
    assert stored["checkpoint"] == "checkpoints/best.ckpt" and stored["config"]["paths"]["output_dir"] == "."
    assert stored["config"]["paths"]["cache_dir"] == "outputs/.cache"  # not a path inside the run: as given
    assert stored["config"]["data"]["path"] == "/data/a.tsv"
    moved = (tmp_path / "elsewhere").resolve()
    (tmp_path / "outputs").rename(moved)  # a moved (or cloned) run folder
    again = RunResults.read(moved / "run" / "results.json")
    assert again.checkpoint == str(moved / "run" / "checkpoints" / "best.ckpt")


def test_a_checkpoint_outside_the_run_folder_is_stored_relative_to_it_too(tmp_path):
    evaluation = dataclasses.replace(_scored(), checkpoint=str(tmp_path / "train" / "checkpoints" / "last.ckpt"))
    (tmp_path / "eval").mkdir()
    evaluation.write(tmp_path / "eval" / "results.json")
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["checkpoint"] == (
        "../train/checkpoints/last.ckpt"
    )
    assert RunResults.read(tmp_path / "eval" / "results.json").checkpoint == evaluation.checkpoint


@pytest.mark.parametrize("version", [2, 3])
def test_a_file_before_version_4_keeps_its_absolute_checkpoint(tmp_path, version):
    values = {**dataclasses.asdict(_scored()), "version": version, "checkpoint": "/elsewhere/checkpoints/best.ckpt"}
    (tmp_path / "results.json").write_text(json.dumps(values))
    assert RunResults.read(tmp_path / "results.json").checkpoint == "/elsewhere/checkpoints/best.ckpt"


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


def _absolute_paths(value) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _absolute_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _absolute_paths(v)]
    return [value] if isinstance(value, str) and value.startswith("/") else []


def test_the_committed_reference_runs_name_no_path_of_the_machine_that_trained_them():
    files = sorted((Path(__file__).resolve().parents[2] / "outputs" / "reference").glob("*/*/results.json"))
    assert files
    for path in files:
        assert _absolute_paths(json.loads(path.read_text())) == [], path
        results = RunResults.read(path)
        assert results.checkpoint == str(path.parent / "checkpoints" / Path(results.checkpoint).name)
