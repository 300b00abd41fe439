"""Smoke tests of the benchmark's command line, plans and tables (fast: nothing is measured here)."""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import tables  # noqa: E402
import throughput  # noqa: E402


def test_quick_shrinks_every_size_and_keeps_the_choices():
    args = throughput.parse_args(["--quick", "--compare", "joeynmt", "--arms", "none", "additive"])
    assert (args.threads, args.repeats, args.train_batches, args.batch_size) == ([1], 1, 1, 8)
    assert args.compare == "joeynmt" and args.arms == ["none", "additive"]
    with pytest.raises(SystemExit):
        throughput.parse_args(["--compare", "fairseq"])


def test_plans_give_both_sides_the_same_pairs_for_every_row():
    corpus = {
        "vocab_size": 5,
        "train": {"src": [[1] * (i % 7 + 1) for i in range(40)], "trg": [[2] * (i % 7 + 1) for i in range(40)]},
        "test": {"src": [[3] * (i % 5 + 1) for i in range(20)], "trg": [[4] for _ in range(20)]},
    }
    args = throughput.parse_args(["--quick", "--arms", "additive"])
    plans = dict(throughput.plans(args, corpus))
    assert list(plans) == [
        "train tokens/s, additive",
        "decode sentences/s, greedy, additive",
        "decode sentences/s, beam 5, additive",
    ]
    train = plans["train tokens/s, additive"]["batches"]
    assert len(train) == 1 and len(train[0]) == 8
    assert len({len(src) for src, _ in train[0]}) <= 2  # length-bucketed like our training batches
    greedy = plans["decode sentences/s, greedy, additive"]
    assert greedy["beam"] == 1 and sum(map(len, greedy["batches"])) == 8
    lengths = [len(src) for batch in greedy["batches"] for src, _ in batch]
    assert lengths == sorted(lengths) and min(lengths) == 1 and max(lengths) == 5  # spread over all lengths


def test_table_prints_ratios_and_json_has_the_documented_keys(tmp_path):
    rows = [tables.Row("train tokens/s, additive", 1, 3000.0, 1000.0, 3.0), tables.Row("peak MiB, x", 2, 400.0)]
    text = tables.markdown(rows, compare=True)
    assert "| train tokens/s, additive | 1 | 3,000 | 1,000 | 3.00x |" in text
    assert "| peak MiB, x | 2 | 400 | - | - |" in text
    tables.write_json(tmp_path / "out.json", rows, [], {"repeats": 3})
    saved = json.loads((tmp_path / "out.json").read_text())
    assert set(saved["rows"][0]) >= {"what", "threads", "ours", "joeynmt", "ratio"}
    assert saved["rows"][0]["ratio"] == 3.0 and saved["machine"]["cores"] >= 1


def test_bf16_rows_are_named_and_set_up_for_ours_and_fp32_rows_stay_as_joey_reads_them():
    corpus = {
        "vocab_size": 5,
        "train": {"src": [[1] * (i % 7 + 1) for i in range(40)], "trg": [[2] * (i % 7 + 1) for i in range(40)]},
        "test": {"src": [[3] * (i % 5 + 1) for i in range(20)], "trg": [[4] for _ in range(20)]},
    }
    args = throughput.parse_args(["--quick", "--arms", "none", "--precisions", "fp32", "bf16"])
    assert args.precisions == ["fp32", "bf16"]
    fp32, bf16 = dict(throughput.plans(args, corpus)), dict(throughput.plans(args, corpus, "bf16"))
    assert list(bf16) == [name + ", bf16" for name in fp32]
    assert all("precision" not in setup for setup in fp32.values())  # Joey's worker takes no precision
    assert all(setup["precision"] == "bf16" for setup in bf16.values())


@pytest.mark.parametrize("has_bf16", [True, False])
def test_precisions_default_to_bf16_too_only_where_the_cpu_has_bf16_units(monkeypatch, has_bf16):
    monkeypatch.setattr(tables, "cpu_has_bf16", lambda: has_bf16)
    assert throughput.parse_args([]).precisions == (["fp32", "bf16"] if has_bf16 else ["fp32"])


def test_header_names_the_cpu():
    info = tables.machine()
    assert info["cpu"] and info["cpu"] in tables.header(info)
    assert tables.header({**info, "bf16_units": []}).count("bf16 units: none") == 1


WORKER = """
import sys
sys.path.insert(0, {benchmarks!r})
import protocol
transient = bytearray(300 * 2**20)  # an import-time peak, freed before serving
del transient
kept = []
def setup(**_):
    kept.append(bytearray(64 * 2**20))  # touched: zero-filled by Python
    return lambda: {{}}
protocol.serve(setup)
"""


def test_workers_report_the_peak_above_their_rss_after_imports():
    import subprocess

    script = WORKER.format(benchmarks=str(BENCHMARKS))
    process = subprocess.run(
        [sys.executable, "-c", script], input='{"cmd": "setup"}\n{"cmd": "quit"}\n', capture_output=True, text=True
    )
    reply = json.loads(process.stdout.splitlines()[0])
    assert reply["ok"] and reply["baseline_rss_mb"] > 0
    assert 60 <= reply["peak_rss_mb"] <= 120  # the 64 MiB of the setup, not the 300 MiB before it


def test_rows_with_counted_flops_show_gflops_and_the_share_of_the_peak(tmp_path):
    import peak

    # 10,000 tokens/s at 6 MFLOP per token is 60 GFLOP/s, 60% of a 100 GFLOP/s peak; Joey 5,000 at 8 MFLOP: 40%
    row = tables.Row("train tokens/s, none", 1, 10_000.0, 5_000.0, 2.0, "", 6e6, 8e6, 100.0)
    assert row.gflops("ours") == pytest.approx(60.0) and row.of_peak("ours") == pytest.approx(0.6)
    assert row.of_peak("joeynmt") == pytest.approx(0.4)
    memory = tables.Row("peak MiB, train, none", 1, 300.0, 400.0, 0.75)
    text = tables.markdown([row, memory], compare=True)
    assert "| 10,000 | 5,000 | 2.00x | 6.00 / 8.00 | 60.0 (60%) | 40.0 (40%) |" in text
    assert "| peak MiB, train, none | 1 | 300 | 400 | 0.75x | - / - | - | - |" in text
    assert "| 6.00 | 60.0 (60%) |" in tables.markdown([row], compare=False)
    peaks = [peak.Peak("step", 64, 896, 768, "fp32", 1, 100.0), peak.Peak("square", 8, 8, 8, "fp32", 1, 120.0)]
    assert peak.step_peak(peaks, 1, "fp32") == 100.0 and peak.step_peak(peaks, 2, "fp32") is None
    assert "fp32, 1 thread(s), step 64 x 896 by 896 x 768: 100.0" in peak.describe(peaks)
    tables.write_json(tmp_path / "out.json", [row], [], {}, peaks, [{"what": "x"}])
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["rows"][0]["ours_gflops"] == pytest.approx(60.0)
    assert saved["rows"][0]["joeynmt_of_peak"] == pytest.approx(0.4)
    step = {"shape": "step", "m": 64, "k": 896, "n": 768, "dtype": "fp32", "threads": 1, "gflops": 100.0}
    assert saved["peak"][0] == step
    assert saved["profile"] == [{"what": "x"}]


def test_the_step_shape_is_batch_by_gru_input_and_state_by_three_gates():
    import peak

    assert peak.shapes(64, 128, 256, 512, quick=False) == {"square": (2048, 2048, 2048), "step": (64, 896, 768)}


def test_profile_table_prints_the_shares_and_the_top_operators():
    profile = {
        "what": "train tokens/s, additive",
        "threads": 1,
        "seconds": 1.5,
        "matmul_share": 0.55,
        "other_share": 0.3,
        "framework_share": 0.15,
        "top": [{"op": "aten::addmm", "share": 0.3, "calls": 9}, {"op": "aten::tanh_", "share": 0.1, "calls": 9}],
    }
    text = tables.profile_markdown([profile])
    assert "| train tokens/s, additive | 1 | 1.50 | 55% | 30% | 15% | addmm 30%, tanh_ 10% |" in text
