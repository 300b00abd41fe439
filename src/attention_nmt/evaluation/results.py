"""What a finished run leaves behind: results.json (the `RunResults` contract), hypotheses.tsv, and the BLEU
table it prints.

`RunResults` is the one contract between a finished run and everything that reads it: the test pass writes
it once (rank 0, atomically, last), the report and the tests read it back with `RunResults.read`. Each field
is documented where it is declared. `version` says which shape a file has: files written before the field
existed read as version 1, which had the same keys; a field added later (`slurm_job`, version 3) reads as its
default from older files; a file from a newer version is refused by name rather than misread. An unknown key
is an error too, so a misspelt writer cannot go unnoticed.

A run folder is portable: from version 4 the file stores `checkpoint` relative to the run folder (`..` where
it lies outside, as an evaluation's checkpoint does) and every path inside the run folder that the config
names (the output folder itself is `.`); `read` gives `checkpoint` back as a path from the folder the file is
in, wherever it was moved or cloned to. Older files keep the absolute paths they were written with.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

# 1: results.json written before it carried a version (same keys, no `version`); 2: no `slurm_job`; 3: `slurm_job`;
# 4: paths relative to the run folder (module docstring)
RESULTS_VERSION = 4


class ResultsFormatError(ValueError):
    """A results.json that is not a `RunResults` this version can read; the message names the file and key."""


@dataclass
class BucketScores:
    """One source-length bucket of the test split."""

    label: str  # "1-10", ..., "51+"
    lower: int  # fewest source words in the bucket
    upper: int | None  # most source words; None for the open last bucket
    n: int  # test sentences in the bucket
    bleu: float  # corpus BLEU of the bucket (sacreBLEU); 0.0 when the bucket is empty
    length_ratio: float | None = None  # hypothesis words / reference words; None when empty
    chrf: float | None = None  # corpus chrF of the bucket; None when empty or not measured


@dataclass
class AERBucket:
    label: str
    lower: int
    upper: int | None
    n: int  # gold links in the bucket
    aer: float | None  # alignment error rate of the bucket; None without gold links


@dataclass
class AERScores:
    """Attention against gold alignments under forced decoding (synthetic tasks with an attention arm)."""

    aer: float  # corpus alignment error rate
    links: int  # gold links counted
    buckets: list[AERBucket]


@dataclass
class TestScores:
    """The test split's scores, overall and per source-length bucket (the metric's `compute()`)."""

    bleu: float  # corpus BLEU over the whole test split (sacreBLEU, detokenized text)
    n: int  # test sentences scored
    buckets: list[BucketScores]
    length_ratio: float | None = None  # hypothesis words / reference words over the split
    chrf: float | None = None  # corpus chrF over the split
    aer: AERScores | None = None  # only where the corpus has gold alignments and the arm has attention


@dataclass
class RunResults:
    """results.json: what one finished train or evaluate run measured on its test split."""

    test: TestScores
    bleu_signature: str  # sacreBLEU's signature of the BLEU above
    num_parameters: int  # trainable parameters of the network
    decoding: dict[str, Any]  # the decoding config of the test pass (stored form, see stored_config.to_plain)
    config: dict[str, Any]  # the task's whole resolved config (train or evaluate), stored form
    checkpoint: str | None = None  # the checkpoint that was tested (train: the best by val/bleu); see the docstring
    chrf_signature: str | None = None  # sacreBLEU's signature of the chrF above
    wandb: dict[str, Any] | None = None  # the run's W&B run: {"id", "url" (None offline)}; None without W&B
    # the SLURM job that ran it: {"id", "stdout", "stderr"}, the logs being submitit's files of rank 0 (the job's
    # print and error output; None for a job submitit did not start); None outside SLURM
    slurm_job: dict[str, Any] | None = None
    # Train runs only (None for evaluate runs):
    train_time_s: float | None = None  # wall time of trainer.fit in this process (a resumed run: since resuming)
    train_tokens_per_s: float | None = None  # target tokens trained on per second of that time
    global_step: int | None = None  # optimiser updates at the end of training
    num_train_pairs: int | None = None  # training pairs after length filtering
    num_filtered: int | None = None  # training pairs dropped by data.max_train_len
    # Evaluate runs only (None for train runs):
    trained_with: dict[str, Any] | None = None  # the checkpoint's model/encoder/attention/data configs
    version: int = RESULTS_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def write(self, path: Path) -> None:
        """Write atomically (a killed run never leaves half a results.json that looks whole), with paths relative
        to the run folder, the file's own (module docstring)."""
        run_dir = Path(os.path.abspath(Path(path).parent))
        values = {**self.to_dict(), "config": relative_paths(self.config, run_dir)}
        if self.checkpoint is not None:
            values["checkpoint"] = relative_path(self.checkpoint, run_dir)
        write_text_atomically(Path(path), json.dumps(values, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "results") -> RunResults:
        values = dict(values)
        version = values.pop("version", 1)
        if not isinstance(version, int) or not 1 <= version <= RESULTS_VERSION:
            raise ResultsFormatError(
                f"{where}: version={version!r}; this attention-nmt reads results.json versions 1 to "
                f"{RESULTS_VERSION}. Was it written by a newer release?"
            )
        test = dict(_required(values, "test", where))
        aer = test.pop("aer", None)
        buckets = _required(test, "buckets", f"{where}: test")
        test_scores = _build(
            TestScores,
            {
                **test,
                "buckets": [_build(BucketScores, b, f"{where}: test.buckets[{i}]") for i, b in enumerate(buckets)],
                "aer": None if aer is None else _aer(aer, f"{where}: test.aer"),
            },
            f"{where}: test",
        )
        return _build(cls, {**values, "test": test_scores, "version": RESULTS_VERSION}, where)

    @classmethod
    def read(cls, path: Path) -> RunResults:
        """A results.json as `RunResults`; `ResultsFormatError` (naming the file) when it is not one."""
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as err:
            raise ResultsFormatError(f"{path}: not JSON ({err}).") from err
        if not isinstance(values, dict):
            raise ResultsFormatError(f"{path}: holds a {type(values).__name__}, not a results object.")
        results = cls.from_dict(values, str(path))
        if results.checkpoint is not None and values.get("version", 1) >= 4:
            results.checkpoint = os.path.normpath(os.path.join(os.path.abspath(Path(path).parent), results.checkpoint))
        return results


def relative_path(path: str, run_dir: Path) -> str:
    """`path` (absolute, or relative to the working directory) relative to `run_dir`; as given where no
    relative path exists (another drive)."""
    try:
        return os.path.relpath(os.path.abspath(path), run_dir)
    except ValueError:
        return path


def relative_paths(config: Any, run_dir: Path) -> Any:
    """`config` with every absolute path inside `run_dir` made relative to it (`run_dir` itself: "."); other
    values as they are."""
    if isinstance(config, dict):
        return {key: relative_paths(value, run_dir) for key, value in config.items()}
    if isinstance(config, list):
        return [relative_paths(value, run_dir) for value in config]
    if isinstance(config, str) and os.path.isabs(config) and Path(config).is_relative_to(run_dir):
        return relative_path(config, run_dir)
    return config


def _required(values: dict[str, Any], key: str, where: str) -> Any:
    if key not in values:
        raise ResultsFormatError(f"{where}: no `{key}`.")
    return values[key]


def _aer(values: dict[str, Any], where: str) -> AERScores:
    values = dict(values)
    buckets = [_build(AERBucket, b, f"{where}.buckets[{i}]") for i, b in enumerate(_required(values, "buckets", where))]
    return _build(AERScores, {**values, "buckets": buckets}, where)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    """`cls(**values)`, naming the unknown or missing key instead of a bare TypeError."""
    if not isinstance(values, dict):
        raise ResultsFormatError(f"{where}: holds a {type(values).__name__}, not an object.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ResultsFormatError(f"{where}: unknown key(s) {', '.join(unknown)}.")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ResultsFormatError(f"{where}: no `{missing[0]}`.")
    return cls(**values)


def write_text_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a killed run never leaves half a result that looks whole."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def write_hypotheses(
    path: Path, src_words: Sequence[int], sources: Sequence[str], references: Sequence[str], hypotheses: Sequence[str]
) -> None:
    """hypotheses.tsv: one row per test sentence, in test-split order."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(["src_words", "source", "reference", "hypothesis"])
        writer.writerows(zip(src_words, sources, references, hypotheses))
    partial.replace(path)


def read_hypotheses(path: Path) -> list[dict[str, Any]]:
    """Rows of a hypotheses.tsv as dicts (src_words as int)."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        row["src_words"] = int(row["src_words"])
    return rows


def bleu_table(test: TestScores) -> str:
    """The per-bucket BLEU table a run prints at its end."""
    rows = [[b.label, b.n, f"{b.bleu:.2f}"] for b in test.buckets]
    rows.append(["all", test.n, f"{test.bleu:.2f}"])
    return tabulate(
        rows,
        headers=["source words", "sentences", "BLEU"],
        tablefmt="github",
        colalign=("left", "right", "right"),
        disable_numparse=True,
    )
