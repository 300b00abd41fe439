"""Tests for the shipped Bible corpus and its loader (attention_nmt.data.bible)."""

import gzip
import re
from collections import Counter
from pathlib import Path

import pytest

from attention_nmt.data.bible import BibleDataConfig
from attention_nmt.data.build_bible import bucket_name
from attention_nmt.data.overlap import find_leaks, overlapping
from attention_nmt.errors import ConfigError, DataFormatError

README = Path(__file__).parents[2] / "src" / "attention_nmt" / "data" / "resources" / "README.md"
BUCKETS = ("1-10", "11-20", "21-30", "31-40", "41-50", "51+")


@pytest.fixture(scope="module")
def corpus():
    return BibleDataConfig().load(Path("unused"))


def _readme_table() -> dict[str, list[int]]:
    """Per-split bucket counts and total from the README's 'Split x source-length bucket' table."""
    rows = re.findall(r"^\| (train|validation|test) \|(.*)\|$", README.read_text(encoding="utf-8"), re.M)
    return {split: [int(x) for x in cells.split("|")] for split, cells in rows}


def _bucket_counts(dataset) -> list[int]:
    counts = Counter(bucket_name(len(t["es"].split())) for t in dataset["translation"])
    return [counts[b] for b in BUCKETS] + [len(dataset)]


def test_bible_shipped_file_loads_with_both_languages(corpus):
    assert set(corpus) == {"train", "validation", "test"}
    for split in corpus.values():
        assert split.column_names == ["ref", "translation"]
    pairs = {r: t for split in corpus.values() for r, t in zip(split["ref"], split["translation"])}
    pair = pairs["Gen.1.1"]
    assert pair == {
        "es": "EN el principio crió Dios los cielos y la tierra.",
        "en": "In the beginning, God created the heavens and the earth.",
    }


def test_bible_split_sizes_match_readme(corpus):
    table = _readme_table()
    assert set(table) == {"train", "validation", "test"}
    for split, expected in table.items():
        assert _bucket_counts(corpus[split]) == expected, split
    assert len(corpus["validation"]) == 1000
    assert 1500 <= len(corpus["test"]) <= 2500


def test_bible_no_ref_in_two_splits(corpus):
    refs = [r for split in corpus.values() for r in split["ref"]]
    assert len(refs) == len(set(refs)) > 30000


def test_bible_every_test_bucket_has_150_sentences(corpus):
    counts = _bucket_counts(corpus["test"])[:-1]
    assert min(counts) >= 150, dict(zip(BUCKETS, counts))


def test_bible_shipped_splits_are_leak_free(corpus):
    """No normalised validation/test source occurs in train, twice in its split, or in the other evaluation split."""
    sources = {split: [t["es"] for t in corpus[split]["translation"]] for split in corpus}
    for leaks in find_leaks(sources):
        examples = [sources[leaks.split][i] for i in leaks.indices[:3]]
        assert not leaks.in_train, f"{len(leaks.in_train)} {leaks.split} sources occur in train: {examples}"
        assert not leaks.repeats, f"{len(leaks.repeats)} {leaks.split} sources repeat inside it: {examples}"
    assert overlapping(sources["validation"], sources["test"]) == []


def test_bible_test_split_reaches_long_sentences(corpus):
    lengths = [len(t["es"].split()) for t in corpus["test"]["translation"]]
    # The longest verse after cleaning and alignment is 80 words (see README); the test set reaches past 70.
    assert max(lengths) > 70
    assert sum(n > 50 for n in lengths) >= 150


def test_bible_reversed_direction_keeps_both_keys(tmp_path):
    data = BibleDataConfig(src_lang="en", trg_lang="es").load(tmp_path)
    assert set(data["test"][0]["translation"]) == {"es", "en"}


def test_bible_config_rejects_unknown_language():
    with pytest.raises(ConfigError, match="data.src_lang='fr'"):
        BibleDataConfig(src_lang="fr")


def test_bucket_name_boundaries():
    assert [bucket_name(n) for n in (1, 10, 11, 50, 51, 200)] == ["1-10", "1-10", "11-20", "41-50", "51+", "51+"]


def _write(path: Path, text: str) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return path


GOOD = "ref\tsplit\tes\ten\nGen.1.1\ttrain\tuno\tone\nGen.1.2\tvalidation\tdos\ttwo\nGen.1.3\ttest\ttres\tthree\n"


def test_bible_loads_custom_file(tmp_path):
    data = BibleDataConfig(path=str(_write(tmp_path / "ok.tsv.gz", GOOD))).load(tmp_path)
    assert data["test"]["translation"] == [{"es": "tres", "en": "three"}]
    assert data["train"]["ref"] == ["Gen.1.1"]


@pytest.mark.parametrize(
    "text, match",
    [
        (
            GOOD.replace("Gen.1.2\tvalidation\tdos\ttwo", "Gen.1.2\tvalidation\tdos"),
            r"bad\.tsv\.gz, line 3: 3 tab-separated",
        ),
        (GOOD.replace("ref\tsplit", "id\tsplit"), r"bad\.tsv\.gz, line 1: header"),
        (GOOD.replace("\ttest\t", "\tdev\t"), r"bad\.tsv\.gz, line 4: split 'dev'"),
        (GOOD.replace("Gen.1.2", "Gen.1.1"), r"line 3: ref 'Gen.1.1' appears twice"),
        (GOOD.replace("tres", ""), r"line 4: empty field"),
    ],
)
def test_bible_malformed_file_names_file_and_line(tmp_path, text, match):
    config = BibleDataConfig(path=str(_write(tmp_path / "bad.tsv.gz", text)))
    with pytest.raises(DataFormatError, match=match):
        config.load(tmp_path)


def test_bible_missing_or_not_gzip_file(tmp_path):
    with pytest.raises(DataFormatError, match="nope.tsv.gz: Bible corpus file not found"):
        BibleDataConfig(path=str(tmp_path / "nope.tsv.gz")).load(tmp_path)
    plain = tmp_path / "plain.tsv.gz"
    plain.write_text(GOOD, encoding="utf-8")
    with pytest.raises(DataFormatError, match="plain.tsv.gz: cannot read as gzip"):
        BibleDataConfig(path=str(plain)).load(tmp_path)
