"""Curve flags: "still rising" when the best validation is the last or the last quarter gained more than a
quarter of the final BLEU; "diverged" when the final BLEU is under 80% of the peak or the loss rose over the
last third of the validations; each with its numbers, per run, the seed named when an arm has several."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attention_nmt.report.curves import Curve
from attention_nmt.report.health import (
    DIVERGED,
    STILL_RISING,
    arm_flags,
    curve_flags,
    divergence_reasons,
    rising_reasons,
)

NO_LOSS = np.full(4, np.nan)


def _curve(bleu: list[float], loss: list[float] | None = None, every: float = 250.0) -> Curve:
    updates = every * np.arange(1, len(bleu) + 1)
    return Curve(updates, np.array(bleu, dtype=float), np.array(loss if loss else [np.nan] * len(bleu), dtype=float))


def test_the_last_quarter_rule_interpolates_and_needs_a_validation_before_it():
    curve = Curve(np.array([50.0, 100.0]), np.array([2.0, 10.0]), np.full(2, np.nan))  # at 75 updates: 6.0
    assert "validation BLEU rose from 6.00 to 10.00 over the last quarter" in "; ".join(rising_reasons(curve))
    late = Curve(np.array([80.0, 100.0]), np.array([9.0, 8.0]), np.full(2, np.nan))  # no validation by update 75
    assert rising_reasons(late) == []
    slow = Curve(np.array([50.0, 100.0]), np.array([10.0, 9.0]), np.full(2, np.nan))  # fell: best is the first
    assert rising_reasons(slow) == []


def test_still_rising_when_the_best_validation_is_the_last_even_if_it_gained_little():
    curve = _curve([8.0, 9.0, 9.5, 9.6])  # last quarter: 9.5 -> 9.6, a gain of 0.1 < 2.4
    assert rising_reasons(curve) == ["its best validation BLEU, 9.60, is its last validation, at update 1,000"]
    assert rising_reasons(_curve([8.0, 9.6, 9.5, 9.6])) == []  # equal to an earlier best: that checkpoint is kept


def test_diverged_when_the_final_bleu_is_under_80_percent_of_the_peak():
    # the reference run's multiplicative arm, validation BLEU and loss every 250 updates to 3,000
    bleu = [2.59, 5.83, 8.46, 9.34, 10.68, 9.01, 8.53, 8.10, 8.83, 7.46, 6.59, 5.04]
    loss = [4.29, 3.77, 3.55, 3.45, 3.34, 3.39, 3.41, 3.40, 3.49, 3.60, 3.82, 3.92]
    reasons = divergence_reasons(_curve(bleu, loss))
    assert reasons == [
        "validation BLEU peaked at 10.68 at update 1,250 and ended at 5.04 at update 3,000, below 80% of its peak",
        "validation loss rose from 3.40 at update 2,000 to 3.92 at update 3,000, over the last third of its "
        "validations",
    ]
    assert divergence_reasons(_curve([10.0, 8.1])) == []  # 81% of the peak
    assert "below 80% of its peak" in divergence_reasons(_curve([10.0, 7.9]))[0]


def test_diverged_when_the_loss_rose_over_the_last_third_alone():
    loss = [4.0, 3.5, 3.0, 2.9, 2.8, 2.85, 2.95]  # last third: index 4 (2.8) to 6 (2.95)
    [reason] = divergence_reasons(_curve([1, 2, 3, 4, 5, 5.5, 5.4], loss))
    assert reason.startswith("validation loss rose from 2.80 at update 1,250 to 2.95 at update 1,750")
    assert divergence_reasons(_curve([1, 2, 3, 4, 5, 5.5, 5.4], [4.0, 3.5, 3.0, 2.9, 2.8, 2.9, 2.7])) == []
    assert divergence_reasons(_curve([1, 2], [3.0, 3.5])) == []  # three validations needed


def test_a_healthy_curve_has_no_flag_and_flags_name_the_seed_only_with_several():
    healthy = _curve([2.0, 6.0, 8.0, 8.5, 8.4], [4.0, 3.0, 2.8, 2.7, 2.65])
    assert curve_flags("additive", healthy) == []
    [rising] = curve_flags("none", _curve([2.0, 6.0, 8.0, 9.0]))
    assert (rising.kind, rising.who) == (STILL_RISING, "none")
    assert (
        rising.text() == "none still rising (its best validation BLEU, 9.00, is its last validation, at update 1,000)"
    )
    [diverged, also_rising] = curve_flags("additive", _curve([5.0, 1.0, 2.0], [3.0, 3.0, 4.0]), seed=7)
    assert (diverged.kind, diverged.who, also_rising.kind) == (DIVERGED, "additive (seed 7)", STILL_RISING)


def test_arm_flags_read_each_run_and_name_the_seed_when_the_arm_has_several(tmp_path):
    def run(name: str, bleu: list[float]) -> Path:
        folder = tmp_path / name / "csv"
        folder.mkdir(parents=True)
        rows = [f"0,{10 * (i + 1) - 1},{b},{3.0 - 0.1 * i}" for i, b in enumerate(bleu)]
        (folder / "metrics.csv").write_text("epoch,step,val/bleu,val/loss\n" + "\n".join(rows) + "\n")
        return tmp_path / name

    flat = run("flat", [5.0, 6.0, 6.0])
    rising = run("rising", [5.0, 6.0, 7.0])
    flags = arm_flags([("none", [(1, rising)]), ("additive", [(1, flat), (2, rising)]), ("x", [(1, tmp_path)])])
    assert [f.who for f in flags] == ["none", "additive (seed 2)"]
