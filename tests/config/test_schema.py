"""Configs fail at start, naming the key, for unknown keys, wrong types, bad values and bad combinations."""

from enum import Enum
from pathlib import Path

import pytest
import yaml
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from attention_nmt.errors import ConfigError
from attention_nmt.model.arms.additive import AdditiveAttentionConfig
from attention_nmt.model.arms.multiplicative import MultiplicativeAttentionConfig, Score
from attention_nmt.stored_config import from_plain, to_plain
from tests.conftest import ROOT, compose_config


def test_default_config_composes_to_the_documented_arms(tiny_config):
    cfg = OmegaConf.to_object(tiny_config())
    assert type(cfg.attention) is AdditiveAttentionConfig
    assert cfg.encoder.bidirectional and cfg.encoder.hidden_size == cfg.model.hidden_size
    assert cfg.attention.attention_size == cfg.model.hidden_size  # one size for every arm


@pytest.mark.parametrize(
    "overrides, check",
    [
        (
            ["attention=multiplicative", "attention.score=dot", "attention.input_feeding=false", "encoder=gru"],
            lambda c: c.attention.score is Score.dot and not c.attention.input_feeding,
        ),
        (["encoder=lstm"], lambda c: c.encoder.cell.value == "lstm" and c.model.decoder_cell.value == "lstm"),
        (
            ["seed=5", "data.max_train_len=30", "data.batch_size=7", "decoding.beam_size=5", "trainer.max_epochs=3"],
            lambda c: (
                (c.seed, c.data.max_train_len, c.data.batch_size, c.decoding.beam_size, c.trainer.max_epochs)
                == (5, 30, 7, 5, 3)
            ),
        ),
        (["data.overlap=drop"], lambda c: c.data.overlap.value == "drop"),
    ],
)
def test_documented_overrides_take_effect(tiny_config, overrides, check):
    assert check(OmegaConf.to_object(tiny_config(*overrides)))


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.hiden_size=3", "hiden_size"),  # unknown key
        ("model.hidden_size=big", "hidden_size"),  # wrong type
        ("attention.score=cosine", "score"),  # not a valid choice
        ("attention.score=dot", "score"),  # additive has no score
        ("data.overlap=maybe", "overlap"),  # not warn/drop/error
        ("data.overlaps=drop", "overlaps"),  # typo of data.overlap
    ],
)
def test_composition_errors_name_the_key(tiny_config, override, key):
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError), match=key):
        tiny_config(override)


def test_unknown_group_option_is_refused(tiny_config):
    with pytest.raises(ConfigCompositionException, match="attention"):
        tiny_config("attention=bahdanau")


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.hidden_size=0", "model.hidden_size"),
        ("model.dropout=1.5", "model.dropout"),
        ("decoding.beam_size=0", "decoding.beam_size"),
        ("evaluation.bucket_edges=[10,5]", "evaluation.bucket_edges"),
        ("attention.input_feeding=true", "attention.input_feeding"),
        ("data.batch_size=0", "data.batch_size"),
        ("optim.lr=-1", "optim.lr"),
        ("trainer.val_check_interval=1.5", "trainer.val_check_interval"),
    ],
)
def test_out_of_range_values_fail_naming_the_key(tiny_config, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        OmegaConf.to_object(tiny_config(override))


def test_plain_dicts_round_trip_to_the_same_typed_config():
    cfg = MultiplicativeAttentionConfig(score=Score.scaled_dot, input_feeding=False)
    plain = to_plain(cfg)
    assert plain["score"] == "scaled_dot"
    assert from_plain(plain, MultiplicativeAttentionConfig) == cfg


def test_from_plain_refuses_classes_outside_the_project():
    with pytest.raises(ConfigError, match="_schema_"):
        from_plain({"_schema_": "os.system"}, AdditiveAttentionConfig)


def inherited(option: Path) -> set[str]:
    """Entries an option takes over from the group's `default` (callbacks=early_stopping extends default)."""
    spec = yaml.safe_load(option.read_text()) or {}
    if "default" not in (spec.get("defaults") or []):
        return set()
    base = yaml.safe_load((option.parent / "default.yaml").read_text()) or {}
    return {k for k, v in base.items() if k != "defaults" and v is not None}


def _own_values(node: object, prefix: str = "") -> dict[str, object]:
    """The dotted keys and values a YAML file sets itself (not its defaults list, not interpolations)."""
    if not isinstance(node, dict):
        return {prefix.rstrip("."): node}
    values: dict[str, object] = {}
    for key, value in node.items():
        if key != "defaults" and not (isinstance(value, str) and "${" in value):
            values.update(_own_values(value, f"{prefix}{key}."))
    return values


@pytest.mark.parametrize("group", ["data", "encoder", "attention", "trainer", "callbacks", "logger"])
def test_every_option_of_every_group_composes_with_its_own_values(tmp_path, group):
    options = sorted((ROOT / "conf" / group).glob("*.yaml"))
    assert len(options) >= 2
    for option in options:
        extra = ["data.path=pairs.tsv"] if (group, option.stem) == ("data", "local") else []  # local needs its file
        composed = compose_config("train", [f"{group}={option.stem}", *extra], tmp_path / "r", tmp_path / "c")
        typed = OmegaConf.to_object(composed)  # validates against the schema, runs __post_init__ rules
        own = _own_values(yaml.safe_load(option.read_text()) or {})
        for key, value in own.items():
            got = OmegaConf.select(composed, f"{group}.{key}")
            got = got.value if isinstance(got, Enum) else got
            assert got == value, f"conf/{group}/{option.name}: {key} is {got!r} after composition, not {value!r}"
        if group in ("encoder", "attention"):
            assert getattr(typed, group).name == option.stem  # what run names, tags and the report group by
        if group in ("callbacks", "logger"):
            made = [instantiate(node) for node in getattr(typed, group).values() if node is not None]
            assert len(made) == len({k.split(".")[0] for k, v in own.items() if v is not None} | inherited(option))
            assert all(isinstance(m, Callback if group == "callbacks" else Logger) for m in made)


def test_attention_score_that_does_not_fit_the_encoder_fails_at_start(tiny_config):
    with pytest.raises(ConfigError, match=r"attention\.score=dot needs .*encoder=bigru, bidirectional.*score=general"):
        OmegaConf.to_object(tiny_config("attention=multiplicative", "attention.score=dot", "encoder=bigru"))
    cfg = OmegaConf.to_object(tiny_config("attention=multiplicative", "attention.score=dot", "encoder=gru"))
    assert cfg.attention.score is Score.dot  # unidirectional: sizes match


def test_resume_is_a_typed_switch(tiny_config):
    assert OmegaConf.to_object(tiny_config("resume=true")).resume is True
    with pytest.raises((ConfigCompositionException, ValidationError), match="resume"):
        tiny_config("resume=maybe")
