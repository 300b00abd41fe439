"""What a run sends to W&B besides its curves: attention heatmaps (one key per sentence) at every validation
and, after testing, the BLEU-by-source-length table and line chart, the predictions table (source length,
source, reference, hypothesis, sentence BLEU per test sentence, to read long-sentence failures in the UI) and the
summary (signature, parameter count).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from sacrebleu.metrics import BLEU

from attention_nmt.evaluation.alignments import figure_pixels, heatmap_figure
from attention_nmt.evaluation.attention_record import heatmap_sentences, pick_by_length
from attention_nmt.evaluation.bleu import bucket_index, bucket_middles, make_buckets
from attention_nmt.tracking.wandb_logger import wandb_loggers
from attention_nmt.training.distributed import gather_objects


class WandbMedia(L.Callback):
    """Heatmaps of a fixed set of validation sentences at every validation; the BLEU-by-length table,
    chart and summary after testing. Does nothing unless a WandbLogger is attached."""

    def __init__(self, heatmap_sentences: int = 4, heatmap_max_words: int = 40) -> None:
        self.heatmap_sentences = heatmap_sentences
        self.heatmap_max_words = heatmap_max_words
        self.chosen: list[int] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = trainer.datamodule.splits["validation"]
        self.chosen = pick_by_length(data.src_words, self.heatmap_sentences, self.heatmap_max_words)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = wandb_loggers(trainer)
        if not loggers or trainer.sanity_checking or not self.chosen or not trainer.is_global_zero:
            return
        images = self.heatmaps(trainer, pl_module)
        if images:
            import wandb

            # One key per sentence: each gets its own panel whose step slider shows the alignment forming
            # (one list of images of different sizes would be drawn distorted).
            media = {key: wandb.Image(pixels, caption=caption) for key, (pixels, caption) in images.items()}
            for logger in loggers:
                logger.experiment.log({**media, "trainer/global_step": trainer.global_step})

    def heatmaps(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, tuple[np.ndarray, str]]:
        """{"val/attention/<words>w_<index>": (image, caption)}: greedy translations of the chosen sentences
        with their attention folded to words; empty for attention=none."""
        data = trainer.datamodule.splits["validation"]
        was_training = pl_module.training
        pl_module.eval()
        sentences = heatmap_sentences(pl_module, data, self.chosen, beam_size=1)
        pl_module.train(was_training)
        images = {}
        for s in sentences:
            i = s["index"]
            title = f"validation #{i}, {data.src_words[i]} source words, step {trainer.global_step}"
            fig = heatmap_figure(np.asarray(s["weights"]), s["source_words"], s["target_words"], title)
            images[f"val/attention/{data.src_words[i]}w_{i}"] = (figure_pixels(fig), data.sources[i])
        return images

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = wandb_loggers(trainer)
        result = getattr(pl_module, "test_result", None)
        if not loggers or result is None:
            return
        hypotheses = dict(gather_objects(pl_module.test_rows))  # every rank takes part in the gather
        if not trainer.is_global_zero:
            return
        data = trainer.datamodule.splits["test"]
        edges = [b["upper"] for b in result["buckets"][:-1]]
        table = predictions_table(data.src_words, data.sources, data.references, hypotheses, edges)
        for logger in loggers:
            log_test_result(
                logger, result, pl_module.test_bleu.signature(), pl_module.num_parameters, trainer.global_step
            )
            logger.experiment.log({"test/predictions": table, "trainer/global_step": trainer.global_step})


BUCKET_COLUMNS = ["bucket", "lower", "upper", "length", "sentences", "bleu"]


def bucket_rows(result: Mapping[str, Any]) -> list[list[Any]]:
    """One row per non-empty source-length bucket; `length` is the bucket's middle (the open last bucket is drawn
    as wide as the one before it), the x of the BLEU-against-length chart."""
    buckets = result["buckets"]
    middles = bucket_middles([(b["lower"], b["upper"]) for b in buckets])
    return [
        [b["label"], b["lower"], b["upper"], middle, b["n"], b["bleu"]] for b, middle in zip(buckets, middles) if b["n"]
    ]


@rank_zero_only
def log_test_result(
    logger: WandbLogger, result: Mapping[str, Any], signature: str, num_parameters: int, step: int
) -> None:
    """The bucket table, its line chart and the summary fields of a tested run."""
    import wandb

    table = wandb.Table(columns=BUCKET_COLUMNS, data=bucket_rows(result))
    chart = wandb.plot.line(table, "length", "bleu", title="Test BLEU against source length (words)")
    logger.experiment.log(
        {"test/bleu_by_length": table, "test/bleu_by_length_chart": chart, "trainer/global_step": step}
    )
    logger.experiment.summary.update(
        {
            "test/bleu": result["bleu"],
            "test/sentences": result["n"],
            "bleu_signature": signature,
            "num_parameters": num_parameters,
        }
    )


PREDICTION_COLUMNS = ["index", "bucket", "src_words", "source", "reference", "hypothesis", "sentence_bleu"]


def prediction_rows(
    src_words: Sequence[int],
    sources: Sequence[str],
    references: Sequence[str],
    hypotheses: Mapping[int, str],
    edges: Sequence[int],
) -> list[list[Any]]:
    """One row per test sentence (PREDICTION_COLUMNS), in test-split order; sentence BLEU is sacreBLEU's with
    effective order, so short sentences are not zeroed by missing 4-grams."""
    bleu = BLEU(effective_order=True)
    labels = [bucket.label for bucket in make_buckets(edges)]
    rows = []
    for i, (words, source, reference) in enumerate(zip(src_words, sources, references)):
        hypothesis = hypotheses.get(i, "")
        score = bleu.sentence_score(hypothesis, [reference]).score
        rows.append([i, labels[bucket_index(words, edges)], words, source, reference, hypothesis, score])
    return rows


def predictions_table(
    src_words: Sequence[int],
    sources: Sequence[str],
    references: Sequence[str],
    hypotheses: Mapping[int, str],
    edges: Sequence[int],
) -> Any:
    """The predictions as a `wandb.Table`."""
    import wandb

    return wandb.Table(
        columns=PREDICTION_COLUMNS, data=prediction_rows(src_words, sources, references, hypotheses, edges)
    )
