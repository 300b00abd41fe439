"""The verdict follows the numbers, condition by condition: (a) `none` loses with length, (b) each attention arm
beats `none` on the longest bucket after Holm, (c) each interaction interval lies above 0. Each label on
hand-made runs: both halves holding; `none` flat while attention is better everywhere; a negative interaction;
one seed against several; a diverged and a still-rising arm; an arm under the BLEU floor; one bucket only."""

from __future__ import annotations

import pytest

from attention_nmt.report.collect import collect
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.health import curve_flags
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, SENTENCES, score_comparison
from attention_nmt.report.statistics import holm
from attention_nmt.report.verdict import NOT_SUPPORTED, NOT_TESTABLE, PARTLY, SUPPORTED, verdict
from tests.report.handmade import degrade, make_run, toy_corpus
from tests.report.test_health import _curve


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


def _conditions(result) -> dict[tuple[str, str], bool]:
    return {(c.key, c.arm): c.holds for c in result.conditions}


@pytest.fixture(scope="module")
def supporting(tmp_path_factory):
    """`none` collapses on long sentences (wrong words, same length), additive does not."""
    root = tmp_path_factory.mktemp("supporting")
    test = toy_corpus(90)
    make_run(root / "none", "none", _fading(test, 0.1), test)
    make_run(root / "additive", "additive", _fading(test, 0.9), test)
    return _scores(root)


def test_supported_when_both_halves_hold_says_one_training_run_and_a_loss_of_content(supporting):
    none, additive = supporting.arms
    assert additive.drop.short_label == "1-10" and additive.drop.long_label == "11+"  # 1-20 cut below 11+
    assert none.drop.ci[0] > 0 and additive.interaction.ci[0] > 0 and additive.buckets[-1].p_holm < 0.05
    assert additive.interaction.value == pytest.approx(none.drop.value - additive.drop.value)
    result = verdict(supporting)
    assert (result.label, result.supported) == (SUPPORTED, True)
    assert _conditions(result) == {("a", "none"): True, ("b", "additive"): True, ("c", "additive"): True}
    drop = none.drop
    assert result.headline.startswith(
        f"Supported on one training run per arm: (a) `none` loses with length: {drop.value:+.2f} BLEU from 1-10 to "
        f"11+ words [{drop.ci[0]:+.2f}, {drop.ci[1]:+.2f}], a loss in content, not length ("
    )
    # same lengths: the brevity penalty is 1 on both slices and takes none of the drop
    assert drop.bp_share == pytest.approx(0.0, abs=1e-9) and drop.bp_share_ci == pytest.approx((0.0, 0.0), abs=1e-9)
    assert "(b) additive: better than `none` on 11+ words" in result.headline
    assert "(c) additive: interaction drop(none) - drop(additive)" in result.headline and "above 0" in result.headline
    assert "Curves:" not in result.headline
    assert (
        "Seeds (training runs) per arm: none 1, additive 1; the bootstrap resampled sentences only." in result.details
    )


def test_supported_over_seeds_names_them_and_resamples_them(tmp_path):
    test = toy_corpus(90)
    for seed in (1, 2, 3):
        make_run(tmp_path / f"none_s{seed}", "none", _fading(test, 0.1, seed=seed), test, seed=seed)
        make_run(tmp_path / f"additive_s{seed}", "additive", _fading(test, 0.9, seed=seed + 5), test, seed=seed)
    scores = _scores(tmp_path)
    result = verdict(scores)
    assert scores.bootstrap == SEEDS_AND_SENTENCES
    assert result.label == SUPPORTED and result.headline.startswith("Supported over 3 seeds per arm: (a)")
    assert "one training run" not in result.text()
    assert "Seeds (training runs) per arm: none 3, additive 3; the bootstrap resampled seeds and sentences." in (
        result.details
    )


def test_none_flat_and_attention_better_everywhere_is_not_a_length_effect(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", degrade(test[2], 0.3, 0), test)  # the same quality at every length
    make_run(tmp_path / "additive", "additive", degrade(test[2], 0.8, 1), test)
    scores = _scores(tmp_path)
    none, additive = scores.arms
    assert none.drop.ci[0] <= 0 <= none.drop.ci[1]
    assert additive.interaction.ci[0] <= 0 <= additive.interaction.ci[1]
    assert all(b.delta > 0 and b.p_value < 0.05 for b in additive.buckets)
    result = verdict(scores)
    assert (result.label, result.supported) == (NOT_SUPPORTED, False)
    assert _conditions(result) == {("a", "none"): False, ("b", "additive"): True, ("c", "additive"): False}
    assert result.headline.startswith(
        "Not supported on one training run per arm: attention helps at every length; no length-specific effect "
        "shown; holds: (b) additive: better than `none` on 11+ words"
    )
    low, high = none.drop.ci
    assert f"fails: (a) `none` does not lose with length: {none.drop.value:+.2f} BLEU from 1-10 to 11+ words " in (
        result.headline
    )
    assert f"[{low:+.2f}, {high:+.2f}], an interval not above 0" in result.headline


def test_a_negative_interaction_is_evidence_against_the_claim(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)  # loses with length ...
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)  # ... additive does not ...
    make_run(tmp_path / "multiplicative", "multiplicative", _fading(test, 0.0, 1.0, seed=3), test)  # ... this more
    scores = _scores(tmp_path)
    multiplicative = scores.arms[2]
    assert multiplicative.interaction.ci[1] < 0
    result = verdict(scores)
    assert (result.label, result.supported) == (NOT_SUPPORTED, False)
    low, high = multiplicative.interaction.ci
    assert result.headline.startswith(
        "Not supported on one training run per arm: multiplicative loses more with length than `none` "
        "(interaction wholly below 0)"
    )
    assert f"[{low:+.2f}, {high:+.2f}], wholly below 0: multiplicative loses more with length" in result.headline
    assert "(c) additive: interaction" in result.headline.split("fails:")[0]  # what holds is still named


def test_partly_supported_names_what_holds_and_what_fails(tmp_path):
    test = toy_corpus(150)
    make_run(tmp_path / "none", "none", _fading(test, 0.2, 0.5), test)  # 16.6 -> 2.7 BLEU at these keep rates
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9, 0.9, seed=1), test)  # holds its level
    make_run(tmp_path / "multiplicative", "multiplicative", _fading(test, 0.4, 0.55, seed=2), test)  # 22.8 -> 8.9
    scores = _scores(tmp_path)
    assert scores.arms[2].buckets[-1].p_holm < 0.05 and not scores.arms[2].interaction.above_zero
    result = verdict(scores)
    assert (result.label, result.supported) == (PARTLY, None)
    holds, fails = result.headline.split("; fails: ")
    assert holds.startswith("Partly supported on one training run per arm: holds: (a) `none` loses with length")
    assert "(b) additive" in holds and "(c) additive" in holds and "(b) multiplicative" in holds
    assert fails.startswith("(c) multiplicative: interaction drop(none) - drop(multiplicative)")
    assert "not above 0, so its advantage is not shown to be specific to long sentences" in fails


def test_a_positive_interaction_without_a_loss_of_none_is_the_arms_own_gain(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", degrade(test[2], 0.3, 0), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.95, 0.5, seed=1), test)  # gains with length
    scores = _scores(tmp_path)
    additive = scores.arms[1]
    assert additive.interaction.above_zero and additive.drop.ci[1] < 0
    result = verdict(scores)
    assert result.label == PARTLY and "fails: (a) `none` does not lose with length" in result.headline
    assert f"above 0, carried by additive's own drop of {additive.drop.value:+.2f}" in result.headline


def test_diverged_and_still_rising_arms_are_named_in_the_headline(supporting):
    diverged = curve_flags("additive", _curve([2.0, 9.0, 10.0, 7.0], [4.0, 3.0, 2.9, 3.3]))
    rising = curve_flags("none", _curve([1.0, 2.0, 4.0, 8.0]))
    result = verdict(supporting, flags=[*diverged, *rising, *curve_flags("elsewhere", _curve([1.0, 2.0]))])
    assert result.label == SUPPORTED  # the conditions decide the label; the curves are said beside it
    assert [f.who for f in result.flags] == ["additive", "none"]  # an arm not in this comparison is left out
    assert "Curves: additive diverged (validation BLEU peaked at 10.00 at update 750 and ended at 7.00" in (
        result.headline
    )
    assert "; none still rising (its best validation BLEU, 8.00, is its last validation, at update 1,000" in (
        result.headline
    )
    assert result.headline.endswith("it counts toward this verdict only with that said.")
    assert any(d.startswith("Curve: additive diverged") for d in result.details)


def test_an_arm_under_the_bleu_floor_is_not_trained_enough_to_judge(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)
    make_run(tmp_path / "multiplicative", "multiplicative", degrade(test[2], 0.05, 3), test)  # nearly empty output
    scores = _scores(tmp_path)
    assert scores.arms[2].overall.bleu < 2.0
    result = verdict(scores)
    assert result.supported is not True and result.label == PARTLY
    assert "multiplicative: not trained enough to judge" in result.headline
    assert any(d.startswith("multiplicative:") and "not trained enough to judge" in d for d in result.details)
    lifted = verdict(scores, min_bleu=0.0)  # judged once the floor is lifted: as bad on long sentences as `none`
    assert (
        lifted.label == PARTLY and "fails: (b) multiplicative: not better than `none` on 11+ words" in lifted.headline
    )


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
    assert (result.label, result.supported) == (NOT_SUPPORTED, False) and "p=1.000" in result.text()
    assert "no attention arm is better on the longest sentences or loses less with length" in result.headline
    assert _conditions(result)[("a", "none")] is True  # `none` does lose; attention changes nothing


def test_verdict_is_not_testable_on_one_length_bucket(tmp_path):
    lengths, sources, refs = toy_corpus(20)
    short = ([min(n, 5) for n in lengths], sources, refs)
    make_run(tmp_path / "none", "none", refs, short)
    make_run(tmp_path / "additive", "additive", refs, short)
    result = _verdict(tmp_path)
    assert result.label == NOT_TESTABLE and result.headline.startswith("Not testable")


def test_verdict_is_not_testable_without_a_short_slice_below_the_longest_bucket(tmp_path):
    lengths, sources, refs = toy_corpus(40)
    test = ([max(n, 6) for n in lengths], sources, refs)  # 6-10 and 11+ words only
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)
    result = verdict(_scores(tmp_path, short_max_words=3))
    assert result.label == NOT_TESTABLE
    assert result.headline.startswith("Not testable: no test source of 1-3 words lies below the longest bucket (11+")


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
