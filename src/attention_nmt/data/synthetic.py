"""Synthetic translation tasks with known gold alignments, generated from a seed and cached on disk.

This module owns the synthetic corpora: `reverse_map`, `copy` and `sort`. Source sentences are
sequences of word types spelled `w0 .. w{V-1}` whose length is uniform in `[min_len, max_len]`, so
the source-length distribution is under control and long sentences can be studied on purpose.
Targets are derived deterministically from the source:

* `reverse_map`: the source reversed, each token mapped through a fixed seeded bijection of the
  vocabulary onto target types `v0 .. v{V-1}` (e.g. `w5 -> v301`). Gold alignment `i-(n-1-i)`.
* `copy`: the source itself, token for token and spelled identically (`w5 -> w5`). Alignment `i-i`.
* `sort`: the source tokens stably sorted by integer id, then mapped like `reverse_map`.
  Alignment `order[j]-j` where `order` is the stable argsort of the source ids.

Every split carries a `translation` column of `{src_lang: str, trg_lang: str}` dicts and an
`alignment` column in Pharaoh format (`"i-j i-j ..."`, 0-based source index `i`, target index `j`,
sorted by `i`); `target[j] == token_map(...)[source[i]]` holds for every pair. Randomness comes only
from `numpy.random.SeedSequence(seed)` (one child stream for the bijection and one per split), so a
seed gives the same data on every machine. Splits are made leak-free by rejection at generation: no
source sentence of `validation` or `train` occurs in an earlier-generated split (`test` first, then
`validation`), and none occurs twice in test or in validation (train may repeat a source), so no test
source is in train or validation. The spelled-out sources (`w5 w17`) are already in the form
`overlap.normalize` gives, so this is the rule the other corpora follow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, Features, Translation, Value, load_from_disk

from attention_nmt.data.config import DataConfig
from attention_nmt.errors import ConfigError

logger = logging.getLogger(__name__)

_FORMAT_VERSION = 2  # bump when the generated data changes, so stale caches are not reused
_GEN_ORDER = ("test", "validation", "train")  # rejection order that makes the splits disjoint
_STREAM = {"map": 0, "train": 1, "validation": 2, "test": 3}  # child index of SeedSequence(seed)


class SyntheticTask(Enum):
    reverse_map = "reverse_map"
    copy = "copy"
    sort = "sort"


@dataclass
class SyntheticDataConfig(DataConfig):
    """A seeded synthetic task; see the module docstring for the three tasks."""

    name: str = "synthetic"
    src_lang: str = "src"
    trg_lang: str = "trg"
    task: SyntheticTask = SyntheticTask.reverse_map
    vocab_size: int = 500  # word types per side: source `w17`, target `v301` (copy: `w17`)
    min_len: int = 5  # source length in tokens is uniform in [min_len, max_len]
    max_len: int = 60
    num_train: int = 20000
    num_validation: int = 500
    num_test: int = 1000
    seed: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self.task = _parse_task(self.task)
        _check_params(
            self.vocab_size,
            self.min_len,
            self.max_len,
            self.num_train,
            self.num_validation,
            self.num_test,
            self.seed,
            self.src_lang,
            self.trg_lang,
        )

    def load(self, cache_dir: Path) -> DatasetDict:
        """Return the task's splits, generating them on the first call and reloading them afterwards.

        Args:
            cache_dir: Root cache directory; data goes to `cache_dir/synthetic/<sha1 of the parameters>`.

        Returns:
            DatasetDict with `train`, `validation`, `test`, each with `translation` and `alignment` columns.
        """
        params = self._params()
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()
        root = Path(cache_dir) / "synthetic"
        final = root / key
        if (final / "dataset_dict.json").is_file():
            logger.info("Synthetic %s data: cache hit at %s", self.task.value, final)
            return load_from_disk(str(final))
        generated = make_synthetic(
            self.task,
            self.vocab_size,
            self.min_len,
            self.max_len,
            self.num_train,
            self.num_validation,
            self.num_test,
            self.seed,
            src_lang=self.src_lang,
            trg_lang=self.trg_lang,
        )
        _save_atomically(generated, final)
        logger.info("Synthetic %s data: generated and cached at %s", self.task.value, final)
        return load_from_disk(str(final))

    def _params(self) -> dict:
        return {
            "format_version": _FORMAT_VERSION,
            "task": self.task.value,
            "vocab_size": self.vocab_size,
            "min_len": self.min_len,
            "max_len": self.max_len,
            "num_train": self.num_train,
            "num_validation": self.num_validation,
            "num_test": self.num_test,
            "seed": self.seed,
            "src_lang": self.src_lang,
            "trg_lang": self.trg_lang,
        }


def token_map(task: SyntheticTask | str, vocab_size: int, seed: int) -> dict[str, str]:
    """The source-to-target word mapping of a task: `target[j] == token_map(...)[source[i]]` for each gold `i-j`.

    Args:
        task: The synthetic task (enum or its name).
        vocab_size: Number of word types.
        seed: The data seed.

    Returns:
        Dict from every source type `w<k>` to its target type (`v<perm[k]>`, or `w<k>` itself for `copy`).
    """
    src_words, trg_words = _vocabularies(SyntheticTask(task), vocab_size, seed)
    return dict(zip(src_words, trg_words))


def make_synthetic(
    task: SyntheticTask | str,
    vocab_size: int,
    min_len: int,
    max_len: int,
    num_train: int,
    num_validation: int,
    num_test: int,
    seed: int,
    *,
    src_lang: str = "src",
    trg_lang: str = "trg",
) -> DatasetDict:
    """Generate a synthetic task in memory (no caching; `SyntheticDataConfig.load` caches).

    Args:
        task: `reverse_map`, `copy` or `sort` (enum or its name).
        vocab_size: Number of word types per side.
        min_len: Shortest source sentence in tokens.
        max_len: Longest source sentence in tokens.
        num_train: Pairs in `train`.
        num_validation: Pairs in `validation`.
        num_test: Pairs in `test`.
        seed: Seed of every random choice (the bijection and each split's stream).
        src_lang: Source key of the `translation` dicts.
        trg_lang: Target key of the `translation` dicts.

    Returns:
        DatasetDict with `train`, `validation`, `test`; columns `translation` and `alignment`.

    Raises:
        ConfigError: A parameter is out of range, or the vocabulary and lengths allow too few distinct sources.
    """
    task = _parse_task(task)
    _check_params(vocab_size, min_len, max_len, num_train, num_validation, num_test, seed, src_lang, trg_lang)
    streams = np.random.SeedSequence(seed).spawn(len(_STREAM))
    src_words, trg_words = _vocabularies(task, vocab_size, seed)
    counts = {"train": num_train, "validation": num_validation, "test": num_test}
    features = Features({"translation": Translation(languages=[src_lang, trg_lang]), "alignment": Value("string")})
    taken: set[bytes] = set()
    splits: dict[str, Dataset] = {}
    for split in _GEN_ORDER:
        rng = np.random.default_rng(streams[_STREAM[split]])
        sources = _sample_sources(rng, counts[split], min_len, max_len, vocab_size, taken, distinct=split != "train")
        taken.update(ids.tobytes() for ids in sources)
        rows = [_make_pair(ids, task, src_words, trg_words) for ids in sources]
        splits[split] = Dataset.from_dict(
            {
                "translation": [{src_lang: src, trg_lang: trg} for src, trg, _ in rows],
                "alignment": [alignment for _, _, alignment in rows],
            },
            features=features,
        )
    return DatasetDict({split: splits[split] for split in ("train", "validation", "test")})


def _parse_task(task: SyntheticTask | str) -> SyntheticTask:
    try:
        return SyntheticTask(task)
    except ValueError:
        allowed = ", ".join(t.value for t in SyntheticTask)
        raise ConfigError(f"data.task={task!r}: unknown synthetic task. Choose one of: {allowed}.") from None


def _check_params(
    vocab_size: int,
    min_len: int,
    max_len: int,
    num_train: int,
    num_validation: int,
    num_test: int,
    seed: int,
    src_lang: str,
    trg_lang: str,
) -> None:
    """Raise ConfigError naming `data.<key>` for the first out-of-range parameter."""
    if vocab_size < 2:
        raise ConfigError(f"data.vocab_size={vocab_size}: a synthetic task needs at least 2 word types; set it >= 2.")
    if min_len < 1:
        raise ConfigError(f"data.min_len={min_len}: sentences need at least one token; set it >= 1.")
    if max_len < min_len:
        raise ConfigError(
            f"data.max_len={max_len}: must be >= data.min_len={min_len}; raise data.max_len or lower data.min_len."
        )
    for key, value in (("num_train", num_train), ("num_validation", num_validation), ("num_test", num_test)):
        if value < 1:
            raise ConfigError(f"data.{key}={value}: every split needs at least one pair; set it >= 1.")
    if seed < 0:
        raise ConfigError(f"data.seed={seed}: numpy seeds must be non-negative integers; use a seed >= 0.")
    if src_lang == trg_lang:
        raise ConfigError(
            f"data.trg_lang={trg_lang!r}: equals data.src_lang; the translation dicts need two distinct keys."
        )


def _vocabularies(task: SyntheticTask, vocab_size: int, seed: int) -> tuple[list[str], list[str]]:
    """Source spellings and, at the same index, the target spelling each source type maps to."""
    src_words = [f"w{k}" for k in range(vocab_size)]
    if task is SyntheticTask.copy:
        return src_words, list(src_words)
    map_stream = np.random.SeedSequence(seed).spawn(len(_STREAM))[_STREAM["map"]]
    perm = np.random.default_rng(map_stream).permutation(vocab_size)
    return src_words, [f"v{int(p)}" for p in perm]


def _sample_sources(
    rng: np.random.Generator,
    n: int,
    min_len: int,
    max_len: int,
    vocab_size: int,
    taken: set[bytes],
    distinct: bool = False,
) -> list[np.ndarray]:
    """Draw `n` id sequences (length uniform in [min_len, max_len]) none of which is in `taken`;
    `distinct`: no repeats."""
    budget = 100 * n + 1000
    sources: list[np.ndarray] = []
    drawn: set[bytes] = set()
    for _ in range(budget):
        if len(sources) == n:
            return sources
        length = int(rng.integers(min_len, max_len + 1))
        ids = rng.integers(0, vocab_size, size=length, dtype=np.int64)
        if ids.tobytes() not in taken and ids.tobytes() not in drawn:
            sources.append(ids)
            if distinct:
                drawn.add(ids.tobytes())
    if len(sources) == n:
        return sources
    raise ConfigError(
        f"data.vocab_size={vocab_size}, data.min_len={min_len}, data.max_len={max_len}: too few distinct source "
        f"sentences to keep the splits disjoint (found {len(sources)} of {n} after {budget} draws). Raise "
        "data.vocab_size or data.max_len, or lower data.num_train / data.num_validation / data.num_test."
    )


def _make_pair(
    ids: np.ndarray, task: SyntheticTask, src_words: list[str], trg_words: list[str]
) -> tuple[str, str, str]:
    """Return (source, target, Pharaoh alignment) for one id sequence; target[j] comes from source[order[j]]."""
    n = len(ids)
    if task is SyntheticTask.reverse_map:
        order = np.arange(n - 1, -1, -1)
    elif task is SyntheticTask.sort:
        order = np.argsort(ids, kind="stable")
    else:
        order = np.arange(n)
    target_of = np.empty(n, dtype=np.int64)
    target_of[order] = np.arange(n)  # target_of[i] = j such that order[j] == i
    source = " ".join(src_words[k] for k in ids)
    target = " ".join(trg_words[ids[i]] for i in order)
    alignment = " ".join(f"{i}-{int(target_of[i])}" for i in range(n))
    return source, target, alignment


def _save_atomically(data: DatasetDict, final: Path) -> None:
    """Write `data` to a temporary sibling directory and rename it to `final`, so no half cache is ever visible."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        data.save_to_disk(str(tmp))
        if final.exists():  # a stale partial dir (no dataset_dict.json) or a concurrent writer's result
            if (final / "dataset_dict.json").is_file():
                return
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "dataset_dict.json").is_file():  # lost a race to a writer that did not finish
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
