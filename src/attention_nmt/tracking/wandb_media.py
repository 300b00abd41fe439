"""What a run sends to W&B besides its curves: media (attention heatmaps, tables, a chart) and artifacts.

- `WandbMedia` (a callback): heatmaps (one key per sentence) at every validation and, after testing, the
  BLEU-by-source-length table and line chart, the predictions table (source length, source, reference,
  hypothesis, sentence BLEU per test sentence, to read long-sentence failures in the UI) and the summary
  (signature, parameter count).
- `WandbArtifacts` (a callback): at the start of the test pass, the tokenizers the run used (`tokenizers-<data>`)
  and the test split it translated (`test-split-<data>`, a TSV of source length, source, reference). W&B
  versions artifacts by content, so runs on the same split share one version.
- `use_model_artifact`: an evaluation marks the training run's model artifact (`model-<training run id>`, logged
  with `logger.wandb.log_model`) as its input: the checkpoint's file under the same name gives the same version.

W&B records an artifact as a run's input (`use_artifact`) only online; offline runs log their inputs as their
own artifacts instead, and an offline evaluation names the model artifact in its config (`model_artifact`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from sacrebleu.metrics import BLEU

from attention_nmt.evaluation.alignments import figure_pixels, heatmap_figure
from attention_nmt.evaluation.attention_record import heatmap_sentences, pick_by_length
from attention_nmt.evaluation.bleu import bucket_index, bucket_middles, make_buckets
from attention_nmt.evaluation.results import ResultsFormatError, RunResults
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


UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def artifact_name(*parts: str) -> str:
    """A W&B artifact name from its parts (characters W&B refuses become '-')."""
    return UNSAFE.sub("-", "-".join(parts))


class WandbArtifacts(L.Callback):
    """Tokenizers and test split as artifacts of the run's W&B run; does nothing without a WandbLogger.
    `as_inputs`: used by the run (evaluation) rather than produced by it (training)."""

    def __init__(self, as_inputs: bool = False) -> None:
        self.as_inputs = as_inputs

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = wandb_loggers(trainer)
        tokenizers = getattr(pl_module, "tokenizers", None)
        if not loggers or not trainer.is_global_zero:
            return
        import wandb

        data_name = str(getattr(trainer.datamodule.cfg, "name", "data"))
        split = trainer.datamodule.splits["test"]
        test = wandb.Artifact(
            artifact_name("test-split", data_name), type="dataset", metadata={"sentences": len(split)}
        )
        with test.new_file("test.tsv", mode="w", encoding="utf-8") as f:
            f.write("src_words\tsource\treference\n")
            f.writelines(f"{n}\t{s}\t{r}\n" for n, s, r in zip(split.src_words, split.sources, split.references))
        made = [test]
        if tokenizers is not None:
            vocab = wandb.Artifact(artifact_name("tokenizers", data_name), type="tokenizers")
            for side, tokenizer in zip(("src", "trg"), tokenizers):
                with vocab.new_file(f"{side}.json", mode="w", encoding="utf-8") as f:
                    f.write(tokenizer.to_str())
            made.append(vocab)
        for logger in loggers:
            run = logger.experiment
            send = run.use_artifact if self.as_inputs and not run.offline else run.log_artifact
            for artifact in made:
                send(artifact)


def training_run_id(ckpt_path: Path) -> str | None:
    """The W&B run id of the training run that wrote `<run>/checkpoints/<file>.ckpt`: from the run's results.json
    when it logged its model; None otherwise."""
    try:
        written = RunResults.read(ckpt_path.resolve().parent.parent / "results.json")
    except (OSError, ResultsFormatError):
        return None
    logged_model = (((written.config or {}).get("logger") or {}).get("wandb") or {}).get("log_model")
    return (written.wandb or {}).get("id") if logged_model else None


def use_model_artifact(run: Any, ckpt_path: Path) -> str | None:
    """Mark the training run's model artifact as this run's input (lineage; online only, see the module
    docstring) and name it in the run's config; returns its name, or None when the training run logged no model."""
    train_id = training_run_id(ckpt_path)
    if train_id is None:
        return None
    import wandb

    artifact = wandb.Artifact(f"model-{train_id}", type="model")
    artifact.add_file(str(ckpt_path), name="model.ckpt")  # Lightning's name: same content, same version
    run.config.update({"model_artifact": artifact.name, "trained_run": train_id})
    if not run.offline:
        run.use_artifact(artifact)
    return artifact.name
