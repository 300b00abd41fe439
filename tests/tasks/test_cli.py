"""The command lines users type: train.py as a Hydra multirun (one folder and one W&B run per arm), then
evaluate.py."""

import json

import pytest

from attention_nmt.evaluation.results import RunResults
from tests.conftest import TINY, run_script
from tests.tracking.offline_runs import offline_runs


def test_multirun_trains_each_arm_in_its_own_folder_and_evaluate_reads_one(tmp_path):
    tiny = [o for o in TINY if not o.startswith("logger=")]
    done = run_script(
        "train.py",
        [
            "-m",
            "attention=none,additive,multiplicative",
            *tiny,
            f"paths.cache_dir={tmp_path}/cache",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = sorted(p for p in (tmp_path / "multirun").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(jobs) == 3
    arms = {RunResults.read(j / "results.json").config["attention"]["name"]: j for j in jobs}
    assert set(arms) == {"none", "additive", "multiplicative"}
    for job in jobs:
        assert (job / "hypotheses.tsv").is_file() and (job / "csv" / "metrics.csv").is_file()
    log = done.stdout + done.stderr
    assert "Test BLEU" in log and "source words" in log  # the table each run prints
    runs = {arm: offline_runs(job) for arm, job in arms.items()}
    assert all(len(r) == 1 for r in runs.values())  # each job its own W&B run, finished before the next began
    metas = {arm: r[0].run() for arm, r in runs.items()}
    assert len({m["run_id"] for m in metas.values()}) == 3
    assert len({m["run_group"] for m in metas.values()}) == 1  # grouped by the multirun folder
    assert metas["none"]["run_group"].startswith("multirun_")
    assert {m["tags"][0] for m in metas.values()} == {"none", "additive", "multiplicative"}
    assert all(r[0].summary["state"] == "finished" for r in runs.values())

    ckpt = arms["none"] / "checkpoints" / "last.ckpt"
    evaluated = run_script(
        "evaluate.py",
        [
            f"ckpt_path={ckpt}",
            f"hydra.run.dir={tmp_path}/eval",
            f"paths.cache_dir={tmp_path}/cache",
            "trainer.enable_progress_bar=false",
        ],
        tmp_path,
        timeout=600,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert RunResults.read(tmp_path / "eval" / "results.json").test.n == 40
    [evaluation] = offline_runs(tmp_path / "eval")
    assert evaluation.run()["job_type"] == "evaluate" and evaluation.run()["tags"][0] == "none"
    assert evaluation.summary["summary"]["test/bleu"] == pytest.approx(
        RunResults.read(tmp_path / "eval" / "results.json").test.bleu
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "eval", "multirun"]  # every W&B file in a run


def test_bad_override_exits_nonzero_with_its_message_alone(tmp_path):
    done = run_script("train.py", ["model.dropout=1.5", f"hydra.run.dir={tmp_path}/run"], tmp_path, timeout=600)
    assert done.returncode != 0
    assert "model.dropout=1.5: must lie in [0.0, 1.0)." in done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "results.json").exists()
    failed = json.loads((tmp_path / "run" / "failed.json").read_text())
    assert failed["error"] == "ConfigError" and "Traceback" in failed["traceback"]
    full = run_script(
        "train.py", ["model.dropout=1.5", f"hydra.run.dir={tmp_path}/full"], tmp_path, timeout=600, HYDRA_FULL_ERROR="1"
    )
    assert full.returncode != 0 and "Traceback" in full.stderr and "ConfigError" in full.stderr


def test_bad_corpus_line_stops_with_its_message_alone(tmp_path):
    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("hola\thello\nadios mundo sin tabulador\n", encoding="utf-8")
    done = run_script(
        "train.py",
        ["data=local", f"data.path={corpus}", "logger=none", f"hydra.run.dir={tmp_path}/run"],
        tmp_path,
        timeout=600,
    )
    assert done.returncode != 0
    [message] = [line for line in done.stderr.splitlines() if line.startswith(f"{corpus}:2")]
    assert "expected 2 tab-separated columns" in message and "Traceback" not in done.stderr
