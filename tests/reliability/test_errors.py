"""Bad input stops a run with one clear message (file/line/key, what is wrong, what to do), a non-zero exit,
a failed.json, and no results written as if complete. Data-file cases are covered one by one in
tests/data/test_local.py, config values in tests/config/test_schema.py, the hub (offline too) in
tests/data/test_hub.py, and the message path through `train.py` in test_multirun.py and tests/tasks/test_cli.py;
here: unknown options, a diverging loss, and the run folder rules.
"""

from __future__ import annotations

import pytest
import torch
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError, TrainingDivergedError
from attention_nmt.tasks.train import train
from attention_nmt.training.resuming import resume_checkpoint


def test_unknown_dataset_name_lists_the_choices(tiny_config):
    with pytest.raises(MissingConfigException, match="Could not find 'data/wmt15'") as err:
        tiny_config("data=wmt15")
    assert all(f"\t{name}\n" in str(err.value) for name in ("bible", "local", "multi30k", "wmt14_fr_en"))


def test_nan_loss_stops_naming_the_step_and_the_last_good_checkpoint(tiny_config, tmp_path):
    cfg = tiny_config(
        "trainer.max_steps=10",
        "callbacks.model_checkpoint.every_n_train_steps=2",
        "+callbacks.poison._target_=tests.reliability.faults.PoisonWeightsAtStep",
        "+callbacks.poison.step=5",
    )
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    with pytest.raises(TrainingDivergedError, match=rf"global step 5.*last good checkpoint is {last}"):
        train(OmegaConf.to_object(cfg))
    good = torch.load(last, weights_only=True)
    assert good["global_step"] == 4
    assert all(torch.isfinite(value).all() for value in good["state_dict"].values())
    assert not (tmp_path / "run" / "results.json").exists()


def test_fresh_run_refuses_a_folder_that_holds_a_run(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"already holds a run \(last\.ckpt\).*resume=true"):
        resume_checkpoint(tmp_path, None, resume=False)
    assert resume_checkpoint(tmp_path, None, resume=True) == str(tmp_path / "checkpoints" / "last.ckpt")


def test_resume_without_a_checkpoint_names_the_folder_and_the_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"resume=true: .*checkpoints/last\.ckpt does not exist.*hydra\.run\.dir"):
        resume_checkpoint(tmp_path, None, resume=True)
    with pytest.raises(ConfigError, match=r"ckpt_path=.*nope\.ckpt: no such file"):
        resume_checkpoint(tmp_path, str(tmp_path / "nope.ckpt"), resume=False)
    assert resume_checkpoint(tmp_path, None, resume=False) is None  # an empty folder is a fresh run's


def test_a_checkpoint_with_nan_weights_is_not_named_as_good(tiny_config, tmp_path):
    cfg = tiny_config(
        "trainer.max_steps=10",
        "callbacks.model_checkpoint.every_n_train_steps=1",
        "+callbacks.poison._target_=tests.reliability.faults.PoisonWeightsAtStep",
        "+callbacks.poison.step=5",
        "+callbacks.poison.after_update=true",
    )
    with pytest.raises(TrainingDivergedError, match=r"global step 5.*last good checkpoint is .*best-step\d-") as err:
        train(OmegaConf.to_object(cfg))
    assert "last.ckpt" not in str(err.value)  # it was written after the poisoned update
