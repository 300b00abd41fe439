"""Worker processes and the interleaved measurement of one benchmark row.

A row (say: training tokens/s of the additive arm at 2 threads) starts one fresh worker per side, so
each side's peak memory is its own. The driver then asks the sides for one repeat each, in turn,
alternating which goes first, and takes each side's median rate: both sides see the same background
load from the shared machine, and only one of them runs at a time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import thread_env


class WorkerError(RuntimeError):
    pass


class Worker:
    """One side's process, speaking the `protocol` over its stdin and stdout."""

    def __init__(self, name: str, python: Path, script: Path, threads: int) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [str(python), str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=thread_env(threads),
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.reply()

    def send(self, **command: Any) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def reply(self) -> dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise WorkerError(f"{self.name} worker died:\n{self.process.stderr.read()[-3000:]}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise WorkerError(f"{self.name} worker: {reply['error']}")
        return reply

    def close(self) -> None:
        try:
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Side:
    """How to start one side: its name, interpreter and worker script."""

    name: str
    python: Path
    script: Path


@dataclass
class Measured:
    """One side's result for a row: median work per second over the repeats, its peak RSS, and, where
    counted, the FLOPs per unit of work (target token, sentence) of one pass (`flops.count`)."""

    rate: float
    peak_rss_mb: float
    rates: list[float]
    flops_per_unit: float | None = None


def measure(
    sides: list[Side], setup: dict[str, Any], threads: int, repeats: int, count: bool = False
) -> dict[str, Measured]:
    """Measure one row on every side, interleaving the repeats. Returns the result per side name. With `count`,
    each side then counts the FLOPs of one more pass (after the timed ones, so the counter's own overhead
    touches neither the rates nor the peak memory)."""
    workers: list[Worker] = []
    try:
        for side in sides:
            workers.append(Worker(side.name, side.python, side.script, threads))
        for worker in workers:  # setups (imports, model, warm-up) run side by side; they are not measured
            worker.send(cmd="setup", threads=threads, **setup)
        rss = {w.name: w.reply()["peak_rss_mb"] for w in workers}
        rates: dict[str, list[float]] = {w.name: [] for w in workers}
        for repeat in range(repeats):
            order = workers if repeat % 2 == 0 else workers[::-1]
            for worker in order:
                reply = worker.ask(cmd="run")
                rates[worker.name].append(reply["work"] / reply["seconds"])
                rss[worker.name] = reply["peak_rss_mb"]
        counted = {w.name: w.ask(cmd="count") for w in workers} if count else {}
        return {
            name: Measured(
                statistics.median(r),
                rss[name],
                r,
                counted[name]["flops"] / counted[name]["work"] if name in counted else None,
            )
            for name, r in rates.items()
        }
    finally:
        for worker in workers:
            worker.close()


def profile(side: Side, setup: dict[str, Any], threads: int) -> dict[str, Any]:
    """One side's `profile_pass.profile` of a row: the shares of its time in matrix products, other operators
    and the framework."""
    worker = Worker(side.name, side.python, side.script, threads)
    try:
        worker.ask(cmd="setup", threads=threads, **setup)
        return worker.ask(cmd="profile")
    finally:
        worker.close()


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return None if not ours or not theirs else ours / theirs
