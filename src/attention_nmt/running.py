"""What training and evaluation share: the Lightning Trainer built from config, and the test pass that
writes results.json and hypotheses.tsv into the run folder."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities import rank_zero_only

from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.lit_module import TranslationModule
from attention_nmt.results import bleu_table, write_hypotheses, write_results
from attention_nmt.schema import to_plain

log = logging.getLogger(__name__)


def make_trainer(trainer_cfg: Any, callbacks: dict[str, Any], loggers: dict[str, Any], run_dir: Path) -> L.Trainer:
    """A Trainer from the typed trainer config, with the configured callbacks and loggers instantiated."""
    made_callbacks = [instantiate(c) for c in callbacks.values() if c is not None]
    if not trainer_cfg.enable_progress_bar:  # trainer.enable_progress_bar=false wins over the configured bar
        made_callbacks = [c for c in made_callbacks if not isinstance(c, ProgressBar)]
    made_loggers = [instantiate(c) for c in loggers.values() if c is not None]
    return L.Trainer(**asdict(trainer_cfg), callbacks=made_callbacks, logger=made_loggers or False,
                     default_root_dir=str(run_dir))


def test_and_write(trainer: L.Trainer, module: TranslationModule, datamodule: TranslationDataModule, run_dir: Path,
                   ckpt_path: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    """Decode the test split, then write results.json + hypotheses.tsv (rank 0) and log the BLEU table."""
    trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
    test = module.test_result
    results = {**extra, "num_parameters": module.num_parameters, "decoding": to_plain(module.decoding),
               "bleu_signature": module.test_bleu.signature(), "test": test}
    _write(run_dir, results, module, datamodule)
    log.info("Test BLEU %.2f (%s)\n%s", test["bleu"], results["bleu_signature"], bleu_table(test))
    log.info("Run files: %s (results.json, hypotheses.tsv, checkpoints/)", run_dir.resolve())
    return results


@rank_zero_only
def _write(run_dir: Path, results: dict[str, Any], module: TranslationModule, datamodule: TranslationDataModule) -> None:
    data = datamodule.splits["test"]
    by_index = dict(module.test_rows)
    missing = len(data) - len(by_index)
    if missing:
        raise RuntimeError(f"{missing} of {len(data)} test sentences have no hypothesis; results not written.")
    hypotheses = [by_index[i] for i in range(len(data))]
    write_hypotheses(run_dir / "hypotheses.tsv", data.src_words, data.sources, data.references, hypotheses)
    write_results(run_dir / "results.json", results)
