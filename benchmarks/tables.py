"""Rows of the benchmark and how they are printed (a Markdown table) and saved (JSON).

A speed row may carry each side's FLOPs per unit of work (from `flops.count`) and the matmul peak of its
thread count and precision at the per-step shape (`peak.step_peak`): then it also shows the GFLOP/s each side
achieved (rate x FLOPs per unit) and that as a share of the peak.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from attention_nmt.machine import cpu_info


@dataclass
class Row:
    """One line of the comparison table; `ratio` is ours / joeynmt (for memory, lower is better).
    `ours_flops`, `joeynmt_flops`: FLOPs per target token or sentence; `peak`: GFLOP/s at the per-step shape."""

    what: str
    threads: int
    ours: float
    joeynmt: float | None = None
    ratio: float | None = None
    note: str = ""
    ours_flops: float | None = None
    joeynmt_flops: float | None = None
    peak: float | None = None

    def gflops(self, side: str) -> float | None:
        """GFLOP/s `side` ("ours", "joeynmt") achieved on this row, where its FLOPs were counted."""
        rate, flops = getattr(self, side), getattr(self, f"{side}_flops")
        return None if rate is None or flops is None else rate * flops / 1e9

    def of_peak(self, side: str) -> float | None:
        """`gflops(side)` as a fraction of the per-step matmul peak."""
        achieved = self.gflops(side)
        return None if achieved is None or not self.peak else achieved / self.peak

    def as_dict(self) -> dict:
        """The fields plus the derived GFLOP/s and fractions of the peak (for the JSON)."""
        sides, measures = ("ours", "joeynmt"), ("gflops", "of_peak")
        derived = {f"{side}_{what}": getattr(self, what)(side) for side in sides for what in measures}
        return {**asdict(self), **derived}


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _achieved(row: Row, side: str) -> str:
    """ "55.1 (58%)": GFLOP/s and share of the peak, or "-"."""
    achieved, share = row.gflops(side), row.of_peak(side)
    if achieved is None:
        return "-"
    return f"{achieved:.1f}" + ("" if share is None else f" ({share:.0%})")


def _mflops(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.2f}"


def markdown(rows: list[Row], compare: bool) -> str:
    """The rows as a Markdown table (the Joey columns only when compared; the FLOP columns where counted)."""
    counted = any(r.ours_flops is not None for r in rows)
    if compare:
        head = "| what | threads | ours | joeynmt | ours/joeynmt |"
        rule = "|---|---:|---:|---:|---:|"
        if counted:
            head += " MFLOP per unit, ours / joeynmt | GFLOP/s ours (of peak) | GFLOP/s joeynmt (of peak) |"
            rule += "---:|---:|---:|"
        lines = [head, rule]
        for r in rows:
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
            note = f" ({r.note})" if r.note else ""
            line = f"| {r.what}{note} | {r.threads} | {_number(r.ours)} | {_number(r.joeynmt)} | {ratio} |"
            if counted:
                line += (
                    f" {_mflops(r.ours_flops)} / {_mflops(r.joeynmt_flops)} |"
                    f" {_achieved(r, 'ours')} | {_achieved(r, 'joeynmt')} |"
                )
            lines.append(line)
    else:
        head, rule = "| what | threads | ours |", "|---|---:|---:|"
        if counted:
            head, rule = head + " MFLOP per unit | GFLOP/s (of peak) |", rule + "---:|---:|"
        lines = [head, rule]
        for r in rows:
            line = f"| {r.what} | {r.threads} | {_number(r.ours)} |"
            if counted:
                line += f" {_mflops(r.ours_flops)} | {_achieved(r, 'ours')} |"
            lines.append(line)
    return "\n".join(lines)


def profile_markdown(profiles: list[dict]) -> str:
    """Where our time goes, one line per profiled row (`profile_pass.split` plus "what" and "threads")."""
    lines = [
        "| what | threads | seconds per pass | matrix products | other operators | framework "
        "| top operators (own time) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for p in profiles:
        top = ", ".join(f"{t['op'].removeprefix('aten::')} {t['share']:.0%}" for t in p["top"][:5])
        lines.append(
            f"| {p['what']} | {p['threads']} | {p['seconds']:.2f} | {p['matmul_share']:.0%} | "
            f"{p['other_share']:.0%} | {p['framework_share']:.0%} | {top} |"
        )
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


def write_json(
    path: Path,
    rows: list[Row],
    scaling: list[Row],
    settings: dict,
    peaks: list | None = None,
    profiles: list[dict] | None = None,
) -> None:
    """`rows: [{"what", "threads", "ours", "joeynmt", "ratio", "ours_flops", "ours_gflops", "ours_of_peak",
    ...}]`, plus the second table, the settings, the measured peaks (`peak.Peak`) and the profiles."""
    payload = {
        "machine": machine(),
        "settings": settings,
        "peak": [asdict(p) for p in peaks or []],
        "rows": [r.as_dict() for r in rows],
        "scaling": [r.as_dict() for r in scaling],
        "profile": profiles or [],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")
