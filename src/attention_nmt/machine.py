"""What machine a measurement ran on: the CPU's model name and instruction-set flags (Linux's /proc/cpuinfo),
for the records that name where their figures come from (the tuning record, the benchmark)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_info() -> tuple[str, set[str]]:
    """The CPU's model name and flags from /proc/cpuinfo (platform.processor() and no flags elsewhere)."""
    cpu, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and cpu == platform.processor():
                cpu = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return cpu, flags
