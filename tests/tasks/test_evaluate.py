"""evaluate.py's task: a checkpoint alone rebuilds the model and reproduces the run's test results."""

import pytest
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.results import RunResults, read_hypotheses
from attention_nmt.tasks.evaluate import evaluate
from attention_nmt.tasks.train import train
from tests.conftest import compose_config


@pytest.fixture
def trained_run(tiny_config, tmp_path):
    cfg = tiny_config("attention=multiplicative", "encoder=lstm", "trainer.max_steps=6")
    train(OmegaConf.to_object(cfg))
    return tmp_path / "run"


def test_evaluate_reproduces_training_results_from_the_checkpoint(trained_run, tmp_path, cache_dir, tiny_config):
    trained = RunResults.read(trained_run / "results.json")
    ckpt = trained.checkpoint
    cfg = compose_config(
        "evaluate",
        [f"ckpt_path={ckpt}", "logger=none", "trainer.enable_progress_bar=false"],
        tmp_path / "eval",
        cache_dir,
    )
    results = evaluate(OmegaConf.to_object(cfg))
    assert results.test == trained.test  # same model, same test set, same greedy decoding
    assert read_hypotheses(tmp_path / "eval" / "hypotheses.tsv") == read_hypotheses(trained_run / "hypotheses.tsv")
    assert results.trained_with["attention"]["name"] == "multiplicative"


def test_evaluate_with_a_beam_writes_its_own_results(trained_run, tmp_path, cache_dir):
    cfg = compose_config(
        "evaluate",
        [
            f"ckpt_path={trained_run}/checkpoints/last.ckpt",
            "decoding.beam_size=4",
            "logger=none",
            "trainer.enable_progress_bar=false",
        ],
        tmp_path / "beam",
        cache_dir,
    )
    results = evaluate(OmegaConf.to_object(cfg))
    saved = RunResults.read(tmp_path / "beam" / "results.json")
    assert saved.decoding["beam_size"] == 4 and saved.test == results.test
    assert len(read_hypotheses(tmp_path / "beam" / "hypotheses.tsv")) == results.test.n == 40


def test_evaluate_names_a_missing_checkpoint(tmp_path, cache_dir):
    cfg = compose_config("evaluate", [f"ckpt_path={tmp_path}/nope.ckpt", "logger=none"], tmp_path / "e", cache_dir)
    with pytest.raises(ConfigError, match="ckpt_path"):
        evaluate(OmegaConf.to_object(cfg))
    assert not (tmp_path / "e" / "results.json").exists()
