"""Bad input stops a run with one clear message (file/line/key, what is wrong, what to do), a non-zero exit,
a failed.json, and no results written as if complete. Data-file cases are covered one by one in
tests/data/test_local.py, config values in tests/config/test_schema.py and the hub in tests/data/test_hub.py;
here: the message path through `train.py`, a diverging loss, and the run folder rules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError, TrainingDivergedError
from attention_nmt.resuming import resume_checkpoint
from attention_nmt.training import train
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def run_train(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_bad_corpus_through_train_py_names_files_exits_nonzero_and_records_the_failure(tmp_path):
    src, trg = tmp_path / "corpus.es", tmp_path / "corpus.en"
    src.write_text("uno\ndos\ntres\n", encoding="utf-8")
    trg.write_text("one\ntwo\n", encoding="utf-8")
    model_and_trainer = [o for o in TINY if not o.startswith("data")]
    done = run_train([*model_and_trainer, "data=local", f"data.src_path={src}", f"data.trg_path={trg}",
                      f"hydra.run.dir={tmp_path}/run", f"paths.cache_dir={tmp_path}/cache"], tmp_path)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-3]  # then a blank line and Hydra's HYDRA_FULL_ERROR hint
    assert last_line.startswith("attention_nmt.errors.DataFormatError: ")
    assert f"{src} has 3 lines but {trg} has 2" in last_line and "data.src_path" in last_line
    failed = json.loads((tmp_path / "run" / "failed.json").read_text())
    assert failed["error"] == "DataFormatError" and "has 3 lines" in failed["message"]
    assert f"data.src_path={src}" in failed["overrides"] and "Traceback" in failed["traceback"]
    assert not (tmp_path / "run" / "results.json").exists() and not (tmp_path / "run" / "checkpoints").exists()


def test_unknown_dataset_name_lists_the_choices(tmp_path):
    done = run_train(["data=wmt15", f"hydra.run.dir={tmp_path}/run"], tmp_path)
    assert done.returncode != 0
    assert "Could not find 'data/wmt15'" in done.stderr
    assert all(f"\t{name}" in done.stderr for name in ("bible", "local", "multi30k", "wmt14_fr_en"))


def test_nan_loss_stops_naming_the_step_and_the_last_good_checkpoint(tiny_config, tmp_path):
    cfg = tiny_config("trainer.max_steps=10", "callbacks.model_checkpoint.every_n_train_steps=2",
                      "+callbacks.poison._target_=tests.reliability.faults.PoisonWeightsAtStep",
                      "+callbacks.poison.step=5")
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
