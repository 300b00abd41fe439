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
