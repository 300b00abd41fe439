"""Translation sets from the Hugging Face Hub (or a local copy of one) through `datasets.load_dataset`.

This module owns `HubDataConfig`. `data.path` is what `load_dataset` takes: a hub name such as
`wmt14`, `iwslt2017` or `bentrevett/multi30k`, or a local directory holding a copy, either written
by `DatasetDict.save_to_disk` (it contains `dataset_dict.json`) or holding parquet/json files in the
hub's layout (e.g. `data/train-00000-of-00001.parquet`). Both column layouts the hub uses are
accepted: a `translation` column of `{lang: text}` dicts (wmt14, iwslt2017) and one flat column per
language (multi30k's `en`, `de`); either way the result has one `translation` column holding
`{src_lang, trg_lang}`. Remote code is never trusted, and offline mode is left to the user's
`HF_HUB_OFFLINE`/`HF_DATASETS_OFFLINE`. `max_train_pairs` keeps the first training pairs; for a hub
name every split is then streamed and materialized once into the cache (keyed by path, config, split
and limit), so 40M-pair WMT14 is never downloaded whole. A hub that cannot be reached is a
`ConfigError` that names `data.path` and says how to supply the set locally. The hub's validation/test
splits are the set's own; those whose source (normalised) also occurs in train or twice in the split are
counted and handled per `data.overlap` (`overlap.check_splits`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset, DatasetDict, Features, Value, load_dataset, load_from_disk
from datasets.exceptions import DatasetsError
from omegaconf import MISSING

from attention_nmt.data.config import DataConfig
from attention_nmt.data.overlap import check_splits
from attention_nmt.errors import ConfigError

try:  # huggingface_hub >= 1.0 talks to the hub through httpx
    from httpx import HTTPError as _HttpError
except ImportError:  # pragma: no cover - older stacks use requests, whose errors are OSErrors
    _HttpError = OSError

logger = logging.getLogger(__name__)

_UNREACHABLE = (ConnectionError, TimeoutError, FileNotFoundError, _HttpError)  # incl. DatasetNotFoundError


@dataclass
class HubDataConfig(DataConfig):
    """A translation set loaded by name (or from a local copy) with `datasets.load_dataset`."""

    name: str = MISSING  # e.g. "wmt14_fr_en"
    path: str = MISSING  # "wmt14", "iwslt2017", "bentrevett/multi30k", or a local directory with a copy
    config_name: str | None = None  # e.g. "fr-en", "iwslt2017-de-en"
    validation_split: str = "validation"
    test_split: str = "test"
    max_train_pairs: int | None = None  # keep only the first N training pairs (WMT14 is 40M)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_train_pairs is not None and self.max_train_pairs < 1:
            raise ConfigError(f"data.max_train_pairs={self.max_train_pairs}: must be >= 1, or null for all pairs.")
        if self.src_lang == self.trg_lang:
            raise ConfigError(
                f"data.trg_lang={self.trg_lang!r}: equals data.src_lang; the translation dicts need two distinct keys."
            )

    def load(self, cache_dir: Path) -> DatasetDict:
        """Load the set and return its train/validation/test splits in the translation format.

        Args:
            cache_dir: Root cache directory; `datasets` downloads and arrow files go to `cache_dir/hub`.

        Returns:
            DatasetDict with `train`, `validation`, `test` and one `translation` column of
            `{src_lang: str, trg_lang: str}` dicts.

        Raises:
            ConfigError: The hub cannot be reached or has no such set (names `data.path`), a split or
                language is missing (names `data.validation_split` / `data.src_lang` ...).
            DataFormatError: `data.overlap=error` and a validation/test source leaks from train.
        """
        wanted = {"train": "train", "validation": self.validation_split, "test": self.test_split}
        raw = self._load_raw(wanted, str(Path(cache_dir) / "hub"))
        for split, split_name in wanted.items():
            if split_name not in raw:
                key, fix = (
                    ("data.path", "Provide a copy with a 'train' split.")
                    if split == "train"
                    else (f"data.{split}_split", f"Set data.{split}_split to one of those.")
                )
                raise ConfigError(
                    f"{key}: data.path={self.path!r} has no split {split_name!r}; it has {sorted(raw)}. {fix}"
                )
        if self.max_train_pairs is not None and len(raw["train"]) > self.max_train_pairs:
            raw["train"] = raw["train"].select(range(self.max_train_pairs))
        data = DatasetDict({split: self._normalize(raw[name], name) for split, name in wanted.items()})
        logger.info("Loaded %s (%s): %s pairs", self.path, self.config_name, {k: len(v) for k, v in data.items()})
        where = {split: f"split {name!r} of data.path={self.path!r}" for split, name in wanted.items()}
        return check_splits(data, self.src_lang, self.overlap, where)

    def _load_raw(self, wanted: dict[str, str], hub_cache: str) -> DatasetDict:
        """Read a save_to_disk copy, a directory of data files, or a hub set (streamed with `max_train_pairs`)."""
        local = Path(self.path).expanduser()
        if (local / "dataset_dict.json").is_file():
            return load_from_disk(str(local))
        if (local / "state.json").is_file():
            raise ConfigError(
                f"data.path={self.path!r} holds a single Dataset saved with save_to_disk; save a DatasetDict "
                "with train/validation/test splits instead (DatasetDict({...}).save_to_disk(dir))."
            )
        if local.is_dir():  # a local copy is read whole: cheap, and its arrow cache follows the files
            with _explain_failures(self.path, local_dir=True):
                return load_dataset(str(local), self.config_name, cache_dir=hub_cache)
        if self.path.startswith(("/", "./", "../", "~")) or self.path.count("/") > 1:
            raise ConfigError(
                f"data.path={self.path!r}: no such directory. Give an existing directory holding a copy of the "
                "set (saved with DatasetDict.save_to_disk, or parquet/json files), or a hub name like `wmt14`."
            )
        with _explain_failures(self.path, local_dir=False):
            if self.max_train_pairs is None:
                return load_dataset(self.path, self.config_name, cache_dir=hub_cache)
            out = {}
            for split, name in wanted.items():  # stream, so only the first pairs of a huge train are fetched
                limit = self.max_train_pairs if split == "train" else None
                kwargs = {"path": self.path, "config_name": self.config_name, "split": name, "limit": limit}
                out[name] = Dataset.from_generator(_stream_rows, gen_kwargs=kwargs, cache_dir=hub_cache)
            return DatasetDict(out)

    def _normalize(self, data: Dataset, split: str) -> Dataset:
        """Return `data` with only a `translation` column of {src_lang, trg_lang} dicts."""
        src, trg = self.src_lang, self.trg_lang
        columns = data.column_names
        # explicit, because map() keeps the old type of a column it rewrites under the same name
        features = Features({"translation": {src: Value("string"), trg: Value("string")}})
        if "translation" in columns:
            feature = data.features["translation"]
            found = list(feature.languages) if hasattr(feature, "languages") else list(feature)
            self._check_langs(found, f"the 'translation' dicts of split {split!r}")
            data = data.remove_columns([c for c in columns if c != "translation"])
            if sorted(found) == sorted([src, trg]):
                return data
            return data.map(
                _pick_translation,
                batched=True,
                remove_columns=["translation"],
                features=features,
                fn_kwargs={"src_lang": src, "trg_lang": trg},
            )
        self._check_langs(columns, f"the columns of split {split!r}")
        return data.map(
            _flat_to_translation,
            batched=True,
            remove_columns=columns,
            features=features,
            fn_kwargs={"src_lang": src, "trg_lang": trg},
        )

    def _check_langs(self, found: list[str], where: str) -> None:
        for key, lang in (("src_lang", self.src_lang), ("trg_lang", self.trg_lang)):
            if lang not in found:
                raise ConfigError(
                    f"data.{key}={lang!r}: not among {where} in data.path={self.path!r}, which has {sorted(found)}. "
                    f"Set data.{key} to one of those, or pick another data.config_name."
                )


class _explain_failures:
    """Context manager turning 'hub unreachable / no such set' errors from `datasets` into a ConfigError."""

    def __init__(self, path: str, local_dir: bool) -> None:
        self.path = path
        self.local_dir = local_dir

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            return False
        chain = _causes(exc)
        for cause in chain:
            if isinstance(cause, ConfigError):
                raise ConfigError(str(cause)) from exc
        if self.local_dir and isinstance(exc, (OSError, ValueError, DatasetsError)):
            raise ConfigError(
                f"data.path={self.path!r}: the directory could not be read as a dataset ({type(exc).__name__}: "
                f"{exc}). It must hold a DatasetDict saved with save_to_disk, or parquet/json files named by split "
                "(e.g. data/train-00000-of-00001.parquet, data/validation-..., data/test-...)."
            ) from exc
        for cause in chain:
            if isinstance(cause, _UNREACHABLE):
                raise ConfigError(
                    f"data.path={self.path!r}: the Hugging Face Hub could not be reached or has no such dataset "
                    f"({type(cause).__name__}: {cause}). To use this set without network, load it once where the "
                    "hub is reachable and save a copy with `datasets.DatasetDict.save_to_disk(dir)` (or write "
                    "parquet files such as dir/data/train-00000-of-00001.parquet), then set data.path=/that/dir; "
                    "or convert it to text files and use data=local."
                ) from exc
        if isinstance(exc, ValueError):  # e.g. unknown config name or split
            raise ConfigError(
                f"data.path={self.path!r}, data.config_name: `datasets.load_dataset` rejected them: {exc}"
            ) from exc
        return False


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _stream_rows(path: str, config_name: str | None, split: str, limit: int | None) -> Iterator[dict]:
    """Yield the first `limit` rows (all if None) of one split, streamed; used by `Dataset.from_generator`."""
    stream = load_dataset(path, config_name, streaming=True)
    if split not in stream:
        raise ConfigError(
            f"data.path={path!r} has no split {split!r}; it has {sorted(stream)}. "
            "Set data.validation_split / data.test_split to one of those."
        )
    for index, row in enumerate(stream[split]):
        if limit is not None and index >= limit:
            return
        yield row


def _pick_translation(batch: dict, src_lang: str, trg_lang: str) -> dict:
    return {"translation": [{src_lang: t[src_lang], trg_lang: t[trg_lang]} for t in batch["translation"]]}


def _flat_to_translation(batch: dict, src_lang: str, trg_lang: str) -> dict:
    return {"translation": [{src_lang: s, trg_lang: t} for s, t in zip(batch[src_lang], batch[trg_lang])]}
