"""The verdict follows the numbers: a `none` arm that collapses on long sentences beside an attention arm that
does not gives "Supported"; identical arms give "Not supported"; one bucket only is "Not testable"."""

from __future__ import annotations

from attention_nmt.report.collect import collect
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.scores import score_comparison
from attention_nmt.report.verdict import verdict
from tests.report.handmade import degrade, make_run, toy_corpus


def _verdict(folder):
    [comparison] = make_comparisons(collect([folder]))
    return verdict(score_comparison(comparison, resamples=200))


def _fading(test, long_keep: float) -> list[str]:
    """Good translations of short sources, `long_keep` of the words right on sources over 10 words."""
    lengths, _, refs = test
    return [degrade([ref], 0.9 if n <= 10 else long_keep, seed=i)[0] for i, (n, ref) in enumerate(zip(lengths, refs))]


def test_verdict_supports_the_claim_when_only_none_collapses_on_long_sentences(tmp_path):
    test = toy_corpus(90)
    make_run(tmp_path / "none", "none", _fading(test, 0.1), test)
    make_run(tmp_path / "additive", "additive", _fading(test, 0.9), test)
    result = _verdict(tmp_path)
    assert result.supported is True and result.headline.startswith("Supported")
    assert any(d.startswith("none:") and "11+ words" in d for d in result.details)


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
    assert result.headline.startswith("Partly supported") and "not specific to long sentences" in result.headline


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
