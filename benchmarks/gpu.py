"""CPU against CUDA: the same seeded candidates trained on both, their scores compared, the speed
measured. Ready for whenever a GPU machine is at hand (under 5 minutes on one GPU).

Run from the repository root: ``python -m benchmarks.gpu`` (``--population N``, ``--epochs N``,
``--against cpu`` runs the whole script on the CPU twice: a check of the script, and of
determinism, on a machine without a GPU; ``--eager`` also trains on CUDA with eager steps, the
CUDA graphs of :mod:`workers.step_graphs` off: their speed, and whether both gave the same bits;
``--task 784`` trains 784-input networks of 13,000-50,000 connections on a generated task instead
of digits; ``--loop N`` also trains the first N candidates one at a time on each device (the
batched path's speed-up over that loop); ``--profile`` then profiles one training of the layered
candidates on the second device: host time against device time, kernel launches, the ops of most
host time). Without CUDA it prints one line and exits 0.

What it prints: candidates/s on each device and the ratio; useful FLOP/s (2 x live connections x
rows x (3 x epochs of training + 1 forward per part)) as a fraction of each device's measured
fp32 matmul peak, and beside it the executed FLOP/s (every entry of the dense weight blocks the
products multiply, absent connections included: the useful share's ceiling is useful / executed
of the peak); and the agreement of the scores. GPU and CPU reduce in different orders, so
trained weights drift apart by rounding and a candidate's accuracy may differ by a few rows: the
stated tolerance is |val_accuracy difference| <= 0.02 (7 of digits' 360 validation rows) for at
least 95% of the candidates, and a median of at most 0.005. Nothing is asserted: the last line is
``gpu_vs_cpu=<x> useful_peak_fraction=<y> scores_within_tolerance=<share>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import peak_matmul_flops, requests, timed, training_flops
from benchmarks.genomes import random_layered_genome
from benchmarks.scale import write_task
from connevo.search_space.cost import measure
from connevo.workers import (
    Dataset,
    EvaluationRequest,
    LocalEvaluator,
    TrainingSettings,
    load_dataset,
    step_graphs,
    triton_matmul,
)

TOLERANCE = 0.02  # absolute validation accuracy
SHARE_WITHIN = 0.95
MEDIAN_WITHIN = 0.005


def cuda_peak_flops(size: int = 8192, repeats: int = 10) -> float:
    """Best fp32 FLOP/s of a ``size``-cubed matmul on the current CUDA device (TF32 off, as in training)."""
    a = torch.randn(size, size, device="cuda")
    b = torch.randn(size, size, device="cuda")
    a @ b
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1000.0)
    return 2.0 * size**3 / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=256, help="candidates of each genome family")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--against", choices=("cuda", "cpu"), default="cuda",
                        help="the second device (cpu: run the script without a GPU)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the CPU side")
    parser.add_argument("--task", choices=("digits", "784"), default="digits",
                        help="784: benchmarks/scale.py's generated 784-feature task (--rows rows) and layered "
                             "networks of 13,000-50,000 connections (--population of them)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the 784-feature task")
    parser.add_argument("--eager", action="store_true",
                        help="also train on CUDA with eager steps (no CUDA graphs): their speed, and whether "
                             "the replayed graphs gave the same bits")
    parser.add_argument("--loop", type=int, default=0, metavar="N",
                        help="also train the first N candidates one at a time (training.batched = false) on each "
                             "device: the batched path's speed-up over the loop there, issue #11's throughput ratio")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile one training of the layered candidates on the second device: "
                             "host against device time, kernel launches, the ops of most host time")
    args = parser.parse_args()
    if args.against == "cuda" and not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device here (torch.cuda.is_available() is False): skipped")
        return 0

    torch.set_num_threads(args.threads)
    base = TrainingSettings(epochs=args.epochs, batch_size=128, learning_rate=0.01)
    if args.task == "784":
        with tempfile.TemporaryDirectory() as folder:
            dataset = load_dataset(write_task(Path(folder), args.rows, seed=0), target="label")
        reqs, warm = wide_requests(args.population), wide_requests(2, seed=99)
    else:
        dataset = load_dataset("digits", seed=0)
        reqs = requests("layered", args.population) + requests("dag", args.population // 2, seed=1)
        warm = requests("layered", 2, seed=99)
    useful, executed = training_flops(reqs, dataset, args.epochs)
    measured: dict[str, tuple[float, list]] = {}
    for device in ("cpu", args.against):
        settings = dataclasses.replace(base, device=device)
        LocalEvaluator(dataset, settings).evaluate(warm)  # kernels, allocator, CUDA context
        seconds, evaluations = timed(lambda: LocalEvaluator(dataset, settings).evaluate(reqs))
        measured[device if device not in measured else f"{device} (again)"] = (seconds, evaluations)
    (cpu_name, (t_cpu, on_cpu)), (other_name, (t_other, on_other)) = measured.items()
    eager: tuple[float, list] | None = None
    if args.eager and args.against == "cuda":
        step_graphs.ENABLED = False
        eager = timed(lambda: LocalEvaluator(dataset, dataclasses.replace(base, device="cuda")).evaluate(reqs))
        step_graphs.ENABLED = True
    loops: dict[str, tuple[float, float]] = {}  # device -> (the loop's seconds, batched seconds) on reqs[:loop]
    if args.loop > 0:
        subset = reqs[: args.loop]
        for name, device in ((cpu_name, "cpu"), (other_name, args.against)):
            settings = dataclasses.replace(base, device=device)
            single = dataclasses.replace(settings, batched=False)
            loops[name] = (timed(lambda: LocalEvaluator(dataset, single).evaluate(subset))[0],
                           timed(lambda: LocalEvaluator(dataset, settings).evaluate(subset))[0])
    peaks = {cpu_name: peak_matmul_flops(threads=args.threads)}
    peaks[other_name] = cuda_peak_flops() if args.against == "cuda" else peaks[cpu_name]
    if args.against == "cuda":
        products = "one cuBLAS call per candidate (Triton not installed)"
        if triton_matmul.available(torch.device("cuda")):
            products = "one Triton launch per stack (workers/triton_matmul.py)"
        steps = "CUDA graphs (workers/step_graphs.py)" if step_graphs.ENABLED else "eager"
        print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
              f"matrix products: {products}; training steps: {steps}")
    what = (f"layered 784-input genomes, {args.rows:,} rows of 784 features" if args.task == "784"
            else "layered and DAG genomes, digits")
    print(f"{len(reqs)} candidates ({what}, {args.epochs} epochs, batch 128)")
    for name, seconds in ((cpu_name, t_cpu), (other_name, t_other)):
        print(f"  {name:<12} {seconds:8.2f} s  {len(reqs) / seconds:8.1f} candidates/s  "
              f"useful {useful / seconds / 1e9:9.1f} GFLOP/s = {useful / seconds / peaks[name]:.4f} of its "
              f"fp32 matmul peak ({peaks[name] / 1e9:.0f} GFLOP/s); executed {executed / seconds / 1e9:.1f} "
              f"GFLOP/s = {executed / seconds / peaks[name]:.4f} (useful / executed {useful / executed:.2f}: the "
              f"absent connections of dense blocks multiply too)")
    for name, (t_loop, t_batched) in loops.items():
        count = min(args.loop, len(reqs))
        print(f"  {name + ', loop':<12} {t_loop:8.2f} s  {count / t_loop:8.1f} candidates/s one at a time, the first "
              f"{count} (batched: {t_batched:.2f} s); batched_vs_loop={t_loop / t_batched:.2f}")
    if eager is not None:
        t_eager, on_eager = eager
        same = sum(dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)
                   for a, b in zip(on_other, on_eager))
        print(f"  {'cuda, eager steps':<12} {t_eager:8.2f} s  {len(reqs) / t_eager:8.1f} candidates/s; "
              f"graphs_vs_eager={t_eager / t_other:.2f}; the same bits as the graphs for {same} of {len(reqs)}")
    pairs = [(a, b) for a, b in zip(on_cpu, on_other) if a.ok and b.ok]
    diffs = [abs(a.val_accuracy - b.val_accuracy) for a, b in pairs]
    statuses = sum(a.status != b.status for a, b in zip(on_cpu, on_other))
    share = sum(d <= TOLERANCE for d in diffs) / len(diffs) if diffs else 0.0
    median = statistics.median(diffs) if diffs else float("nan")
    print(f"  scores: {len(pairs)} trained on both; |val_accuracy difference| median {median:.4f}, max "
          f"{max(diffs, default=float('nan')):.4f}, within {TOLERANCE}: {share:.3f} (tolerance: >= {SHARE_WITHIN} "
          f"and median <= {MEDIAN_WITHIN}: {'met' if share >= SHARE_WITHIN and median <= MEDIAN_WITHIN else 'NOT met'})"
          f"; status differs for {statuses}")
    if args.profile:
        profile_training(reqs[: args.population], dataset, dataclasses.replace(base, device=args.against))
    print(f"gpu_vs_cpu={t_cpu / t_other:.2f} useful_peak_fraction={useful / t_other / peaks[other_name]:.4f} "
          f"scores_within_tolerance={share:.3f}")
    return 0


def wide_requests(size: int, seed: int = 0) -> list[EvaluationRequest]:
    """``size`` layered networks for the 784-feature task: one hidden layer of 128 (30% of the
    input connections present) or two of 256 and 64 (20%, 50%), all hidden-to-output ones."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(size):
        widths, densities = ([128], [0.3, 1.0]) if i % 2 == 0 else ([256, 64], [0.2, 0.5, 1.0])
        genome = random_layered_genome(784, 10, widths, densities, rng)
        out.append(EvaluationRequest(f"wide-{i}", genome, 1000 + i, measure(genome).as_dict()))
    return out


def profile_training(reqs: list, dataset: Dataset, settings: TrainingSettings) -> None:
    """Where one training's time goes (``torch.profiler``): on a GPU, time the host spends
    launching against time the device computes; the launches; the ops of most host time."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if settings.device == "cuda" else [])
    with profile(activities=activities) as prof:
        LocalEvaluator(dataset, settings).evaluate(reqs)
        if settings.device == "cuda":
            torch.cuda.synchronize()
    events = prof.key_averages()
    host = sum(e.self_cpu_time_total for e in events) / 1e6
    device = sum(getattr(e, "self_device_time_total", 0.0) for e in events) / 1e6
    launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx"))
    replays = sum(e.count for e in events if e.key == "cudaGraphLaunch")
    print(f"  profile of {len(reqs)} candidates on {settings.device}: host {host:.3f} s, device {device:.3f} s, "
          f"kernel launches {launches}, graph replays {replays}")
    print(events.table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=45))


if __name__ == "__main__":
    sys.exit(main())
