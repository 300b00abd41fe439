"""W&B artifacts of a run, so its inputs are versioned and its lineage visible on the dashboard.

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
from pathlib import Path
from typing import Any

import lightning as L

from attention_nmt.evaluation.results import ResultsFormatError, RunResults
from attention_nmt.tracking.wandb_logger import wandb_loggers

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
