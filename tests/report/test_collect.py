"""Which folders are runs and what state each is in; no run is dropped without a status."""

from __future__ import annotations

import json
import os

import pytest

from attention_nmt.report.collect import FAILED, INCOMPLETE, OK, ReportError, collect
from tests.report.handmade import degrade, make_failed, make_incomplete, make_run, toy_corpus


def test_collect_lists_finished_failed_and_incomplete_runs(tmp_path):
    test = toy_corpus(20)
    make_run(tmp_path / "0_none", "none", degrade(test[2], 0.5, 0), test)
    make_failed(tmp_path / "1_additive", "CUDA out of memory at step 3")
    make_incomplete(tmp_path / "2_multiplicative")
    (tmp_path / "0_none" / "checkpoints" / ".hydra").mkdir(parents=True)  # inside a run: not a run
    make_run(tmp_path / "report" / "x", "none", test[2], test)  # a report folder is never searched
    runs = {r.path.name: r for r in collect([tmp_path])}
    assert set(runs) == {"0_none", "1_additive", "2_multiplicative"}
    assert runs["0_none"].status == OK and len(runs["0_none"].rows) == 20
    assert runs["1_additive"].status == FAILED and "CUDA out of memory at step 3" in runs["1_additive"].reason
    assert runs["2_multiplicative"].status == INCOMPLETE and "results.json" in runs["2_multiplicative"].reason


def test_collect_marks_a_run_whose_hypotheses_are_cut_short_incomplete(tmp_path):
    test = toy_corpus(20)
    run = make_run(tmp_path / "run", "none", test[2], test)
    lines = (run / "hypotheses.tsv").read_text().splitlines()
    (run / "hypotheses.tsv").write_text("\n".join(lines[:-3]) + "\n")
    [read] = collect([run])
    assert read.status == INCOMPLETE and "17 rows" in read.reason


def test_collect_reads_a_failed_json_without_a_message(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "failed.json").write_text("{}")
    [read] = collect([tmp_path / "run"])
    assert read.status == FAILED and "no error message" in read.reason


def test_collect_names_a_missing_folder_and_an_empty_one(tmp_path):
    with pytest.raises(ReportError, match="nowhere"):
        collect([tmp_path / "nowhere"])
    with pytest.raises(ReportError, match="No run folders"):
        collect([tmp_path])


def test_collect_reads_an_evaluate_run_as_the_arm_it_evaluated(tmp_path):
    test = toy_corpus(20)
    run = make_run(tmp_path / "eval", "additive", test[2], test)
    results = json.loads((run / "results.json").read_text())
    trained = results.pop("config")
    results["config"] = {"ckpt_path": "x.ckpt", "seed": 5, "data": None, "decoding": {"beam_size": 5}}
    results["trained_with"] = {k: trained[k] for k in ("attention", "encoder", "data")}
    (run / "results.json").write_text(json.dumps(results))
    [read] = collect([run])
    assert read.ok and read.attention == "additive" and read.seed == 5
    assert read.config["data.name"] == "toy" and read.config["decoding.beam_size"] == 5


def test_collect_reads_a_failed_job_rerun_to_the_end_as_finished(tmp_path):
    test = toy_corpus(20)
    run = make_failed(tmp_path / "run", "first attempt crashed")
    os.utime(run / "failed.json", (1, 1))  # long before the rerun wrote its results
    make_run(run, "none", test[2], test)
    [read] = collect([run])
    assert read.ok
    os.utime(run / "failed.json")  # and a failure after the results: failed
    [read] = collect([run])
    assert read.status == FAILED and "first attempt crashed" in read.reason
