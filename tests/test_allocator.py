"""`keep_freed_memory` sets glibc's allocator up (checked in a fresh process, whose settings it may change) and
leaves a user's own `MALLOC_*` tuning alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from attention_nmt import allocator

PROBE = """
import resource, sys
from attention_nmt.allocator import keep_freed_memory
import torch
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
for _ in range(10):  # a 64 MiB block, written and freed: until the heap has settled, blocks fault in either way
    torch.empty(2 ** 24).fill_(1.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):  # then again and again, as a batch's buffers are
    torch.empty(2 ** 24).fill_(1.0)
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_blocks_are_reused_instead_of_faulting_in_again():
    kept, faults = _probe("keep")
    default, default_faults = _probe("default")
    assert kept and not default
    # glibc's default maps a block this size afresh each time and unmaps it on release: all 10 x 16,384 pages
    # fault in again; kept, the settled heap hands the same pages out again
    assert default_faults >= 10 * 16384 and faults < 16384, (faults, default_faults)


def test_a_users_own_malloc_tuning_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert allocator.keep_freed_memory() is False
