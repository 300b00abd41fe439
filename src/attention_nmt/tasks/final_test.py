"""The test pass that training and evaluation share: it decodes the test split and writes results.json and
hypotheses.tsv (and, for attention arms, attention.json) into the run folder.

Under DDP each rank decodes its own share of the test split; `ResultsWriter` gathers the hypotheses of
every rank and rank 0 alone writes the files. BLEU itself is summed exactly across ranks by the metric.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only

from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.evaluation.attention_record import forced_aer, heatmap_sentences, pick_by_length, write_attention
from attention_nmt.evaluation.results import RunResults, bleu_table, write_hypotheses
from attention_nmt.stored_config import to_plain
from attention_nmt.training.distributed import gather_objects
from attention_nmt.training.module import TranslationModule

log = logging.getLogger(__name__)


def test_and_write(
    trainer: L.Trainer, module: TranslationModule, datamodule: TranslationDataModule, ckpt_path: str | None
) -> RunResults:
    """Decode the test split with the trainer's `ResultsWriter` installed (see `make_trainer`): it writes
    results.json + hypotheses.tsv (rank 0); log the BLEU table and return the results (under ddp_spawn the
    ranks ran in other processes, so they are read back from results.json)."""
    writer = results_writer(trainer)
    trainer.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False, weights_only=True)
    results = writer.results if writer.results is not None else RunResults.read(writer.run_dir / "results.json")
    if rank_zero_only.rank == 0:
        log.info("Test BLEU %.2f (%s)\n%s", results.test.bleu, results.bleu_signature, bleu_table(results.test))
        if results.test.aer is not None:
            log.info("Test AER %.3f (attention against the gold alignments, forced decoding)", results.test.aer.aer)
        log.info("Run files: %s (results.json, hypotheses.tsv, checkpoints/)", writer.run_dir.resolve())
    return results


def results_writer(trainer: L.Trainer) -> ResultsWriter:
    """The trainer's `ResultsWriter` (one per trainer)."""
    writers = [c for c in trainer.callbacks if isinstance(c, ResultsWriter)]
    if len(writers) != 1:
        raise RuntimeError(f"the trainer has {len(writers)} ResultsWriter callbacks; make_trainer installs one.")
    return writers[0]


class ResultsWriter(Callback):
    """At the end of a test pass: gathers every rank's (index, hypothesis) rows; rank 0 measures AER (gold
    alignments only), writes results.json (a `RunResults` of the module's test scores and the run's `facts`)
    and hypotheses.tsv, and keeps the attention of a few test sentences.

    `facts` are `RunResults` fields the task knows (config, checkpoint, training time, ...); the task adds
    those known only after training with `add_facts` before it tests."""

    def __init__(self, run_dir: Path, evaluation: Any, **facts: Any) -> None:
        self.run_dir, self.evaluation, self.facts = Path(run_dir), evaluation, facts
        self.results: RunResults | None = None

    def add_facts(self, **facts: Any) -> None:
        self.facts.update(facts)

    def on_test_end(self, trainer: L.Trainer, pl_module: TranslationModule) -> None:
        rows = gather_objects(pl_module.test_rows)
        if pl_module.test_result is None:
            raise RuntimeError("the test pass ended without test scores; results not written.")
        test = dict(pl_module.test_result)
        if trainer.is_global_zero:
            data, cfg = trainer.datamodule.splits["test"], self.evaluation
            aer = forced_aer(pl_module, data, cfg.bucket_edges, trainer.datamodule.cfg.eval_batch_size)
            if aer is not None:
                test["aer"] = aer
                _log_aer(trainer, aer)
        self.results = RunResults.from_dict(
            {
                **self.facts,
                "num_parameters": pl_module.num_parameters,
                "decoding": to_plain(pl_module.decoding),
                "bleu_signature": pl_module.test_bleu.signature(),
                "chrf_signature": pl_module.test_bleu.chrf_signature(),
                "test": test,
            }
        )
        if trainer.is_global_zero:
            _write(self.run_dir, self.results, rows, trainer.datamodule)
            chosen = pick_by_length(data.src_words, cfg.heatmap_sentences, cfg.heatmap_max_words)
            write_attention(self.run_dir, heatmap_sentences(pl_module, data, chosen))
        trainer.strategy.barrier("results written")


def _log_aer(trainer: L.Trainer, aer: dict[str, Any]) -> None:
    """test/aer and test/aer_len/<bucket> to every logger (W&B summary and CSV), beside test/bleu."""
    metrics = {
        "test/aer": aer["aer"],
        **{f"test/aer_len/{b['label']}": b["aer"] for b in aer["buckets"] if b["aer"] is not None},
    }
    for logger in trainer.loggers:
        logger.log_metrics(metrics, step=trainer.global_step)


def _write(run_dir: Path, results: RunResults, rows: list[tuple[int, str]], datamodule: TranslationDataModule) -> None:
    data = datamodule.splits["test"]
    by_index = dict(rows)
    if len(by_index) != len(rows) or len(by_index) != len(data) or set(by_index) != set(range(len(data))):
        raise RuntimeError(
            f"{len(rows)} hypotheses for {len(by_index)} distinct of the {len(data)} test sentences; "
            "every test sentence needs exactly one. Results not written."
        )
    if results.test.n != len(data):
        raise RuntimeError(
            f"BLEU counted {results.test.n} sentences, the test split has {len(data)}; results not written."
        )
    hypotheses = [by_index[i] for i in range(len(data))]
    write_hypotheses(run_dir / "hypotheses.tsv", data.src_words, data.sources, data.references, hypotheses)
    results.write(run_dir / "results.json")
