"""The typed top-level configs (train, evaluate) and their registration in Hydra's ConfigStore.

Every YAML file in conf/ names its schema first in its defaults list, so an unknown key or a wrong type
fails at composition, naming the key; cross-field rules run in `__post_init__` when the task converts
the composed config with `OmegaConf.to_object`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from attention_nmt.data.bible import BibleDataConfig
from attention_nmt.data.config import DataConfig
from attention_nmt.data.hub import HubDataConfig
from attention_nmt.data.local import LocalDataConfig
from attention_nmt.data.synthetic import SyntheticDataConfig
from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import make_buckets
from attention_nmt.model.arms import arm_configs, arm_names
from attention_nmt.model.attention import AttentionConfig
from attention_nmt.model.config import DecodingConfig, EncoderConfig, ModelConfig
from attention_nmt.tasks.launcher import register_resolvers as register_launcher_resolvers
from attention_nmt.tracking.tuning import TunedConfig
from attention_nmt.training.optim import OptimConfig


@dataclass
class TrainerConfig:
    """Keyword arguments of `lightning.Trainer` that runs may set (see conf/trainer/)."""

    accelerator: str = "auto"
    devices: Any = "auto"  # int, list or "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str | None = "32-true"  # "bf16-mixed" / "16-mixed" on GPUs
    max_epochs: int | None = None
    max_steps: int = -1
    max_time: str | None = None  # "DD:HH:MM:SS"
    min_epochs: int | None = None
    val_check_interval: Any = None  # a fraction of an epoch (float) or a number of steps (int)
    check_val_every_n_epoch: int | None = 1
    limit_train_batches: float | None = None
    limit_val_batches: float | None = None
    limit_test_batches: float | None = None
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 50
    gradient_clip_val: float | None = 1.0  # Bahdanau et al. clip the gradient norm at 1
    accumulate_grad_batches: int = 1
    deterministic: Any = False  # True, False or "warn"
    benchmark: bool | None = None  # cuDNN autotuner
    fast_dev_run: Any = False  # bool or a number of batches
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    use_distributed_sampler: bool = False  # our length-bucketed sampler shards by rank itself

    def __post_init__(self) -> None:
        interval = self.val_check_interval
        if interval is not None and (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or interval <= 0
            or (isinstance(interval, float) and interval > 1.0)
        ):
            raise ConfigError(
                f"trainer.val_check_interval={interval!r}: must be a fraction of an epoch (0 < x <= 1.0), "
                "a number of training steps (int), or null."
            )


@dataclass
class EvaluationConfig:
    bucket_edges: list[int] = field(default_factory=lambda: [10, 20, 30, 40, 50])  # source words; 51+ is the last
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
    callbacks: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning callback, ...}
    logger: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning logger, ...}
    paths: PathsConfig = field(default_factory=PathsConfig)
    ckpt_path: str | None = None  # resume training from this checkpoint
    resume: bool = False  # resume from <run folder>/checkpoints/last.ckpt (with hydra.run.dir=<run folder>)
    test: bool = True  # evaluate the best checkpoint on the test split after training
    tags: list[str] = field(default_factory=list)
    tuned: TunedConfig | None = None  # conf/tuned/: where each arm's tuned values came from

    def __post_init__(self) -> None:
        """Cross-group rules, checked at start rather than after the corpus is loaded."""
        self.attention.check_fits(self.model.hidden_size, self.encoder)


@dataclass
class EvaluateConfig:
    ckpt_path: str = MISSING
    seed: int = 1234
    data: DataConfig | None = None  # default: the corpus the checkpoint was trained on
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    logger: dict[str, Any] = field(default_factory=dict)
    callbacks: dict[str, Any] = field(default_factory=dict)
    paths: PathsConfig = field(default_factory=PathsConfig)


SCHEMAS = {  # the attention arms' schemas come from their registry (`model/arms/`), in `schemas()`
    "encoder": {"encoder_schema": EncoderConfig},
    "data": {
        "bible_schema": BibleDataConfig,
        "synthetic_schema": SyntheticDataConfig,
        "local_schema": LocalDataConfig,
        "hub_schema": HubDataConfig,
    },
    "trainer": {"trainer_schema": TrainerConfig},
}


def seed_list(first: int, count: int) -> str:
    """`count` consecutive seeds from `first` as a Hydra sweep ("1234,1235,1236"), for `seeds=N`."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"seeds={count!r}: must be a whole number of seeds per arm, at least 1.")
    return ",".join(str(first + i) for i in range(count))


def schemas() -> dict[str, dict[str, type]]:
    """Every group's schemas by name: `SCHEMAS` and one `<arm>_schema` per registered attention arm."""
    return {**SCHEMAS, "attention": {f"{name}_schema": config for name, config in arm_configs().items()}}


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore (at the top level, named by `schema_name`, so they are not
    offered as group options), registered arms included (an arm defined outside `model/arms/` registers
    before this call), and the resolvers the experiment configs' sweeps use: `seed_list` and `arms`
    (`${arms:}`: every registered arm, "none,additive,multiplicative"), and the SLURM launcher's resolvers
    (tasks/launcher.py)."""
    OmegaConf.register_new_resolver("seed_list", seed_list, replace=True)
    OmegaConf.register_new_resolver("arms", lambda: ",".join(arm_names()), replace=True)
    register_launcher_resolvers()
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    for group, group_schemas in schemas().items():
        for name, node in group_schemas.items():  # outside the groups, so `--help` lists only the user's choices
            cs.store(name=schema_name(group, name), node=node)


def schema_name(group: str, name: str) -> str:
    """The ConfigStore name of a group's schema: `attention_additive_schema`, used in conf/attention/additive.yaml
    as `- /attention_additive_schema@_here_`."""
    return f"{group}_{name}"
