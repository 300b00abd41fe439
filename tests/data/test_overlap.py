"""The normalisation that decides when two sources are "the same", and the leak checks built on it."""

from __future__ import annotations

import logging

import pytest
from datasets import Dataset, DatasetDict

from attention_nmt.data.overlap import (
    OverlapPolicy,
    check_splits,
    find_leaks,
    normalize,
    overlapping,
    repeated,
    unique_indices,
)
from attention_nmt.errors import DataFormatError


@pytest.mark.parametrize(
    "a, b",
    [
        ("Y dijo Dios:", "y  dijo dios"),  # case, punctuation, spaces
        ("«¿Qué?»", "qué"),  # Unicode punctuation
        ("ﬁn ＡＢＣ", "fin abc"),  # NFKC: ligature, full-width letters
        ("Straße", "STRASSE"),  # case-folding, not just lower()
        ("word,word", "word word"),  # punctuation becomes a space
        (" a\tb\u00a0c ", "a b c"),  # tabs, no-break spaces, ends
    ],
)
def test_normalize_equates_variants(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize("a, b", [("jehová", "jehova"), ("a b", "ab"), ("w5 w17", "w51 w7")])
def test_normalize_keeps_letters_accents_and_word_boundaries(a, b):
    assert normalize(a) != normalize(b)


def test_overlapping_repeated_and_unique_indices():
    train = ["Hola, mundo.", "Adiós"]
    other = ["hola mundo", "nuevo", "NUEVO!", "adiós."]
    assert overlapping(train, other) == [0, 3]
    assert repeated(other) == [2]
    assert unique_indices(["a", "A.", "b", "c", "c "]) == [2]


def _planted() -> DatasetDict:
    """Train plus validation/test with planted leaks: 2 test sources in train (one in another case), 1 repeat."""

    def split(sources):
        return Dataset.from_dict({"translation": [{"src": s, "trg": f"t{i}"} for i, s in enumerate(sources)]})

    return DatasetDict(
        {
            "train": split(["uno dos", "tres", "cuatro cinco"]),
            "validation": split(["seis", "siete"]),
            "test": split(["ocho", "Uno, dos.", "nueve", "ocho!", "TRES"]),
        }
    )


WHERE = {"train": "data.path=t.tsv", "validation": "data.validation_path=v.tsv", "test": "data.test_path=x.tsv"}


def test_find_leaks_on_planted_corpus():
    data = _planted()
    leaks = find_leaks({s: [t["src"] for t in data[s]["translation"]] for s in data})
    assert [(leak.split, leak.in_train, leak.repeats, leak.indices) for leak in leaks] == [
        ("validation", [], [], []),
        ("test", [1, 4], [3], [1, 3, 4]),
    ]


def test_check_splits_warn_keeps_pairs_and_logs_count_and_example(caplog):
    with caplog.at_level(logging.WARNING, logger="attention_nmt.data.overlap"):
        data = check_splits(_planted(), "src", OverlapPolicy.warn, WHERE)
    assert len(data["test"]) == 5
    (message,) = [r.getMessage() for r in caplog.records]
    assert "3 of 5 test pairs (data.test_path=x.tsv)" in message and "'Uno, dos.'" in message
    assert "data.overlap=drop" in message


def test_check_splits_drop_removes_leaking_pairs(caplog):
    with caplog.at_level(logging.WARNING, logger="attention_nmt.data.overlap"):
        data = check_splits(_planted(), "src", OverlapPolicy.drop, WHERE)
    assert [t["src"] for t in data["test"]["translation"]] == ["ocho", "nueve"]
    assert len(data["validation"]) == 2 and len(data["train"]) == 3
    assert any("dropped 3 of 5 test pairs" in r.getMessage() for r in caplog.records)
    leaks = find_leaks({s: [t["src"] for t in data[s]["translation"]] for s in data})
    assert all(not leak.indices for leak in leaks)


def test_check_splits_error_names_split_count_and_example():
    with pytest.raises(
        DataFormatError,
        match=r"3 of 5 test pairs \(data\.test_path=x\.tsv\) leak: 2 .* in train "
        r"\(data\.path=t\.tsv\) and 1 repeat.*'Uno, dos\.'.*data\.overlap=drop",
    ):
        check_splits(_planted(), "src", OverlapPolicy.error, WHERE)


def test_check_splits_only_checks_the_listed_splits():
    data = check_splits(_planted(), "src", OverlapPolicy.error, {"train": "t", "validation": "v"})
    assert len(data["test"]) == 5
