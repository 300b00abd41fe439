"""The report's example translations (the same sentences for every arm, per bucket) and its run table (updates,
training time, tokens/s, W&B run), in report.md, report.html and runs.csv."""

from __future__ import annotations

import csv
import json

import pytest

from attention_nmt.evaluation.results import read_hypotheses
from attention_nmt.report import build_report
from attention_nmt.report.examples import DEFAULT_PER_BUCKET


@pytest.fixture(scope="module")
def report(tiny_multirun, tmp_path_factory):
    return build_report([tiny_multirun], tmp_path_factory.mktemp("examples") / "report", resamples=20)


def test_examples_show_the_same_sentences_with_every_arms_hypothesis(report, tiny_multirun):
    [section] = report.sections
    [(caption, (headers, rows))] = [t for t in section.tables if t[0].startswith("Example translations")]
    assert headers == ["bucket", "sentence", "words", "source", "reference", "none (seed 1234)", "additive (seed 1234)"]
    hyps = {
        arm: read_hypotheses(tiny_multirun / f"{i}_{arm}_bigru_synthetic_reverse_map_s1234" / "hypotheses.tsv")
        for i, arm in enumerate(("none", "additive"))
    }
    buckets = [r[0] for r in rows]
    assert set(buckets) == {"1-10", "11-20", "21-30"}  # the fixture's test split fills three buckets
    assert all(buckets.count(b) == DEFAULT_PER_BUCKET for b in set(buckets))
    for bucket, index, words, source, reference, none, additive in rows:
        row = hyps["none"][int(index)]
        assert (source, reference, int(words)) == (row["source"], row["reference"], row["src_words"])
        assert bucket == ("1-10" if row["src_words"] <= 10 else "11-20" if row["src_words"] <= 20 else "21-30")
        assert none == row["hypothesis"] and additive == hyps["additive"][int(index)]["hypothesis"]
    markdown = report.files["markdown"].read_text(encoding="utf-8")
    html = report.files["html"].read_text(encoding="utf-8")
    assert "Example translations" in markdown and "Example translations" in html
    assert rows[0][3] in markdown


def test_run_table_has_updates_time_speed_and_the_wandb_run(report, tiny_multirun):
    with report.files["runs"].open(encoding="utf-8") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    results = json.loads((tiny_multirun / "1_additive_bigru_synthetic_reverse_map_s1234" / "results.json").read_text())
    additive = rows["1_additive_bigru_synthetic_reverse_map_s1234"]
    assert additive["updates"] == str(results["global_step"]) == "4"
    assert additive["train time"] == f"{round(results['train_time_s'])} s"
    assert additive["tokens/s"] == f"{results['train_tokens_per_s']:,.0f}"
    assert additive["W&B"] == "-"  # trained with logger=none
    failed = rows["2_multiplicative_bigru_synthetic_reverse_map_s1234"]
    assert [failed[k] for k in ("updates", "train time", "tokens/s", "W&B")] == ["-"] * 4
    assert "| updates | train time | tokens/s | W&B |" in report.files["markdown"].read_text(encoding="utf-8")


def test_run_table_links_online_runs_and_names_offline_ones(tmp_path):
    from attention_nmt.evaluation.results import RunResults, TestScores
    from attention_nmt.report.collect import OK, Run
    from attention_nmt.report.tables import runs_table

    def results(**facts) -> RunResults:
        test = TestScores(bleu=12.345, n=1, buckets=[])
        return RunResults(test=test, bleu_signature="s", num_parameters=1, decoding={}, config={}, **facts)

    online = results(global_step=1200, train_time_s=949.4, train_tokens_per_s=5321.7)
    online.wandb = {"id": "abc123", "url": "https://wandb.ai/me/attention-nmt/runs/abc123"}
    offline = results(global_step=3000, train_time_s=4000.0, wandb={"id": "xyz", "url": None})
    runs = [Run(tmp_path / "a", OK, results=online), Run(tmp_path / "b", OK, results=offline)]
    headers, rows = runs_table(runs, tmp_path)
    cells = [dict(zip(headers, row)) for row in rows]
    assert [c["updates"] for c in cells] == ["1,200", "3,000"]
    assert [c["train time"] for c in cells] == ["15 min 49 s", "1 h 06 min"]
    assert [c["tokens/s"] for c in cells] == ["5,322", "-"]
    assert [c["W&B"] for c in cells] == ["https://wandb.ai/me/attention-nmt/runs/abc123", "xyz"]
