"""Word-level and BPE tokenizers from the `tokenizers` library, trained on the train split only.

Both kinds mark word starts with "▁" (Metaspace) and split punctuation off, so decoding gives back the
original detokenized text that sacreBLEU expects. A trained tokenizer is cached by a hash of its
settings and its training text, and saved into the run folder. Ids 0-3 are <pad>, <unk>, <s>, </s>.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from attention_nmt.data.config import TokenizerConfig, TokenizerKind


class SpecialIds(NamedTuple):
    """The ids of the special tokens, the same in every tokenizer (`SPECIAL_TOKENS`, in this order)."""

    pad: int
    unk: int
    bos: int
    eos: int


SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>"]
SPECIAL_IDS = SpecialIds(pad=0, unk=1, bos=2, eos=3)


def train_tokenizer(texts: Sequence[str], cfg: TokenizerConfig) -> Tokenizer:
    """Train a word-level or BPE tokenizer on `texts` with the special tokens at ids 0-3."""
    if cfg.kind is TokenizerKind.word:
        model = models.WordLevel(unk_token="<unk>")
        trainer = trainers.WordLevelTrainer(
            vocab_size=cfg.vocab_size,
            min_frequency=cfg.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
    else:
        model = models.BPE(unk_token="<unk>")
        trainer = trainers.BpeTrainer(
            vocab_size=cfg.vocab_size,
            min_frequency=cfg.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
    tokenizer = Tokenizer(model)
    steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if cfg.lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(texts, trainer, length=len(texts))
    for token, expected in zip(SPECIAL_TOKENS, SPECIAL_IDS._asdict().values()):
        if tokenizer.token_to_id(token) != expected:
            raise RuntimeError(f"tokenizer put {token} at id {tokenizer.token_to_id(token)}, expected {expected}")
    return tokenizer


def content_hash(texts: Sequence[str], cfg: TokenizerConfig) -> str:
    """SHA-1 of the tokenizer settings and the training text."""
    digest = hashlib.sha1(json.dumps([cfg.kind.value, cfg.vocab_size, cfg.min_frequency, cfg.lowercase]).encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def cached_tokenizer(texts: Sequence[str], cfg: TokenizerConfig, cache_dir: Path) -> Tokenizer:
    """Load the tokenizer trained on exactly these texts and settings from the cache, or train and cache it."""
    path = Path(cache_dir) / "tokenizers" / f"{cfg.kind.value}-{content_hash(texts, cfg)}.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    tokenizer = train_tokenizer(texts, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    tokenizer.save(str(partial))
    partial.replace(path)  # atomic: a killed run never leaves half a file in the cache
    return tokenizer


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text, followed by </s>."""
    return [enc.ids + [SPECIAL_IDS.eos] for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def decode(tokenizer: Tokenizer, ids: Sequence[Sequence[int]]) -> list[str]:
    """Detokenized text of each id sequence (special tokens dropped)."""
    return tokenizer.decode_batch([list(x) for x in ids], skip_special_tokens=True)
