"""The evaluate task: load a checkpoint, decode a test split, write results.json and hypotheses.tsv.

The network and tokenizers come from the checkpoint; the corpus defaults to the one it was trained on,
and decoding (e.g. `decoding.beam_size=5`) and bucket edges come from the evaluate config.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import lightning as L
from omegaconf import DictConfig, OmegaConf

from attention_nmt.data.config import DataConfig
from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RunResults
from attention_nmt.stored_config import from_plain, to_plain
from attention_nmt.tasks.config import EvaluateConfig
from attention_nmt.tasks.final_test import ResultsWriter, test_and_write
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
    L.seed_everything(cfg.seed, workers=True)
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    module = load_module(cfg.ckpt_path)
    module.decoding = cfg.decoding
    module.test_bleu = BucketedBLEU(cfg.evaluation.bucket_edges, chrf=True)
    data_cfg = cfg.data if cfg.data is not None else from_plain(module.hparams["data"], DataConfig)
    datamodule = TranslationDataModule(data_cfg, Path(cfg.paths.cache_dir), cfg.seed, tokenizers=module.tokenizers)
    datamodule.setup()
    writer = ResultsWriter(
        run_dir,
        cfg.evaluation,
        config=to_plain(cfg),
        checkpoint=str(Path(cfg.ckpt_path).resolve()),
        trained_with={k: module.hparams[k] for k in ("model", "encoder", "attention", "data")},
    )
    trainer = make_trainer(cfg.trainer, cfg.callbacks, cfg.logger, run_dir, task_callbacks=[writer])
    return test_and_write(trainer, module, datamodule, None)


def evaluate_task(cfg: DictConfig) -> float:
    """Entry for `evaluate.py`: type the config, evaluate, return overall test BLEU."""
    typed_cfg: EvaluateConfig = OmegaConf.to_object(cfg)
    return evaluate(typed_cfg).test.bleu
