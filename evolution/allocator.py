"""Keep freed memory in the driver process for the next genome.

A child of a 10^5-connection genome is a handful of new 0.8 MB columns. glibc's malloc serves
blocks that large with ``mmap`` and, when they are freed, hands the pages back to the kernel, so
every new column pays its page faults again: 3 ms for six columns, half the time of a child
(benchmarks/operators.py: 14 ms against 7 ms per child at 10^5 connections). Raising the mmap and
trim thresholds (``mallopt``) keeps those blocks in the process's heap, which reuses them.

There is no library for this one call; ctypes reaches glibc's ``mallopt`` directly. Elsewhere
(macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Blocks below this come from the heap (glibc's largest allowed: 32 MiB on 64-bit systems)."""
TRIM_THRESHOLD_BYTES = 256 * 2**20
"""Free memory at the top of the heap is given back to the kernel only beyond this."""


@functools.cache
def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True where glibc took them."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


__all__ = ["keep_freed_memory"]
