"""W&B conventions that need no run: mode, config flattening, group, run name, heatmap choice, bucket rows."""

import pytest

from attention_nmt.evaluation.attention_record import pick_by_length
from attention_nmt.tracking import wandb_logger
from attention_nmt.tracking.wandb_logger import (
    default_group,
    effective_mode,
    flatten_config,
    has_wandb_credentials,
    run_name,
    wandb_mode,
)
from attention_nmt.tracking.wandb_media import bucket_rows, prediction_rows


@pytest.fixture
def no_settings_file(monkeypatch):
    """No mode in W&B's settings files (the subprocess tests in test_wandb_modes.py write real ones)."""
    monkeypatch.setattr(wandb_logger, "settings_file_mode", lambda: None)


def test_wandb_mode_passes_the_users_request_and_else_lets_wandb_decide(tmp_path, no_settings_file):
    no_netrc = str(tmp_path / "absent")
    assert wandb_mode("disabled", {"WANDB_MODE": "online"}) == "disabled"  # logger.wandb.mode= wins
    assert wandb_mode(None, {"WANDB_MODE": "online"}) is None  # W&B reads WANDB_MODE itself
    assert wandb_mode(None, {"WANDB_MODE": "disabled", "WANDB_API_KEY": "k"}) is None
    assert wandb_mode(None, {"NETRC": no_netrc}) == "offline"  # nothing decides: offline, not a login prompt
    assert effective_mode(None, {"WANDB_MODE": "disabled"}) == "disabled"


def test_a_settings_file_mode_is_left_to_wandb(tmp_path, monkeypatch):
    monkeypatch.setattr(wandb_logger, "settings_file_mode", lambda: "disabled")  # `wandb disabled`
    assert wandb_mode(None, {"NETRC": str(tmp_path / "absent")}) is None
    assert effective_mode(None, {"NETRC": str(tmp_path / "absent")}) == "disabled"
    assert wandb_mode("offline", {}) == "offline"


def test_logged_in_means_wandb_goes_online_by_itself(tmp_path, no_settings_file):
    assert wandb_mode(None, {"WANDB_API_KEY": "k", "NETRC": str(tmp_path / "absent")}) is None
    netrc_file = tmp_path / "netrc"  # what `wandb login` writes
    netrc_file.write_text("machine api.wandb.ai\n  login user\n  password secret\n")
    netrc_file.chmod(0o600)
    assert has_wandb_credentials({"NETRC": str(netrc_file)})
    assert effective_mode(None, {"NETRC": str(netrc_file)}) == "online"
    netrc_file.write_text("machine example.org\n  login user\n  password secret\n")
    assert wandb_mode(None, {"NETRC": str(netrc_file)}) == "offline"


def test_flatten_config_gives_dotted_keys_and_drops_private_ones():
    flat = flatten_config(
        {
            "seed": 1,
            "_schema_": "x",
            "attention": {"name": "additive", "_schema_": "y"},
            "data": {"name": "bible", "max_train_len": None, "tokenizer": {"vocab_size": 4000}},
            "evaluation": {"bucket_edges": (10, 20)},
        }
    )
    assert flat == {
        "seed": 1,
        "attention.name": "additive",
        "data.name": "bible",
        "data.max_train_len": None,
        "data.tokenizer.vocab_size": 4000,
        "evaluation.bucket_edges": [10, 20],
    }


def test_group_is_the_experiment_name_and_none_for_a_single_run():
    assert default_group("bottleneck") == "bottleneck"
    assert default_group("default") is None
    assert default_group(None) is None


def test_run_name_reads_arm_encoder_data_seed():
    assert (
        run_name({"attention.name": "none", "encoder.name": "gru", "data.name": "bible", "seed": 3})
        == "none-gru-bible-s3"
    )
    assert run_name({}) is None


def test_heatmap_sentences_spread_over_lengths_and_skip_long_ones():
    lengths = [5, 50, 12, 3, 30, 20, 8]
    assert pick_by_length(lengths, 3, max_words=40) == [3, 6, 4]  # 3 words, the middle one (8), 30 (longest <= 40)
    assert pick_by_length(lengths, 10, max_words=40) == [3, 0, 6, 2, 5, 4]  # all six short enough, once each
    assert pick_by_length([], 4, 40) == [] and pick_by_length(lengths, 0, 40) == []


def test_bucket_rows_skip_empty_buckets_and_place_the_open_bucket_one_width_on():
    result = {
        "buckets": [
            {"label": "1-10", "lower": 1, "upper": 10, "n": 4, "bleu": 20.0},
            {"label": "11-20", "lower": 11, "upper": 20, "n": 0, "bleu": 0.0},
            {"label": "21+", "lower": 21, "upper": None, "n": 2, "bleu": 5.0},
        ]
    }
    assert bucket_rows(result) == [["1-10", 1, 10, 5.5, 4, 20.0], ["21+", 21, None, 25.5, 2, 5.0]]


def test_prediction_rows_score_each_sentence_in_its_bucket():
    rows = prediction_rows(
        [3, 12, 60],
        ["a b c", "x " * 12, "y " * 60],
        ["the cat sat", "one two three four", "long reference here"],
        {0: "the cat sat", 1: "one two", 2: ""},
        [10, 20, 30, 40, 50],
    )
    assert [r[:3] for r in rows] == [[0, "1-10", 3], [1, "11-20", 12], [2, "51+", 60]]
    assert [r[5] for r in rows] == ["the cat sat", "one two", ""]
    assert rows[0][6] == pytest.approx(100.0) and 0 < rows[1][6] < 100 and rows[2][6] == 0.0


def test_entity_and_project_are_plain_overrides(tmp_path, cache_dir):
    from hydra.utils import instantiate

    from tests.conftest import compose_config

    cfg = compose_config(
        "train", ["logger.wandb.entity=my-team", "logger.wandb.project=my-project"], tmp_path, cache_dir
    )  # no `+`: the keys exist
    logger = instantiate(cfg.logger.wandb)
    assert logger._wandb_init["entity"] == "my-team" and logger._wandb_init["project"] == "my-project"
