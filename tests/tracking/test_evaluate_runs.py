"""`evaluate.py -m`: every job its own finished W&B run, grouped like training, whose config says what it evaluated,
with the training run's model artifact as its input."""

from __future__ import annotations

from omegaconf import OmegaConf

from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.train import train
from tests.conftest import TINY, compose_config, run_script, wandb_offline_in_process
from tests.tracking.offline_runs import offline_runs

WITH_WANDB = [o for o in TINY if not o.startswith("logger=")] + ["logger=[csv,wandb]", "logger.wandb.log_model=true"]


def test_each_evaluate_job_is_its_own_finished_run_with_its_config(tmp_path, cache_dir):
    train_dir = tmp_path / "train"
    with wandb_offline_in_process():
        train(OmegaConf.to_object(compose_config("train", WITH_WANDB, train_dir, cache_dir)))
    trained = RunResults.read(train_dir / "results.json")
    ckpt = trained.checkpoint
    done = run_script(
        "evaluate.py",
        [
            "-m",
            f"ckpt_path={ckpt}",
            "decoding.beam_size=1,3",
            f"hydra.sweep.dir={tmp_path}/eval",
            f"paths.cache_dir={cache_dir}",
            "trainer.enable_progress_bar=false",
        ],
        tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = [tmp_path / "eval" / "0", tmp_path / "eval" / "1"]
    runs = [offline_runs(job) for job in jobs]
    assert [len(r) for r in runs] == [1, 1]  # each job its own run, in its own folder
    (first,), (second,) = runs
    assert first.run()["run_id"] != second.run()["run_id"]
    for run, beam, job in ((first, 1, jobs[0]), (second, 3, jobs[1])):
        config = run.summary["config"]
        assert run.summary["state"] == "finished" and run.summary["exit_code"] == 0
        assert config["decoding.beam_size"] == beam  # the job's own decoding, not the checkpoint's
        assert config["checkpoint"] == ckpt and config["data.name"] == "synthetic_reverse_map"
        assert config["attention.name"] == "additive"
        meta = run.run()
        assert meta["job_type"] == "evaluate" and meta["tags"][0] == "additive"
        assert meta["run_group"] == f"multirun_{tmp_path.name}_eval"  # the multirun folder, as for training
        results = RunResults.read(job / "results.json")
        assert results.wandb == {"id": meta["run_id"], "url": None}
        # offline, W&B cannot record an input artifact: the config names the training run's model artifact
        assert config["model_artifact"] == f"model-{trained.wandb['id']}"
        assert config["trained_run"] == trained.wandb["id"]
        inputs = {a["type"]: a["name"] for a in run.of_type("artifact") if a["type"] != "run_table"}
        data = "synthetic_reverse_map"
        assert inputs == {"dataset": f"test-split-{data}", "tokenizers": f"tokenizers-{data}"}
