"""Local parallel corpora read through `datasets.load_dataset("text", ...)`.

This module owns `LocalDataConfig`: a corpus given either as one TSV file per split (`source<TAB>target`,
one pair a line, no header, no quoting) or as two parallel files per split (one sentence a line).
Before the library reads the files, one fast pure-Python pass per file checks what `datasets` would
accept silently: that the file exists, is valid UTF-8, that TSV lines have exactly two columns and that
parallel files have the same number of lines. Problems raise `DataFormatError` with the file and
1-based line number. Pairs whose source or target is empty (or only whitespace) are skipped and
counted in a logged warning (`data.empty_lines=skip`, the default) or stop the run naming the first
such line (`data.empty_lines=error`); never silently. Lines are split like the `text` builder splits
them (universal newlines), so line numbers match a text editor's. Splits without a file of their own
are carved off `train` with a seeded shuffle, as fractions of the whole training file, from the pairs
whose normalised source (`overlap.normalize`) occurs once in it: no carved source is also in train or
twice in its split. Splits the user gives are checked for the same leaks and `data.overlap` applies.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, concatenate_datasets, load_dataset

from attention_nmt.data.config import SPLITS, DataConfig
from attention_nmt.data.overlap import check_splits, unique_indices
from attention_nmt.errors import ConfigError, DataFormatError

logger = logging.getLogger(__name__)

_INVALID_UTF8 = re.compile("[\udc80-\udcff]")  # what errors="surrogateescape" turns undecodable bytes into
_SHOWN_LINES = 10  # skipped line numbers listed in the warning


class EmptyLines(Enum):
    """What a pair with an empty source or target does: skipped and counted, or an error."""

    skip = "skip"
    error = "error"


@dataclass
class LocalDataConfig(DataConfig):
    """Parallel text files on disk; set `path` (TSV) or `src_path` and `trg_path` (parallel files)."""

    name: str = "local"
    src_lang: str = "src"
    trg_lang: str = "trg"
    path: str | None = None  # TSV: source TAB target, one pair a line, no header
    src_path: str | None = None  # or two parallel files, one sentence a line
    trg_path: str | None = None
    validation_path: str | None = None
    validation_src_path: str | None = None
    validation_trg_path: str | None = None
    test_path: str | None = None
    test_src_path: str | None = None
    test_trg_path: str | None = None
    validation_ratio: float = 0.05  # carved off train when no validation file is given
    test_ratio: float = 0.05  # carved off train when no test file is given
    split_seed: int = 1
    empty_lines: EmptyLines = EmptyLines.skip  # skip (and count in a warning) or error

    def __post_init__(self) -> None:
        super().__post_init__()
        self.empty_lines = EmptyLines(self.empty_lines)  # also when built in Python with a string
        if self.src_lang == self.trg_lang:
            raise ConfigError(
                f"data.trg_lang={self.trg_lang!r}: equals data.src_lang; the translation dicts need two distinct keys."
            )
        if self._keys("train") is None:
            raise ConfigError(
                "data.path / data.src_path / data.trg_path: none is set. Set data.path to a TSV file "
                "(source<TAB>target) or both data.src_path and data.trg_path to parallel files."
            )
        for split in ("validation", "test"):
            self._keys(split)
        carved = [split for split in ("validation", "test") if self._keys(split) is None]
        for split in carved:
            ratio = getattr(self, f"{split}_ratio")
            if not 0.0 < ratio < 1.0:
                raise ConfigError(
                    f"data.{split}_ratio={ratio}: no {split} file is given, so this fraction of the training "
                    f"pairs is carved off; it must lie strictly between 0 and 1."
                )
        total = sum(getattr(self, f"{split}_ratio") for split in carved)
        if len(carved) == 2 and total >= 1.0:
            raise ConfigError(
                f"data.validation_ratio + data.test_ratio = {total}: must be below 1 to leave training pairs; "
                "lower them or give data.validation_path / data.test_path."
            )

    def _keys(self, split: str) -> tuple[str, ...] | None:
        """Config keys holding this split's file(s): `(tsv_key,)`, `(src_key, trg_key)` or None if none is set."""
        prefix = "" if split == "train" else f"{split}_"
        tsv, src, trg = f"{prefix}path", f"{prefix}src_path", f"{prefix}trg_path"
        has_tsv, has_src, has_trg = (getattr(self, k) is not None for k in (tsv, src, trg))
        if has_tsv and (has_src or has_trg):
            raise ConfigError(
                f"data.{tsv} and data.{src if has_src else trg} are both set: give either one TSV file "
                f"(data.{tsv}) or two parallel files (data.{src} and data.{trg}), not both."
            )
        if has_src != has_trg:
            missing = trg if has_src else src
            raise ConfigError(
                f"data.{missing} is not set but data.{src if has_src else trg} is: parallel files come in pairs; "
                f"set data.{missing} or use a TSV file in data.{tsv}."
            )
        if has_tsv:
            return (tsv,)
        return (src, trg) if has_src else None

    def load(self, cache_dir: Path) -> DatasetDict:
        """Check the files, read them with `datasets.load_dataset("text")` and return the three splits.

        Args:
            cache_dir: Root cache directory; the `datasets` arrow cache goes to `cache_dir/local`.

        Returns:
            DatasetDict with `train`, `validation`, `test` and one `translation` column of
            `{src_lang: str, trg_lang: str}` dicts.

        Raises:
            DataFormatError: A file is missing, not UTF-8, a TSV line has the wrong number of columns,
                parallel files differ in length, or too few pairs remain (or too few with a source of their own
                to carve), or `data.overlap=error` and a given validation/test source leaks from train.
        """
        keys = {split: self._keys(split) for split in SPLITS}
        skip: dict[str, set[int]] = {}
        data_files: dict[str, str] = {}
        for split, split_keys in keys.items():
            if split_keys is None:
                continue
            skip[split] = self._scan_split(split, split_keys)
            for key, part in zip(split_keys, ("tsv",) if len(split_keys) == 1 else ("src", "trg")):
                data_files[f"{split}_{part}"] = str(_resolve(getattr(self, key), key))
        raw = load_dataset("text", data_files=data_files, cache_dir=str(Path(cache_dir) / "local"))
        splits = {split: self._to_pairs(raw, split, skip[split]) for split in skip}
        data = self._carve(splits, train_file=getattr(self, keys["train"][0]))
        given = {
            split: ", ".join(f"data.{key}={getattr(self, key)}" for key in split_keys)
            for split, split_keys in keys.items()
            if split_keys is not None
        }
        return check_splits(data, self.src_lang, self.overlap, given)

    def _scan_split(self, split: str, keys: tuple[str, ...]) -> set[int]:
        """Check a split's file(s) and return the 0-based line indices of pairs to skip (empty side)."""
        if len(keys) == 1:
            path = _resolve(getattr(self, keys[0]), keys[0])
            empty, num_lines = _scan(path, keys[0], columns=2)
        else:
            src_path, trg_path = (_resolve(getattr(self, key), key) for key in keys)
            src_empty, num_lines = _scan(src_path, keys[0], columns=1)
            trg_empty, trg_lines = _scan(trg_path, keys[1], columns=1)
            if num_lines != trg_lines:
                raise DataFormatError(
                    f"{src_path} has {num_lines} lines but {trg_path} has {trg_lines} (data.{keys[0]}, "
                    f"data.{keys[1]}): parallel files need one sentence a line, line for line. Align them, "
                    f"e.g. compare `wc -l` of both and look for missing or wrapped lines."
                )
            empty, path = src_empty | trg_empty, src_path
        if len(empty) == num_lines:
            raise DataFormatError(
                f"{path} (data.{keys[0]}): no usable pair in {num_lines} lines; every pair has an empty source "
                "or target. Point the key at a non-empty corpus."
            )
        if empty and self.empty_lines is EmptyLines.error:
            first = min(empty) + 1
            raise DataFormatError(
                f"{path}:{first} (data.{keys[0]}): empty source or target; {len(empty)} of {num_lines} pairs are "
                "like this and data.empty_lines=error. Remove or fill those lines, or set data.empty_lines=skip "
                "to skip them (they are counted in a warning)."
            )
        if empty:
            shown = ", ".join(str(i + 1) for i in sorted(empty)[:_SHOWN_LINES])
            more = ", ..." if len(empty) > _SHOWN_LINES else ""
            logger.warning(
                "%s (data.%s): skipped %d of %d pairs with an empty source or target (lines %s%s).",
                path,
                keys[0],
                len(empty),
                num_lines,
                shown,
                more,
            )
        return empty

    def _to_pairs(self, raw: DatasetDict, split: str, skip: set[int]) -> Dataset:
        """Turn the `text` rows of a split into a `translation` column, dropping the skipped lines."""
        langs = {"src_lang": self.src_lang, "trg_lang": self.trg_lang}
        if f"{split}_tsv" in raw:
            text = raw[f"{split}_tsv"]
            pairs = text.map(_tsv_to_translation, batched=True, remove_columns=["text"], fn_kwargs=langs)
        else:
            src = raw[f"{split}_src"].rename_column("text", "src_text")
            trg = raw[f"{split}_trg"].rename_column("text", "trg_text")
            both = concatenate_datasets([src, trg], axis=1)
            pairs = both.map(
                _columns_to_translation, batched=True, remove_columns=["src_text", "trg_text"], fn_kwargs=langs
            )
        if skip:
            pairs = pairs.select([i for i in range(len(pairs)) if i not in skip])
        return pairs

    def _carve(self, splits: dict[str, Dataset], train_file: str) -> DatasetDict:
        """Carve missing validation/test splits off train as fractions of the whole, with `split_seed`, leak-free.

        Only pairs whose normalised source (`overlap.normalize`) no other training pair shares are drawn, so
        no carved source is also in train or twice in a carved split; the others stay in train.
        """
        train = splits["train"]
        total = len(train)
        missing = [split for split in ("test", "validation") if split not in splits]
        if not missing:
            return DatasetDict({split: splits[split] for split in SPLITS})
        eligible = unique_indices([t[self.src_lang] for t in train["translation"]])
        order = [eligible[i] for i in np.random.default_rng(self.split_seed).permutation(len(eligible))]
        taken = 0
        for split in missing:
            ratio = getattr(self, f"{split}_ratio")
            n_carved = max(1, math.ceil(round(ratio * total, 9)))  # a fraction of the whole file, rounded up
            if total - taken - n_carved < 1:
                raise DataFormatError(
                    f"{train_file}: only {total} usable pairs, too few to carve data.{split}_ratio={ratio} off "
                    f"train and keep training pairs. Give a separate data.{split}_path or a larger corpus."
                )
            if len(order) - taken < n_carved:
                raise DataFormatError(
                    f"{train_file}: data.{split}_ratio={ratio} needs {n_carved} pairs whose source occurs only once "
                    f"in the file, but only {len(order) - taken} are left of {len(eligible)} ({total - len(eligible)} "
                    f"of the {total} pairs repeat a source, compared after NFKC, case-folding and removing punctuation "
                    "and extra spaces, and stay in train so that no carved source is also a training source). "
                    f"Lower data.{split}_ratio, give a separate data.{split}_path, or remove the repeated pairs."
                )
            splits[split] = train.select(sorted(order[taken : taken + n_carved]))
            taken += n_carved
        carved = set(order[:taken])
        splits["train"] = train.select([i for i in range(total) if i not in carved])
        logger.info(
            "%s: carved %s off %d training pairs; %d pairs whose source another pair shares stayed in train.",
            train_file,
            {split: len(splits[split]) for split in missing},
            total,
            total - len(eligible),
        )
        return DatasetDict({split: splits[split] for split in SPLITS})


def _resolve(value: str, key: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise DataFormatError(
            f"{path}: file not found (set by data.{key}, resolved against {Path.cwd()}). Check the path, "
            f"or give an absolute one."
        )
    return path


def _scan(path: Path, key: str, columns: int) -> tuple[set[int], int]:
    """One pass over a file, split into lines like the `text` builder does.

    Args:
        path: File to check.
        key: Config key that named the file (for messages).
        columns: 2 for a TSV file (source<TAB>target), 1 for one side of a parallel pair.

    Returns:
        (0-based indices of lines with an empty side, number of lines).
    """
    empty: set[int] = set()
    num_lines = 0
    with open(path, encoding="utf-8", errors="surrogateescape") as f:  # universal newlines, like the builder
        for index, line in enumerate(f):
            num_lines += 1
            line = line.rstrip("\n")
            bad = _INVALID_UTF8.search(line)
            if bad:
                raw = line[bad.start() : bad.start() + 4].encode("utf-8", "surrogateescape")
                raise DataFormatError(
                    f"{path}:{index + 1}: not valid UTF-8 (bytes {raw!r} at character {bad.start() + 1}; "
                    f"file set by data.{key}). Re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                )
            if columns == 1:
                if not line.strip():
                    empty.add(index)
                continue
            if not line.strip():  # a blank line is an empty pair, not a malformed one
                empty.add(index)
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise DataFormatError(
                    f"{path}:{index + 1}: expected 2 tab-separated columns (source<TAB>target), found "
                    f"{len(fields)} in {line[:80]!r} (file set by data.{key}). Remove stray tabs, or add "
                    f"the missing one; use data.src_path/data.trg_path if sentences contain tabs."
                )
            if not fields[0].strip() or not fields[1].strip():
                empty.add(index)
    return empty, num_lines


def _tsv_to_translation(batch: dict, src_lang: str, trg_lang: str) -> dict:
    pairs = [line.split("\t") if line.strip() else ["", ""] for line in batch["text"]]
    return {"translation": [{src_lang: src.strip(), trg_lang: trg.strip()} for src, trg in pairs]}


def _columns_to_translation(batch: dict, src_lang: str, trg_lang: str) -> dict:
    rows = zip(batch["src_text"], batch["trg_text"])
    return {"translation": [{src_lang: src.strip(), trg_lang: trg.strip()} for src, trg in rows]}
