"""The evaluate task: load a checkpoint, decode a test split, write results.json and hypotheses.tsv.

The network and tokenizers come from the checkpoint; the corpus defaults to the one it was trained on,
and decoding (e.g. `decoding.beam_size=5`) and bucket edges come from the evaluate config. Each evaluation
(each job of `evaluate.py -m`) is its own W&B run, grouped like training runs, whose config says what was
evaluated, and which is finished before the next job starts.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from attention_nmt.allocator import keep_freed_memory
from attention_nmt.data.config import DataConfig
from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RunResults
from attention_nmt.stored_config import from_plain, to_plain
from attention_nmt.tasks.config import EvaluateConfig
from attention_nmt.tasks.final_test import ResultsWriter, test_and_write
from attention_nmt.tracking.wandb_logger import finish_wandb, wandb_loggers, wandb_reference
from attention_nmt.tracking.wandb_media import use_model_artifact
from attention_nmt.training.module import TranslationModule
from attention_nmt.training.resuming import unsafe_checkpoint_message
from attention_nmt.training.trainer import make_trainer

log = logging.getLogger(__name__)


def load_module(ckpt_path: str) -> TranslationModule:
    """The trained module, with its tokenizers, from a checkpoint (loaded with weights_only=True)."""
    if not Path(ckpt_path).is_file():
        raise ConfigError(
            f"ckpt_path={ckpt_path}: no such file. Point it at a run's checkpoints/last.ckpt "
            "or checkpoints/best-*.ckpt."
        )
    try:
        module = TranslationModule.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as unsafe:
        raise ConfigError(unsafe_checkpoint_message(ckpt_path, unsafe)) from unsafe
    if module.tokenizers is None:
        raise ConfigError(f"ckpt_path={ckpt_path}: the checkpoint carries no tokenizers; was it written by train.py?")
    return module


def evaluate(cfg: EvaluateConfig) -> RunResults:
    """Decode the test split of `cfg.data` (or the checkpoint's corpus) with the checkpoint's model."""
    keep_freed_memory()  # step after step, the same blocks are reused instead of faulted in afresh
    L.seed_everything(cfg.seed, workers=True)
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    module = load_module(cfg.ckpt_path)
    module.decoding = cfg.decoding
    module.test_bleu = BucketedBLEU(cfg.evaluation.bucket_edges, chrf=True)
    data_cfg = cfg.data if cfg.data is not None else from_plain(module.hparams["data"], DataConfig)
    datamodule = TranslationDataModule(data_cfg, Path(cfg.paths.cache_dir), cfg.seed, tokenizers=module.tokenizers)
    datamodule.setup()
    trained_with = {k: module.hparams[k] for k in ("model", "encoder", "attention", "data")}
    checkpoint = str(Path(cfg.ckpt_path).resolve())
    writer = ResultsWriter(
        run_dir, cfg.evaluation, config=to_plain(cfg), checkpoint=checkpoint, trained_with=trained_with
    )
    trainer = make_trainer(cfg.trainer, cfg.callbacks, cfg.logger, run_dir, task_callbacks=[writer])
    failed = True
    try:
        log_evaluated(trainer, cfg, trained_with, to_plain(data_cfg), checkpoint, module.num_parameters)
        writer.add_facts(wandb=wandb_reference(trainer))  # the W&B run's id and URL
        results = test_and_write(trainer, module, datamodule, None)
        failed = False
    finally:
        finish_wandb(trainer, failed)  # each evaluate job its own W&B run, finished before the next starts
    return results


def log_evaluated(
    trainer: L.Trainer,
    cfg: EvaluateConfig,
    trained_with: dict[str, Any],
    data: dict[str, Any],
    checkpoint: str,
    num_parameters: int,
) -> None:
    """What this job evaluated, as its loggers' config (before Lightning adds the checkpoint's stored
    hyperparameters, which then only fill in keys): the trained model, the data and decoding used, the
    checkpoint; and, where the training run logged its model to W&B, that artifact as this run's input."""
    evaluated = {
        **trained_with,
        "data": data,
        "decoding": to_plain(cfg.decoding),
        "evaluation": to_plain(cfg.evaluation),
        "seed": cfg.seed,
        "checkpoint": checkpoint,
        "num_parameters": num_parameters,
    }
    for logger in trainer.loggers:
        logger.log_hyperparams(evaluated)
    for logger in wandb_loggers(trainer):
        if trainer.is_global_zero:
            use_model_artifact(logger.experiment, Path(checkpoint))


def evaluate_task(cfg: DictConfig) -> float:
    """Entry for `evaluate.py`: type the config, evaluate, return overall test BLEU."""
    typed_cfg: EvaluateConfig = OmegaConf.to_object(cfg)
    return evaluate(typed_cfg).test.bleu
