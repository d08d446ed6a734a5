"""A stack's per-candidate products spread over the threads a training may use.

A worker trains on one intra-op thread and one BLAS thread (:func:`workers.train.single_thread`),
so that a candidate's bits do not depend on the worker's threads. Its products are one BLAS call
per candidate (:mod:`workers.kernels`); those calls are independent, so they can run on several
threads at once, each on one BLAS thread, without changing any call's arguments: the candidates
of a stack are cut into groups of about equal work and each group's calls run on a thread of
their own. Every candidate's product is the same call on the same operands, so the same bits,
whatever the number of threads.

How many threads: :func:`product_threads` (``single_thread`` passes the threads the caller had:
``torch.get_num_threads()`` before training, which is 1 in a Ray worker of one CPU, a worker's
``cpus_per_worker`` otherwise, and the machine's cores in-process, ``workers.backend = "local"``),
at most the CPUs this process may run on. Below :data:`MIN_FLOPS` a call stays on one thread:
handing work to another thread costs tens of microseconds.

Why by hand: NumPy's ``matmul`` loops over a stack on one thread, and OpenBLAS's own threads
split *one* product (its summation then depends on the thread count); ``concurrent.futures``
runs the groups.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

MIN_FLOPS = 3e7
"""Floating-point operations of a call's products below which they stay on one thread. Digits
stacks (products of 0.1-40 MFLOP a call) trained no faster on two threads from 4 MFLOP on, and
up to 8% slower (handing groups over, and the GIL between a part's products); 784-input stacks
(0.4 GFLOP a call and more) train 1.1-1.4x faster on two (benchmarks/README.md)."""

_local = threading.local()  # .threads: of the training running on this thread (1 unless set)
_pool: ThreadPoolExecutor | None = None
_pool_owner: tuple[int, int] = (0, 0)  # (process id, workers) of _pool: a forked child makes its own
_pool_lock = threading.Lock()  # trainings on several threads (a service's campaigns) share the pool


class Product(NamedTuple):
    """``out[c] = left[c] @ right[c]`` for every candidate ``c`` of one stack; then, if given,
    ``scatter(start, stop)`` copies candidates ``start:stop`` of ``out`` where they belong."""

    left: np.ndarray
    right: np.ndarray
    out: np.ndarray
    scatter: Callable[[int, int], None] | None = None


Group = list[tuple[int, int, int]]
"""Of one thread: (product index, first candidate, candidate after the last)."""


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def product_threads(count: int) -> Iterator[None]:
    """Within the block, on the calling thread, a stack's products run on up to ``count`` threads
    (at most :func:`usable_cpus`). The setting is the calling thread's own: trainings on other
    threads (a service's campaigns) keep theirs."""
    if count < 1:
        raise ValueError(f"product threads must be at least 1, got {count}")
    previous = current_threads()
    _local.threads = max(1, min(count, usable_cpus()))
    try:
        yield
    finally:
        _local.threads = previous


def current_threads() -> int:
    """The threads a stack's products may run on now, on the calling thread."""
    return getattr(_local, "threads", 1)


def groups(products: Sequence[Product], threads: int) -> list[Group]:
    """The candidates of ``products`` cut into at most ``threads`` groups of about equal work
    (multiply-adds), in order: every candidate of every product in exactly one group."""
    work = [p.left.shape[1] * p.left.shape[2] * p.right.shape[2] for p in products]
    total = sum(w * p.left.shape[0] for w, p in zip(work, products))
    cuts = [total * i / threads for i in range(1, threads)]  # where group i + 1 should begin
    out: list[Group] = [[]]
    done = 0
    for k, (p, w) in enumerate(zip(products, work)):
        start, count = 0, p.left.shape[0]
        while start < count:
            stop = count
            if len(out) < threads:
                take = round((cuts[len(out) - 1] - done) / w) if w else count
                if take <= 0 and out[-1]:
                    out.append([])
                    continue
                stop = min(count, start + max(take, 1))
            out[-1].append((k, start, stop))
            done += (stop - start) * w
            start = stop
    return [g for g in out if g]


def run(products: Sequence[Product]) -> None:
    """Every product of ``products``, each candidate's as one ``np.matmul`` of its own
    operands, on the threads :func:`product_threads` allows when the work is worth it."""
    flops = sum(2.0 * p.left.shape[0] * p.left.shape[1] * p.left.shape[2] * p.right.shape[2] for p in products)
    candidates = sum(p.left.shape[0] for p in products)
    threads = current_threads()
    if threads == 1 or flops < MIN_FLOPS or candidates < 2:
        for p in products:
            np.matmul(p.left, p.right, out=p.out)
            if p.scatter is not None:
                p.scatter(0, p.left.shape[0])
        return
    parts = groups(products, threads)
    if len(parts) == 1:
        _run_group(products, parts[0])
        return
    with _pool_lock:  # no other thread replaces the pool between getting it and submitting
        pool = _executor(len(parts) - 1)
        pending = [pool.submit(_run_group, products, g) for g in parts[1:]]
    try:
        _run_group(products, parts[0])
    finally:
        for future in pending:
            future.result()


def _run_group(products: Sequence[Product], group: Group) -> None:
    for k, start, stop in group:
        p = products[k]
        np.matmul(p.left[start:stop], p.right[start:stop], out=p.out[start:stop])
        if p.scatter is not None:
            p.scatter(start, stop)


def _executor(workers: int) -> ThreadPoolExecutor:
    """The pool of this process with at least ``workers`` threads (made again after a fork; a
    smaller one finishes what it was given). Called with ``_pool_lock`` held."""
    global _pool, _pool_owner
    pid = os.getpid()
    if _pool is None or _pool_owner[0] != pid or _pool_owner[1] < workers:
        if _pool is not None and _pool_owner[0] == pid:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="connevo-products")
        _pool_owner = (pid, workers)
    return _pool
