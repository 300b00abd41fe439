"""Checkpoints written before the package was laid out by role still evaluate.

tests/fixtures/premove/ holds a tiny run (bidirectional LSTM encoder, additive attention, 2 updates on the
synthetic reverse-and-map task) trained at commit 5b758ad, when the optimiser config lived in
`attention_nmt.optim`: its checkpoint stores `_schema_: attention_nmt.optim.OptimConfig`.
"""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults, read_hypotheses
from attention_nmt.tasks.evaluate import evaluate, load_module
from attention_nmt.training.optim import OptimConfig
from tests.conftest import compose_config

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "premove"


def test_the_fixture_names_the_old_module_paths():
    stored = torch.load(FIXTURE / "last.ckpt", weights_only=True)["hyper_parameters"]
    assert stored["optim"]["_schema_"] == "attention_nmt.optim.OptimConfig"


def test_a_checkpoint_from_before_the_move_loads_with_its_configs():
    module = load_module(str(FIXTURE / "last.ckpt"))
    assert isinstance(module.optim_cfg, OptimConfig)
    assert module.num_parameters == RunResults.read(FIXTURE / "results.json").num_parameters


def test_a_checkpoint_from_before_the_move_evaluates_as_it_did(tmp_path, cache_dir):
    cfg = compose_config(
        "evaluate",
        [f"ckpt_path={FIXTURE / 'last.ckpt'}", "logger=none", "trainer.enable_progress_bar=false"],
        tmp_path / "eval",
        cache_dir,
    )
    results = evaluate(OmegaConf.to_object(cfg))
    before = RunResults.read(FIXTURE / "results.json")
    assert results.test.n == before.test.n == 20
    # Same weights, same corpus (rebuilt from its seed), same greedy decoding. Across CPU types a near-tie
    # in an argmax may flip, so the hypotheses are compared with a margin rather than bitwise.
    now = read_hypotheses(tmp_path / "eval" / "hypotheses.tsv")
    then = read_hypotheses(FIXTURE / "hypotheses.tsv")
    assert [r["source"] for r in now] == [r["source"] for r in then]
    same = sum(a["hypothesis"] == b["hypothesis"] for a, b in zip(now, then))
    assert same >= 0.9 * len(then)
    assert abs(results.test.bleu - before.test.bleu) < 0.5
