"""Learning curves: read from a hand-written Lightning metrics.csv, averaged over seeds, drawn in report.md, the
HTML page and the W&B report run, and their flags (`health`) in the verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attention_nmt.report import build_report
from attention_nmt.report.curves import DPI, SIZE_INCHES, Curve, mean_curve, metrics_csv, read_curve
from tests.conftest import wandb_offline_in_process
from tests.report.handmade import degrade, make_run, toy_corpus

# As Lightning's CSVLogger writes it: train rows, validation rows at step = updates - 1, then the test row.
METRICS = """epoch,step,test/bleu,train/loss,val/bleu,val/loss
0,4,,5.1,,
0,9,,,1.5,4.0
0,14,,4.2,,
0,19,,,3.0,3.5
1,29,,,4.0,3.2
1,39,,,{final},3.0
1,40,7.5,,,
"""


def _write_metrics(run: Path, final: float = 8.0) -> Path:
    (run / "csv").mkdir(parents=True, exist_ok=True)
    path = run / "csv" / "metrics.csv"
    path.write_text(METRICS.format(final=final), encoding="utf-8")
    return path


def test_read_curve_keeps_validation_rows_in_updates(tmp_path):
    path = _write_metrics(tmp_path)
    assert metrics_csv(tmp_path) == path
    curve = read_curve(path)
    assert curve.updates.tolist() == [10, 20, 30, 40]
    assert curve.bleu.tolist() == [1.5, 3.0, 4.0, 8.0] and curve.loss.tolist() == [4.0, 3.5, 3.2, 3.0]
    assert metrics_csv(tmp_path / "elsewhere") is None


def test_mean_curve_averages_seeds_at_each_update():
    first = Curve(np.array([10.0, 20.0]), np.array([1.0, 3.0]), np.array([4.0, 3.0]))
    second = Curve(np.array([10.0, 20.0, 30.0]), np.array([3.0, 5.0, 6.0]), np.array([2.0, 1.0, 0.5]))
    mean = mean_curve([first, second])
    assert mean.updates.tolist() == [10, 20, 30]
    assert mean.bleu.tolist() == [2.0, 4.0, 6.0] and mean.loss.tolist() == [3.0, 2.0, 0.5]


@pytest.fixture(scope="module")
def curves_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    test = toy_corpus(40)
    for arm, keep, final in (("none", 0.4, 5.0), ("additive", 0.7, 8.0)):
        run = make_run(root / arm, arm, degrade(test[2], keep, 1), test)
        _write_metrics(run, final)
    return build_report([root], resamples=50)


def test_report_draws_learning_curves_and_names_the_arms_still_rising_in_the_verdict(curves_report):
    figure = curves_report.curve_figures["toy"]
    with Image.open(figure["png"]) as image:
        assert image.size == (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    [verdict] = curves_report.verdicts
    rising = (
        "additive still rising (its best validation BLEU, 8.00, is its last validation, at update 40; validation "
        "BLEU rose from 4.00 to 8.00 over the last quarter of training, more than a quarter of its final value)"
    )
    assert rising in verdict.headline
    assert (
        "none still rising (its best validation BLEU, 5.00, is its last validation, at update 40)" in verdict.headline
    )
    assert "diverged" not in verdict.headline  # both losses fall to the end
    markdown = curves_report.files["markdown"].read_text(encoding="utf-8")
    assert "](learning_curves.png)" in markdown and rising in markdown
    assert curves_report.files["html"].read_text(encoding="utf-8").count('src="data:image/png;base64,') == 2


def test_report_logs_the_learning_curves_to_wandb(curves_report):
    from attention_nmt.report.wandb_log import log_report

    with wandb_offline_in_process():
        folder = Path(log_report(curves_report, mode="offline"))
    images = list((folder / "media" / "images").rglob("learning_curves*.png"))
    assert len(images) == 1
