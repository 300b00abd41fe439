"""Real finished runs for the report tests: two tiny arms trained in-process once per session (seconds), in a
folder shaped like a Hydra multirun, plus a failed and an incomplete job beside them."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from attention_nmt.tasks.train import train
from tests.conftest import TINY, compose_config
from tests.report.handmade import make_failed, make_incomplete

ARMS = ("none", "additive")
# Sources of 3-25 words, so the test split fills three buckets (1-10, 11-20, 21-30).
LONGER = ["data.max_len=25", "data.num_test=60"]


@pytest.fixture(scope="session")
def tiny_multirun(tmp_path_factory, cache_dir) -> Path:
    """multirun/{0_none,1_additive} finished, 2_multiplicative failed, 3_multiplicative incomplete."""
    root = tmp_path_factory.mktemp("multirun")
    for i, arm in enumerate(ARMS):
        run_dir = root / f"{i}_{arm}_bigru_synthetic_reverse_map_s1234"
        cfg = compose_config(
            "train", [*TINY, *LONGER, f"attention={arm}", "experiment_name=tiny_report"], run_dir, cache_dir
        )
        train(OmegaConf.to_object(cfg))
    make_failed(root / "2_multiplicative_bigru_synthetic_reverse_map_s1234", "RuntimeError: loss is NaN")
    make_incomplete(root / "3_multiplicative_bigru_synthetic_reverse_map_s7")
    return root
