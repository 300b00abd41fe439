"""Rows of the benchmark and how they are printed (a Markdown table) and saved (JSON)."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from attention_nmt.machine import cpu_info


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


def cpu_has_bf16() -> bool:
    """Whether the CPU has bf16 units (AVX512-BF16 or AMX-BF16), where a bf16 precision row is worth running."""
    return bool(cpu_info()[1] & {"avx512_bf16", "amx_bf16"})


def machine() -> dict:
    """Where the figures come from."""
    import os

    cpu, flags = cpu_info()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "bf16_units": sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"}),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def header(info: dict) -> str:
    """The line printed above the tables: which CPU the figures come from."""
    units = ", ".join(info["bf16_units"]) or "none"
    return f"CPU: {info['cpu']} ({info['cores']} cores; bf16 units: {units}); Python {info['python']}"


def write_json(path: Path, rows: list[Row], scaling: list[Row], settings: dict) -> None:
    """`rows: [{"what", "threads", "ours", "joeynmt", "ratio"}]`, plus the second table and the settings."""
    payload = {
        "machine": machine(),
        "settings": settings,
        "rows": [asdict(r) for r in rows],
        "scaling": [asdict(r) for r in scaling],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")
