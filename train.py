"""Train and test one arm: `python train.py attention=additive encoder=bigru data=bible`."""

import hydra
from omegaconf import DictConfig

from attention_nmt.tasks.config import register_configs
from attention_nmt.tasks.train import train_task

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return train_task(cfg)


if __name__ == "__main__":
    main()
