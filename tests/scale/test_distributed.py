"""The pieces that make DDP runs right, each checked without starting a process group of 2: the command a
rank re-runs inside a Hydra multirun, the strategy swap, job-scoped cleanup, evaluation sharding, gathering
hypotheses, and per-process metric states."""

import csv
import os
import pickle
import sys
from pathlib import Path

import lightning as L
import pytest
import torch.distributed as dist
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from lightning.pytorch.loggers import CSVLogger
from omegaconf import open_dict

from attention_nmt.data.batching import LengthBucketSampler
from attention_nmt.errors import ConfigError
from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.final_test import _write
from attention_nmt.training.distributed import (
    HydraJobDDPStrategy,
    OwnMetricStates,
    distributed_job,
    gather_objects,
    hydra_job_command,
    resolve_strategy,
)
from tests.conftest import CONF_DIR

JOB_DIR = "/runs/multirun/0_none_bigru_bible_s1234 lr=3e-4,x"  # a space, `=` and `,` must survive


@pytest.fixture
def multirun_job(monkeypatch):
    """HydraConfig as it is inside job 0 of `python train.py -m attention=none,additive seed=3`."""

    def make(*extra_hydra_overrides: str):
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("train", ["attention=none", "seed=3", *extra_hydra_overrides], return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.mode = RunMode.MULTIRUN
            cfg.hydra.overrides.task = ["attention=none", "seed=3"]
            cfg.hydra.runtime.output_dir = JOB_DIR
            cfg.hydra.runtime.cwd = "/home/user/project"
            cfg.hydra.job.name = "train"
        HydraConfig.instance().set_config(cfg)
        monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)  # `python train.py`, not `python -m`
        monkeypatch.setattr(
            sys,
            "argv",
            ["/home/user/project/train.py", "-m", "--config-name=train", "attention=none,additive", "seed=3"],
        )

    yield make
    HydraConfig.instance().cfg = None


def test_rank_command_runs_only_this_job_in_its_folder(multirun_job):
    multirun_job()
    command, cwd = hydra_job_command(local_rank=1)
    assert cwd == "/home/user/project"
    assert command[:2] == [sys.executable, "/home/user/project/train.py"]
    args = command[2:]
    assert "-m" not in args and "--multirun" not in args and "attention=none,additive" not in args
    assert "--config-name=train" in args
    overrides = {
        o.key_or_group: o.value()
        for o in OverridesParser.create().parse_overrides([a for a in args if not a.startswith("--")])
    }
    assert overrides["attention"] == "none" and overrides["seed"] == 3
    assert overrides["hydra.run.dir"] == JOB_DIR  # the job's own folder: ${hydra:runtime.output_dir} resolves to it
    assert overrides["hydra.output_subdir"] is None  # .hydra/ is written once, by rank 0
    assert overrides["hydra.mode"] == "RUN"
    assert overrides["hydra.job.name"] == "train_rank1"


def test_rank_command_refuses_a_joblib_worker(multirun_job):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="needs pip install -e '.[sweep]'")
    multirun_job("hydra/launcher=joblib")
    with pytest.raises(ConfigError, match="trainer.strategy=ddp"):
        hydra_job_command(local_rank=1)


def test_run_mode_override_wins_over_a_search_that_switches_to_multirun():
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs pip install -e '.[sweep]'")
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        assert compose("train", ["hparams_search=optuna"], return_hydra_config=True).hydra.mode == RunMode.MULTIRUN
        assert (
            compose("train", ["hparams_search=optuna", "hydra.mode=RUN"], return_hydra_config=True).hydra.mode
            == RunMode.RUN
        )


def test_script_launched_ddp_strategies_become_hydra_aware_and_others_pass_through():
    assert isinstance(resolve_strategy("ddp"), HydraJobDDPStrategy)
    unused = resolve_strategy("ddp_find_unused_parameters_true")
    assert isinstance(unused, HydraJobDDPStrategy) and unused._ddp_kwargs["find_unused_parameters"] is True
    for name in ("auto", "ddp_spawn", "ddp_fork", "ddp_notebook", "deepspeed", "no-such-strategy"):
        assert resolve_strategy(name) == name


def test_distributed_job_ends_the_process_group_and_restores_rank_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("MASTER_PORT", "1234")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with distributed_job():
        os.environ.update(MASTER_PORT="29999", LOCAL_RANK="0")  # what Lightning's launcher sets for a job
        dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
        assert gather_objects([(3, "a")]) == [(3, "a")]
    assert not dist.is_initialized()  # the next job initialises its own group with its own ranks
    assert os.environ["MASTER_PORT"] == "1234" and "LOCAL_RANK" not in os.environ


@pytest.mark.parametrize("num_sentences,batch_size", [(40, 8), (40, 200), (7, 3), (2, 200), (101, 10)])
@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_evaluation_shards_hold_every_sentence_once_and_no_rank_is_empty(num_sentences, batch_size, replicas):
    lengths = [(7 * i) % 13 + 1 for i in range(num_sentences)]
    shards = [
        list(LengthBucketSampler(lengths, lengths, batch_size=batch_size, shuffle=False, num_replicas=replicas, rank=r))
        for r in range(replicas)
    ]
    indices = [i for shard in shards for batch in shard for i in batch]
    assert sorted(indices) == list(range(num_sentences))  # no padding duplicates, nothing dropped
    if num_sentences >= replicas:
        assert all(len(shard) >= 1 for shard in shards)  # a rank without batches would skip the test hooks
    samplers = [
        LengthBucketSampler(lengths, lengths, batch_size=batch_size, shuffle=False, num_replicas=replicas, rank=r)
        for r in range(replicas)
    ]
    assert [len(s) for s in samplers] == [len(shard) for shard in shards]


def test_metric_states_are_unshared_before_a_stage():
    """ddp_spawn puts CPU tensors in shared memory; every process must count into its own states."""

    class Holder(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.bleu = BucketedBLEU([10])

    holder = Holder()
    holder.bleu.update(["a b"], ["a b"], [2])
    holder.bleu.counts.share_memory_()
    shared = holder.bleu.counts
    OwnMetricStates().setup(L.Trainer(logger=False), holder, "test")
    assert not holder.bleu.counts.is_shared() and holder.bleu.counts.data_ptr() != shared.data_ptr()
    assert int(holder.bleu.counts.sum()) == 0


def test_results_are_not_written_when_a_sentence_is_missing_or_doubled(tmp_path):
    class Split:
        src_words, sources, references = [1, 2], ["a", "b"], ["a", "b"]

        def __len__(self):
            return 2

    class DataModule:
        splits = {"test": Split()}

    def scored(n: int) -> RunResults:
        test = {"bleu": 0.0, "n": n, "buckets": [{"label": "1+", "lower": 1, "upper": None, "n": n, "bleu": 0.0}]}
        return RunResults.from_dict(
            {"test": test, "bleu_signature": "-", "num_parameters": 1, "decoding": {}, "config": {}}
        )

    results = scored(2)
    for rows in ([(0, "a")], [(0, "a"), (0, "a")], [(0, "a"), (0, "a"), (1, "b")]):
        with pytest.raises(RuntimeError, match="exactly one"):
            _write(tmp_path, results, rows, DataModule())
    with pytest.raises(RuntimeError, match="BLEU counted 4"):
        _write(tmp_path, scored(4), [(0, "a"), (1, "b")], DataModule())
    assert not any(Path(tmp_path).iterdir())
    _write(tmp_path, results, [(1, "b"), (0, "a")], DataModule())
    assert RunResults.read(tmp_path / "results.json") == results and (tmp_path / "hypotheses.tsv").is_file()


def test_csv_logger_of_a_new_process_keeps_the_columns_already_in_the_file(tmp_path):
    """ddp_spawn fits and tests in different processes; the test's writer must append under fit's header."""
    logger = CSVLogger(tmp_path, name="csv", version="")
    _ = logger.experiment  # created in the main process (train() logs the parameter count before fit)
    main_process_copy = pickle.dumps(logger)
    logger.log_metrics({"val/bleu": 1.0, "train/loss": 2.0}, step=1)  # the fit process
    logger.save()
    test = pickle.loads(main_process_copy)  # the test process: knows no columns, the file has two

    class Trainer:
        is_global_zero, loggers = True, [test]

    OwnMetricStates().setup(Trainer(), L.LightningModule(), "test")
    test.log_metrics({"test/bleu": 3.0}, step=2)
    test.save()
    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    assert rows[0]["val/bleu"] == "1.0" and rows[1]["test/bleu"] == "3.0"
