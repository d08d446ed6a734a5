"""Training time in one process, this checkout against an earlier revision, interleaved round by round.

Two worker processes, one per revision (``before``: a git worktree), train the same requests on
one thread each, one after the other, a round at a time (the order alternating), so that the
machine's drift, tens of percent over a minute on a shared VM, falls on both alike. Workloads:

- ``chunk``: 64 seeded layered digits genomes (about 3,200 connections; the ``throughput.py``
  population), one chunk, 10 epochs;
- ``quickstart``: the requests of generations 5-14 of the quick-start campaign, as its driver sent
  them (captured from an in-process run of ``examples/quickstart.toml`` by this checkout).

Prints per workload the seconds per round of each side, the median of the per-round ratios
before / now and the ratio of the best rounds. Nothing is asserted.

    python -m benchmarks.training_speed --before 105ce91 --rounds 8
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, worktree

WORKER = """
import pickle, sys, time
sys.path.insert(0, sys.argv[1])
from dataclasses import replace
from connevo.results.metrics import metric
from connevo.workers import LocalEvaluator
jobs = [(requests, dataset, replace(settings, prediction_metrics=tuple(map(metric, settings.prediction_metrics))))
        for requests, dataset, settings in pickle.load(open(sys.argv[2], "rb"))]
LocalEvaluator(jobs[0][1], jobs[0][2]).evaluate(jobs[0][0][:4])  # imports, first calls
for _ in sys.stdin:
    begin = time.perf_counter()
    for requests, dataset, settings in jobs:
        LocalEvaluator(dataset, settings).evaluate(requests)
    print(time.perf_counter() - begin, flush=True)
"""


def chunk_jobs() -> list[tuple]:
    from benchmarks.common import requests
    from connevo.workers import TrainingSettings, load_dataset

    settings = TrainingSettings(epochs=10, batch_size=128, learning_rate=0.01)
    return [(requests("layered", 64), load_dataset("digits", seed=0), settings)]


def quickstart_jobs(store: Path) -> list[tuple]:
    """The (requests, dataset, settings) of generations 5-14 of an in-process quick-start run."""
    from connevo.service.cli import main
    from connevo.workers import evaluator

    calls: list[tuple] = []
    evaluate = evaluator.LocalEvaluator.evaluate

    def capturing(self, requests, on_done=None):  # type: ignore[no-untyped-def]
        # the prediction metrics by name: each side's workers measure them with their own code
        names = tuple(m.name for m in self.settings.prediction_metrics)
        calls.append((list(requests), self.dataset, dataclasses.replace(self.settings, prediction_metrics=names)))
        return evaluate(self, requests, on_done)

    evaluator.LocalEvaluator.evaluate = capturing  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["run", str(ROOT / "examples" / "quickstart.toml"), "--backend", "local", "--store", str(store)])
    finally:
        evaluator.LocalEvaluator.evaluate = evaluate  # type: ignore[method-assign]
    return calls[5:15]


def interleaved(jobs_file: Path, sides: dict[str, Path], rounds: int) -> dict[str, list[float]]:
    procs = {name: subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(jobs_file)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True) for name, path in sides.items()}
    times: dict[str, list[float]] = {name: [] for name in procs}
    try:
        for i in range(rounds):
            order = list(procs.items()) if i % 2 == 0 else list(reversed(procs.items()))
            for name, proc in order:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit(f"the {name} worker ended early (exit {proc.wait()})")
                times[name].append(float(line))
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="105ce91", help="the earlier revision (default: before the CPU's "
                                                             "products moved to NumPy's BLAS)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workloads", default="chunk,quickstart")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, worktree(args.before, Path(folder)) as before:
        for workload in args.workloads.split(","):
            started = time.perf_counter()
            jobs = chunk_jobs() if workload == "chunk" else quickstart_jobs(Path(folder) / "capture.db")
            jobs_file = Path(folder) / f"{workload}.pkl"
            jobs_file.write_bytes(pickle.dumps(jobs))
            times = interleaved(jobs_file, {"before": before, "now": ROOT}, args.rounds)
            ratios = [b / n for b, n in zip(times["before"], times["now"])]
            for name, values in times.items():
                print(f"{workload:10s} {name:6s} s per round: {' '.join(f'{v:.3f}' for v in values)}")
            print(f"{workload:10s} before/now: median per round {statistics.median(ratios):.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f}); best rounds "
                  f"{min(times['before']):.3f} s / {min(times['now']):.3f} s = "
                  f"{min(times['before']) / min(times['now']):.3f}x ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
