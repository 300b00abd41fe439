"""Hub sets through `load_dataset`, tested on local copies in the hub's layouts; unreachable hub -> ConfigError."""

from __future__ import annotations

import time
from pathlib import Path

import datasets
import huggingface_hub
import pytest
from datasets import Dataset, DatasetDict

from attention_nmt.data import hub
from attention_nmt.data.hub import HubDataConfig
from attention_nmt.data.overlap import find_leaks
from attention_nmt.errors import ConfigError, DataFormatError

SIZES = {"train": 12, "validation": 3, "test": 4}


def _pairs(split: str) -> list[tuple[str, str]]:
    return [(f"ein satz {split} {k}", f"a sentence {split} {k}") for k in range(SIZES[split])]


def _translation_dict_set(splits=("train", "validation", "test")) -> DatasetDict:
    """wmt14/iwslt2017 layout: a `translation` column of {lang: text} (here with a third language) plus an id."""
    return DatasetDict(
        {
            split: Dataset.from_dict(
                {
                    "id": [str(k) for k in range(SIZES[split])],
                    "translation": [
                        {"de": de, "en": en, "fr": f"une phrase {k}"} for k, (de, en) in enumerate(_pairs(split))
                    ],
                }
            )
            for split in splits
        }
    )


def _flat_set() -> DatasetDict:
    """multi30k layout: one column per language."""
    return DatasetDict(
        {
            split: Dataset.from_dict({"en": [en for _, en in _pairs(split)], "de": [de for de, _ in _pairs(split)]})
            for split in SIZES
        }
    )


def _write_parquet(data: DatasetDict, root: Path) -> str:
    for split, ds in data.items():
        (root / "data").mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return str(root)


def _cfg(path: str, **kwargs) -> HubDataConfig:
    return HubDataConfig(**{"name": "test_set", "path": path, "src_lang": "de", "trg_lang": "en", **kwargs})


def _check(data: DatasetDict, max_train: int | None = None) -> None:
    assert list(data) == ["train", "validation", "test"]
    for split in SIZES:
        assert data[split].column_names == ["translation"]
        got = [(row["translation"]["de"], row["translation"]["en"]) for row in data[split]]
        want = _pairs(split)[:max_train] if split == "train" and max_train else _pairs(split)
        assert got == want
        assert set(data[split][0]["translation"]) == {"de", "en"}


@pytest.mark.parametrize("layout", [_translation_dict_set, _flat_set])
def test_hub_parquet_copy_in_hub_layout_loads(tmp_path, layout):
    path = _write_parquet(layout(), tmp_path / "copy")
    _check(_cfg(path).load(tmp_path / "cache"))


@pytest.mark.parametrize("layout", [_translation_dict_set, _flat_set])
def test_hub_save_to_disk_copy_loads(tmp_path, layout):
    layout().save_to_disk(str(tmp_path / "saved"))
    _check(_cfg(str(tmp_path / "saved")).load(tmp_path / "cache"))


def test_hub_reversed_direction_swaps_sides(tmp_path):
    path = _write_parquet(_flat_set(), tmp_path / "copy")
    data = _cfg(path, src_lang="en", trg_lang="de").load(tmp_path / "cache")
    assert data["test"][0]["translation"] == {"en": "a sentence test 0", "de": "ein satz test 0"}


def test_hub_multi30k_jsonl_layout_with_val_split_loads(tmp_path):
    root = tmp_path / "multi30k"
    root.mkdir()
    for split, filename in (("train", "train.jsonl"), ("validation", "val.jsonl"), ("test", "test.jsonl")):
        _flat_set()[split].to_json(str(root / filename))
    _check(_cfg(str(root)).load(tmp_path / "cache"))


@pytest.mark.parametrize("save", ["parquet", "disk"])
def test_hub_max_train_pairs_keeps_first_pairs(tmp_path, save):
    if save == "parquet":
        path = _write_parquet(_translation_dict_set(), tmp_path / "copy")
    else:
        path = str(tmp_path / "saved")
        _translation_dict_set().save_to_disk(path)
    _check(_cfg(path, max_train_pairs=5).load(tmp_path / "cache"), max_train=5)


def test_hub_name_with_max_train_pairs_streams_and_caches(tmp_path, monkeypatch):
    """A hub name with max_train_pairs is read by streaming only; a second load is served from the cache."""
    copy = _write_parquet(_translation_dict_set(), tmp_path / "copy")
    calls = []

    def fake_hub(path, name=None, **kwargs):  # the real library, pointed at a local copy of "org/set"
        calls.append((path, name, kwargs.get("streaming", False)))
        assert path == "org/set" and name == "de-en"
        return datasets.load_dataset(copy, **kwargs)

    monkeypatch.setattr(hub, "load_dataset", fake_hub)
    cfg = _cfg("org/set", config_name="de-en", max_train_pairs=5)
    _check(cfg.load(tmp_path / "cache"), max_train=5)
    assert calls and all(streaming for _, _, streaming in calls)

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(hub, "load_dataset", offline)
    _check(cfg.load(tmp_path / "cache"), max_train=5)
    with pytest.raises(ConfigError, match=r"data\.path='org/set'.*could not be reached"):  # other limit: not cached
        _cfg("org/set", config_name="de-en", max_train_pairs=6).load(tmp_path / "cache")


def test_hub_custom_split_names(tmp_path):
    data = _translation_dict_set()
    renamed = DatasetDict({"train": data["train"], "dev": data["validation"], "newstest": data["test"]})
    renamed.save_to_disk(str(tmp_path / "saved"))
    _check(_cfg(str(tmp_path / "saved"), validation_split="dev", test_split="newstest").load(tmp_path / "cache"))


def test_hub_missing_split_names_key(tmp_path):
    _translation_dict_set(splits=("train", "test")).save_to_disk(str(tmp_path / "saved"))
    match = r"data\.validation_split: .* no split 'validation'; it has \['test', 'train'\]"
    with pytest.raises(ConfigError, match=match):
        _cfg(str(tmp_path / "saved")).load(tmp_path / "cache")


def test_hub_missing_language_names_key(tmp_path):
    path = _write_parquet(_flat_set(), tmp_path / "copy")
    with pytest.raises(ConfigError, match=r"data\.trg_lang='cs'.*has \['de', 'en'\]"):
        _cfg(path, trg_lang="cs").load(tmp_path / "cache")


def test_hub_missing_local_directory_names_path(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.path=.*no_such_dir.*no such directory"):
        _cfg(str(tmp_path / "no_such_dir")).load(tmp_path / "cache")


def test_hub_directory_without_data_files_names_path(tmp_path):
    (tmp_path / "empty_copy").mkdir()
    with pytest.raises(ConfigError, match=r"data\.path=.*empty_copy.*could not be read as a dataset"):
        _cfg(str(tmp_path / "empty_copy")).load(tmp_path / "cache")


def _offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # datasets reads the env once, at import
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize("max_train_pairs", [None, 100])
def test_hub_unreachable_name_raises_config_error_naming_path(tmp_path, monkeypatch, max_train_pairs):
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)  # so no local directory can shadow the name
    cfg = _cfg("attention-nmt-tests/no-such-set", config_name="de-en", max_train_pairs=max_train_pairs)
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"data\.path='attention-nmt-tests/no-such-set'.*could not be reached") as err:
        cfg.load(tmp_path / "cache")
    assert time.monotonic() - start < 10
    assert "save_to_disk" in str(err.value) and "data=local" in str(err.value)


@pytest.mark.parametrize(
    "kwargs, key",
    [({"max_train_pairs": 0}, r"data\.max_train_pairs"), ({"trg_lang": "de"}, r"data\.trg_lang")],
)
def test_hub_config_invalid_field_raises_config_error(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        _cfg("wmt14", **kwargs)


def _leaky_flat_set() -> DatasetDict:
    """multi30k layout whose test repeats a training source (other case and punctuation) and one of its own."""
    data = _flat_set()
    test = data["test"].to_dict()
    test["de"] += ["EIN SATZ, train 3!", "ein satz test 1."]
    test["en"] += ["leaked", "repeated"]
    return DatasetDict({**data, "test": Dataset.from_dict(test)})


def _sources(data: DatasetDict) -> dict[str, list[str]]:
    return {split: [t["de"] for t in data[split]["translation"]] for split in data}


def test_hub_copy_without_leaks_passes_the_overlap_check(tmp_path):
    path = _write_parquet(_flat_set(), tmp_path / "copy")
    data = _cfg(path, overlap="error").load(tmp_path / "cache")
    assert all(not leaks.indices for leaks in find_leaks(_sources(data)))


def test_hub_leaking_test_split_warns_drops_or_fails(tmp_path, caplog):
    path = _write_parquet(_leaky_flat_set(), tmp_path / "copy")
    with caplog.at_level("WARNING", logger="attention_nmt.data.overlap"):
        assert len(_cfg(path).load(tmp_path / "cache")["test"]) == 6  # warn keeps them
    assert any("2 of 6 test pairs (split 'test' of data.path=" in r.getMessage() for r in caplog.records)
    dropped = _cfg(path, overlap="drop").load(tmp_path / "cache")
    assert _sources(dropped)["test"] == [de for de, _ in _pairs("test")]
    assert all(not leaks.indices for leaks in find_leaks(_sources(dropped)))
    with pytest.raises(
        DataFormatError,
        match=r"2 of 6 test pairs .*: 1 with a source that also occurs in train "
        r".*'EIN SATZ, train 3!'",
    ):
        _cfg(path, overlap="error").load(tmp_path / "cache")
