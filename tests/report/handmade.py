"""Hand-made run folders: results.json and hypotheses.tsv written as a finished run writes them, from
hypotheses the test chooses, so the statistics can be checked against known outcomes."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RunResults, write_hypotheses

EDGES = [5, 10]  # buckets 1-5, 6-10, 11+


def toy_corpus(n: int = 60, seed: int = 0) -> tuple[list[int], list[str], list[str]]:
    """(source lengths, sources, references): n sentences of 2-14 words over a 40-word vocabulary."""
    rng = random.Random(seed)
    lengths = [2 + (i * 13) // n for i in range(n)]
    sources = [" ".join(f"w{rng.randrange(40)}" for _ in range(k)) for k in lengths]
    references = [" ".join(f"v{rng.randrange(40)}" for _ in range(k)) for k in lengths]
    return lengths, sources, references


def degrade(references: Sequence[str], keep: float, seed: int) -> list[str]:
    """Hypotheses that keep each reference word with probability `keep` (else a wrong word)."""
    rng = random.Random(seed)
    return [" ".join(w if rng.random() < keep else f"x{rng.randrange(99)}" for w in ref.split()) for ref in references]


def make_run(
    folder: Path,
    attention: str,
    hypotheses: Sequence[str],
    test: tuple[list[int], list[str], list[str]],
    seed: int = 1,
    data: str = "toy",
    experiment_name: str = "default",
    max_train_len: int | None = None,
    num_parameters: int = 1000,
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """A finished run folder for these hypotheses on this test set (`extra_config`: more top-level config keys)."""
    lengths, sources, references = test
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".hydra").mkdir(exist_ok=True)
    metric = BucketedBLEU(EDGES)
    metric.update(list(hypotheses), list(references), list(lengths))
    config: dict[str, Any] = {
        "seed": seed,
        "experiment_name": experiment_name,
        "attention": {"name": attention},
        "encoder": {"name": "bigru", "cell": "gru"},
        "data": {"name": data, "max_train_len": max_train_len},
        "paths": {"output_dir": str(folder)},
        **(extra_config or {}),
    }
    RunResults.from_dict(
        {
            "config": config,
            "num_parameters": num_parameters,
            "decoding": {"beam_size": 1},
            "bleu_signature": metric.signature(),
            "test": metric.compute(),
        }
    ).write(folder / "results.json")
    write_hypotheses(folder / "hypotheses.tsv", lengths, sources, references, hypotheses)
    return folder


def make_failed(folder: Path, message: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".hydra").mkdir(exist_ok=True)
    (folder / "failed.json").write_text(json.dumps({"error": message}), encoding="utf-8")
    return folder


def make_incomplete(folder: Path, attention: str = "multiplicative", seed: int = 7) -> Path:
    """A job that started (Hydra wrote its config) and never wrote results."""
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    (folder / ".hydra" / "config.yaml").write_text(f"seed: {seed}\nattention:\n  name: {attention}\n")
    return folder
