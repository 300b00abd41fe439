"""glibc's memory allocator told to keep freed memory for reuse, for training and decoding on the CPU.

By default glibc gives every allocation above a threshold (128 KiB, raised as such blocks are freed) its own
mapping, returned to the system on release, and shrinks the heap whenever more than a few MiB at its top are
free. A training step or a decoding step allocates and frees blocks of that size again and again (a step's
(B, G) gate pre-activations, a decoder step's logits, a batch's input projections), so their pages come back
from the system zeroed, one page fault per 4 KiB, every time. `keep_freed_memory` turns both off
(`M_MMAP_MAX` 0, `M_TRIM_THRESHOLD` 1 GiB): freed blocks stay in the heap, and once the heap has settled (a
few steps) the next step reuses them. The resident set then stays near its high-water mark instead of
falling back between steps, a few MiB above glibc's own on the benchmark's rows (benchmarks/README.md).
Results are unchanged: only where tensors live changes.

It is what the environment variables `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824` do; a user who
sets any `MALLOC_*` tuning variable keeps glibc's behaviour as set, and other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

#: mallopt's parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
TRIM_THRESHOLD = 1 << 30
USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Keep freed memory in glibc's heap for reuse (see the module docstring). Returns True if glibc took the
    settings; False where the C library is not glibc or the user tunes it through `MALLOC_*` variables."""
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    gnu_version = getattr(libc, "gnu_get_libc_version", None)
    if mallopt is None or gnu_version is None:  # musl and others have no such tuning
        return False
    settings = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return all(bool(mallopt(parameter, value)) for parameter, value in settings)
