"""Test-time attention: forced-decoding AER against the synthetic task's gold alignments, computed with a
model whose attention is set by hand, and what a trained run writes (results.json test.aer, attention.json)."""

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from attention_nmt.data.datamodule import TranslationDataModule
from attention_nmt.evaluation.attention_record import ATTENTION_FILE, forced_aer
from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.train import train
from tests.conftest import TINY, compose_config

EDGES = [5, 8]


@pytest.fixture(scope="module")
def test_split(tmp_path_factory):
    """The tiny reverse-and-map test split, word-level tokens (one piece per word)."""
    tmp = tmp_path_factory.mktemp("aer")
    cfg = OmegaConf.to_object(compose_config("train", [*TINY, "data.tokenizer.kind=word"], tmp / "run", tmp / "cache"))
    datamodule = TranslationDataModule(cfg.data, tmp / "cache", seed=1)
    datamodule.setup()
    return datamodule


class HandSetAttention(torch.nn.Module):
    """Stands in for Seq2Seq: teacher-forced weights where target word j of an n-word sentence looks at
    source word policy(n, j), and </s> looks at </s>."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def forward(self, src, src_lengths, trg_input):
        weights = torch.zeros(src.shape[0], trg_input.shape[1], src.shape[1])
        for b, length in enumerate(src_lengths.tolist()):
            n = length - 1  # words before </s>
            for j in range(n):
                weights[b, j, self.policy(n, j)] = 1.0
            weights[b, n, n] = 1.0
        return None, weights


def module_with(policy, datamodule):
    return SimpleNamespace(
        model=HandSetAttention(policy),
        device=torch.device("cpu"),
        tokenizers=(datamodule.src_tokenizer, datamodule.trg_tokenizer),
    )


def test_reversing_attention_has_zero_aer_on_the_reverse_task(test_split):
    result = forced_aer(module_with(lambda n, j: n - 1 - j, test_split), test_split.splits["test"], EDGES, batch_size=7)
    data = test_split.splits["test"]
    assert result["aer"] == 0.0
    assert result["links"] == sum(data.src_words) == sum(b["n"] for b in result["buckets"])
    assert [b["label"] for b in result["buckets"]] == ["1-5", "6-8", "9+"]


def test_monotone_attention_on_the_reverse_task_has_the_aer_counted_by_hand(test_split):
    data = test_split.splits["test"]
    result = forced_aer(module_with(lambda n, j: j, test_split), data, EDGES, batch_size=64)
    lengths = np.array(data.src_words)
    hits = lengths % 2 == 1  # j == n-1-j only at the middle word of an odd-length sentence
    assert result["aer"] == pytest.approx(1 - 2 * hits.sum() / (2 * lengths.sum()))
    for bucket in result["buckets"]:
        upper = bucket["upper"] or 10**6
        inside = (lengths >= bucket["lower"]) & (lengths <= upper)
        if inside.any():
            assert bucket["aer"] == pytest.approx(1 - hits[inside].sum() / lengths[inside].sum())


def test_no_gold_alignments_or_no_attention_means_no_aer(test_split):
    data = test_split.splits["test"]
    no_gold = type(data)(data.sources, data.references, data.src_words, data.src_ids, data.trg_ids, None)
    assert forced_aer(module_with(lambda n, j: j, test_split), no_gold, EDGES) is None
    none_arm = SimpleNamespace(model=lambda *a: (None, None), device=torch.device("cpu"), tokenizers=None)
    assert forced_aer(none_arm, data, EDGES) is None


def test_a_trained_attention_run_writes_aer_and_heatmap_sentences(tiny_config, tmp_path):
    train(OmegaConf.to_object(tiny_config("attention=additive", "evaluation.heatmap_sentences=3", "logger=csv")))
    run = tmp_path / "run"
    test = RunResults.read(run / "results.json").test
    assert 0.0 <= test.aer.aer <= 1.0 and test.aer.links > 0
    [metrics_file] = run.glob("csv/**/metrics.csv")
    with metrics_file.open(encoding="utf-8") as f:
        logged = [row for row in csv.DictReader(f) if row.get("test/aer")]
    assert len(logged) == 1 and float(logged[0]["test/aer"]) == pytest.approx(test.aer.aer)
    assert {k for k, v in logged[0].items() if k.startswith("test/aer_len/") and v} == {
        f"test/aer_len/{b.label}" for b in test.aer.buckets if b.aer is not None
    }
    sentences = json.loads((run / ATTENTION_FILE).read_text())["sentences"]
    assert len(sentences) == 3
    lengths = [len(s["source_words"]) for s in sentences]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]  # spread from short to long
    for s in sentences:
        weights = np.array(s["weights"])
        assert weights.shape == (len(s["target_words"]), len(s["source_words"]))
        assert s["source_words"][-1] == s["target_words"][-1] == "</s>"
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-3)  # each row a distribution over words


def test_a_run_without_attention_writes_neither(tiny_config, tmp_path):
    train(OmegaConf.to_object(tiny_config("attention=none")))
    run = tmp_path / "run"
    assert RunResults.read(run / "results.json").test.aer is None
    assert not (run / ATTENTION_FILE).exists()
