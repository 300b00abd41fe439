"""The registry of attention arms: every arm of the ablation, found in one place.

An arm is one module in this package (its `Attention` subclass and its typed `AttentionConfig` subclass, the
config registered with `@register_arm`) plus its YAML, `conf/attention/<name>.yaml`, which names its schema
(`/attention_<name>_schema@_here_`) first. Everything that lists arms derives from here: the schemas in Hydra's
ConfigStore (`tasks/config.py`), the experiments' arm lists (`${arms:}` in conf/experiment/), the arm lists of
W&B sweep files (`"${arms:}"` in sweeps/, `tracking/sweeps.py`), rebuilding a stored arm config by its name
(checkpoints), and the tests' matrix of arms (tests/model/arms.py). The modules of this package register on
first use of the registry; an arm defined elsewhere registers when its module is imported, before that use.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, TypeVar

from attention_nmt.errors import ConfigError
from attention_nmt.model.attention import AttentionConfig
from attention_nmt.stored_config import typed

BASELINE = "none"  # the arm every other arm is compared with: listed first
_ARMS: dict[str, type[AttentionConfig]] = {}
_DISCOVERED = False

C = TypeVar("C", bound=type[AttentionConfig])


def register_arm(config: C) -> C:
    """Register an arm's config class under its `name` (a class decorator); registering it again is a no-op."""
    if not (isinstance(config, type) and issubclass(config, AttentionConfig) and dataclasses.is_dataclass(config)):
        raise TypeError(f"register_arm: {config!r} is not a dataclass subclass of AttentionConfig.")
    name = {f.name: f.default for f in dataclasses.fields(config)}["name"]
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"register_arm: {config.__qualname__}.name must default to the arm's name, not {name!r}.")
    known = _ARMS.get(name)
    if known is not None and known is not config:
        raise TypeError(f"register_arm: the arm name {name!r} is taken by {known.__module__}.{known.__qualname__}.")
    _ARMS[name] = config
    return config


def _discover() -> None:
    """Import every module of this package once (each registers its arm)."""
    global _DISCOVERED
    if not _DISCOVERED:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _DISCOVERED = True


def arm_configs() -> dict[str, type[AttentionConfig]]:
    """Every registered arm's config class by name: `none` first (the baseline), then by name."""
    _discover()
    return dict(sorted(_ARMS.items(), key=lambda item: (item[0] != BASELINE, item[0])))


def arm_names() -> list[str]:
    return list(arm_configs())


def stored_arm(values: dict[str, Any]) -> AttentionConfig:
    """An arm's config from its stored form (`stored_config.to_plain`, as checkpoints keep it), rebuilt by its
    `name` through the registry and validated again (the class path it names may have moved since)."""
    values = {k: v for k, v in values.items() if k != "_schema_"}
    config = arm_configs().get(values.get("name"))
    if config is None:
        raise ConfigError(
            f"attention.name={values.get('name')!r}: no such arm is registered (known: {', '.join(arm_names())}). "
            "An arm defined outside attention_nmt.model.arms registers when its module is imported: import it "
            "before loading the checkpoint."
        )
    return typed(config, values)
