"""Keep freed memory in connevo's processes for the next allocation of its size.

glibc's malloc serves large blocks (128 KiB and up, at first) with ``mmap`` and, when they are
freed, hands the pages back to the kernel, so the next block of that size pays its page faults
again (and the kernel zeroes every page). Two of connevo's processes make and drop such blocks
all the time:

- the driver: a child of a 10^5-connection genome is a handful of new 0.8 MB columns, 3 ms of
  page faults for six of them, half the time of a child (benchmarks/operators.py: 14 ms against
  7 ms per child at 10^5 connections);
- a worker: every training step of a stack makes its activations, gradients and products anew,
  0.1-4 MB each on digits. 64 digits networks trained for 10 epochs took about 25,000 page
  faults; with the thresholds below, about 2,700: about 5% less time in one process, 12-17%
  more candidates per second through two Ray workers (benchmarks/README.md).

Raising the mmap and trim thresholds (``mallopt``) keeps those blocks in the process's heap,
which reuses them. The price: up to :data:`TRIM_THRESHOLD_BYTES` of freed memory at the top of
the heap stays with the process instead of going back to the kernel. Results do not change:
where a tensor lies does not change its bits (the products' operands are aligned copies
wherever they lie, :mod:`workers.kernels`).

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
