"""A short training with W&B offline, read back from the offline run with wandb's own CLI: the values,
not just the files."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from attention_nmt.evaluation.results import RunResults
from attention_nmt.tasks.train import train
from attention_nmt.tracking.wandb_media import BUCKET_COLUMNS
from tests.conftest import TINY
from tests.tracking.offline_runs import offline_runs

WITH_WANDB = [o for o in TINY if not o.startswith("logger=")] + ["logger=[csv,wandb]"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cache_dir):
    """One tiny offline run (additive arm, checkpoint artifact on) and its results.json."""
    from tests.conftest import compose_config, wandb_offline_in_process

    run_dir = tmp_path_factory.mktemp("wandb_run")
    with wandb_offline_in_process():
        cfg = compose_config(
            "train",
            [*WITH_WANDB, "experiment_name=tiny_ablation", "tags=[smoke]", "logger.wandb.log_model=true"],
            run_dir,
            cache_dir,
        )
        train(OmegaConf.to_object(cfg))
    results = RunResults.read(run_dir / "results.json")
    [run] = offline_runs(run_dir)
    return run, results, run_dir


def test_run_is_named_grouped_tagged_and_finished(finished):
    run, results, _ = finished
    meta = run.run()
    assert meta["display_name"] == "additive-bigru-synthetic_reverse_map-s1234"
    assert meta["run_group"] == "tiny_ablation" and meta["job_type"] == "train"
    assert meta["tags"] == ["additive", "bigru", "synthetic_reverse_map", "smoke"]
    assert run.summary["state"] == "finished" and run.summary["exit_code"] == 0


def test_config_is_flat_and_filterable(finished):
    run, results, _ = finished
    config = run.summary["config"]
    assert config["attention.name"] == "additive" and config["encoder.name"] == "bigru"
    assert config["data.name"] == "synthetic_reverse_map" and config["seed"] == 1234
    assert "data.max_train_len" in config and config["model.hidden_size"] == 16
    assert config["num_parameters"] == results.num_parameters
    assert not any(key.startswith("_schema_") or "._schema_" in key for key in config)


def test_training_curves_are_logged(finished):
    run, results, _ = finished
    for key in ("train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s", "val/loss", "val/bleu"):
        values = run.history(key)
        assert values and all(math.isfinite(v) for v in values), key
    assert len(run.history("train/loss")) == 4  # log_every_n_steps=1, max_steps=4
    assert run.history("train/lr") == [pytest.approx(3e-3)] * 4
    assert all(v > 0 for v in run.history("train/grad_norm"))
    assert len(run.history("val/bleu")) == 2  # validation every 2 of 4 steps


HEALTH = (
    "val/attn_entropy",
    "val/attn_entropy_norm",
    "val/attn_max_weight",
    "val/attn_score_mean_abs",
    "val/attn_score_max_abs",
    "val/attn_diagonal",
    "val/aer",
)


def test_attention_health_reaches_wandb_and_metrics_csv_at_every_validation(finished):
    run, _, run_dir = finished
    [metrics_csv] = run_dir.glob("csv/**/metrics.csv")
    rows = [r for r in csv.DictReader(metrics_csv.open()) if r["val/bleu"]]
    summary = run.summary["summary"]
    for key in HEALTH:
        values = run.history(key)
        assert len(values) == 2 and all(math.isfinite(v) for v in values), key  # one per validation
        assert [float(r[key]) for r in rows] == pytest.approx(values), key
    assert all(
        0 <= v <= 1
        for key in ("val/attn_entropy_norm", "val/attn_max_weight", "val/attn_diagonal", "val/aer")
        for v in run.history(key)
    )
    assert summary["val/attn_entropy_norm"] == {"last": pytest.approx(run.history("val/attn_entropy_norm")[-1])}
    assert summary["val/attn_score_max_abs"] == {"max": pytest.approx(max(run.history("val/attn_score_max_abs")))}
    assert summary["val/aer"] == {"min": pytest.approx(min(run.history("val/aer")))}


def test_test_bleu_table_and_summary_equal_results_json(finished):
    run, results, _ = finished
    summary = run.summary["summary"]
    assert summary["test/bleu"] == pytest.approx(results.test.bleu)
    assert summary["bleu_signature"] == results.bleu_signature
    assert summary["num_parameters"] == results.num_parameters
    assert summary["test/sentences"] == results.test.n == 40
    table_ref = summary["test/bleu_by_length"]
    table = json.loads((run.folder / "files" / table_ref["path"]).read_text())
    assert table["columns"] == BUCKET_COLUMNS
    expected = [b for b in results.test.buckets if b.n]
    assert [row[0] for row in table["data"]] == [b.label for b in expected]
    assert [row[4] for row in table["data"]] == [b.n for b in expected]
    assert [row[5] for row in table["data"]] == pytest.approx([b.bleu for b in expected])
    charts = [
        c["update"]["_wandb.visualize.test/bleu_by_length_chart"]
        for c in run.of_type("config")
        if "_wandb.visualize.test/bleu_by_length_chart" in c["update"]
    ]
    assert charts and charts[0]["panel_config"]["fieldSettings"] == {"x": "length", "y": "bleu", "stroke": None}


def test_attention_heatmaps_are_images_at_every_validation(finished):
    run, _, run_dir = finished
    rows = [h["item"] for h in run.of_type("history") if any(k.startswith("val/attention/") for k in h["item"])]
    assert len(rows) == 2  # one set per validation
    keys = [sorted({k.split(".")[0] for k in row if k.startswith("val/attention/")}) for row in rows]
    assert len(keys[0]) == 4 and keys[0] == keys[1]  # the same 4 sentences each time, one key each
    for row in rows:
        for key in keys[0]:
            assert row[f"{key}._type"] == "image-file" and row[f"{key}.caption"]
            with Image.open(run.folder / "files" / row[f"{key}.path"]) as image:
                assert image.format == "PNG" and image.size == (row[f"{key}.width"], row[f"{key}.height"])
                pixels = np.asarray(image.convert("L"))
            assert pixels.std() > 10  # drawn, not blank


def test_checkpoint_is_an_artifact_of_the_offline_run(finished):
    run, results, _ = finished
    models = [a for a in run.of_type("artifact") if a["type"] == "model"]
    best = [a for a in models if "best" in a["aliases"]]
    assert len(best) == 1
    metadata = json.loads(best[0]["metadata"])
    assert metadata["original_filename"] == results.checkpoint.rsplit("/", 1)[1]
    assert best[0]["manifest"]["contents"][0]["path"] == "model.ckpt"


def test_summary_holds_the_best_validation_bleu_and_loss(finished):
    run, results, _ = finished
    summary = run.summary["summary"]
    bleus, losses = run.history("val/bleu"), run.history("val/loss")
    assert summary["val/bleu"] == {"max": pytest.approx(max(bleus))}
    assert summary["val/loss"] == {"min": pytest.approx(min(losses))}
    best = run.history("val/bleu_best")
    assert best == pytest.approx([max(bleus[: i + 1]) for i in range(len(bleus))])  # running best, per validation
    assert summary["val/bleu_best"] == pytest.approx(max(bleus))
    steps = [h["item"]["trainer/global_step"] for h in run.of_type("history") if "val/bleu_best" in h["item"]]
    assert steps == [2, 4]


def test_predictions_table_has_one_scored_row_per_test_sentence(finished):
    from attention_nmt.evaluation.results import read_hypotheses
    from attention_nmt.tracking.wandb_media import PREDICTION_COLUMNS

    run, results, run_dir = finished
    ref = run.summary["summary"]["test/predictions"]
    table = json.loads((run.folder / "files" / ref["path"]).read_text())
    assert table["columns"] == PREDICTION_COLUMNS
    rows = read_hypotheses(run_dir / "hypotheses.tsv")
    assert len(table["data"]) == len(rows) == results.test.n
    for row, tsv in zip(table["data"], rows):
        assert row[2:6] == [tsv["src_words"], tsv["source"], tsv["reference"], tsv["hypothesis"]]
        assert 0.0 <= row[6] <= 100.0


def test_tokenizers_and_test_split_are_artifacts_and_results_name_the_run(finished):
    run, results, run_dir = finished
    artifacts = {a["type"]: a for a in run.of_type("artifact")}
    assert artifacts["dataset"]["name"] == "test-split-synthetic_reverse_map"
    assert artifacts["tokenizers"]["name"] == "tokenizers-synthetic_reverse_map"
    assert sorted(e["path"] for e in artifacts["tokenizers"]["manifest"]["contents"]) == ["src.json", "trg.json"]
    assert results.wandb == {"id": run.run()["run_id"], "url": None}  # offline: no URL
