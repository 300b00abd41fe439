"""What an evaluated run leaves behind: results.json, hypotheses.tsv, and the BLEU table it prints."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate


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


def write_results(path: Path, results: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def bleu_table(test: dict[str, Any]) -> str:
    """The per-bucket BLEU table a run prints at its end."""
    rows = [[b["label"], b["n"], f"{b['bleu']:.2f}"] for b in test["buckets"]]
    rows.append(["all", test["n"], f"{test['bleu']:.2f}"])
    return tabulate(
        rows,
        headers=["source words", "sentences", "BLEU"],
        tablefmt="github",
        colalign=("left", "right", "right"),
        disable_numparse=True,
    )
