"""benchmarks/gpu.py runs as written: one line and exit 0 without CUDA, and end to end with
``--against cpu`` (the same candidates trained twice on the CPU score the same)."""

import sys

import torch

from benchmarks import gpu


def run_script(monkeypatch, capsys, *args: str) -> list[str]:
    monkeypatch.setattr(sys, "argv", ["gpu.py", *args])
    threads = torch.get_num_threads()
    try:
        assert gpu.main() == 0
    finally:
        torch.set_num_threads(threads)  # the script sets the CPU side's threads
    return capsys.readouterr().out.strip().splitlines()


def test_without_cuda_it_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(gpu.torch.cuda, "is_available", lambda: False)  # as on a CPU-only machine
    assert run_script(monkeypatch, capsys) == [
        "benchmarks/gpu.py: no CUDA device here (torch.cuda.is_available() is False): skipped"]


def test_against_the_cpu_it_runs_end_to_end_and_the_scores_agree_exactly(monkeypatch, capsys):
    lines = run_script(monkeypatch, capsys, "--against", "cpu", "--population", "4", "--epochs", "1")
    last = dict(part.split("=") for part in lines[-1].split())
    assert set(last) == {"gpu_vs_cpu", "useful_peak_fraction", "scores_within_tolerance"}
    assert float(last["scores_within_tolerance"]) == 1.0
    assert any("median 0.0000, max 0.0000" in line and "status differs for 0" in line for line in lines)


def test_profile_reports_host_and_device_time_and_the_launches(monkeypatch, capsys):
    lines = run_script(monkeypatch, capsys, "--against", "cpu", "--population", "4", "--epochs", "1", "--profile")
    summary = next(line for line in lines if line.startswith("  profile of 4 candidates on cpu:"))
    host = float(summary.split("host ")[1].split(" s")[0])
    assert host > 0 and "device 0.000 s, kernel launches 0" in summary
    assert any("Self CPU" in line for line in lines)


def test_the_784_input_task_trains_wide_networks_end_to_end(monkeypatch, capsys):
    lines = run_script(monkeypatch, capsys, "--against", "cpu", "--task", "784", "--population", "2",
                       "--rows", "600", "--epochs", "1")
    assert "2 candidates (layered 784-input genomes, 600 rows of 784 features, 1 epochs, batch 128)" in lines
    assert any("scores: 2 trained on both" in line and "status differs for 0" in line for line in lines)
    assert float(dict(part.split("=") for part in lines[-1].split())["scores_within_tolerance"]) == 1.0


def test_the_loop_arm_reports_the_batched_speed_up_on_each_device(monkeypatch, capsys):
    lines = run_script(monkeypatch, capsys, "--against", "cpu", "--population", "4", "--epochs", "1", "--loop", "2")
    loops = [line for line in lines if ", loop" in line]
    assert len(loops) == 2 and all("one at a time, the first 2 (batched: " in line for line in loops)
    assert all(float(line.split("batched_vs_loop=")[1]) > 0 for line in loops)
