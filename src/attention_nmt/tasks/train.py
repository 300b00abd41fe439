"""The train task: data, model, Trainer from a typed config; fit, then test the best checkpoint.

`train(cfg)` is a plain function (tests call it without a command line); `train.py` wraps it in
`@hydra.main`. It returns the metrics, including `objective`, the value a sweeper optimises: the best validation BLEU
(`val/bleu_best`, the score of the checkpoint that is tested).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from attention_nmt.allocator import keep_freed_memory
from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.stored_config import to_plain
from attention_nmt.tasks.config import TrainConfig
from attention_nmt.tasks.final_test import ResultsWriter, results_writer, test_and_write
from attention_nmt.tracking.tuning import check_tuned
from attention_nmt.tracking.wandb_logger import finish_wandb, wandb_reference
from attention_nmt.training.distributed import distributed_job
from attention_nmt.training.module import TranslationModule
from attention_nmt.training.resuming import resume_checkpoint, stops_reported
from attention_nmt.training.slurm import slurm_job
from attention_nmt.training.trainer import make_trainer

log = logging.getLogger(__name__)


def build_module(cfg: TrainConfig, datamodule: TranslationDataModule) -> TranslationModule:
    module = TranslationModule(
        model=cfg.model,
        encoder=cfg.encoder,
        attention=cfg.attention,
        optim=cfg.optim,
        decoding=cfg.decoding,
        bucket_edges=list(cfg.evaluation.bucket_edges),
        src_vocab_size=datamodule.src_tokenizer.get_vocab_size(),
        trg_vocab_size=datamodule.trg_tokenizer.get_vocab_size(),
        data=cfg.data,
    )
    module.tokenizers = (datamodule.src_tokenizer, datamodule.trg_tokenizer)
    return module


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fit one arm on one corpus, then evaluate it on the test split; returns the run's metrics."""
    keep_freed_memory()  # step after step, the same blocks are reused instead of faulted in afresh
    L.seed_everything(cfg.seed, workers=True)
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resume_checkpoint(run_dir, cfg.ckpt_path, cfg.resume)
    datamodule = TranslationDataModule(cfg.data, Path(cfg.paths.cache_dir), cfg.seed)
    datamodule.setup()
    if rank_zero_only.rank == 0:  # DDP ranks started as scripts run this too
        datamodule.save_tokenizers(run_dir / "tokenizers")
    module = build_module(cfg, datamodule)
    log.info(
        "attention=%s encoder=%s data=%s: %d trainable parameters",
        cfg.attention.name,
        cfg.encoder.name,
        cfg.data.name,
        module.num_parameters,
    )
    writer = ResultsWriter(
        run_dir,
        cfg.evaluation,
        config=to_plain(cfg),
        num_train_pairs=len(datamodule.splits["train"]),
        num_filtered=datamodule.num_filtered,
        slurm_job=slurm_job(),  # the job's id and log files, under hydra/launcher=slurm
    )
    trainer = make_trainer(cfg.trainer, cfg.callbacks, cfg.logger, run_dir, task_callbacks=[writer])
    for logger in trainer.loggers:
        logger.log_hyperparams({**to_plain(cfg), "num_parameters": module.num_parameters})
    failed = True
    try:
        metrics = fit_and_test(cfg, trainer, module, datamodule, run_dir, ckpt_path)
        failed = False
    finally:
        finish_wandb(trainer, failed)
    metrics["objective"] = metrics.get("val/bleu_best", metrics.get("val/bleu", 0.0))  # best, as tested
    return metrics


def fit_and_test(
    cfg: TrainConfig,
    trainer: L.Trainer,
    module: TranslationModule,
    datamodule: TranslationDataModule,
    run_dir: Path,
    ckpt_path: str | None,
) -> dict[str, Any]:
    """Fit (from `ckpt_path` when resuming), then unless cfg.test is off test the best checkpoint and
    write the run's results."""
    start = time.perf_counter()
    with stops_reported(trainer, run_dir, ckpt_path):
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    train_time = time.perf_counter() - start
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    metrics.update(train_time_s=train_time, train_tokens_per_s=module.train_tokens / max(train_time, 1e-9))
    if cfg.test and not cfg.trainer.fast_dev_run:
        best = (trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else "") or None
        results_writer(trainer).add_facts(
            train_time_s=train_time,
            train_tokens_per_s=metrics["train_tokens_per_s"],
            global_step=trainer.global_step,
            checkpoint=best,
            wandb=wandb_reference(trainer),  # the W&B run's id and URL
        )
        metrics["test/bleu"] = test_and_write(trainer, module, datamodule, best).test.bleu
    return metrics


def clear_step_limit_if_only_epochs_given(cfg: DictConfig, overrides: list[str]) -> None:
    """`trainer.max_epochs=N` alone on the command line trains N epochs: the default step limit is cleared."""
    keys = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    if "trainer.max_epochs" in keys and "trainer.max_steps" not in keys:
        cfg.trainer.max_steps = -1


def train_task(cfg: DictConfig) -> float:
    """Entry for `train.py`: validate and type the composed config, train, return the sweep objective."""
    if HydraConfig.initialized():
        clear_step_limit_if_only_epochs_given(cfg, list(HydraConfig.get().overrides.task))
    check_tuned(cfg)  # before the tuned values' interpolation fails with a bare missing key
    typed_cfg: TrainConfig = OmegaConf.to_object(cfg)
    with distributed_job():  # a multirun's next DDP job starts its own ranks
        return train(typed_cfg)["objective"]
