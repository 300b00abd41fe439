"""Nothing from a checkpoint, cache, dataset or config is run as code: checkpoints load with
`weights_only=True` (a booby-trapped one is refused before anything in it runs), and the source never
calls unsafe loaders, `eval`/`exec`, or passes `trust_remote_code`."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from attention_nmt.errors import ConfigError
from attention_nmt.tasks.evaluate import load_module
from attention_nmt.tasks.train import train

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src").rglob("*.py")) + [ROOT / "train.py", ROOT / "evaluate.py"]


class Trap:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def booby_trapped_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker, path = tmp_path / "code_ran", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Trap(marker)}, path)
    return path, marker


def test_evaluate_refuses_a_checkpoint_that_would_run_code(tmp_path):
    path, marker = booby_trapped_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match=rf"ckpt_path={path}: refused to load.*weights_only=True"):
        load_module(str(path))
    assert not marker.exists()


def test_resuming_refuses_a_checkpoint_that_would_run_code(tiny_config, tmp_path):
    path, marker = booby_trapped_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match=rf"ckpt_path={path}: refused to load"):
        train(OmegaConf.to_object(tiny_config(f"ckpt_path={path}")))
    assert not marker.exists()
    assert not (tmp_path / "run" / "results.json").exists()


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            yield node, owner, name


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_calls(source: str, name: str) -> list[str]:
    """Lines of `source` that load pickles unsafely, evaluate code or trust remote code."""
    found = []
    for call, owner, func in _calls(ast.parse(source)):
        where = f"{name}:{call.lineno}"
        if func in {"eval", "exec"} and owner in {"", "builtins"}:
            found.append(f"{where}: {func}()")
        if (owner, func) in {("pickle", "load"), ("pickle", "loads"), ("yaml", "load")}:
            found.append(f"{where}: {owner}.{func}()")
        loads_checkpoint = func in {"fit", "test", "validate", "predict"} and _keyword(call, "ckpt_path") is not None
        if (owner, func) == ("torch", "load") or func == "load_from_checkpoint" or loads_checkpoint:
            flag = _keyword(call, "weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"{where}: {func}() without weights_only=True")
        remote = _keyword(call, "trust_remote_code")
        if remote is not None and not (isinstance(remote, ast.Constant) and remote.value is False):
            found.append(f"{where}: trust_remote_code")
    return found


def test_the_source_check_finds_each_unsafe_call():
    bad = (
        "torch.load(p)\nModule.load_from_checkpoint(p, weights_only=False)\neval(s)\npickle.loads(b)\n"
        "load_dataset('x', trust_remote_code=True)\ntrainer.test(m, ckpt_path=p)\ntorch.load(p, weights_only=True)\n"
        "trainer.fit(m, ckpt_path=p, weights_only=True)\n"
    )
    assert [line.split(":")[1] for line in unsafe_calls(bad, "bad.py")] == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_loads_nothing_as_code(path):
    assert unsafe_calls(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []
