"""Weights & Biases specifics: the logger (mode, group, run name, tags, flat config) and what a run sends.

`TrackedWandbLogger` is Lightning's `WandbLogger` with this project's conventions:
- mode: `WANDB_MODE` if the user set it (never overridden), else online when W&B credentials exist
  (`wandb login`), else offline; offline runs land in `<run folder>/wandb/offline-run-*` for `wandb sync`.
- group: the experiment name, else the Hydra multirun folder, so a sweep's jobs sit together; job_type
  says train / evaluate / report; tags are the attention arm, encoder and dataset.
- config: flattened to dotted keys (`attention.name`, `data.max_train_len`, `seed`) so the run table can
  filter and group by them.
- `log_model` works offline too: Lightning refuses `offline=True` with `log_model`, so the mode is
  passed to `wandb.init` instead and the artifact is written to the offline run for a later sync.

`WandbMedia` is the callback that sends attention heatmaps (one key per sentence) at every validation and, after
testing, the BLEU-by-source-length table and line chart and the summary (signature, parameter count).
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import lightning as L
import numpy as np
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from attention_nmt.evaluation.alignments import figure_pixels, heatmap_figure
from attention_nmt.evaluation.attention_record import heatmap_sentences, pick_by_length
from attention_nmt.evaluation.bleu import bucket_middles

ARM_KEYS = ("attention.name", "encoder.name", "data.name")  # the run's tags, in this order


def wandb_mode(env: Mapping[str, str] = os.environ) -> str:
    """`WANDB_MODE` when set; otherwise online if this machine has W&B credentials, else offline."""
    if env.get("WANDB_MODE"):
        return env["WANDB_MODE"]
    return "online" if has_wandb_credentials(env) else "offline"


def has_wandb_credentials(env: Mapping[str, str] = os.environ) -> bool:
    """An API key in `WANDB_API_KEY`, or the netrc entry `wandb login` writes; read locally, no network."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    try:
        entries = netrc.netrc(env.get("NETRC") or None).hosts
    except (OSError, netrc.NetrcParseError):
        return False
    return host in entries or any("wandb" in machine for machine in entries)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"attention": {"name": "additive"}} -> {"attention.name": "additive"}; private keys (`_schema_`) dropped."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def default_group(experiment: str | None) -> str | None:
    """The experiment's name; else, inside a Hydra multirun, its folder (date_time); else no group."""
    if experiment and experiment != "default":
        return experiment
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return multirun_group(Path(HydraConfig.get().sweep.dir))
    return None


def multirun_group(sweep_dir: Path) -> str:
    """The W&B group of a multirun's jobs without an experiment name: multirun_<date>_<time> of its folder."""
    return f"multirun_{sweep_dir.parent.name}_{sweep_dir.name}"


def default_job_type() -> str:
    """The Hydra job's name, which is the script's (train / evaluate / report); "train" outside Hydra."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().job.name if HydraConfig.initialized() else "train"


def run_name(flat_config: Mapping[str, Any]) -> str | None:
    """additive-bigru-bible-s1: the arm, encoder, data and seed, readable in the run list."""
    parts = [str(flat_config[k]) for k in ARM_KEYS if k in flat_config]
    if "seed" in flat_config:
        parts.append(f"s{flat_config['seed']}")
    return "-".join(parts) or None


class TrackedWandbLogger(WandbLogger):
    """Lightning's WandbLogger with this project's mode, grouping, naming and flat config (module docstring)."""

    def __init__(
        self,
        project: str,
        save_dir: str,
        job_type: str | None = None,
        group: str | None = None,
        experiment_name: str | None = None,
        tags: Sequence[str] = (),
        mode: str | None = None,
        log_model: bool | str = False,
        **kwargs: Any,
    ) -> None:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(
            project=project,
            save_dir=save_dir,
            job_type=job_type or default_job_type(),
            group=group or default_group(experiment_name),
            tags=list(tags or []),
            mode=mode or wandb_mode(),
            log_model=log_model,
            **kwargs,
        )
        self._named = False  # set once a config has named and tagged the run

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Flatten to dotted keys; the first config that names the arm also names and tags the run."""
        flat = flatten_config(params if isinstance(params, Mapping) else vars(params))
        if not self._named and ARM_KEYS[0] in flat:
            name = self._wandb_init.get("name") or run_name(flat)
            tags = list(
                dict.fromkeys([*(str(flat[k]) for k in ARM_KEYS if k in flat), *self._wandb_init.get("tags", [])])
            )
            if self._experiment is None:
                self._wandb_init.update(name=name, tags=tags)
            else:  # the run already started (Lightning starts it at setup, e.g. when evaluating): rename it
                self._experiment.name, self._experiment.tags = name, tuple(tags)
            self._named = True
        super().log_hyperparams(flat)


def wandb_loggers(trainer: L.Trainer) -> list[WandbLogger]:
    return [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]


def finish_wandb(trainer: L.Trainer, failed: bool = False) -> None:
    """End this job's W&B run (a multirun's next job must start a new one); failed runs exit with code 1."""
    for logger in wandb_loggers(trainer):
        if logger._experiment is not None and rank_zero_only.rank == 0:
            logger._experiment.finish(exit_code=1 if failed else 0)
            logger._experiment = None


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
        if not loggers or result is None or not trainer.is_global_zero:
            return
        for logger in loggers:
            log_test_result(
                logger, result, pl_module.test_bleu.signature(), pl_module.num_parameters, trainer.global_step
            )


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
