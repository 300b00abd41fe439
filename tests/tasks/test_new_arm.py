"""A new attention arm is two files: its module (the `Attention` subclass and its registered config) and its
YAML in conf/attention/. The toy arm below exists only in this test: registered from here and given its YAML
in a temporary config folder (Hydra's search path), it joins every list of arms, trains through train.py,
and its checkpoint loads back."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch import Tensor, nn

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.results import RunResults
from attention_nmt.model import arms as registry
from attention_nmt.model.arms import arm_names, register_arm
from attention_nmt.model.attention import Attention, AttentionConfig
from attention_nmt.tasks.config import register_configs
from attention_nmt.tasks.train import train_task
from attention_nmt.tracking.sweeps import load_sweep
from tests.conftest import CONF_DIR, ROOT, TINY
from tests.model.arms import arm_matrix


class ToyAttention(Attention):
    """e_ij = (W s_{i-1}) . h_j / temperature: queried with the previous state, so the decoder needs a step
    loop, and no fused loop is written for it."""

    def __init__(self, query_size: int, value_size: int, temperature: float) -> None:
        super().__init__(query_size, value_size)
        self.query_layer = nn.Linear(query_size, value_size, bias=False)
        self.temperature = temperature

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(self.query_layer(query), keys.transpose(1, 2)) / self.temperature  # (B, T, S)


@dataclass
class ToyAttentionConfig(AttentionConfig):
    attention_class: ClassVar[type[Attention]] = ToyAttention
    name: str = "toy"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.temperature <= 0:
            raise ConfigError(f"attention.temperature={self.temperature}: must be > 0.")

    def build(self, query_size: int, value_size: int) -> Attention:
        return ToyAttention(query_size, value_size, self.temperature)


TOY_YAML = """\
# A toy arm for tests/tasks/test_new_arm.py.
defaults:
  - /attention_toy_schema@_here_
  - _self_

temperature: 3.0
"""

# train.py with the toy arm registered first, as importing an arm's module does
BOOTSTRAP = (
    "import runpy, sys; sys.path.insert(0, {root!r}); "
    "from attention_nmt.model.arms import register_arm; "
    "from tests.tasks.test_new_arm import ToyAttentionConfig; register_arm(ToyAttentionConfig); "
    "sys.argv[0] = {train!r}; runpy.run_path({train!r}, run_name='__main__')"
)


@pytest.fixture
def toy_conf(tmp_path, monkeypatch) -> str:
    """The toy arm registered (for this test only) and its YAML in a config folder of its own; returns the
    Hydra override that adds that folder to the search path."""
    monkeypatch.setattr(registry, "_ARMS", dict(registry.arm_configs()))  # restored after the test
    register_arm(ToyAttentionConfig)
    register_configs()  # its schema into the ConfigStore, as train.py does at start
    conf = tmp_path / "conf"
    (conf / "attention").mkdir(parents=True)
    (conf / "attention" / "toy.yaml").write_text(TOY_YAML)
    return f"hydra.searchpath=[file://{conf}]"


def _compose(*overrides: str, hydra: bool = False):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", list(overrides), return_hydra_config=hydra)


def test_a_registered_arm_joins_every_list_of_arms(toy_conf):
    assert "toy" in arm_names() and {"none", "additive", "multiplicative"} < set(arm_names())
    for experiment in ("bottleneck", "bottleneck_synthetic", "bottleneck_long", "length_generalisation"):
        params = _compose(f"experiment={experiment}", toy_conf, hydra=True).hydra.sweeper.params
        assert params.attention.split(",") == arm_names()
    tune = _compose("experiment=bottleneck_tune", toy_conf, hydra=True).hydra.sweeper
    assert tune.params.attention == f"choice({','.join(arm_names())})" and tune.n_trials >= len(arm_names()) * 8
    assert load_sweep(ROOT / "sweeps" / "bottleneck.yaml")["parameters"]["attention"]["values"] == arm_names()
    matrix = arm_matrix(toy_conf)  # the model tests' matrix (tests/model/arms.py)
    assert type(matrix["toy"]) is ToyAttentionConfig and matrix["toy"].temperature == 3.0  # as its YAML says


def test_the_headline_names_the_missing_tuned_values_of_a_new_arm(toy_conf):
    with pytest.raises(ConfigError, match=r"tuned\.arms\.toy: .*experiment=bottleneck_tune"):
        train_task(_compose("experiment=bottleneck", "attention=toy", toy_conf))


def test_a_new_arm_fails_at_start_naming_its_own_key(toy_conf):
    with pytest.raises(ConfigError, match=r"attention\.temperature=-1\.0"):
        OmegaConf.to_object(_compose("attention=toy", "attention.temperature=-1", toy_conf))
    with pytest.raises(ConfigError, match=r"attention\.input_feeding=true"):
        OmegaConf.to_object(_compose("attention=toy", "attention.input_feeding=true", toy_conf))


def test_a_toy_arm_defined_only_in_this_test_trains_through_train_py(toy_conf, tmp_path):
    run = tmp_path / "run"
    bootstrap = BOOTSTRAP.format(root=str(ROOT), train=str(ROOT / "train.py"))
    tiny = [o for o in TINY if not o.startswith("logger=")] + ["logger=csv"]
    args = ["attention=toy", *tiny, toy_conf, f"paths.cache_dir={tmp_path}/cache", f"hydra.run.dir={run}"]
    done = subprocess.run(
        [sys.executable, "-c", bootstrap, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WANDB_MODE": "offline"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = RunResults.read(run / "results.json")
    assert results.config["attention"] == {"name": "toy", "input_feeding": False, "temperature": 3.0}
    assert results.global_step == 4 and results.test.n == 40
    with (run / "csv" / "metrics.csv").open() as f:
        validations = [r for r in csv.DictReader(f) if r.get("val/bleu")]
    assert len(validations) == 2
    assert all(0 < float(r["val/attn_entropy_norm"]) <= 1 for r in validations)  # its weights were seen
    assert all(float(r["val/attn_score_mean_abs"]) > 0 for r in validations)  # and its own scores recorded

    from attention_nmt.tasks.evaluate import load_module

    module = load_module(str(run / "checkpoints" / "last.ckpt"))  # rebuilt by its name through the registry
    assert isinstance(module.model.decoder.attention, ToyAttention)
    assert module.model.decoder.attention.temperature == 3.0 and module.model.decoder.cpu_path is None
