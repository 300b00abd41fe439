"""The registry of arms (`model/arms/`): each arm is one module and one YAML, found from one another; arms
register once under their own name; a stored arm config is rebuilt by its name."""

from __future__ import annotations

import dataclasses
import pkgutil
from dataclasses import dataclass

import pytest
import yaml

from attention_nmt.errors import ConfigError
from attention_nmt.model import arms as registry
from attention_nmt.model.arms import arm_configs, arm_names, register_arm, stored_arm
from attention_nmt.model.arms.additive import AdditiveAttentionConfig
from attention_nmt.model.attention import AttentionConfig
from attention_nmt.stored_config import to_plain
from tests.conftest import ROOT


def test_every_arm_is_one_module_and_one_yaml_that_names_its_schema_first():
    modules = sorted(m.name for m in pkgutil.iter_modules(registry.__path__))
    yamls = sorted(p.stem for p in (ROOT / "conf" / "attention").glob("*.yaml"))
    assert sorted(arm_names()) == modules == yamls
    for name, config in arm_configs().items():
        assert config.__module__ == f"attention_nmt.model.arms.{name}"
        assert config.attention_class.__module__ == config.__module__  # module class and config side by side
        defaults = yaml.safe_load((ROOT / "conf" / "attention" / f"{name}.yaml").read_text())["defaults"]
        assert defaults[0] == f"/attention_{name}_schema@_here_"


def test_the_baseline_comes_first_then_the_arms_by_name():
    assert arm_names()[0] == "none" and arm_names()[1:] == sorted(arm_names()[1:])


def test_an_arm_registers_once_under_a_name_of_its_own(monkeypatch):
    monkeypatch.setattr(registry, "_ARMS", dict(arm_configs()))
    assert register_arm(AdditiveAttentionConfig) is AdditiveAttentionConfig  # again: no change

    @dataclass
    class Impostor(AttentionConfig):
        name: str = "additive"

    with pytest.raises(TypeError, match="'additive' is taken"):
        register_arm(Impostor)

    @dataclass
    class Nameless(AttentionConfig):
        pass

    with pytest.raises(TypeError, match="must default to the arm's name"):
        register_arm(Nameless)
    with pytest.raises(TypeError, match="not a dataclass subclass of AttentionConfig"):
        register_arm(dict)


@pytest.mark.parametrize("name", arm_names())
def test_a_stored_arm_config_is_rebuilt_by_its_name(name):
    config = arm_configs()[name]
    values = {f.name: 8 for f in dataclasses.fields(config) if f.type == "int"}  # sizes given, not interpolated
    original = config(**values)
    assert stored_arm(to_plain(original)) == original
    moved = {**to_plain(original), "_schema_": f"attention_nmt.model.config.{config.__name__}"}  # before the move
    assert stored_arm(moved) == original


def test_a_stored_config_of_an_unregistered_arm_names_the_arm_and_what_to_do():
    with pytest.raises(ConfigError, match=r"attention\.name='concat': no such arm .*import it"):
        stored_arm({"name": "concat", "input_feeding": False})


@pytest.mark.parametrize("name", arm_names())
def test_input_feeding_is_refused_exactly_where_the_arm_queries_the_previous_state(name):
    config = arm_configs()[name]
    values = {f.name: 8 for f in dataclasses.fields(config) if f.type == "int"}
    if config.attention_class.queries_previous_state:
        with pytest.raises(ConfigError, match=rf"attention\.input_feeding=true .* attention={name} is queried"):
            config(**values, input_feeding=True)
    else:
        assert config(**values, input_feeding=True).input_feeding
