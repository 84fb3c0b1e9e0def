"""Process-level CPU settings that make training faster without changing what it computes.

glibc's malloc hands every block above its mmap threshold (at most 32 MiB) to the kernel with
``mmap`` and back with ``munmap`` when freed. A training step at 128 px allocates and frees
activations of 100+ MiB dozens of times, so every step faults fresh zero pages in again: at 128 px
about 2 million minor page faults and 5.8 s of system CPU time per 8.6 s step
(benchmarks/results/cpu_speedups.md). :func:`keep_freed_memory` tells malloc to serve large blocks
from its heap and keep freed memory for reuse instead (5.3 s per step); the price is a peak resident
size a fifth to a third higher, since freed memory is not returned to the system while the process
lives.

The library never calls it on its own: it changes the whole process (a notebook kernel or a server
would keep every freed block). The ``flowgmm-ae`` command applies it at start-up; a Python caller
opts in with ``flowgmm_ae.keep_freed_memory()``. Set ``FLOWGMM_AE_MALLOC=default`` to keep the
command from applying it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

log = logging.getLogger(__name__)

ENV_VARIABLE = "FLOWGMM_AE_MALLOC"
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_MAX = -4
_TRIM_THRESHOLD_BYTES = 1 << 30  # give memory back only when a whole GiB at the heap's top is free

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc malloc reuse freed large blocks instead of unmapping them; True if applied.

    A no-op (False) on other C libraries, when ``$FLOWGMM_AE_MALLOC`` is ``default``, or when
    mallopt refuses. Idempotent: it affects the whole process and only later allocations."""
    global _applied
    if _applied:
        return True
    if os.environ.get(ENV_VARIABLE, "").lower() == "default":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
        )
    except (OSError, AttributeError) as error:  # no libc to load, or no mallopt in it
        log.debug(f"malloc tuning unavailable: {error}")
        return False
    _applied = applied
    return applied
