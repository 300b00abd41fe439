"""The report's attention health: the last validation's diagnostics per arm (mean over seeds) beside each arm's
recipe, `none` without weights, the figure, and arms that differ only by their tuned learning rate stay arms."""

from __future__ import annotations

from pathlib import Path

import pytest

from attention_nmt.report import build_report
from attention_nmt.report.attention_health import health_rows
from tests.report.handmade import degrade, make_run, toy_corpus

HEADER = "epoch,step,val/bleu,val/loss,val/attn_entropy_norm,val/attn_max_weight,val/attn_score_mean_abs\n"
TUNED = {"command": "python train.py experiment=bottleneck_tune", "date": "2026-12-05", "record": "outputs/x"}


def _metrics(run: Path, rows: list[str]) -> None:
    (run / "csv").mkdir(parents=True, exist_ok=True)
    (run / "csv" / "metrics.csv").write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def health_report(tmp_path):
    test = toy_corpus()
    lr = {"none": 0.003, "additive": 0.002, "multiplicative": 0.0015}
    tuned = {**TUNED, "arms": {arm: {"lr": value} for arm, value in lr.items()}}
    runs = [("none", 1, 0.3), ("additive", 1, 0.9), ("multiplicative", 1, 0.6), ("multiplicative", 2, 0.6)]
    for i, (arm, seed, keep) in enumerate(runs):
        extra = {"optim": {"lr": lr[arm]}, "tuned": tuned}
        if arm == "multiplicative":
            extra["attention"] = {"name": arm, "score": "scaled_general", "input_feeding": True}
        run = make_run(
            tmp_path / "sweep" / f"{i}_{arm}_s{seed}", arm, degrade(test[2], keep, seed), test, seed, extra_config=extra
        )
        if arm == "none":
            _metrics(run, ["0,9,1.0,4.0,,,", "0,19,2.0,3.5,,,"])
        else:
            last = {
                ("additive", 1): "0.50,0.40,2.0",
                ("multiplicative", 1): "0.20,0.80,3.0",
                ("multiplicative", 2): "0.30,0.70,5.0",
            }[(arm, seed)]
            _metrics(run, ["0,9,1.0,4.0,0.9,0.2,1.0", f"0,19,2.0,3.5,{last}"])
    return build_report([tmp_path / "sweep"])


def test_health_rows_read_the_validations_that_logged_attention(tmp_path):
    _metrics(tmp_path, ["0,9,1.0,4.0,0.9,0.2,1.0", "0,14,,,,,", "0,19,2.0,3.5,0.5,0.4,2.0"])
    assert health_rows(tmp_path) == [
        {"updates": 10.0, "attn_entropy_norm": 0.9, "attn_max_weight": 0.2, "attn_score_mean_abs": 1.0},
        {"updates": 20.0, "attn_entropy_norm": 0.5, "attn_max_weight": 0.4, "attn_score_mean_abs": 2.0},
    ]


def test_report_tables_the_last_validations_health_with_each_arms_recipe(health_report):
    [section] = health_report.sections
    assert [a.label for a in section.scores.comparison.arms] == ["none", "additive", "multiplicative"]
    [(caption, (headers, rows))] = [(c, t) for c, t in section.tables if c.startswith("Attention health")]
    assert "Tuned values chosen by `python train.py experiment=bottleneck_tune` (2026-12-05" in caption
    assert "Score scaled_general: Luong et al.'s score divided by sqrt(H), not the paper's equation" in caption
    assert headers[:3] == ["arm", "seeds", "recipe"]
    by_arm = {row[0]: row for row in rows}
    assert by_arm["none"][2:] == ["lr 0.003 (tuned)", "no weights", "no weights", "no weights"]
    assert by_arm["additive"][3:] == ["0.500", "0.400", "2.000"]
    multiplicative = by_arm["multiplicative"]
    assert multiplicative[1] == "2" and multiplicative[2] == "lr 0.0015 (tuned), score scaled_general, input feeding"
    assert multiplicative[3:] == ["0.250", "0.750", "4.000"]  # mean of the two seeds' last validations
    markdown = health_report.files["markdown"].read_text(encoding="utf-8")
    assert "![Attention health" in markdown and "attention_health.png" in markdown
    assert (health_report.out / "attention_health.png").stat().st_size > 0
    assert 'alt="Attention health, toy"' in health_report.files["html"].read_text(encoding="utf-8")
