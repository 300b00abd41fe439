"""Corpus BLEU from summed statistics equals sacreBLEU's; the paired bootstrap tells identical systems from a
clearly better one."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu

from attention_nmt.report.diagnostics import chrf_stats, corpus_chrf, length_ratio
from attention_nmt.report.statistics import (
    at_floor,
    bleu_for_signature,
    corpus_bleu,
    holm,
    holm_bounds,
    p_floor,
    paired_p_value,
    percentile_interval,
    resample_counts,
    resampled_bleu,
    sentence_stats,
)
from attention_nmt.report.tables import p_text
from tests.report.handmade import degrade, toy_corpus

SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"


def test_corpus_bleu_from_statistics_equals_sacrebleu_on_any_subset():
    _, _, refs = toy_corpus(60)
    hyps = degrade(refs, 0.6, seed=3)
    bleu = bleu_for_signature(SIGNATURE, refs)
    [stats] = sentence_stats(bleu, [hyps])
    rng = np.random.default_rng(0)
    for _ in range(5):
        subset = rng.choice(60, size=int(rng.integers(1, 60)), replace=False)
        expected = sacrebleu.corpus_bleu([hyps[i] for i in subset], [[refs[i] for i in subset]]).score
        assert corpus_bleu(bleu, stats[subset].sum(0)) == pytest.approx(expected, abs=1e-9)


def test_resampled_bleu_equals_sacrebleu_on_the_resampled_sentences():
    _, _, refs = toy_corpus(30)
    hyps = degrade(refs, 0.5, seed=1)
    bleu = bleu_for_signature(SIGNATURE, refs)
    counts = resample_counts(30, 3, np.random.default_rng(1))
    assert (counts.sum(1) == 30).all()
    got = resampled_bleu(bleu, sentence_stats(bleu, [hyps])[0], counts)
    for row, value in zip(counts, got):
        picked = [i for i in range(30) for _ in range(row[i])]
        expected = sacrebleu.corpus_bleu([hyps[i] for i in picked], [[refs[i] for i in picked]]).score
        assert value == pytest.approx(expected, abs=1e-9)


def test_paired_p_value_of_identical_systems_is_one():
    assert paired_p_value(np.zeros(1000)) == 1.0


def test_paired_p_value_of_a_clearly_better_system_is_significant():
    _, _, refs = toy_corpus(60)
    bleu = bleu_for_signature(SIGNATURE, refs)
    good, bad = sentence_stats(bleu, [degrade(refs, keep, seed=2) for keep in (0.9, 0.3)])
    counts = resample_counts(60, 1000, np.random.default_rng(0))
    differences = resampled_bleu(bleu, good, counts) - resampled_bleu(bleu, bad, counts)
    assert paired_p_value(differences) < 0.01
    assert paired_p_value(-differences) < 0.01  # two-sided: the order of the systems does not matter


def test_paired_p_value_of_a_coin_flip_difference_is_not_significant():
    differences = np.random.default_rng(0).normal(0.0, 1.0, size=1000)
    assert paired_p_value(differences) > 0.5


def test_percentile_interval_covers_the_central_95_percent():
    low, high = percentile_interval(np.arange(1001, dtype=float))
    assert (low, high) == pytest.approx((25.0, 975.0))


def test_sentence_stats_of_several_systems_equal_each_scored_alone():
    _, _, refs = toy_corpus(30)
    systems = [degrade(refs, keep, seed=4) for keep in (0.2, 0.8)]
    together = sentence_stats(bleu_for_signature(SIGNATURE, refs), systems)
    for system, stats in zip(systems, together):
        alone = bleu_for_signature(SIGNATURE)._extract_corpus_statistics(system, [refs])
        assert (np.asarray(alone) == stats).all()


def test_chrf_and_length_ratio_of_a_slice_on_a_known_example():
    refs, hyps = ["the cat sat down", "a b", "one two three"], ["the cat sat", "a b", "one two three four five"]
    bleu = bleu_for_signature(SIGNATURE, refs)
    [stats] = sentence_stats(bleu, [hyps])
    assert length_ratio(stats) == pytest.approx(10 / 9) and length_ratio(stats[:2]) == pytest.approx(5 / 6)
    assert length_ratio(stats[:0]) is None
    chrf = chrf_stats(hyps, refs)
    assert corpus_chrf(chrf[1:2].sum(0)) == pytest.approx(100.0)  # "a b" against itself
    assert corpus_chrf(chrf.sum(0)) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    assert corpus_chrf(chrf[:0].sum(0)) is None


def test_the_p_value_floor_is_two_over_b_plus_one_and_only_an_upper_bound():
    assert p_floor(1000) == pytest.approx(2 / 1001) and p_floor(1) == 1.0
    differences = np.ones(1000)  # every resample on one side
    assert paired_p_value(differences) == p_floor(1000) and at_floor(paired_p_value(differences), 1000)
    assert not at_floor(paired_p_value(np.r_[np.ones(990), -np.ones(10)]), 1000)  # 2 * 11/1001
    assert p_text(p_floor(1000), bound=True) == "p <= 0.002"
    assert p_text(2 * p_floor(1000), bound=True, name="Holm p") == "Holm p <= 0.004"
    assert p_text(p_floor(200), bound=True) == "p <= 0.01"  # 0.00995 rounded up, so still a bound
    assert p_text(0.779) == "p=0.779" and p_text(0.0049) == "p=0.0049"


def test_holm_p_is_a_bound_when_the_raw_p_that_sets_it_sits_at_the_floor():
    floor = p_floor(1000)
    assert holm_bounds([floor, 0.3], 1000) == [True, False]
    assert holm_bounds([floor, 0.01], 1000) == [True, False]  # 0.01 sets its own Holm p (max(2 * floor, 0.01))
    assert holm_bounds([floor, 0.003], 1000) == [True, True]  # max(2 * floor, 0.003) is 2 * floor
    assert holm([floor, 0.003]) == pytest.approx([2 * floor, 2 * floor])
