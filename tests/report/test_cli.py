"""`python report.py ...`: exit status, messages, and the W&B report run (offline) with its group and job type."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from attention_nmt.report.cli import main
from tests.conftest import wandb_offline_in_process
from tests.tracking.offline_runs import offline_runs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli_out(tiny_multirun, tmp_path_factory) -> Path:
    """The report folder of `report.py <tiny multirun> --out ...` with W&B offline."""
    out = tmp_path_factory.mktemp("cli") / "out"
    with wandb_offline_in_process():
        assert main([str(tiny_multirun), "--out", str(out), "--resamples", "50"]) == 0
    return out


def test_report_script_exits_2_naming_a_missing_folder(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(sys, "argv", ["report.py", str(tmp_path / "nowhere")])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / "report.py"), run_name="__main__")
    assert done.value.code == 2
    assert "nowhere: no such folder" in caplog.text


def test_report_cli_writes_the_report_and_an_offline_wandb_run_with_its_media(cli_out):
    for name in ("report.html", "report.md", "bleu.csv", "runs.csv", "bleu_by_length.png", "bleu_by_length.svg"):
        assert (cli_out / name).is_file(), name
    [run_dir] = (cli_out / "wandb").glob("offline-run-*")
    media = {p.relative_to(run_dir / "files" / "media").parts[:2] for p in (run_dir / "files" / "media").rglob("*.*")}
    assert {("images", "report"), ("table", "report"), ("html", "report")} <= media
    heatmaps = list((run_dir / "files" / "media" / "images").rglob("attention/attention_additive_*.png"))
    assert len(heatmaps) == len(list(cli_out.glob("attention_additive_*.png"))) == 4


@pytest.mark.slow
def test_report_wandb_run_is_grouped_typed_and_carries_the_verdict(cli_out):
    [run] = offline_runs(cli_out)
    meta = run.run()
    assert meta["job_type"] == "report" and meta["run_group"] == "tiny_report"
    assert run.summary["state"] == "finished"
    assert "additive minus none on 21-30 words" in run.summary["summary"]["report/synthetic_reverse_map/verdict"]
    logged = {k.split(".")[0] for h in run.of_type("history") for k in h["item"]}
    assert {"report/page", "report/bleu", "report/runs", "report/synthetic_reverse_map/bleu_by_length"} <= logged


def test_report_run_holds_the_native_chart_the_tables_and_the_report_folder(cli_out):
    import csv
    import json

    [run] = offline_runs(cli_out)
    assert run.run()["project"] == "attention-nmt"  # the runs' logger.wandb.project
    name = "report/synthetic_reverse_map"
    key = f"_wandb.visualize.{name}/bleu_by_length_chart"
    [chart] = [c["update"][key] for c in run.of_type("config") if key in c["update"]]
    assert chart["panel_config"]["fieldSettings"] == {"x": "length", "y": "bleu", "stroke": "arm"}
    summary = run.summary["summary"]

    def table(key: str) -> dict:
        return json.loads((run.folder / "files" / summary[key]["path"]).read_text())

    points = table(f"{name}/bleu_by_length_table")
    with (cli_out / "bleu.csv").open() as f:
        expected = [r for r in csv.DictReader(f) if r["slice"] not in ("all",) and not r["slice"].startswith("drop")]
    assert sorted((r[0], r[1]) for r in points["data"]) == sorted((r["arm"], r["slice"]) for r in expected)
    by_key = {(r["arm"], r["slice"]): float(r["bleu"]) for r in expected}
    assert all(row[6] == pytest.approx(by_key[(row[0], row[1])]) for row in points["data"])
    examples = table(f"{name}/example_translations")
    assert examples["columns"][-2:] == ["none (seed 1234)", "additive (seed 1234)"] and examples["data"]
    assert {f"{name}/bleu_per_arm", f"{name}/drop_with_length", f"{name}/difference_to_none"} <= set(summary)
    assert {f"{name}/drop_decomposed", f"{name}/precision_part", f"{name}/chrf_per_arm"} <= set(summary)
    decomposed = table(f"{name}/drop_decomposed")
    assert decomposed["columns"][:4] == ["arm", "BLEU drop", "BLEU without BP: drop", "chrF: drop"]
    assert [r[0] for r in decomposed["data"]] == ["none", "additive"]
    assert points["columns"][9:] == ["bleu_nobp", "bleu_nobp_ci_low", "bleu_nobp_ci_high", "chrf"] + [
        "chrf_ci_low",
        "chrf_ci_high",
        "length_ratio",
    ]
    assert all(row[9] is not None and row[12] is not None for row in points["data"])
    [folder] = [a for a in run.of_type("artifact") if a["type"] == "report"]
    assert {"report.html", "report.md", "bleu.csv", "runs.csv"} <= {e["path"] for e in folder["manifest"]["contents"]}


def test_resamples_default_to_1000_and_set_the_p_value_floor_the_report_prints(tmp_path):
    import csv

    from attention_nmt.report.cli import parser
    from tests.report.handmade import degrade, make_run, toy_corpus

    assert parser().parse_args(["runs"]).resamples == 1000
    test = toy_corpus(60)
    make_run(tmp_path / "runs" / "none", "none", degrade(test[2], 0.2, 1), test)
    make_run(tmp_path / "runs" / "additive", "additive", degrade(test[2], 0.9, 2), test)  # better on every resample
    out = tmp_path / "out"
    assert main([str(tmp_path / "runs"), "--out", str(out), "--resamples", "99", "--no-wandb"]) == 0
    with (out / "bleu.csv").open() as f:
        rows = {(r["arm"], r["slice"]): r for r in csv.DictReader(f)}
    additive = rows[("additive", "11+")]
    assert float(additive["p_floor"]) == pytest.approx(2 / 100) and float(additive["p_value"]) == pytest.approx(0.02)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "(p <= 0.02*)" in markdown and "p=0.020" not in markdown
    assert "over 99 resamples (--resamples" in markdown and "2/(B+1) = 0.0200" in markdown
