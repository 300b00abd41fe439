"""Several seeds per arm: every interval holds its point estimate (the mean over seeds) whether the bootstrap
resamples seeds and sentences or sentences only."""

from __future__ import annotations

import pytest

from attention_nmt.report.collect import collect
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, SENTENCES, score_comparison
from tests.report.handmade import degrade, make_run, toy_corpus


def _inside(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] - 1e-9 <= value <= interval[1] + 1e-9


@pytest.fixture(scope="module")
def three_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    test = toy_corpus(90)
    for seed, (none_keep, additive_keep) in zip((1, 2, 3), ((0.4, 0.6), (0.5, 0.7), (0.45, 0.75))):
        make_run(root / f"none_s{seed}", "none", degrade(test[2], none_keep, seed), test, seed=seed)
        make_run(root / f"additive_s{seed}", "additive", degrade(test[2], additive_keep, seed + 9), test, seed=seed)
    [comparison] = make_comparisons(collect([root]))
    return comparison


@pytest.mark.parametrize("resample_seeds, bootstrap", [(True, SEEDS_AND_SENTENCES), (False, SENTENCES)])
def test_every_interval_holds_its_point_estimate_with_several_seeds(three_seeds, resample_seeds, bootstrap):
    scores = score_comparison(three_seeds, resamples=300, resample_seeds=resample_seeds)
    assert scores.bootstrap == bootstrap
    for arm in scores.arms:
        assert len(arm.arm.runs) == 3
        for piece in arm.slices:
            assert _inside(piece.bleu, piece.ci), (arm.arm.label, piece.label, piece.bleu, piece.ci)
            if piece.delta is not None:
                assert _inside(piece.delta, piece.delta_ci), (arm.arm.label, piece.label, piece.delta, piece.delta_ci)
        assert _inside(arm.drop.value, arm.drop.ci), (arm.arm.label, arm.drop)
        if arm.interaction is not None:
            assert _inside(arm.interaction.value, arm.interaction.ci), (arm.arm.label, arm.interaction)
