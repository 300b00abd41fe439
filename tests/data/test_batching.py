"""Length-bucketed batches: every sentence once, similar lengths together, seeded, sharded by rank."""

import numpy as np
import pytest
from lightning.fabric.utilities.data import _set_sampler_epoch

from attention_nmt.data.batching import LengthBucketSampler, collate
from attention_nmt.data.resumable import ResumableDataLoader

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
    shards = [
        list(LengthBucketSampler(SRC, TRG, batch_size=64, shuffle=False, num_replicas=2, rank=r)) for r in range(2)
    ]
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


def _loader(seed: int = 3) -> ResumableDataLoader:
    sampler = LengthBucketSampler(list(range(1, 41)), list(range(1, 41)), batch_size=4, seed=seed)
    return ResumableDataLoader(list(range(40)), batch_sampler=sampler, collate_fn=list)


def test_lightning_sets_the_epoch_of_the_bucket_sampler_behind_a_loader():
    loader = _loader()
    epoch_0 = list(loader)
    _set_sampler_epoch(loader, 2)  # what Lightning's fit loop calls at the start of every epoch
    assert loader.batch_sampler.epoch == 2
    epoch_2 = list(loader)
    assert epoch_2 != epoch_0 and _flat(epoch_2) == _flat(epoch_0) == list(range(40))


def test_resumed_loader_yields_the_rest_of_the_epoch_in_the_same_order_and_records_its_place():
    first = _loader()
    first.batch_sampler.set_epoch(1)
    full = list(first)
    it = iter(first)
    seen = [next(it) for _ in range(3)]
    state = first.state_dict()
    assert state == {"epoch": 1, "batches_done": 3} and seen == full[:3]

    second = _loader()
    second.load_state_dict(state)
    assert len(second) == len(full)  # Lightning counts the whole epoch and adds the batches already done
    assert list(second) == full[3:]
    assert second.state_dict() == {"epoch": 1, "batches_done": len(full)}
    assert list(second) == full  # the skip applies to one pass only


def test_resume_position_beyond_the_epoch_is_refused():
    with pytest.raises(ValueError, match="data"):
        _loader().load_state_dict({"epoch": 0, "batches_done": 11})
