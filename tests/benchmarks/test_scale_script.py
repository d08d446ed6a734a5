"""benchmarks/scale.py's memory sampler: the peak resident memory of a process tree, read from
/proc while it runs (the figure the scale benchmark reports for the driver and the workers)."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.scale import PeakMemory

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

HOLD_200_MB = "import time; block = bytearray(200 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.5)"


def test_the_peak_of_a_child_that_holds_200_mb_is_found_under_its_parent():
    parent = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', "
                                                     f"{HOLD_200_MB!r}])"])
    memory = PeakMemory(parent.pid, every=0.1)
    parent.wait()
    driver_mb, workers_mb = memory.stop()
    assert 0 < memory.peaks[parent.pid][1] / 1024 < 150
    child_peaks = [kb / 1024 for pid, (_command, kb) in memory.peaks.items() if pid != parent.pid]
    assert child_peaks and max(child_peaks) >= 200
    assert driver_mb == max(child_peaks) and workers_mb == 0  # no ray:: process in this tree
