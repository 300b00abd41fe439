"""Synthetic tasks: targets and gold alignments follow the task's rule, data is seeded, cached and validated."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from attention_nmt.data import synthetic
from attention_nmt.data.overlap import find_leaks, overlapping
from attention_nmt.data.synthetic import SyntheticDataConfig, SyntheticTask, make_synthetic, token_map
from attention_nmt.errors import ConfigError

SMALL = dict(vocab_size=30, min_len=3, max_len=12, num_train=200, num_validation=20, num_test=30, seed=7)


def _pairs(split):
    return [(row["translation"]["src"].split(), row["translation"]["trg"].split(), row["alignment"]) for row in split]


def _links(alignment: str) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in link.split("-")) for link in alignment.split()]


@pytest.mark.parametrize("task", list(SyntheticTask))
def test_make_synthetic_alignment_maps_target_back_to_source(task):
    data = make_synthetic(task, **SMALL)
    mapping = token_map(task, SMALL["vocab_size"], SMALL["seed"])
    for split in ("train", "validation", "test"):
        for src, trg, alignment in _pairs(data[split]):
            links = _links(alignment)
            assert len(trg) == len(src)
            assert sorted(i for i, _ in links) == list(range(len(src)))  # every source token aligned once
            assert sorted(j for _, j in links) == list(range(len(trg)))  # every target token aligned once
            for i, j in links:
                assert trg[j] == mapping[src[i]]


def test_make_synthetic_reverse_map_target_is_mapped_reversed_source():
    data = make_synthetic(SyntheticTask.reverse_map, **SMALL)
    mapping = token_map("reverse_map", SMALL["vocab_size"], SMALL["seed"])
    assert sorted(mapping.values()) == sorted(f"v{k}" for k in range(SMALL["vocab_size"]))  # a bijection
    assert any(k != v.replace("v", "w") for k, v in mapping.items())  # and not the identity
    for src, trg, alignment in _pairs(data["train"]):
        n = len(src)
        assert trg == [mapping[w] for w in reversed(src)]
        assert _links(alignment) == [(i, n - 1 - i) for i in range(n)]


def test_make_synthetic_copy_target_equals_source():
    data = make_synthetic("copy", **SMALL)
    for src, trg, alignment in _pairs(data["train"]):
        assert trg == src
        assert _links(alignment) == [(i, i) for i in range(len(src))]


def test_make_synthetic_sort_target_is_sorted_by_id_with_stable_alignment():
    data = make_synthetic("sort", **{**SMALL, "vocab_size": 4})  # small vocabulary forces ties
    mapping = token_map("sort", 4, SMALL["seed"])
    saw_tie = False
    for src, trg, alignment in _pairs(data["train"]):
        ids = [int(w[1:]) for w in src]
        order = sorted(range(len(ids)), key=lambda i: ids[i])  # Python's sort is stable
        assert trg == [mapping[src[i]] for i in order]
        assert sorted(_links(alignment), key=lambda link: link[1]) == [(i, j) for j, i in enumerate(order)]
        saw_tie |= len(set(ids)) < len(ids)
    assert saw_tie


def test_make_synthetic_lengths_within_bounds_and_spread():
    data = make_synthetic("reverse_map", **{**SMALL, "num_train": 500})
    lengths = [len(src) for src, _, _ in _pairs(data["train"])]
    assert min(lengths) >= SMALL["min_len"] and max(lengths) <= SMALL["max_len"]
    assert set(lengths) == set(range(SMALL["min_len"], SMALL["max_len"] + 1))  # uniform covers every length
    assert len(data["train"]) == 500 and len(data["validation"]) == 20 and len(data["test"]) == 30


def test_make_synthetic_same_seed_same_data_other_seed_different():
    first = make_synthetic("reverse_map", **SMALL)
    again = make_synthetic("reverse_map", **SMALL)
    other = make_synthetic("reverse_map", **{**SMALL, "seed": 8})
    for split in ("train", "validation", "test"):
        assert first[split].to_list() == again[split].to_list()
        assert first[split].to_list() != other[split].to_list()
    assert token_map("reverse_map", 30, 7) != token_map("reverse_map", 30, 8)


def test_make_synthetic_splits_disjoint():
    data = make_synthetic("copy", **{**SMALL, "vocab_size": 3, "min_len": 1, "max_len": 4})  # 120 distinct sources
    sources = {split: {row["translation"]["src"] for row in data[split]} for split in ("train", "validation", "test")}
    assert not sources["train"] & sources["validation"]
    assert not sources["train"] & sources["test"]
    assert not sources["validation"] & sources["test"]


def test_make_synthetic_too_few_distinct_sources_raises():
    with pytest.raises(ConfigError, match="data.vocab_size=2, data.min_len=1, data.max_len=1"):
        make_synthetic("copy", vocab_size=2, min_len=1, max_len=1, num_train=5, num_validation=1, num_test=1, seed=1)


def test_synthetic_config_load_caches_and_reuses(tmp_path, monkeypatch):
    cfg = SyntheticDataConfig(**SMALL)
    first = cfg.load(tmp_path)
    cached = list((tmp_path / "synthetic").iterdir())
    assert len(cached) == 1 and (cached[0] / "dataset_dict.json").is_file()  # no temp dir left behind
    assert len(cached[0].name) == 40  # sha1 of the parameters

    def fail(*args, **kwargs):
        raise AssertionError("make_synthetic called on a cache hit")

    monkeypatch.setattr(synthetic, "make_synthetic", fail)
    second = SyntheticDataConfig(**SMALL).load(tmp_path)
    for split in ("train", "validation", "test"):
        assert second[split].to_list() == first[split].to_list()
    with pytest.raises(AssertionError, match="cache hit"):  # other parameters -> other cache entry
        SyntheticDataConfig(**{**SMALL, "seed": 8}).load(tmp_path)


def test_synthetic_config_load_matches_make_synthetic(tmp_path):
    cfg = SyntheticDataConfig(task=SyntheticTask.sort, src_lang="de", trg_lang="en", **SMALL)
    loaded = cfg.load(tmp_path)
    made = make_synthetic("sort", **SMALL, src_lang="de", trg_lang="en")
    assert set(loaded) == {"train", "validation", "test"}
    assert loaded["test"].to_list() == made["test"].to_list()
    assert set(loaded["train"][0]["translation"]) == {"de", "en"}


def test_synthetic_config_structured_override_and_validation():
    schema = OmegaConf.structured(SyntheticDataConfig)
    cfg = OmegaConf.to_object(OmegaConf.merge(schema, {"task": "copy", "max_len": 9}))
    assert cfg.task is SyntheticTask.copy and cfg.max_len == 9
    with pytest.raises(ConfigError, match="data.max_len"):
        OmegaConf.to_object(OmegaConf.merge(schema, {"min_len": 10, "max_len": 9}))


@pytest.mark.parametrize(
    "override, key",
    [
        ({"min_len": 0}, "data.min_len"),
        ({"min_len": 5, "max_len": 4}, "data.max_len"),
        ({"vocab_size": 1}, "data.vocab_size"),
        ({"num_train": 0}, "data.num_train"),
        ({"num_validation": 0}, "data.num_validation"),
        ({"num_test": 0}, "data.num_test"),
        ({"seed": -1}, "data.seed"),
        ({"task": "shuffle"}, "data.task"),
    ],
)
def test_synthetic_config_invalid_field_raises_config_error(override, key):
    with pytest.raises(ConfigError, match=key):
        SyntheticDataConfig(**override)


@pytest.mark.parametrize("task", list(SyntheticTask))
def test_make_synthetic_no_test_or_validation_source_leaks(task):
    """Normalised, no validation/test source is in train or twice in its split, even where repeats are likely."""
    # 3 + 9 + 27 = 39 distinct sources for 10 test, 8 validation and 60 training pairs: train repeats some.
    data = make_synthetic(task, vocab_size=3, min_len=1, max_len=3, num_train=60, num_validation=8, num_test=10, seed=5)
    sources = {split: [row["src"] for row in data[split]["translation"]] for split in data}
    for leaks in find_leaks(sources):
        assert leaks.indices == [], (leaks, sources[leaks.split])
    assert overlapping(sources["validation"], sources["test"]) == []
    again = make_synthetic(
        task, vocab_size=3, min_len=1, max_len=3, num_train=60, num_validation=8, num_test=10, seed=5
    )
    assert again["test"].to_list() == data["test"].to_list()  # deterministic
