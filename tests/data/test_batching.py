"""Length-bucketed batches: every sentence once, similar lengths together, seeded, sharded by rank."""

import numpy as np

from attention_nmt.data.batching import LengthBucketSampler, collate

RNG = np.random.default_rng(0)
SRC = RNG.integers(1, 80, size=1000).tolist()
TRG = RNG.integers(1, 80, size=1000).tolist()


def _flat(batches):
    return sorted(i for b in batches for i in b)


def test_training_batches_cover_every_sentence_once_and_group_similar_lengths():
    sampler = LengthBucketSampler(SRC, TRG, batch_size=20, shuffle=True, seed=1, pool=10)
    batches = list(sampler)
    assert _flat(batches) == list(range(1000))
    spread = np.mean([max(SRC[i] for i in b) - min(SRC[i] for i in b) for b in batches])
    random_spread = np.mean([max(c) - min(c) for c in np.array_split(np.array(SRC), 50)])
    assert spread < random_spread / 4


def test_training_order_is_seeded_per_epoch():
    sampler = LengthBucketSampler(SRC, TRG, batch_size=20, seed=1)
    epoch0 = list(sampler)
    assert list(sampler) == epoch0
    sampler.set_epoch(1)
    assert list(sampler) != epoch0
    assert list(LengthBucketSampler(SRC, TRG, batch_size=20, seed=2)) != epoch0


def test_token_batches_stay_under_the_budget():
    sampler = LengthBucketSampler(SRC, TRG, batch_size=1, batch_tokens=600, seed=1)
    batches = list(sampler)
    assert _flat(batches) == list(range(1000))
    for b in batches:
        assert len(b) == 1 or len(b) * max(SRC[i] + TRG[i] for i in b) <= 600


def test_evaluation_shards_hold_every_sentence_exactly_once():
    shards = [list(LengthBucketSampler(SRC, TRG, batch_size=64, shuffle=False, num_replicas=2, rank=r))
              for r in range(2)]
    assert _flat(shards[0] + shards[1]) == list(range(1000))
    assert len(shards[0]) == len(LengthBucketSampler(SRC, TRG, 64, shuffle=False, num_replicas=2, rank=0))


def test_training_shards_have_equal_batch_counts():
    counts = [len(list(LengthBucketSampler(SRC, TRG, batch_size=30, num_replicas=2, rank=r))) for r in range(2)]
    assert counts[0] == counts[1] == len(LengthBucketSampler(SRC, TRG, batch_size=30, num_replicas=2, rank=0))


def test_collate_pads_and_shifts_the_target():
    batch = collate([(7, [5, 6, 3], [8, 9, 3]), (2, [4, 3], [3])], pad_id=0, bos_id=2)
    assert batch.src.tolist() == [[5, 6, 3], [4, 3, 0]]
    assert batch.src_lengths.tolist() == [3, 2]
    assert batch.trg_input.tolist() == [[2, 8, 9], [2, 0, 0]]
    assert batch.trg_output.tolist() == [[8, 9, 3], [3, 0, 0]]
    assert batch.index.tolist() == [7, 2]
