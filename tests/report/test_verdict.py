"""The verdict follows the numbers: a `none` arm that collapses on long sentences beside an attention arm that
does not gives an interaction interval above 0 and "Supported"; identical drops give an interval covering 0 and
no "Supported"; an arm under the BLEU floor is "not trained enough to judge"; one bucket only is "Not testable";
Holm's correction is applied over the attention arms; resampling seeds widens intervals when seeds disagree."""

from __future__ import annotations

import pytest

from attention_nmt.report.collect import collect
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, SENTENCES, score_comparison
from attention_nmt.report.statistics import holm
from attention_nmt.report.verdict import verdict
from tests.report.handmade import degrade, make_run, toy_corpus


def _scores(folder, **kwargs):
    [comparison] = make_comparisons(collect([folder]))
    return score_comparison(comparison, **{"resamples": 200, **kwargs})


def _verdict(folder, **kwargs):
    return verdict(_scores(folder), **kwargs)


def _fading(test, long_keep: float, short_keep: float = 0.9, seed: int = 0) -> list[str]:
    """`short_keep` of the words right on sources of up to 10 words, `long_keep` on longer ones."""
    lengths, _, refs = test
    return [
        degrade([ref], short_keep if n <= 10 else long_keep, seed=seed * 1000 + i)[0]
        for i, (n, ref) in enumerate(zip(lengths, refs))
    ]


def test_verdict_supports_the_claim_when_only_none_collapses_on_long_sentences(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)
    scores = _scores(tmp_path)
    additive = scores.arms[1]
    assert additive.drop.short_label == "1-10" and additive.drop.long_label == "11+"  # 1-20 cut below 11+
    assert additive.interaction.ci[0] > 0 and additive.interaction.p_value < 0.05
    none_drop = scores.arms[0].drop
    assert additive.interaction.value == pytest.approx(none_drop.value - additive.drop.value)
    result = verdict(scores)
    assert result.supported is True and result.headline.startswith("Supported")
    assert any(d.startswith("none:") and "11+ words" in d and "a drop of" in d for d in result.details)
    assert any(d.startswith("Interaction, additive:") and "`none` loses more with length" in d for d in result.details)


def test_verdict_is_not_supported_when_both_arms_drop_alike(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.3, 0.7, seed=1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.3, 0.7, seed=2), test)  # same drop, other draws
    scores = _scores(tmp_path)
    low, high = scores.arms[1].interaction.ci
    assert low < 0 < high
    result = verdict(scores)
    assert result.supported is not True and not result.headline.startswith("Supported")
    assert "interaction interval" in result.headline and "not above 0" in result.headline


def test_verdict_needs_the_interaction_even_when_attention_wins_on_long_sentences(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.2, 0.5), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.4, 0.9), test)  # better everywhere, drops as much
    scores = _scores(tmp_path)
    longest = scores.arms[1].buckets[-1]
    assert longest.delta > 0 and longest.p_holm < 0.05 and not scores.arms[1].interaction.above_zero
    result = verdict(scores)
    assert result.headline.startswith("Partly supported") and "not above 0" in result.headline
    assert "not better than" not in result.headline


def test_an_arm_under_the_bleu_floor_is_not_trained_enough_to_judge(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)
    make_run(tmp_path / "multiplicative", "multiplicative", degrade(test[2], 0.05, 3), test)  # nearly empty output
    scores = _scores(tmp_path)
    assert scores.arms[2].overall.bleu < 2.0
    result = verdict(scores)
    assert result.supported is not True
    assert "multiplicative: not trained enough to judge" in result.headline
    assert any(d.startswith("multiplicative:") and "not trained enough to judge" in d for d in result.details)
    assert "loses nothing" not in result.text()
    assert verdict(scores, min_bleu=0.0).headline.startswith("Partly supported")  # judged once the floor is lifted


def test_holm_adjusts_the_longest_bucket_p_values_over_the_attention_arms(tmp_path):
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])  # 3*0.01; max(2*0.03, 1*0.04)
    assert holm([0.5, 0.01]) == pytest.approx([0.5, 0.02]) and holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.2), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.3), test)
    make_run(tmp_path / "multiplicative", "multiplicative", _fading(test, 0.8), test)
    _, additive, multiplicative = _scores(tmp_path).arms
    p, q = additive.buckets[-1].p_value, multiplicative.buckets[-1].p_value
    expected = [min(1, 2 * p), max(min(1, 2 * p), q)] if p <= q else [max(min(1, 2 * q), p), min(1, 2 * q)]
    assert [additive.buckets[-1].p_holm, multiplicative.buckets[-1].p_holm] == pytest.approx(expected)


def test_verdict_rejects_the_claim_when_attention_changes_nothing(tmp_path):
    test = toy_corpus(90)
    hyps = _fading(test, 0.1)
    make_run(tmp_path / "none", "none", hyps, test)
    make_run(tmp_path / "additive", "additive", hyps, test)
    result = _verdict(tmp_path)
    assert result.supported is False and "p=1.000" in result.text()


def test_verdict_says_when_attention_wins_everywhere_but_not_because_of_length(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", degrade(test[2], 0.3, 0), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.5), test)  # better, yet loses more with length
    result = _verdict(tmp_path)
    assert result.headline.startswith("Partly supported") and "not shown to be specific to long" in result.headline


def test_verdict_is_not_testable_on_one_length_bucket(tmp_path):
    lengths, sources, refs = toy_corpus(20)
    short = ([min(n, 5) for n in lengths], sources, refs)
    make_run(tmp_path / "none", "none", refs, short)
    make_run(tmp_path / "additive", "additive", refs, short)
    assert _verdict(tmp_path).headline.startswith("Not testable")


def test_verdict_reports_the_spread_between_seeds(tmp_path):
    test = toy_corpus(40)
    for seed, keep in ((1, 0.3), (2, 0.7)):
        make_run(tmp_path / f"none_s{seed}", "none", degrade(test[2], keep, seed), test, seed=seed)
        make_run(tmp_path / f"additive_s{seed}", "additive", degrade(test[2], keep, seed + 5), test, seed=seed)
    [comparison] = make_comparisons(collect([tmp_path]))
    scores = score_comparison(comparison, resamples=50)
    none = scores.arms[0].overall
    assert f"none {min(none.seed_bleus):.2f} to {max(none.seed_bleus):.2f}" in verdict(scores).text()
    assert scores.bootstrap == SEEDS_AND_SENTENCES and "resample each arm's seeds" in verdict(scores).text()


def test_resampling_seeds_widens_the_intervals_when_seeds_disagree(tmp_path):
    test = toy_corpus(60)
    for seed, keep in ((1, 0.3), (2, 0.8)):  # two training runs far apart
        make_run(tmp_path / f"none_s{seed}", "none", degrade(test[2], keep, seed), test, seed=seed)
        make_run(tmp_path / f"additive_s{seed}", "additive", degrade(test[2], 0.55, seed + 5), test, seed=seed)
    with_seeds, sentences = _scores(tmp_path), _scores(tmp_path, resample_seeds=False)
    assert (with_seeds.bootstrap, sentences.bootstrap) == (SEEDS_AND_SENTENCES, SENTENCES)
    for wide, narrow in zip(with_seeds.arms[0].slices, sentences.arms[0].slices):
        assert wide.bleu == narrow.bleu  # the point value is the mean over seeds either way
        assert wide.ci[1] - wide.ci[0] > 1.5 * (narrow.ci[1] - narrow.ci[0])
    wide, narrow = with_seeds.arms[1].overall, sentences.arms[1].overall
    assert wide.delta_ci[1] - wide.delta_ci[0] > narrow.delta_ci[1] - narrow.delta_ci[0]
    assert wide.p_value >= narrow.p_value


def test_one_seed_per_arm_is_koehns_paired_bootstrap_either_way(tmp_path):
    test = toy_corpus(60)
    make_run(tmp_path / "none", "none", degrade(test[2], 0.4, 1), test)
    make_run(tmp_path / "additive", "additive", degrade(test[2], 0.6, 2), test)
    with_seeds, sentences = _scores(tmp_path), _scores(tmp_path, resample_seeds=False)
    assert with_seeds.bootstrap == SENTENCES
    for a, b in zip(with_seeds.arms[1].slices, sentences.arms[1].slices):
        assert (a.ci, a.delta_ci, a.p_value) == (b.ci, b.delta_ci, b.p_value)
