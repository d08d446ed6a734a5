"""Helpers shared by the benchmark scripts: requests, timing, the machine's matmul peak."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch

from benchmarks.genomes import population
from connevo.search_space.cost import measure
from connevo.workers import Dataset, EvaluationRequest

os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def worktree(revision: str, folder: Path) -> Iterator[Path]:
    """A detached git worktree of ``revision`` at ``folder / "before"`` (an earlier connevo to
    compare against, side by side), removed afterwards."""
    path = folder / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)


def requests(kind: str, size: int, seed: int = 0) -> list[EvaluationRequest]:
    """``size`` seeded genomes of ``kind`` as requests, with their costs measured on the driver
    (as a campaign's driver can): measuring, i.e. the modularity search, is not training."""
    genomes = population(kind, size, seed=seed)
    return [EvaluationRequest(f"{kind}-{i}", g, 1000 + i, measure(g).as_dict()) for i, g in enumerate(genomes)]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def peak_matmul_flops(threads: int = 2, size: int = 2048, repeats: int = 5) -> float:
    """Best fp32 FLOP/s of a ``size``-cubed matmul on ``threads`` threads (this machine's peak)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = min(timed(lambda: a @ b)[0] for _ in range(repeats))
    finally:
        torch.set_num_threads(previous)
    return 2.0 * size**3 / best


def training_flops(reqs: Sequence[EvaluationRequest], dataset: Dataset, epochs: int) -> tuple[float, float]:
    """(useful, executed) FLOPs of training and scoring ``reqs`` for ``epochs`` epochs (the same
    padded shapes whether the candidates train together or one at a time)."""
    from connevo.workers.batched import flop_counts

    n_train = dataset.x_train.shape[0]
    rows = 3 * epochs * n_train + n_train + dataset.x_val.shape[0] + dataset.x_test.shape[0]
    useful, executed = flop_counts([r.genome for r in reqs], dataset.n_features, 1)
    return useful * rows, executed * rows
