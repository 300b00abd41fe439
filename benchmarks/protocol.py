"""The line protocol between the benchmark driver and its worker processes (standard library only).

Each side (ours, Joey NMT) runs in its own process, started with the thread count in its environment.
The driver writes one JSON command per line to the worker's stdin and reads one JSON reply per line:
`{"cmd": "setup", ...}` builds a model and its batches, `{"cmd": "run"}` measures one repeat,
`{"cmd": "count"}` counts the FLOPs of one pass (`flops.count`, where the worker offers it) and
`{"cmd": "quit"}` ends the worker. Every reply carries the process's peak resident memory so far, above its
baseline after imports.
This module is imported by both workers, so it must not import torch, attention_nmt or joeynmt.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
WORD_OFFSET = 4  # both sides put their four specials first; word type i gets id i + 4
#: the model sizes both sides build (embeddings, RNN size per direction and of the decoder, dropout); ours adds
#: its deep output of OUTPUT units, Joey its attentional vector of HIDDEN units
HIDDEN, EMBEDDING, OUTPUT, DROPOUT = 256, 128, 128, 0.2


def thread_env(threads: int) -> dict[str, str]:
    """The environment of a worker that must use `threads` threads."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    return env


def _status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB, or None where there is none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def reset_peak_rss() -> float:
    """Make the current RSS the new peak (Linux: write 5 to /proc/self/clear_refs) and return it in MiB."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS") or peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB since the last `reset_peak_rss` (VmHWM; without /proc,
    ru_maxrss, the peak since the process started)."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def serve(
    setup: Callable[..., Callable[[], dict[str, Any]]],
    commands: dict[str, Callable[[Callable[[], dict[str, Any]]], dict[str, Any]]] | None = None,
) -> None:
    """Answer commands until `quit`. `setup(**args)` returns the function that one `run` calls; each of
    `commands` (name -> function of that run function, e.g. `count`) answers the command of its name.

    Replies go to the original stdout; anything the libraries print is sent to stderr instead, so
    it can never corrupt the protocol. Memory is reported as the peak RSS above the process's RSS when
    it starts serving (after the worker's imports: torch and the toolkit; the peak is reset there), so
    that what a row allocates is not hidden under the libraries' own ~300 MiB.
    """
    baseline = reset_peak_rss()
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    run: Callable[[], dict[str, Any]] | None = None
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            break
        try:
            if name == "setup":
                run, reply = setup(**command), {}
            elif name == "run" and run is not None:
                reply = run()
            elif name in (commands or {}) and run is not None:
                reply = commands[name](run)
            else:
                raise ValueError(f"unknown or premature command {name!r}")
            reply["ok"] = True
        except Exception as error:  # reported to the driver, which stops with the message
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        reply["peak_rss_mb"] = peak_rss_mb() - baseline
        reply["baseline_rss_mb"] = baseline
        channel.write(json.dumps(reply) + "\n")
