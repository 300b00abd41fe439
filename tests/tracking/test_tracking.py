"""W&B conventions that need no run: mode, config flattening, group, run name, heatmap choice, bucket rows."""

from attention_nmt.evaluation.attention_record import pick_by_length
from attention_nmt.tracking.wandb_logger import bucket_rows, default_group, flatten_config, run_name, wandb_mode


def test_wandb_mode_respects_the_users_choice_and_defaults_to_offline(tmp_path):
    no_netrc = str(tmp_path / "absent")
    assert wandb_mode({"WANDB_MODE": "online"}) == "online"
    assert wandb_mode({"WANDB_MODE": "disabled", "WANDB_API_KEY": "k"}) == "disabled"
    assert wandb_mode({"NETRC": no_netrc}) == "offline"


def test_wandb_mode_goes_online_when_logged_in(tmp_path):
    assert wandb_mode({"WANDB_API_KEY": "k", "NETRC": str(tmp_path / "absent")}) == "online"
    netrc_file = tmp_path / "netrc"  # what `wandb login` writes
    netrc_file.write_text("machine api.wandb.ai\n  login user\n  password secret\n")
    netrc_file.chmod(0o600)
    assert wandb_mode({"NETRC": str(netrc_file)}) == "online"
    netrc_file.write_text("machine example.org\n  login user\n  password secret\n")
    assert wandb_mode({"NETRC": str(netrc_file)}) == "offline"


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
