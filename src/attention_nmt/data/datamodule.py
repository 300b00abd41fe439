"""The LightningDataModule: loads a corpus, filters training pairs by length, tokenizes, and batches.

Tokenizers are trained on the whole train split (before the `max_train_len` filter, so arms trained
with different length filters share one vocabulary) and saved into the run folder. The test split is
never filtered. Each split keeps its detokenized source/reference text and source length in words,
which evaluation reads by the `index` that every batch carries. Loaders are `ResumableDataLoader`s, so
a resumed run continues the training epoch where the checkpoint left it (`data/resumable.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import lightning as L
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from attention_nmt.data.batching import LengthBucketSampler, collate
from attention_nmt.data.config import DataConfig
from attention_nmt.data.resumable import ResumableDataLoader
from attention_nmt.data.tokenization import SPECIAL_IDS, cached_tokenizer, encode
from attention_nmt.errors import DataFormatError

log = logging.getLogger(__name__)


@dataclass
class EncodedSplit(Dataset):
    """One split: texts, source length in words, token ids (ending in </s>) and, where the corpus has them
    (synthetic tasks), gold word alignments in Pharaoh format."""

    sources: list[str]
    references: list[str]
    src_words: list[int]
    src_ids: list[list[int]]
    trg_ids: list[list[int]]
    alignments: list[str] | None = None

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> tuple[int, list[int], list[int]]:
        return i, self.src_ids[i], self.trg_ids[i]


def source_words(text: str) -> int:
    """Source length in words, as Bahdanau et al.'s Figure 2 counts it (whitespace-separated)."""
    return len(text.split())


class TranslationDataModule(L.LightningDataModule):
    """Train/validation/test dataloaders over one corpus with length-bucketed batches."""

    def __init__(
        self, cfg: DataConfig, cache_dir: Path, seed: int, tokenizers: tuple[Tokenizer, Tokenizer] | None = None
    ) -> None:
        super().__init__()
        self.cfg, self.cache_dir, self.seed = cfg, Path(cache_dir), seed
        self.src_tokenizer, self.trg_tokenizer = tokenizers if tokenizers is not None else (None, None)
        self.splits: dict[str, EncodedSplit] = {}
        self.num_filtered = 0

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        corpus = self.cfg.load(self.cache_dir)
        texts, gold = {}, {}
        for split in ("train", "validation", "test"):
            if split not in corpus:
                raise DataFormatError(
                    f"data={self.cfg.name}: the corpus has no '{split}' split "
                    f"(it has {sorted(corpus)}); every corpus needs train, validation and test."
                )
            pairs = corpus[split]["translation"]
            texts[split] = ([p[self.cfg.src_lang] for p in pairs], [p[self.cfg.trg_lang] for p in pairs])
            gold[split] = corpus[split]["alignment"] if "alignment" in corpus[split].column_names else None
        if self.src_tokenizer is None:  # trained on the train split only
            self.src_tokenizer = cached_tokenizer(texts["train"][0], self.cfg.tokenizer, self.cache_dir)
            self.trg_tokenizer = cached_tokenizer(texts["train"][1], self.cfg.tokenizer, self.cache_dir)
        if self.cfg.max_train_len is not None:
            keep = [i for i, s in enumerate(texts["train"][0]) if source_words(s) <= self.cfg.max_train_len]
            self.num_filtered = len(texts["train"][0]) - len(keep)
            texts["train"] = tuple([side[i] for i in keep] for side in texts["train"])
            gold["train"] = None if gold["train"] is None else [gold["train"][i] for i in keep]
            log.info(
                "data.max_train_len=%d kept %d training pairs, dropped %d longer ones",
                self.cfg.max_train_len,
                len(keep),
                self.num_filtered,
            )
        if self.cfg.max_valid_sentences is not None:
            texts["validation"] = tuple(side[: self.cfg.max_valid_sentences] for side in texts["validation"])
            if gold["validation"] is not None:
                gold["validation"] = gold["validation"][: self.cfg.max_valid_sentences]
        for split, (src, trg) in texts.items():
            self.splits[split] = EncodedSplit(
                src,
                trg,
                [source_words(s) for s in src],
                encode(self.src_tokenizer, src),
                encode(self.trg_tokenizer, trg),
                gold[split],
            )
            log.info("%s: %d pairs", split, len(src))

    def save_tokenizers(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.src_tokenizer.save(str(folder / "src.json"))
        self.trg_tokenizer.save(str(folder / "trg.json"))

    def _loader(self, split: str, train: bool) -> DataLoader:
        data = self.splits[split]
        trainer = self.trainer
        sampler = LengthBucketSampler(
            [len(s) for s in data.src_ids],
            [len(t) for t in data.trg_ids],
            batch_size=self.cfg.batch_size if train else self.cfg.eval_batch_size,
            batch_tokens=self.cfg.batch_tokens if train else None,
            shuffle=train,
            seed=self.seed,
            pool=self.cfg.bucket_pool,
            num_replicas=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0,
        )
        return ResumableDataLoader(
            data,
            batch_sampler=sampler,
            num_workers=self.cfg.num_workers,
            seed=self.seed,
            collate_fn=partial(collate, pad_id=SPECIAL_IDS.pad, bos_id=SPECIAL_IDS.bos),
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
