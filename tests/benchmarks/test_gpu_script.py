"""benchmarks/gpu.py runs as written: one line and exit 0 without CUDA, and end to end with
``--against cpu`` (the same candidates trained twice on the CPU score the same)."""

import subprocess
import sys

import pytest
import torch

from tests.support import ROOT


def gpu_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.gpu", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run for minutes")
def test_without_cuda_it_says_so_in_one_line():
    done = gpu_script()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "benchmarks/gpu.py: no CUDA device here (torch.cuda.is_available() is False): skipped"]


def test_against_the_cpu_it_runs_end_to_end_and_the_scores_agree_exactly():
    done = gpu_script("--against", "cpu", "--population", "4", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    last = dict(part.split("=") for part in done.stdout.strip().splitlines()[-1].split())
    assert set(last) == {"gpu_vs_cpu", "useful_peak_fraction", "scores_within_tolerance"}
    assert float(last["scores_within_tolerance"]) == 1.0
    assert "median 0.0000, max 0.0000" in done.stdout and "status differs for 0" in done.stdout
