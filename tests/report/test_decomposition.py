"""What a drop is made of, checked against sacreBLEU computed directly: per slice BLEU, its brevity penalty, BLEU
without it (the geometric mean of sacreBLEU's n-gram precisions), chrF and the length ratio; per resample the
same on the resampled sentences; per arm the drop of each and the brevity penalty's share; the content/length
reading; and the reference run, whose `none` loses mostly in length."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from attention_nmt.evaluation.results import read_hypotheses
from attention_nmt.report import build_report
from attention_nmt.report.collect import collect
from attention_nmt.report.describe import loss_kind
from attention_nmt.report.diagnostics import (
    BLEU_KEY,
    BP,
    CHRF_KEY,
    LENGTH_RATIO,
    NO_BP,
    RunStats,
    chrf_stats,
    resampled_measures,
)
from attention_nmt.report.drops import Change, Drop
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.scores import score_comparison
from attention_nmt.report.statistics import bleu_for_signature, resample_counts, sentence_stats
from tests.report.handmade import degrade, make_run, toy_corpus

REFERENCE = Path(__file__).resolve().parents[2] / "outputs" / "reference" / "bottleneck_3000_3seeds"
SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"


def _shortened(test, keep: float, cut: float, seed: int) -> list[str]:
    """Hypotheses keeping each word with probability `keep`; on sources over 10 words, only the first `cut`
    share of the words (stopping early)."""
    lengths, _, refs = test
    hyps = degrade(refs, keep, seed)
    return [" ".join(h.split()[: max(1, round(cut * len(h.split())))]) if n > 10 else h for n, h in zip(lengths, hyps)]


def _sacrebleu(hyps: list[str], refs: list[str]) -> dict[str, float]:
    """Every measure of a slice, from sacreBLEU's public API alone."""
    score = sacrebleu.corpus_bleu(hyps, [refs])
    geometric = 100 * math.exp(sum(math.log(p / 100) for p in score.precisions) / 4)
    return {
        BLEU_KEY: score.score,
        NO_BP: geometric,
        BP: score.bp,
        CHRF_KEY: sacrebleu.corpus_chrf(hyps, [refs]).score,
        LENGTH_RATIO: score.sys_len / score.ref_len,
    }


@pytest.fixture(scope="module")
def shortening(tmp_path_factory):
    """`none` stops early on long sources (70% of their words), additive does not."""
    root = tmp_path_factory.mktemp("decomposition")
    test = toy_corpus(60)
    hyps = {"none": _shortened(test, 0.7, 0.7, 1), "additive": degrade(test[2], 0.8, 2)}
    for arm, system in hyps.items():
        make_run(root / arm, arm, system, test)
    [comparison] = make_comparisons(collect([root]))
    return test, hyps, score_comparison(comparison, resamples=100), root


def test_every_slice_measure_equals_sacrebleu_on_its_sentences(shortening):
    (lengths, _, refs), hyps, scores, _ = shortening
    for arm in scores.arms:
        for piece in arm.slices:
            lower, upper = piece.lower or 1, piece.upper or 10**6
            picked = [i for i, n in enumerate(lengths) if lower <= n <= upper]
            expected = _sacrebleu([hyps[arm.arm.label][i] for i in picked], [refs[i] for i in picked])
            got = {BLEU_KEY: piece.bleu, NO_BP: piece.nobp, BP: piece.brevity_penalty, CHRF_KEY: piece.chrf}
            assert got == pytest.approx({k: expected[k] for k in got}, abs=1e-9), (arm.arm.label, piece.label)
            assert piece.length_ratio == pytest.approx(expected[LENGTH_RATIO], abs=1e-12)
    longest = scores.arms[0].buckets[-1]
    assert longest.length_ratio < 0.8 and longest.brevity_penalty < 0.8  # `none` stops early on 11+ words


def test_each_drop_and_the_brevity_penalty_share_equal_sacrebleu(shortening):
    (lengths, _, refs), hyps, scores, _ = shortening
    for arm in scores.arms:
        drop, system = arm.drop, hyps[arm.arm.label]
        assert (drop.short_label, drop.long_label) == ("1-10", "11+")
        short = _sacrebleu(
            [system[i] for i, n in enumerate(lengths) if n <= 10], [r for r, n in zip(refs, lengths) if n <= 10]
        )
        long = _sacrebleu(
            [system[i] for i, n in enumerate(lengths) if n > 10], [r for r, n in zip(refs, lengths) if n > 10]
        )
        for measure in (BLEU_KEY, NO_BP, CHRF_KEY):
            change = drop.changes[measure]
            assert (change.short, change.long) == pytest.approx((short[measure], long[measure]), abs=1e-9)
            assert change.value == pytest.approx(short[measure] - long[measure], abs=1e-9)
        expected_share = (short[BLEU_KEY] - long[BLEU_KEY]) - (short[NO_BP] - long[NO_BP])
        assert drop.bp_share == pytest.approx(expected_share, abs=1e-9)
        assert (drop.short_points[BP], drop.long_points[BP]) == pytest.approx((short[BP], long[BP]), abs=1e-12)
        ratios = (drop.short_points[LENGTH_RATIO], drop.long_points[LENGTH_RATIO])
        assert ratios == pytest.approx((short[LENGTH_RATIO], long[LENGTH_RATIO]), abs=1e-12)
    none = scores.arms[0].drop
    assert none.in_length and none.bp_share > 5  # stopping early costs BLEU through the brevity penalty
    assert scores.arms[1].drop.bp_share == pytest.approx(0.0, abs=0.5)


def test_resampled_measures_equal_sacrebleu_on_the_resampled_sentences():
    _, _, refs = toy_corpus(30)
    hyps = [" ".join(h.split()[:-1]) or h for h in degrade(refs, 0.7, seed=1)]  # one word short: BP < 1
    bleu = bleu_for_signature(SIGNATURE, refs)
    stats = RunStats(sentence_stats(bleu, [hyps])[0], chrf_stats(hyps, refs))
    counts = resample_counts(30, 3, np.random.default_rng(1))
    got = resampled_measures(bleu, stats, counts)
    for b, row in enumerate(counts):
        picked = [i for i in range(30) for _ in range(row[i])]
        expected = _sacrebleu([hyps[i] for i in picked], [refs[i] for i in picked])
        assert expected[BP] < 1
        assert [got[m][b] for m in (BLEU_KEY, NO_BP, CHRF_KEY)] == pytest.approx(
            [expected[m] for m in (BLEU_KEY, NO_BP, CHRF_KEY)], abs=1e-9
        )


def test_the_decomposition_reaches_report_md_html_and_bleu_csv(shortening):
    _, _, scores, root = shortening
    report = build_report([root], resamples=100)
    with report.files["csv"].open(encoding="utf-8") as f:
        rows = {(r["arm"], r["slice"]): r for r in csv.DictReader(f)}
    none = scores.arms[0]
    drop_row, longest = rows[("none", "drop 1-10->11+")], rows[("none", "11+")]
    assert float(drop_row["bleu_nobp"]) == pytest.approx(none.drop.changes[NO_BP].value, abs=1e-9)
    assert float(drop_row["chrf"]) == pytest.approx(none.drop.changes[CHRF_KEY].value, abs=1e-9)
    assert float(drop_row["bp_share"]) == pytest.approx(none.drop.bp_share, abs=1e-9)
    assert float(drop_row["length_ratio_long"]) == pytest.approx(none.buckets[-1].length_ratio, abs=1e-12)
    assert float(longest["bleu_nobp"]) == pytest.approx(none.buckets[-1].nobp, abs=1e-9)
    assert float(longest["brevity_penalty"]) == pytest.approx(none.buckets[-1].brevity_penalty, abs=1e-12)
    assert float(longest["chrf_ci_low"]) <= float(longest["chrf"]) <= float(longest["chrf_ci_high"])
    cell = f"{none.drop.bp_share:+.2f} [{none.drop.bp_share_ci[0]:+.2f}, {none.drop.bp_share_ci[1]:+.2f}]"
    for key in ("markdown", "html"):
        text = report.files[key].read_text(encoding="utf-8")
        assert "Drop decomposed" in text and "Precision part: BLEU without the brevity penalty" in text
        assert cell in text


def _drop(nobp_ci, chrf_ci, share_ci) -> Drop:
    changes = {
        BLEU_KEY: Change(20.0, 15.0, (2.0, 8.0)),
        NO_BP: Change(20.0, 17.0, nobp_ci),
        CHRF_KEY: Change(40.0, 37.0, chrf_ci),
    }
    points = {BP: 1.0, LENGTH_RATIO: 1.0}
    return Drop("1-20", 600, "51+", 181, changes, share_ci, points, {BP: 0.88, LENGTH_RATIO: 0.89})


def test_a_drop_is_read_as_content_or_length_from_its_intervals():
    assert loss_kind(_drop((1.0, 5.0), (-1.0, 2.0), (-0.5, 0.5))).startswith("a loss in content, not length (")
    assert loss_kind(_drop((-1.0, 5.0), (0.5, 2.0), (-0.5, 0.5))).startswith("a loss in content, not length (")
    assert loss_kind(_drop((-1.0, 5.0), (-1.0, 2.0), (0.5, 3.5))).startswith("a loss in length, not content (")
    assert loss_kind(_drop((1.0, 5.0), (-1.0, 2.0), (0.5, 3.5))).startswith("a loss in content and in length (")
    assert loss_kind(_drop((-1.0, 5.0), (-1.0, 2.0), (-0.5, 3.5))).startswith("neither clearly in content nor in")
    assert "BP 1.000 -> 0.880, length ratio 1.000 -> 0.890" in loss_kind(_drop((1, 2), (1, 2), (1, 2)))


def test_the_reference_run_none_loses_mostly_in_length_by_sacrebleu(tmp_path):
    [comparison] = make_comparisons(collect(sorted(REFERENCE.glob("*_s1234"))))  # one seed: its own sentences
    none = score_comparison(comparison, resamples=100).arms[0]
    assert none.arm.label == "none" and none.drop.in_length and not none.drop.in_content
    rows = read_hypotheses(next(REFERENCE.glob("0_none_*_s1234")) / "hypotheses.tsv")
    short = [r for r in rows if r["src_words"] <= 20]
    long = [r for r in rows if r["src_words"] >= 51]
    short, long = (_sacrebleu([r["hypothesis"] for r in s], [r["reference"] for r in s]) for s in (short, long))
    assert none.drop.value == pytest.approx(short[BLEU_KEY] - long[BLEU_KEY], abs=1e-9)
    assert none.drop.bp_share == pytest.approx(none.drop.value - (short[NO_BP] - long[NO_BP]), abs=1e-9)
    assert none.drop.bp_share > none.drop.value / 2  # most of the drop is the brevity penalty
    assert long[CHRF_KEY] > short[CHRF_KEY]  # chrF does not fall
