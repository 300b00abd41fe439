"""A report over several seeds per arm, on hand-made runs: one row per arm with the mean and spread over seeds,
each seed's BLEU overall and per bucket in runs.csv, learning curves with a band from the lowest to the highest
seed, and example translations from one named seed."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import sacrebleu
from matplotlib.collections import PolyCollection

from attention_nmt.evaluation.results import read_hypotheses
from attention_nmt.report import build_report
from attention_nmt.report.curves import arm_curves, learning_curves_figure
from attention_nmt.report.seed_spread import seeds_table, spread_text
from tests.report.handmade import degrade, make_run, toy_corpus

SEEDS = (7, 8, 9)
KEEP = {"none": (0.35, 0.45, 0.4), "additive": (0.7, 0.8, 0.75)}
FINAL_VAL_BLEU = {"none": (4.0, 5.0, 6.0), "additive": (9.0, 12.0, 10.0)}


def _metrics(run, final: float) -> None:
    """A metrics.csv with validations at updates 10, 20 and 30 (steps 9, 19, 29)."""
    (run / "csv").mkdir(parents=True, exist_ok=True)
    rows = ["epoch,step,train/loss,val/bleu,val/loss", f"0,9,,{final / 3},4.0", f"0,19,,{final / 2},3.0"]
    rows.append(f"0,29,,{final},{2.0 + final / 100}")
    (run / "csv" / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    root = tmp_path_factory.mktemp("many_seeds")
    test = toy_corpus(90)
    hypotheses = {}
    for arm in ("none", "additive"):
        for i, seed in enumerate(SEEDS):
            hypotheses[arm, seed] = degrade(test[2], KEEP[arm][i], seed)
            run = make_run(root / f"{arm}_s{seed}", arm, hypotheses[arm, seed], test, seed=seed)
            _metrics(run, FINAL_VAL_BLEU[arm][i])
    return root, test, hypotheses, build_report([root], resamples=100)


def _bleu(hypotheses, references, members=None) -> float:
    if members is not None:
        hypotheses, references = [hypotheses[i] for i in members], [references[i] for i in members]
    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def test_one_row_per_arm_gives_mean_spread_and_each_seed(many):
    root, test, hypotheses, report = many
    headers, rows = seeds_table(report.scores[0])
    assert headers[:4] == ["arm", "seeds", "BLEU, all", "each seed, all"]
    cells = {row[0]: dict(zip(headers, row)) for row in rows}
    longest = [i for i, n in enumerate(test[0]) if n >= 11]  # the hand-made buckets: 1-5, 6-10, 11+
    short = [i for i, n in enumerate(test[0]) if n <= 10]
    for arm in ("none", "additive"):
        overall = [_bleu(hypotheses[arm, s], test[2]) for s in SEEDS]
        assert cells[arm]["seeds"] == "3"
        mean, sd = np.mean(overall), np.std(overall, ddof=1)
        assert cells[arm]["BLEU, all"] == f"{mean:.2f} ± {sd:.2f} ({min(overall):.2f} to {max(overall):.2f})"
        assert cells[arm]["each seed, all"] == ", ".join(f"{s}: {b:.2f}" for s, b in zip(SEEDS, overall))
        long_bleus = [_bleu(hypotheses[arm, s], test[2], longest) for s in SEEDS]
        assert cells[arm]["each seed, 11+"] == ", ".join(f"{s}: {b:.2f}" for s, b in zip(SEEDS, long_bleus))
        drops = [_bleu(hypotheses[arm, s], test[2], short) - b for s, b in zip(SEEDS, long_bleus)]
        assert cells[arm]["each seed's drop"] == ", ".join(f"{s}: {d:+.2f}" for s, d in zip(SEEDS, drops))
        assert cells[arm]["drop with length"].startswith(f"{np.mean(drops):+.2f} ± {np.std(drops, ddof=1):.2f}")
    markdown = report.files["markdown"].read_text(encoding="utf-8")
    assert "### Over seeds" in markdown and cells["additive"]["BLEU, all"] in markdown
    assert "Over seeds" in report.files["html"].read_text(encoding="utf-8")


def test_spread_text_of_one_and_of_none():
    assert spread_text([12.345]) == "12.35" and spread_text([]) == "-"
    assert spread_text([1.0, 3.0], signed=True) == "+2.00 ± 1.41 (+1.00 to +3.00)"


def test_single_seed_arms_get_no_spread_table(tmp_path):
    test = toy_corpus(40)
    for arm, keep in (("none", 0.4), ("additive", 0.8)):
        make_run(tmp_path / arm, arm, degrade(test[2], keep, 1), test)
    report = build_report([tmp_path], resamples=20)
    assert seeds_table(report.scores[0]) is None
    assert "### Over seeds" not in report.files["markdown"].read_text(encoding="utf-8")


def test_runs_csv_holds_every_seeds_bleu_overall_and_per_bucket(many):
    root, test, hypotheses, report = many
    with report.files["runs"].open(encoding="utf-8") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    assert len(rows) == 6
    buckets = {"1-5": range(2, 6), "6-10": range(6, 11), "11+": range(11, 99)}
    for arm in ("none", "additive"):
        for seed in SEEDS:
            row = rows[f"{arm}_s{seed}"]
            assert row["seed"] == str(seed)
            assert row["BLEU"] == f"{_bleu(hypotheses[arm, seed], test[2]):.2f}"
            for label, words in buckets.items():
                members = [i for i, n in enumerate(test[0]) if n in words]
                assert row[f"BLEU {label}"] == f"{_bleu(hypotheses[arm, seed], test[2], members):.2f}", label


def test_learning_curves_band_runs_from_the_lowest_to_the_highest_seed(many):
    root, *_ = many
    curves = arm_curves([(arm, [root / f"{arm}_s{s}" for s in SEEDS]) for arm in ("none", "additive")])
    additive = curves["additive"]
    assert additive.seeds == 3 and additive.updates.tolist() == [10, 20, 30]
    assert additive.bleu.tolist() == pytest.approx([31 / 9, 31 / 6, 31 / 3])  # mean of 9, 12, 10 (and /3, /2)
    low, high = additive.bleu_band
    assert low.tolist() == pytest.approx([3.0, 4.5, 9.0]) and high.tolist() == pytest.approx([4.0, 6.0, 12.0])
    assert additive.loss_band[0][-1] == pytest.approx(2.09) and additive.loss_band[1][-1] == pytest.approx(2.12)
    fig = learning_curves_figure(curves, "toy", ["none", "additive"])
    bleu_ax = fig.axes[0]
    bands = [c for c in bleu_ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one shaded band per arm
    top = bands[1].get_paths()[0].vertices[:, 1]
    assert top.max() == pytest.approx(12.0) and top.min() == pytest.approx(3.0)
    assert "shaded: lowest to highest seed" in bleu_ax.get_title()
    assert [t.get_text() for t in bleu_ax.get_legend().get_texts()] == ["none (3 seeds)", "additive (3 seeds)"]


def test_examples_come_from_one_named_seed(many):
    root, test, hypotheses, report = many
    [(caption, (headers, rows))] = [t for t in report.sections[0].tables if t[0].startswith("Example translations")]
    assert headers[-2:] == ["none (seed 7)", "additive (seed 7)"]
    assert "lowest seed" in caption
    additive = read_hypotheses(root / "additive_s7" / "hypotheses.tsv")
    for row in rows:
        assert row[-1] == additive[int(row[1])]["hypothesis"] == hypotheses["additive", 7][int(row[1])]
