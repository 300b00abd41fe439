"""Loader for the embedded default corpus: Spanish->English Bible verses (RV1909 / World English Bible).

This module owns reading `resources/bible_es_en.tsv.gz` (built by `build_bible.py`, described in
`resources/README.md`) into a `datasets.DatasetDict`, and validating that file. The split of every
verse is stored in the file itself, so it never changes with code; a file whose validation/test sources
leak from train (never the shipped one) is handled per `data.overlap`. No pysword needed here.

File format: gzip'd UTF-8, one header line `ref\\tsplit\\tes\\ten`, then one verse pair per line with
exactly four tab-separated, non-empty fields (no quoting: the text never contains a tab or newline).
"""

from __future__ import annotations

import gzip
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import datasets

from attention_nmt.data.config import SPLITS, DataConfig
from attention_nmt.data.overlap import check_splits
from attention_nmt.errors import ConfigError, DataFormatError

HEADER = ("ref", "split", "es", "en")
LANGS = ("es", "en")
SHIPPED_FILE = "bible_es_en.tsv.gz"


@dataclass
class BibleDataConfig(DataConfig):
    """The shipped Bible corpus; `src_lang`/`trg_lang` pick the direction (es->en by default)."""

    name: str = "bible_es_en"
    src_lang: str = "es"
    trg_lang: str = "en"
    path: str | None = None  # default: the file shipped inside the package

    def __post_init__(self) -> None:
        super().__post_init__()
        if {self.src_lang, self.trg_lang} != set(LANGS):
            raise ConfigError(
                f"data.src_lang={self.src_lang!r}, data.trg_lang={self.trg_lang!r}: the Bible corpus "
                f"has only {LANGS}; use src_lang=es trg_lang=en or the reverse."
            )

    def load(self, cache_dir: Path) -> datasets.DatasetDict:
        """Read the corpus file into train/validation/test splits.

        Args:
            cache_dir: Unused (the file is small and read directly); kept for the `DataConfig` interface.

        Returns:
            A DatasetDict with splits `train`, `validation`, `test`, each with columns `ref` (e.g. `Gen.1.1`)
            and `translation` (`{"es": str, "en": str}`, both keys always present).

        Raises:
            DataFormatError: The file is missing, not gzip'd UTF-8, or has a bad header or line, or
                `data.overlap=error` and a validation/test source (normalised) leaks from train.
        """
        with ExitStack() as stack:
            if self.path is None:
                file = stack.enter_context(resources.as_file(resources.files(__package__) / "resources" / SHIPPED_FILE))
            else:
                file = Path(self.path)
            columns = read_pairs(file)
        data = datasets.DatasetDict({split: datasets.Dataset.from_dict(columns[split]) for split in SPLITS})
        where = {split: f"split {split!r} of {self.path or SHIPPED_FILE}" for split in SPLITS}
        return check_splits(data, self.src_lang, self.overlap, where)


def read_pairs(file: Path) -> dict[str, dict[str, list]]:
    """Parse and validate a corpus file.

    Args:
        file: A gzip'd TSV in the format of the module docstring.

    Returns:
        split -> {"ref": [...], "translation": [{"es": ..., "en": ...}, ...]}.

    Raises:
        DataFormatError: Naming the file and (where there is one) the 1-based line number at fault.
    """
    if not file.is_file():
        raise DataFormatError(
            f"{file}: Bible corpus file not found; set data.path to an existing .tsv.gz or "
            "leave it null for the shipped file."
        )
    columns: dict[str, dict[str, list]] = {split: {"ref": [], "translation": []} for split in SPLITS}
    seen: set[str] = set()
    try:
        with gzip.open(file, "rt", encoding="utf-8", newline="\n") as f:
            header = tuple(f.readline().rstrip("\n").split("\t"))
            if header != HEADER:
                raise DataFormatError(f"{file}, line 1: header is {header}, expected {HEADER} (tab-separated).")
            for number, line in enumerate(f, start=2):
                fields = line.rstrip("\n").split("\t")
                _check_line(file, number, fields, seen)
                ref, split, es, en = fields
                columns[split]["ref"].append(ref)
                columns[split]["translation"].append({"es": es, "en": en})
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataFormatError(
            f"{file}: cannot read as gzip'd UTF-8 TSV ({err}); regenerate it with "
            "`python -m attention_nmt.data.build_bible`."
        ) from err
    empty = [split for split in SPLITS if not columns[split]["ref"]]
    if empty:
        raise DataFormatError(f"{file}: split(s) {empty} have no lines; every one of {SPLITS} needs at least one.")
    return columns


def _check_line(file: Path, number: int, fields: list[str], seen: set[str]) -> None:
    """Raise DataFormatError if one data line is malformed; record its ref in `seen`."""
    if len(fields) != len(HEADER):
        raise DataFormatError(
            f"{file}, line {number}: {len(fields)} tab-separated fields, expected {len(HEADER)} ({', '.join(HEADER)})."
        )
    ref, split = fields[0], fields[1]
    if split not in SPLITS:
        raise DataFormatError(f"{file}, line {number}: split {split!r} is not one of {SPLITS}.")
    if not all(fields):
        raise DataFormatError(f"{file}, line {number}: empty field in {dict(zip(HEADER, fields))}.")
    if ref in seen:
        raise DataFormatError(f"{file}, line {number}: ref {ref!r} appears twice; refs must be unique.")
    seen.add(ref)
