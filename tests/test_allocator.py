"""connevo's processes keep freed memory for the next block of its size (connevo/allocator.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

FAULTS = """
import resource
import numpy as np

def faults():  # minor page faults while 200 rounds make and drop six 0.8 MB columns
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(200):
        columns = [np.ones(100_000) for _ in range(6)]
        del columns
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

first = faults()
"""
"""Prefix of a script run in a fresh process: ``faults()`` and ``first``, its count before anything."""

DRIVER = FAULTS + """
from connevo.allocator import keep_freed_memory
taken = keep_freed_memory()
faults()  # the heap grows once
print(taken, first, faults())
"""

WORKER = FAULTS + """
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.operators import minimal_genome
from connevo.workers import EvaluationRequest, TrainingSettings, load_dataset, train
dataset = load_dataset("iris", seed=0)
genome = minimal_genome(dataset.n_features, dataset.n_outputs, np.random.default_rng(0), InnovationTracker())
train([EvaluationRequest("c", genome, 1)], dataset, TrainingSettings(epochs=1))  # a worker's first chunk
faults()
print(True, first, faults())
"""


def _faults(script: str) -> tuple[bool, int, int]:
    """(thresholds taken, page faults of the rounds before, of the rounds after) of ``script``."""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    return out[-3] == "True", int(out[-2]), int(out[-1])


def test_freed_columns_are_reused_without_new_page_faults():
    taken, before, after = _faults(DRIVER)
    assert taken
    assert before > 1000  # each round faulted its pages in again
    assert after < before / 20


def test_a_training_process_keeps_freed_memory_too():
    """A Ray worker (or any process that trains) sets the thresholds with its first training:
    its steps make and drop blocks of megabytes."""
    _, before, after = _faults(WORKER)
    assert before > 1000
    assert after < before / 20
