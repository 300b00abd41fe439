"""The typed top-level configs (train, evaluate), their registration in Hydra's ConfigStore, and the
conversion between typed configs and the plain dicts stored in checkpoints and results.json.

Every YAML file in conf/ names its schema first in its defaults list, so an unknown key or a wrong type
fails at composition, naming the key; cross-field rules run in `__post_init__` when the task converts
the composed config with `OmegaConf.to_object`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TypeVar

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from attention_nmt.data.bible import BibleDataConfig
from attention_nmt.data.config import DataConfig
from attention_nmt.data.hub import HubDataConfig
from attention_nmt.data.local import LocalDataConfig
from attention_nmt.data.synthetic import SyntheticDataConfig
from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import make_buckets
from attention_nmt.model.attention import Score
from attention_nmt.model.config import (AdditiveAttentionConfig, AttentionConfig, DecodingConfig, EncoderConfig,
                                        ModelConfig, MultiplicativeAttentionConfig, NoAttentionConfig)
from attention_nmt.optim import OptimConfig

T = TypeVar("T")


@dataclass
class TrainerConfig:
    """Keyword arguments of `lightning.Trainer` that runs may set (see conf/trainer/)."""

    accelerator: str = "auto"
    devices: Any = "auto"  # int, list or "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: Optional[str] = "32-true"  # "bf16-mixed" / "16-mixed" on GPUs
    max_epochs: Optional[int] = None
    max_steps: int = -1
    max_time: Optional[str] = None  # "DD:HH:MM:SS"
    min_epochs: Optional[int] = None
    val_check_interval: Any = None  # a fraction of an epoch (float) or a number of steps (int)
    check_val_every_n_epoch: Optional[int] = 1
    limit_train_batches: Optional[float] = None
    limit_val_batches: Optional[float] = None
    limit_test_batches: Optional[float] = None
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 50
    gradient_clip_val: Optional[float] = 1.0  # Bahdanau et al. clip the gradient norm at 1
    accumulate_grad_batches: int = 1
    deterministic: Any = False  # True, False or "warn"
    benchmark: Optional[bool] = None  # cuDNN autotuner
    fast_dev_run: Any = False  # bool or a number of batches
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    use_distributed_sampler: bool = False  # our length-bucketed sampler shards by rank itself

    def __post_init__(self) -> None:
        interval = self.val_check_interval
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, (int, float))
                                     or interval <= 0 or (isinstance(interval, float) and interval > 1.0)):
            raise ConfigError(f"trainer.val_check_interval={interval!r}: must be a fraction of an epoch (0 < x <= 1.0), "
                              "a number of training steps (int), or null.")


@dataclass
class EvaluationConfig:
    bucket_edges: List[int] = field(default_factory=lambda: [10, 20, 30, 40, 50])  # source words; 51+ is the last
    heatmap_sentences: int = 4  # test sentences (spread over lengths) whose attention goes to attention.json
    heatmap_max_words: int = 40  # ... of at most this many source words, so the heatmaps stay legible

    def __post_init__(self) -> None:
        make_buckets(self.bucket_edges)  # raises ConfigError naming evaluation.bucket_edges


@dataclass
class PathsConfig:
    output_dir: str = MISSING  # the run folder, from hydra.runtime.output_dir
    cache_dir: str = "outputs/.cache"  # corpora and tokenizers keyed by content hash


@dataclass
class TrainConfig:
    seed: int = 1234
    experiment_name: str = "default"  # the experiment/sweep this run belongs to (W&B group, report grouping)
    seeds: int = 1  # experiment multiruns: seeds per arm (1234, 1235, ...); seed=a,b,... lists them instead
    model: ModelConfig = field(default_factory=ModelConfig)
    encoder: EncoderConfig = MISSING
    attention: AttentionConfig = MISSING
    data: DataConfig = MISSING
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    callbacks: Dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning callback, ...}
    logger: Dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning logger, ...}
    paths: PathsConfig = field(default_factory=PathsConfig)
    ckpt_path: Optional[str] = None  # resume training from this checkpoint
    resume: bool = False  # resume from <run folder>/checkpoints/last.ckpt (with hydra.run.dir=<run folder>)
    test: bool = True  # evaluate the best checkpoint on the test split after training
    tags: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Cross-group rules, checked at start rather than after the corpus is loaded."""
        if isinstance(self.attention, MultiplicativeAttentionConfig) and self.attention.score is not Score.general \
                and self.encoder.output_size != self.model.hidden_size:
            raise ConfigError(
                f"attention.score={self.attention.score.value} needs the decoder hidden size (model.hidden_size="
                f"{self.model.hidden_size}) to equal the encoder output size ({self.encoder.output_size}, "
                f"encoder={self.encoder.name}{', bidirectional' if self.encoder.bidirectional else ''}). Use "
                "attention.score=general, or a unidirectional encoder (encoder=gru or encoder=lstm).")


@dataclass
class EvaluateConfig:
    ckpt_path: str = MISSING
    seed: int = 1234
    data: Optional[DataConfig] = None  # default: the corpus the checkpoint was trained on
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    logger: Dict[str, Any] = field(default_factory=dict)
    callbacks: Dict[str, Any] = field(default_factory=dict)
    paths: PathsConfig = field(default_factory=PathsConfig)


SCHEMAS = {
    "encoder": {"encoder_schema": EncoderConfig},
    "attention": {"none_schema": NoAttentionConfig, "additive_schema": AdditiveAttentionConfig,
                  "multiplicative_schema": MultiplicativeAttentionConfig},
    "data": {"bible_schema": BibleDataConfig, "synthetic_schema": SyntheticDataConfig,
             "local_schema": LocalDataConfig, "hub_schema": HubDataConfig},
    "trainer": {"trainer_schema": TrainerConfig},
}


def seed_list(first: int, count: int) -> str:
    """`count` consecutive seeds from `first` as a Hydra sweep ("1234,1235,1236"), for `seeds=N`."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"seeds={count!r}: must be a whole number of seeds per arm, at least 1.")
    return ",".join(str(first + i) for i in range(count))


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore under the group whose YAML files use it, and the
    `seed_list` resolver the experiment configs' sweeps use."""
    OmegaConf.register_new_resolver("seed_list", seed_list, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=group, name=name, node=node)


def typed(schema: type[T], values: dict) -> T:
    """Validate a plain dict against a schema and return the dataclass (runs `__post_init__`)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))


def to_plain(cfg: Any) -> dict:
    """A typed config as a plain dict (enums as strings), with `_schema_` naming its class."""
    plain = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    return {"_schema_": f"{type(cfg).__module__}.{type(cfg).__qualname__}", **plain}


def from_plain(values: dict, base: type[T]) -> T:
    """Rebuild what `to_plain` wrote; the named class must be one of this project's subclasses of `base`."""
    values = dict(values)
    path = values.pop("_schema_", f"{base.__module__}.{base.__qualname__}")
    module, _, name = path.rpartition(".")
    if not module.startswith("attention_nmt."):
        raise ConfigError(f"_schema_={path}: only attention_nmt config classes can be rebuilt.")
    schema = getattr(importlib.import_module(module), name)
    if not (isinstance(schema, type) and issubclass(schema, base)):
        raise ConfigError(f"_schema_={path}: not a {base.__name__}.")
    return typed(schema, values)
