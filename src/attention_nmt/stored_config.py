"""Typed configs as the plain dicts stored in checkpoints and results.json, and back.

`to_plain` writes a dataclass config as a dict with `_schema_` naming its class; `from_plain` rebuilds it,
validating the values against the class (its `__post_init__` rules run again). Only this project's config
classes are rebuilt, and class paths written before the package was laid out by role are mapped to today's.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError

T = TypeVar("T")


def typed(schema: type[T], values: dict) -> T:
    """Validate a plain dict against a schema and return the dataclass (runs `__post_init__`)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))


def to_plain(cfg: Any) -> dict:
    """A typed config as a plain dict (enums as strings), with `_schema_` naming its class."""
    plain = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    return {"_schema_": f"{type(cfg).__module__}.{type(cfg).__qualname__}", **plain}


# Where config classes lived before the package was laid out by role, and the attention arms' configs before
# each arm became one module of `model/arms/` (checkpoints and results.json written before then name these
# paths in `_schema_`).
MOVED_SCHEMAS = {
    "attention_nmt.optim.OptimConfig": "attention_nmt.training.optim.OptimConfig",
    "attention_nmt.model.config.AttentionConfig": "attention_nmt.model.attention.AttentionConfig",
    "attention_nmt.model.config.NoAttentionConfig": "attention_nmt.model.arms.none.NoAttentionConfig",
    "attention_nmt.model.config.AdditiveAttentionConfig": "attention_nmt.model.arms.additive.AdditiveAttentionConfig",
    "attention_nmt.model.config.MultiplicativeAttentionConfig": (
        "attention_nmt.model.arms.multiplicative.MultiplicativeAttentionConfig"
    ),
    **{
        f"attention_nmt.schema.{name}": f"attention_nmt.tasks.config.{name}"
        for name in ("TrainConfig", "EvaluateConfig", "TrainerConfig", "EvaluationConfig", "PathsConfig")
    },
}


def from_plain(values: dict, base: type[T]) -> T:
    """Rebuild what `to_plain` wrote; the named class must be one of this project's subclasses of `base`."""
    values = dict(values)
    path = values.pop("_schema_", f"{base.__module__}.{base.__qualname__}")
    path = MOVED_SCHEMAS.get(path, path)
    module, _, name = path.rpartition(".")
    if not module.startswith("attention_nmt."):
        raise ConfigError(f"_schema_={path}: only attention_nmt config classes can be rebuilt.")
    schema = getattr(importlib.import_module(module), name)
    if not (isinstance(schema, type) and issubclass(schema, base)):
        raise ConfigError(f"_schema_={path}: not a {base.__name__}.")
    return typed(schema, values)


def stored(cfg: Any) -> dict:
    """The stored form of a config that may already be stored: `to_plain` of a dataclass, a dict as it is."""
    return dict(cfg) if isinstance(cfg, dict) else to_plain(cfg)


def as_typed(value: Any, base: type[T]) -> T:
    """A config of class `base` as it is, or a stored dict rebuilt with `from_plain`."""
    return value if isinstance(value, base) else from_plain(value, base)
