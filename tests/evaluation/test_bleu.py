"""BucketedBLEU equals sacreBLEU run directly on each bucket's sentences, and sums exactly across shards."""

import random

import pytest
import sacrebleu

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import BucketedBLEU, bucket_index, make_buckets

WORDS = "the a god said let there be light and it was good earth heaven water day night".split()


def _corpus(n=300, seed=0):
    rng = random.Random(seed)
    refs, hyps, lengths = [], [], []
    for _ in range(n):
        length = rng.randint(1, 70)
        ref = [rng.choice(WORDS) for _ in range(max(1, length // 2 + rng.randint(0, 5)))]
        hyp = [w if rng.random() < 0.7 else rng.choice(WORDS) for w in ref][: len(ref) - rng.randint(0, 2) or 1]
        refs.append(" ".join(ref) + ".")
        hyps.append(" ".join(hyp) + ".")
        lengths.append(length)
    return hyps, refs, lengths


def test_bucketed_bleu_equals_sacrebleu_on_each_bucket():
    hyps, refs, lengths = _corpus()
    edges = [10, 20, 30, 40, 50]
    metric = BucketedBLEU(edges)
    metric.update(hyps[:100], refs[:100], lengths[:100])
    metric.update(hyps[100:], refs[100:], lengths[100:])
    result = metric.compute()
    assert result["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    for k, bucket in enumerate(result["buckets"]):
        members = [i for i, n in enumerate(lengths) if bucket_index(n, edges) == k]
        assert bucket["n"] == len(members) > 0
        expected = sacrebleu.corpus_bleu([hyps[i] for i in members], [[refs[i] for i in members]]).score
        assert bucket["bleu"] == pytest.approx(expected, abs=1e-9)
    assert [b["label"] for b in result["buckets"]] == ["1-10", "11-20", "21-30", "31-40", "41-50", "51+"]


def test_bucketed_bleu_states_add_up_exactly_across_shards():
    """What DDP does: each rank sees part of the test set, states are summed."""
    hyps, refs, lengths = _corpus(seed=3)
    whole = BucketedBLEU([10, 30])
    whole.update(hyps, refs, lengths)
    shards = [BucketedBLEU([10, 30]) for _ in range(2)]
    for rank, shard in enumerate(shards):
        shard.update(hyps[rank::2], refs[rank::2], lengths[rank::2])
    shards[0].stats += shards[1].stats
    shards[0].counts += shards[1].counts
    assert shards[0].compute() == whole.compute()


def test_bucket_labels_and_membership_follow_the_edges():
    assert [b.label for b in make_buckets([10, 20])] == ["1-10", "11-20", "21+"]
    assert [bucket_index(n, [10, 20]) for n in (1, 10, 11, 20, 21, 500)] == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("edges", [[10, 10], [20, 10], [0, 5]])
def test_bucket_edges_must_increase(edges):
    with pytest.raises(ConfigError, match="evaluation.bucket_edges"):
        make_buckets(edges)


def test_empty_bucket_scores_zero_and_signature_names_sacrebleu_settings():
    metric = BucketedBLEU([10, 20])
    metric.update(["a b c d"], ["a b c d"], [5])
    result = metric.compute()
    assert result["buckets"][0]["bleu"] == pytest.approx(100.0)
    assert result["buckets"][1] == {
        "label": "11-20",
        "lower": 11,
        "upper": 20,
        "n": 0,
        "bleu": 0.0,
        "length_ratio": None,
    }
    assert "tok:13a" in metric.signature() and "nrefs:1" in metric.signature()


def test_chrf_and_length_ratio_per_bucket_equal_sacrebleu_on_a_known_example():
    metric = BucketedBLEU([5], chrf=True)
    hyps, refs, lengths = (
        ["the cat sat", "a b", "one two three four five"],
        ["the cat sat down", "a b", "one two three"],
        [3, 4, 8],
    )
    metric.update(hyps, refs, lengths)
    result = metric.compute()
    short, long_ = result["buckets"]
    assert short["length_ratio"] == pytest.approx(5 / 6) and long_["length_ratio"] == pytest.approx(5 / 3)
    assert result["length_ratio"] == pytest.approx(10 / 9)
    assert short["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps[:2], [refs[:2]]).score, abs=1e-9)
    assert long_["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps[2:], [refs[2:]]).score, abs=1e-9)
    assert result["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    assert "nc:6" in metric.chrf_signature()


def test_chrf_states_add_up_exactly_across_shards():
    hyps, refs, lengths = _corpus(seed=5)
    whole = BucketedBLEU([10, 30], chrf=True)
    whole.update(hyps, refs, lengths)
    shards = [BucketedBLEU([10, 30], chrf=True) for _ in range(2)]
    for rank, shard in enumerate(shards):
        shard.update(hyps[rank::2], refs[rank::2], lengths[rank::2])
    for name in ("stats", "counts", "chrf_stats"):
        getattr(shards[0], name).add_(getattr(shards[1], name))
    assert shards[0].compute() == whole.compute()
