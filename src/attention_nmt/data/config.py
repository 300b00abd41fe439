"""Typed config schema shared by every data source.

Each corpus kind (shipped Bible, synthetic, local files, hub) subclasses `DataConfig`, adds its own
fields and implements `load()`, which returns a `datasets.DatasetDict` with `train`, `validation` and
`test` splits and one `translation` column of `{src_lang: str, trg_lang: str}` dicts (the hub's
translation format). Sources may add extra columns (e.g. `alignment` for synthetic tasks).
`data.overlap` says what happens to validation/test pairs that leak from train (`overlap.check_splits`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from omegaconf import MISSING

from attention_nmt.data.overlap import OverlapPolicy
from attention_nmt.errors import ConfigError

SPLITS = ("train", "validation", "test")


class TokenizerKind(Enum):
    word = "word"
    bpe = "bpe"


@dataclass
class TokenizerConfig:
    kind: TokenizerKind = TokenizerKind.bpe
    vocab_size: int = 4000  # per side, special tokens included
    min_frequency: int = 1
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.vocab_size < 8:
            raise ConfigError(f"data.tokenizer.vocab_size={self.vocab_size}: must be at least 8.")
        if self.min_frequency < 1:
            raise ConfigError(f"data.tokenizer.min_frequency={self.min_frequency}: must be >= 1.")


@dataclass
class DataConfig:
    """Fields every corpus has; subclasses add where the pairs come from."""

    name: str = MISSING  # shown in run names, tags and results.json
    src_lang: str = MISSING
    trg_lang: str = MISSING
    # Training-time source-length filter in words (Bahdanau 2014's -30/-50); test is never filtered.
    max_train_len: int | None = None
    batch_size: int = 64  # sentences per training batch
    batch_tokens: int | None = None  # if set, batches hold about this many source+target tokens instead
    eval_batch_size: int = 200  # sentences per validation/test batch
    bucket_pool: int = 50  # batches whose sentences are sorted together by length before shuffling
    max_valid_sentences: int | None = None  # cap on validation pairs decoded for val BLEU
    num_workers: int = 0
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    # Validation/test pairs given by the user (files, hub splits) whose normalised source occurs in train or
    # twice in their split: warn (count and example), drop them, or error. Carved and generated splits never
    # leak (see data/overlap.py).
    overlap: OverlapPolicy = OverlapPolicy.warn

    def __post_init__(self) -> None:
        try:
            self.overlap = OverlapPolicy(self.overlap)  # also when built in Python with a string
        except ValueError:
            raise ConfigError(
                f"data.overlap={self.overlap!r}: must be one of {', '.join(p.value for p in OverlapPolicy)}."
            ) from None
        if self.max_train_len is not None and self.max_train_len < 1:
            raise ConfigError(f"data.max_train_len={self.max_train_len}: must be a positive number of words or null.")
        for key in ("batch_size", "eval_batch_size", "bucket_pool"):
            if getattr(self, key) < 1:
                raise ConfigError(f"data.{key}={getattr(self, key)}: must be >= 1.")
        if self.batch_tokens is not None and self.batch_tokens < 1:
            raise ConfigError(f"data.batch_tokens={self.batch_tokens}: must be >= 1 or null.")

    def load(self, cache_dir: Path):  # -> datasets.DatasetDict
        """Return the corpus as a DatasetDict with train/validation/test splits and a `translation` column."""
        raise NotImplementedError(f"{type(self).__name__} must implement load()")
