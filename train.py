"""Train and test one arm: `python train.py attention=additive encoder=bigru data=bible`."""

import hydra
from omegaconf import DictConfig

from attention_nmt.tasks.config import register_configs
from attention_nmt.tasks.train import train_task
from attention_nmt.tracking.user_errors import one_line_errors

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    with one_line_errors():  # a bad value or corpus line: its message alone (HYDRA_FULL_ERROR=1: traceback)
        return train_task(cfg)


if __name__ == "__main__":
    main()
