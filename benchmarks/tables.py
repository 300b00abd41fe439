"""Rows of the benchmark and how they are printed (a Markdown table) and saved (JSON)."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Row:
    """One line of the comparison table; `ratio` is ours / joeynmt (for memory, lower is better)."""

    what: str
    threads: int
    ours: float
    joeynmt: float | None = None
    ratio: float | None = None
    note: str = ""


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def markdown(rows: list[Row], compare: bool) -> str:
    """The rows as a Markdown table (the Joey columns only when compared)."""
    if compare:
        lines = ["| what | threads | ours | joeynmt | ours/joeynmt |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
            note = f" ({r.note})" if r.note else ""
            lines.append(f"| {r.what}{note} | {r.threads} | {_number(r.ours)} | {_number(r.joeynmt)} | {ratio} |")
    else:
        lines = ["| what | threads | ours |", "|---|---:|---:|"]
        lines += [f"| {r.what} | {r.threads} | {_number(r.ours)} |" for r in rows]
    return "\n".join(lines)


def machine() -> dict:
    """Where the figures come from."""
    import os

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def write_json(path: Path, rows: list[Row], scaling: list[Row], settings: dict) -> None:
    """`rows: [{"what", "threads", "ours", "joeynmt", "ratio"}]`, plus the second table and the settings."""
    payload = {
        "machine": machine(),
        "settings": settings,
        "rows": [asdict(r) for r in rows],
        "scaling": [asdict(r) for r in scaling],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")
