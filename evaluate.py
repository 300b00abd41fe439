"""Evaluate a checkpoint: `python evaluate.py ckpt_path=<run>/checkpoints/last.ckpt [decoding.beam_size=5]`."""

import hydra
from omegaconf import DictConfig

from attention_nmt.tasks.config import register_configs
from attention_nmt.tasks.evaluate import evaluate_task

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float:
    return evaluate_task(cfg)


if __name__ == "__main__":
    main()
