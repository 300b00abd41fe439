"""Training end to end: every encoder x attention arm runs, files are written, overrides take effect."""

import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RunResults, read_hypotheses
from attention_nmt.model import additive_scan
from attention_nmt.tasks.train import clear_step_limit_if_only_epochs_given, train
from tests.conftest import TINY, compose_config, first_loss_is_a_uniform_guess

ENCODERS = ["gru", "bigru", "lstm", "bilstm"]
ATTENTIONS = [
    ["attention=none"],
    ["attention=additive"],
    ["attention=multiplicative"],
    ["attention=multiplicative", "attention.input_feeding=false", "attention.score=general"],
]


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("attention", ATTENTIONS, ids=["none", "additive", "mult+feed", "mult"])
def test_every_encoder_and_attention_runs_a_fast_dev_run_step(tiny_config, tmp_path, encoder, attention):
    cfg = tiny_config(f"encoder={encoder}", *attention, "trainer.fast_dev_run=1")
    metrics = train(OmegaConf.to_object(cfg))
    assert first_loss_is_a_uniform_guess(metrics, tmp_path / "run")
    assert 0.0 <= metrics["val/bleu"] <= 100.0 and math.isfinite(metrics["val/loss"])


def test_train_writes_results_and_hypotheses_that_agree(tiny_config, tmp_path):
    cfg = tiny_config("attention=additive", "encoder=bigru", "seed=7", "data.max_train_len=8")
    metrics = train(OmegaConf.to_object(cfg))
    run = tmp_path / "run"
    results = RunResults.read(run / "results.json")
    rows = read_hypotheses(run / "hypotheses.tsv")
    assert len(rows) == results.test.n == 40  # the test split is never filtered
    assert results.config["seed"] == 7 and results.config["data"]["max_train_len"] == 8
    assert results.num_parameters > 0 and results.global_step == 4
    assert results.num_filtered > 0  # sources longer than 8 words left the training set
    assert "tok:13a" in results.bleu_signature
    recomputed = BucketedBLEU([10, 20, 30, 40, 50])
    recomputed.update([r["hypothesis"] for r in rows], [r["reference"] for r in rows], [r["src_words"] for r in rows])
    assert recomputed.compute()["bleu"] == pytest.approx(results.test.bleu)
    assert metrics["test/bleu"] == pytest.approx(results.test.bleu)
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "tokenizers" / "src.json").is_file()
    assert additive_scan.WORKSPACE.size == 0  # the fused loop's buffers were released after training and test


def test_max_epochs_alone_clears_the_default_step_limit_and_batch_size_sets_the_steps(tiny_config):
    overrides = ["trainer.max_epochs=2", "data.batch_size=100"]
    cfg = tiny_config(*overrides)  # TINY also sets trainer.max_steps=4, as the default config sets 250
    clear_step_limit_if_only_epochs_given(cfg, overrides)
    train(OmegaConf.to_object(cfg))
    results = RunResults.read(Path(cfg.paths.output_dir) / "results.json")
    assert results.global_step == 2 * 3  # 300 pairs / 100 a batch, two epochs


def test_max_steps_override_is_kept_when_both_limits_are_given(tiny_config):
    overrides = ["trainer.max_epochs=2", "trainer.max_steps=5"]
    cfg = tiny_config(*overrides)
    clear_step_limit_if_only_epochs_given(cfg, overrides)
    assert cfg.trainer.max_steps == 5


def test_local_tsv_corpus_trains_and_is_tested_on_its_carved_split(tmp_path, cache_dir):
    pairs = tmp_path / "pairs.tsv"
    lines = [f"uno dos {i} tres\tone two {i} three" for i in range(200)]
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model_and_trainer = [o for o in TINY if not o.startswith("data")]
    cfg = compose_config(
        "train",
        [
            *model_and_trainer,
            "data=local",
            f"data.path={pairs}",
            "data.batch_size=16",
            "data.test_ratio=0.1",
            "data.validation_ratio=0.1",
        ],
        tmp_path / "run",
        cache_dir,
    )
    train(OmegaConf.to_object(cfg))
    rows = read_hypotheses(tmp_path / "run" / "hypotheses.tsv")
    assert len(rows) == 20
    assert all(r["source"] in {line.split("\t")[0] for line in lines} for r in rows)
    assert all(r["src_words"] == 4 for r in rows)
