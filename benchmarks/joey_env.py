"""Joey NMT 2.3.0 in its own virtualenv, created on first use the way its users install it (pip)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_VENV = Path.home() / ".cache" / "attention-nmt" / "joeynmt-venv"
#: torch pinned to our own build so both sides run the same kernels; importlib_metadata is a dependency
#: Joey 2.3.0 imports but does not declare.
REQUIREMENTS = ("torch==2.13.0", "joeynmt==2.3.0", "importlib_metadata")


def joey_python(venv: Path = DEFAULT_VENV) -> Path:
    """The Python of the Joey NMT virtualenv, created and filled on the first call (a few minutes)."""
    python = venv / "bin" / "python"
    if python.is_file() and _has_joey(python):
        return python
    log.warning("Creating the Joey NMT virtualenv in %s (first use only)", venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    if not _has_joey(python):
        raise RuntimeError(f"{venv}: joeynmt 2.3.0 did not install; delete the folder and run again.")
    return python


def _has_joey(python: Path) -> bool:
    probe = "import importlib.metadata as m, joeynmt.model; print(m.version('joeynmt'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "2.3.0"
