"""Learning, not just running: additive attention learns a reverse-and-map task an untrained model cannot,
and far better than the fixed-context arm with the same sizes and steps.

Bounds chosen from a measurement on 2 CPU cores (this config, seed 1234): untrained additive 0.25 BLEU,
additive after 300 steps 95.0, none after 300 steps 34.5.
"""

from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.train import train

TASK = [
    "data.vocab_size=20",
    "data.min_len=3",
    "data.max_len=10",
    "data.num_train=2000",
    "data.num_test=100",
    "data.num_validation=50",
    "data.batch_size=32",
    "data.tokenizer.kind=word",
    "model.embedding_size=32",
    "model.hidden_size=64",
    "model.output_size=64",
    "model.dropout=0.0",
    "optim.lr=0.005",
    "trainer.val_check_interval=100",
    "encoder=bigru",
]


def _test_bleu(tiny_config, tmp_path, name, *overrides):
    cfg = tiny_config(*TASK, *overrides)
    cfg.paths.output_dir = str(tmp_path / name)
    train(OmegaConf.to_object(cfg))
    return RunResults.read(tmp_path / name / "results.json").test.bleu


def test_additive_attention_learns_reverse_and_map_far_beyond_untrained_and_fixed_context(tiny_config, tmp_path):
    untrained = _test_bleu(tiny_config, tmp_path, "untrained", "attention=additive", "trainer.max_steps=0")
    additive = _test_bleu(tiny_config, tmp_path, "additive", "attention=additive", "trainer.max_steps=300")
    none = _test_bleu(tiny_config, tmp_path, "none", "attention=none", "trainer.max_steps=300")
    assert untrained < 5.0
    assert additive > 80.0
    assert additive - none > 30.0
