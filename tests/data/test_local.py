"""Local parallel files: TSV and parallel-file corpora load through `datasets`, errors name file and line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from attention_nmt.data.local import LocalDataConfig
from attention_nmt.data.overlap import find_leaks, normalize, overlapping
from attention_nmt.errors import ConfigError, DataFormatError

PAIRS = [(f"src sentence {k}", f"trg satz {k}") for k in range(40)]


def _write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _tsv(path: Path, pairs) -> str:
    return _write(path, "".join(f"{s}\t{t}\n" for s, t in pairs))


def _parallel(tmp_path: Path, stem: str, pairs) -> tuple[str, str]:
    src = _write(tmp_path / f"{stem}.src", "".join(f"{s}\n" for s, _ in pairs))
    trg = _write(tmp_path / f"{stem}.trg", "".join(f"{t}\n" for _, t in pairs))
    return src, trg


def _as_tuples(split, src="src", trg="trg"):
    return [(row["translation"][src], row["translation"][trg]) for row in split]


def test_local_tsv_with_split_files_gives_the_pairs(tmp_path):
    cfg = LocalDataConfig(
        src_lang="de",
        trg_lang="en",
        path=_tsv(tmp_path / "train.tsv", PAIRS[:30]),
        validation_path=_tsv(tmp_path / "valid.tsv", PAIRS[30:35]),
        test_path=_tsv(tmp_path / "test.tsv", PAIRS[35:]),
    )
    data = cfg.load(tmp_path / "cache")
    assert list(data) == ["train", "validation", "test"]
    assert data["train"].column_names == ["translation"]
    assert _as_tuples(data["train"], "de", "en") == PAIRS[:30]
    assert _as_tuples(data["validation"], "de", "en") == PAIRS[30:35]
    assert _as_tuples(data["test"], "de", "en") == PAIRS[35:]


def test_local_parallel_files_give_the_pairs(tmp_path):
    src, trg = _parallel(tmp_path, "train", PAIRS[:30])
    vsrc, vtrg = _parallel(tmp_path, "valid", PAIRS[30:35])
    cfg = LocalDataConfig(
        src_path=src,
        trg_path=trg,
        validation_src_path=vsrc,
        validation_trg_path=vtrg,
        test_path=_tsv(tmp_path / "test.tsv", PAIRS[35:]),  # forms may be mixed across splits
    )
    data = cfg.load(tmp_path / "cache")
    assert _as_tuples(data["train"]) == PAIRS[:30]
    assert _as_tuples(data["validation"]) == PAIRS[30:35]
    assert _as_tuples(data["test"]) == PAIRS[35:]


def test_local_crlf_and_missing_final_newline_read_like_a_text_editor(tmp_path):
    path = _write(tmp_path / "train.tsv", b"a b\tx y\r\nc\tz\r\ne\tf")
    cfg = LocalDataConfig(path=path, validation_path=path, test_path=path)
    assert _as_tuples(cfg.load(tmp_path / "cache")["train"]) == [("a b", "x y"), ("c", "z"), ("e", "f")]


def test_local_carved_splits_disjoint_deterministic_and_complete(tmp_path):
    path = _tsv(tmp_path / "all.tsv", PAIRS)
    cfg = LocalDataConfig(path=path, validation_ratio=0.1, test_ratio=0.2, split_seed=3)
    data = cfg.load(tmp_path / "cache")
    parts = {split: _as_tuples(data[split]) for split in data}
    assert (len(parts["train"]), len(parts["validation"]), len(parts["test"])) == (28, 4, 8)  # ratios of all 40
    assert sorted(parts["train"] + parts["validation"] + parts["test"]) == sorted(PAIRS)  # disjoint and complete
    again = LocalDataConfig(path=path, validation_ratio=0.1, test_ratio=0.2, split_seed=3).load(tmp_path / "other")
    assert {split: _as_tuples(again[split]) for split in again} == parts
    reseeded = LocalDataConfig(path=path, validation_ratio=0.1, test_ratio=0.2, split_seed=4).load(tmp_path / "c3")
    assert _as_tuples(reseeded["test"]) != parts["test"]


def test_local_carves_only_the_missing_split(tmp_path):
    cfg = LocalDataConfig(
        path=_tsv(tmp_path / "all.tsv", PAIRS[:30]),
        test_path=_tsv(tmp_path / "t.tsv", PAIRS[30:]),
        validation_ratio=0.1,
    )
    data = cfg.load(tmp_path / "cache")
    assert _as_tuples(data["test"]) == PAIRS[30:]
    assert len(data["validation"]) == 3 and len(data["train"]) == 27
    assert not set(_as_tuples(data["validation"])) & set(_as_tuples(data["train"]))


def test_local_empty_sides_skipped_with_warning(tmp_path, caplog):
    text = "a\tx\n\tonly target\nonly source\t\n   \nb\ty\n"
    path = _write(tmp_path / "train.tsv", text)
    src = _write(tmp_path / "v.src", "p\n\nr\n")
    trg = _write(tmp_path / "v.trg", "P\nQ\n \n")
    cfg = LocalDataConfig(path=path, validation_src_path=src, validation_trg_path=trg, test_path=path)
    with caplog.at_level(logging.WARNING, logger="attention_nmt.data.local"):
        data = cfg.load(tmp_path / "cache")
    assert _as_tuples(data["train"]) == [("a", "x"), ("b", "y")]
    assert _as_tuples(data["validation"]) == [("p", "P")]
    messages = [r.getMessage() for r in caplog.records]
    assert any("train.tsv" in m and "skipped 3 of 5" in m and "lines 2, 3, 4" in m for m in messages)
    assert any("v.src" in m and "skipped 2 of 3" in m and "lines 2, 3" in m for m in messages)


def test_local_missing_file_names_file_and_key(tmp_path):
    cfg = LocalDataConfig(path=_tsv(tmp_path / "train.tsv", PAIRS), test_path=str(tmp_path / "nope.tsv"))
    with pytest.raises(DataFormatError, match=r"nope\.tsv: file not found \(set by data\.test_path"):
        cfg.load(tmp_path / "cache")


def test_local_parallel_line_counts_differ_names_both_counts(tmp_path):
    src = _write(tmp_path / "a.src", "1\n2\n3\n")
    trg = _write(tmp_path / "a.trg", "1\n2\n")
    with pytest.raises(DataFormatError, match=r"a\.src has 3 lines but .*a\.trg has 2"):
        LocalDataConfig(src_path=src, trg_path=trg).load(tmp_path / "cache")


@pytest.mark.parametrize("line, found", [("no tab here", 1), ("one\ttwo\tthree", 3)])
def test_local_tsv_wrong_columns_names_line(tmp_path, line, found):
    path = _write(tmp_path / "bad.tsv", f"a\tb\nc\td\n{line}\ne\tf\n")
    with pytest.raises(DataFormatError, match=rf"bad\.tsv:3: expected 2 tab-separated columns .* found {found}"):
        LocalDataConfig(path=path).load(tmp_path / "cache")


def test_local_invalid_utf8_names_file_and_line(tmp_path):
    path = _write(tmp_path / "latin.tsv", b"ok\tfine\n" + "caf\xe9\tcoffee\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin\.tsv:2: not valid UTF-8"):
        LocalDataConfig(path=path).load(tmp_path / "cache")


def test_local_parallel_invalid_utf8_names_the_bad_side(tmp_path):
    src = _write(tmp_path / "x.src", "a\nb\nc\n")
    trg = _write(tmp_path / "x.trg", b"a\nb\n\xff\xfe\n")
    with pytest.raises(DataFormatError, match=r"x\.trg:3: not valid UTF-8.*data\.trg_path"):
        LocalDataConfig(src_path=src, trg_path=trg).load(tmp_path / "cache")


def test_local_all_pairs_empty_raises(tmp_path):
    path = _write(tmp_path / "empty.tsv", "\n\t\n")
    with pytest.raises(DataFormatError, match=r"empty\.tsv \(data\.path\): no usable pair in 2 lines"):
        LocalDataConfig(path=path).load(tmp_path / "cache")


def test_local_too_few_pairs_to_carve_raises(tmp_path):
    path = _tsv(tmp_path / "tiny.tsv", PAIRS[:2])
    with pytest.raises(DataFormatError, match=r"tiny\.tsv: only 2 usable pairs.*data\.validation_ratio"):
        LocalDataConfig(path=path).load(tmp_path / "cache")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, r"data\.path / data\.src_path / data\.trg_path: none is set"),
        ({"path": "a.tsv", "src_path": "a.src"}, r"data\.path and data\.src_path are both set"),
        ({"src_path": "a.src"}, r"data\.trg_path is not set but data\.src_path is"),
        ({"path": "a", "validation_trg_path": "v.trg"}, r"data\.validation_src_path is not set"),
        ({"path": "a", "test_path": "t", "test_src_path": "t.src"}, r"data\.test_path and data\.test_src_path"),
        ({"path": "a", "validation_ratio": 0.0}, r"data\.validation_ratio=0\.0"),
        ({"path": "a", "test_ratio": 1.5}, r"data\.test_ratio=1\.5"),
        ({"path": "a", "validation_ratio": 0.5, "test_ratio": 0.5}, r"data\.validation_ratio \+ data\.test_ratio"),
        ({"path": "a", "src_lang": "x", "trg_lang": "x"}, r"data\.trg_lang"),
    ],
)
def test_local_config_invalid_keys_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LocalDataConfig(**kwargs)


def test_local_config_ratio_ignored_when_split_file_given():
    cfg = LocalDataConfig(path="a", validation_path="v", test_path="t", validation_ratio=0.0, test_ratio=0.0)
    assert cfg.validation_ratio == 0.0


def test_local_empty_lines_error_switch_names_the_first_empty_line(tmp_path):
    path = _write(tmp_path / "gaps.tsv", "a\tx\nb\ty\n\tonly target\nc\tz\n\n")
    with pytest.raises(
        DataFormatError,
        match=r"gaps\.tsv:3 \(data\.path\): empty source or target; 2 of 5 pairs"
        r".*data\.empty_lines=skip",
    ):
        LocalDataConfig(path=path, empty_lines="error").load(tmp_path / "cache")
    src, trg = _write(tmp_path / "p.src", "a\nb\n"), _write(tmp_path / "p.trg", "x\n \n")
    with pytest.raises(DataFormatError, match=r"p\.src:2 \(data\.src_path\)"):
        LocalDataConfig(src_path=src, trg_path=trg, empty_lines="error").load(tmp_path / "cache")


def test_local_empty_lines_switch_rejects_other_values():
    with pytest.raises(ValueError, match="maybe"):
        LocalDataConfig(path="a", empty_lines="maybe")


# 40 distinct sources plus 12 planted copies of 4 of them, differing in case, punctuation and spacing.
PLANTED = PAIRS + [
    (v, f"copy {k}")
    for k, v in enumerate(
        ["SRC SENTENCE 1", "src sentence 1.", "src  sentence 2", "Src, sentence 2!", "src sentence 3?"] * 2
        + ["src sentence 4", "src sentence 4"]
    )
]


def _leaks(data):
    return find_leaks({split: [src for src, _ in _as_tuples(data[split])] for split in data})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_local_carved_splits_are_leak_free_with_planted_duplicates(tmp_path, seed):
    path = _tsv(tmp_path / "planted.tsv", PLANTED)
    data = LocalDataConfig(path=path, validation_ratio=0.2, test_ratio=0.3, split_seed=seed).load(tmp_path / "c")
    parts = {split: _as_tuples(data[split]) for split in data}
    assert sorted(parts["train"] + parts["validation"] + parts["test"]) == sorted(PLANTED)  # nothing dropped
    assert (len(parts["validation"]), len(parts["test"])) == (11, 16)  # ratios of all 52
    for leaks in _leaks(data):
        assert leaks.indices == [], leaks
    assert overlapping([s for s, _ in parts["validation"]], [s for s, _ in parts["test"]]) == []
    planted = {normalize(f"src sentence {k}") for k in range(1, 5)}
    assert all(normalize(s) not in planted for s, _ in parts["validation"] + parts["test"])  # all stay in train


def test_local_carving_needs_enough_sources_of_their_own(tmp_path):
    path = _tsv(tmp_path / "repeats.tsv", [("same", "x"), ("Same.", "y"), ("other", "z"), ("SAME", "w")])
    with pytest.raises(
        DataFormatError,
        match=r"repeats\.tsv: data\.validation_ratio=0\.25 needs 1 pairs whose "
        r"source occurs only once.*3 of the 4 pairs repeat a source",
    ):
        LocalDataConfig(path=path, validation_ratio=0.25, test_ratio=0.25).load(tmp_path / "cache")


def _given_with_leaks(tmp_path, **kwargs) -> LocalDataConfig:
    """Train, validation and test files; test repeats 2 training sources (case/punctuation changed) and itself once."""
    test = PAIRS[35:] + [("SRC SENTENCE 3.", "leak a"), ("src sentence 4!", "leak b"), ("src sentence 36", "rep")]
    return LocalDataConfig(
        path=_tsv(tmp_path / "train.tsv", PAIRS[:30]),
        validation_path=_tsv(tmp_path / "valid.tsv", PAIRS[30:35]),
        test_path=_tsv(tmp_path / "test.tsv", test),
        **kwargs,
    )


def test_local_given_splits_overlap_warn_counts_and_keeps(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="attention_nmt.data.overlap"):
        data = _given_with_leaks(tmp_path).load(tmp_path / "cache")
    assert len(data["test"]) == 8
    (message,) = [r.getMessage() for r in caplog.records if "data.overlap" in r.getMessage()]
    assert "3 of 8 test pairs (data.test_path=" in message and "'SRC SENTENCE 3.'" in message


def test_local_given_splits_overlap_drop_removes_them(tmp_path):
    data = _given_with_leaks(tmp_path, overlap="drop").load(tmp_path / "cache")
    assert _as_tuples(data["test"]) == PAIRS[35:]
    assert all(not leaks.indices for leaks in _leaks(data))


def test_local_given_splits_overlap_error_names_file_count_and_example(tmp_path):
    with pytest.raises(
        DataFormatError,
        match=r"3 of 8 test pairs \(data\.test_path=.*test\.tsv\) leak: 2 with a "
        r"source that also occurs in train \(data\.path=.*train\.tsv\).*"
        r"'SRC SENTENCE 3\.'",
    ):
        _given_with_leaks(tmp_path, overlap="error").load(tmp_path / "cache")


def test_local_overlap_switch_rejects_other_values():
    with pytest.raises(ConfigError, match=r"data\.overlap='maybe'"):
        LocalDataConfig(path="a", overlap="maybe")
