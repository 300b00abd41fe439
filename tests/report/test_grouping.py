"""Seeds of an arm are grouped; differing settings make separate arms; different test sets are never mixed."""

from __future__ import annotations

import json

from attention_nmt.report.collect import collect
from attention_nmt.report.grouping import make_comparisons
from tests.report.handmade import degrade, make_run, toy_corpus


def test_seeds_form_one_arm_and_max_train_len_separates_arms(tmp_path):
    test = toy_corpus(20)
    for seed in (1, 2):
        for attention in ("none", "additive"):
            for max_len in (30, 50):
                make_run(
                    tmp_path / f"{attention}_{max_len}_s{seed}",
                    attention,
                    degrade(test[2], 0.5, seed),
                    test,
                    seed=seed,
                    max_train_len=max_len,
                )
    [comparison] = make_comparisons(collect([tmp_path]))
    labels = [a.label for a in comparison.arms]
    assert labels == [
        "none, data.max_train_len=30",
        "none, data.max_train_len=50",
        "additive, data.max_train_len=30",
        "additive, data.max_train_len=50",
    ]
    assert all(sorted(a.seeds) == [1, 2] for a in comparison.arms)
    arms = {a.label: a for a in comparison.arms}
    assert comparison.baseline(arms["additive, data.max_train_len=30"]).label == "none, data.max_train_len=30"
    assert comparison.baseline(arms["additive, data.max_train_len=50"]).label == "none, data.max_train_len=50"


def test_runs_on_different_test_sets_are_separate_comparisons(tmp_path):
    first, second = toy_corpus(20, seed=0), toy_corpus(20, seed=1)
    make_run(tmp_path / "a", "none", first[2], first, data="toy")
    make_run(tmp_path / "b", "none", second[2], second, data="toy")  # same config, other sentences
    comparisons = make_comparisons(collect([tmp_path]))
    assert len(comparisons) == 2
    assert all(len(c.arms) == 1 and len(c.arms[0].runs) == 1 for c in comparisons)
    assert len({c.name for c in comparisons}) == 2 and all(c.name.startswith("toy-") for c in comparisons)


def test_encoder_difference_is_named_once(tmp_path):
    test = toy_corpus(20)
    make_run(tmp_path / "a", "additive", test[2], test)
    other = make_run(tmp_path / "b", "additive", test[2], test)
    text = (other / "results.json").read_text().replace('"bigru"', '"lstm"').replace('"gru"', '"lstm"')
    (other / "results.json").write_text(text)
    [comparison] = make_comparisons(collect([tmp_path]))
    assert sorted(a.label for a in comparison.arms) == ["additive, bigru", "additive, lstm"]


def test_keys_only_some_runs_have_do_not_split_an_arm(tmp_path):
    test = toy_corpus(20)
    make_run(tmp_path / "a", "additive", test[2], test, seed=1)
    other = make_run(tmp_path / "b", "additive", test[2], test, seed=2)
    results = json.loads((other / "results.json").read_text())
    results["config"]["optim"] = {"lr": 0.003}  # a key run a does not have
    (other / "results.json").write_text(json.dumps(results))
    [comparison] = make_comparisons(collect([tmp_path]))
    assert [(a.label, sorted(a.seeds)) for a in comparison.arms] == [("additive", [1, 2])]
