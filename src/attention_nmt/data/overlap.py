"""Leak checks between splits: one normalisation of source sentences, and the overlaps it finds.

This module owns what "the same source sentence" means everywhere splits are made or checked
(`build_bible.py`, `local.py`'s carving, the `data.overlap` check of user-given splits, the tests):
`normalize` applies Unicode NFKC, case-folds, turns every punctuation character (Unicode category
P*) into a space and collapses whitespace, so `"Y dijo Dios:"` and `"y dijo  Dios"` are one source.
On top of it: which sources of a split also occur in another (`overlapping`), which repeat inside a
split (`repeated`), which sources are unique in a whole pool (`unique_indices`, what carving draws
from), and `check_splits`, which applies the `data.overlap` policy (warn / drop / error) to a
`DatasetDict` whose validation/test the user gave rather than had carved.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from datasets import DatasetDict

from attention_nmt.errors import DataFormatError

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_EVAL_SPLITS = ("validation", "test")


class OverlapPolicy(Enum):
    """What `data.overlap` does with a validation/test source that occurs in train or twice in its split."""

    warn = "warn"  # log the count and one example, keep the pairs
    drop = "drop"  # remove those validation/test pairs, log how many
    error = "error"  # stop with a DataFormatError


def normalize(text: str) -> str:
    """The comparison key of a source sentence: NFKC, case-folded, punctuation to spaces, whitespace collapsed.

    Args:
        text: A sentence.

    Returns:
        The key; two sentences are "the same source" when their keys are equal.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", folded.translate(_punctuation_to_space())).strip()


@functools.lru_cache(maxsize=1)
def _punctuation_to_space() -> dict[int, str]:
    """`str.translate` table mapping every Unicode punctuation character (category P*) to a space."""
    return {cp: " " for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("P")}


def overlapping(train: Iterable[str], other: Sequence[str]) -> list[int]:
    """Indices of the sentences of `other` whose normalised form occurs in `train`."""
    seen = {normalize(s) for s in train}
    return [i for i, s in enumerate(other) if normalize(s) in seen]


def repeated(sentences: Sequence[str]) -> list[int]:
    """Indices of the sentences that repeat an earlier one of `sentences` (normalised); first occurrences are kept."""
    seen: set[str] = set()
    out = []
    for i, s in enumerate(sentences):
        key = normalize(s)
        if key in seen:
            out.append(i)
        seen.add(key)
    return out


def unique_indices(sentences: Sequence[str]) -> list[int]:
    """Indices of the sentences whose normalised form occurs exactly once in `sentences`.

    Only these may be carved into validation/test: a source with several copies stays in train with all of
    them, so no carved source is also a training source and none repeats inside a carved split.
    """
    keys = [normalize(s) for s in sentences]
    counts = Counter(keys)
    return [i for i, key in enumerate(keys) if counts[key] == 1]


@dataclass(frozen=True)
class SplitLeaks:
    """The pairs of one evaluation split that leak, as indices into that split."""

    split: str
    in_train: list[int]
    repeats: list[int]

    @property
    def indices(self) -> list[int]:
        return sorted(set(self.in_train) | set(self.repeats))


def find_leaks(sources: dict[str, Sequence[str]]) -> list[SplitLeaks]:
    """For `validation` and `test`, the sources also in `train` and those repeated inside the split.

    Args:
        sources: split name -> source sentences; needs `train`, `validation` and `test`.

    Returns:
        One `SplitLeaks` per evaluation split (possibly with empty lists).
    """
    return [
        SplitLeaks(split, overlapping(sources["train"], sources[split]), repeated(sources[split]))
        for split in _EVAL_SPLITS
    ]


def check_splits(data: DatasetDict, src_lang: str, policy: OverlapPolicy, where: dict[str, str]) -> DatasetDict:
    """Apply `data.overlap` to splits given by the user: count leaking validation/test pairs, then warn, drop or raise.

    A validation/test pair leaks when its normalised source occurs in train, or earlier in its own split.

    Args:
        data: DatasetDict with `train`, `validation`, `test` and a `translation` column.
        src_lang: Source key of the `translation` dicts.
        policy: `data.overlap`.
        where: split name -> how the user named it (e.g. `"data.test_path=/x/test.tsv"`), for messages;
            only the splits listed are checked (carved splits are leak-free by construction).

    Returns:
        `data`, with the leaking pairs removed from validation/test when `policy` is `drop`.

    Raises:
        DataFormatError: `policy` is `error` and some pair leaks.
    """
    if not set(where) & set(_EVAL_SPLITS):
        return data
    sources = {split: [t[src_lang] for t in data[split]["translation"]] for split in ("train", *_EVAL_SPLITS)}
    for leaks in find_leaks(sources):
        if leaks.split not in where or not leaks.indices:
            continue
        split_sources = sources[leaks.split]
        example = split_sources[(leaks.in_train or leaks.repeats)[0]]
        what = (
            f"{len(leaks.indices)} of {len(split_sources)} {leaks.split} pairs ({where[leaks.split]}) leak: "
            f"{len(leaks.in_train)} with a source that also occurs in train ({where.get('train', 'train')}) "
            f"and {len(leaks.repeats)} repeating an earlier source of {leaks.split}, compared after NFKC, "
            f"case-folding and removing punctuation and extra spaces; e.g. {example[:120]!r}"
        )
        if policy is OverlapPolicy.error:
            raise DataFormatError(
                f"{what}. Scores on such pairs measure memory, not translation. Remove those pairs from the "
                f"{leaks.split} file, or set data.overlap=drop to drop them at load time (data.overlap=warn "
                "keeps them with a warning)."
            )
        if policy is OverlapPolicy.drop:
            drop = set(leaks.indices)
            data[leaks.split] = data[leaks.split].select([i for i in range(len(split_sources)) if i not in drop])
            logger.warning("data.overlap=drop: dropped %s.", what)
        else:
            logger.warning(
                "data.overlap=warn: %s. They are kept; set data.overlap=drop to remove them or "
                "data.overlap=error to stop.",
                what,
            )
    return data
