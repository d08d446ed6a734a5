"""The driver keeps freed memory for the next genome's columns (evolution/allocator.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

FAULTS = """
import resource, sys
import numpy as np
from connevo.evolution.allocator import keep_freed_memory

def faults():  # minor page faults while 200 rounds make and drop six 0.8 MB columns
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(200):
        columns = [np.ones(100_000) for _ in range(6)]
        del columns
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

first = faults()
taken = keep_freed_memory()
faults()  # the heap grows once
print(taken, first, faults())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_columns_are_reused_without_new_page_faults():
    out = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True).stdout.split()
    taken, before, after = out[0] == "True", int(out[1]), int(out[2])
    assert taken
    assert before > 1000  # each round faulted its pages in again
    assert after < before / 20
