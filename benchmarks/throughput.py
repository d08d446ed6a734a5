"""Candidate trainings per second: one at a time, one candidate per Ray task, batched through Ray.

Run from the repository root: ``python -m benchmarks.throughput [--quick] [--populations 16,64,256]``.
Every path trains the same seeded genomes (digits, Adam, batch 128, 10 epochs) on this machine,
measured side by side in one run, the paths taking turns ``--repeats`` times (the median time of
each: one timing of a 0.4-second batched call moved by up to 10% from run to run); ratios are
printed, nothing is asserted. The last line is
``speedup_vs_loop=<x> speedup_vs_ray_per_task=<y> useful_peak_fraction=<z>`` for layered genomes
at population 64 (or the first population measured).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

from benchmarks.common import peak_matmul_flops, requests, timed, training_flops
from connevo.workers import LocalEvaluator, TrainingSettings, load_dataset
from connevo.workers.ray_evaluator import RayEvaluator, ensure_ray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", default="16,64,256", help="comma-separated population sizes")
    parser.add_argument("--kinds", default="layered,dag", help="genome families: layered, dag")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop-max", type=int, default=64,
                        help="time the one-at-a-time paths on at most this many of the candidates")
    parser.add_argument("--repeats", type=int, default=3, help="times each path is timed, in turns (the median)")
    parser.add_argument("--quick", action="store_true", help="populations 16 and 64, 32 candidates for the slow paths")
    args = parser.parse_args()
    populations = [16, 64] if args.quick else [int(p) for p in args.populations.split(",")]
    loop_max = 32 if args.quick else args.loop_max
    kinds = args.kinds.split(",")

    dataset = load_dataset("digits", seed=0)
    settings = TrainingSettings(epochs=args.epochs, batch_size=128, learning_rate=0.01)
    single = dataclasses.replace(settings, batched=False)
    peak = peak_matmul_flops(threads=args.workers)
    print(f"peak fp32 matmul on {args.workers} threads: {peak / 1e9:.1f} GFLOP/s")
    # Two evaluators stay up (one runs at a time): logical CPUs for both, each worker on one core.
    ensure_ray(num_cpus=2 * args.workers)
    warm = requests("layered", 2, seed=99)

    per_task = RayEvaluator(dataset, single, workers=args.workers, chunk_size=1)
    per_task.evaluate(warm)
    together = RayEvaluator(dataset, settings, workers=args.workers)
    together.evaluate(warm)
    LocalEvaluator(dataset, single).evaluate(warm[:1])

    rows: dict[tuple[str, int], dict[str, float]] = {}
    for kind in kinds:
        for size in populations:
            reqs = requests(kind, size)
            subset = reqs[:loop_max]
            times: dict[str, list[float]] = {"loop": [], "task": [], "batch": []}
            for _ in range(max(args.repeats, 1)):
                t, loop = timed(lambda: LocalEvaluator(dataset, single, chunk_size=len(subset)).evaluate(subset))
                times["loop"].append(t)
                times["task"].append(timed(lambda: per_task.evaluate(subset))[0])
                t, batch = timed(lambda: together.evaluate(reqs))
                times["batch"].append(t)
            t_loop, t_task, t_batch = (statistics.median(times[k]) for k in ("loop", "task", "batch"))
            useful, executed = training_flops(reqs, dataset, args.epochs)
            diffs = [abs(a.val_accuracy - b.val_accuracy) for a, b in zip(loop, batch) if a.ok and b.ok]
            row = {
                "loop": len(subset) / t_loop, "ray_per_task": len(subset) / t_task, "batched": size / t_batch,
                "useful_gflops": useful / t_batch / 1e9, "executed_gflops": executed / t_batch / 1e9,
                "connections": statistics.mean(r.costs["connections"] for r in reqs),
            }
            row["speedup_vs_loop"] = row["batched"] / row["loop"]
            row["speedup_vs_ray_per_task"] = row["batched"] / row["ray_per_task"]
            row["useful_peak_fraction"] = useful / t_batch / peak
            rows[kind, size] = row
            print(
                f"{kind:8s} n={size:4d} conn={row['connections']:6.0f} | cand/s loop {row['loop']:6.1f} "
                f"ray-per-task {row['ray_per_task']:6.1f} batched {row['batched']:7.1f} | "
                f"x{row['speedup_vs_loop']:.1f} vs loop x{row['speedup_vs_ray_per_task']:.1f} vs ray-per-task | "
                f"GFLOP/s useful {row['useful_gflops']:5.1f} executed {row['executed_gflops']:5.1f} "
                f"(useful/executed {useful / executed:.0%}, useful {row['useful_peak_fraction']:.1%} of peak) | "
                f"max |val acc diff| vs loop {max(diffs, default=0.0):.1e} on {len(diffs)}",
                flush=True,
            )
    per_task.close()
    together.close()
    for size in populations:
        if ("layered", size) in rows and ("dag", size) in rows:
            ratio = rows["layered", size]["batched"] / rows["dag", size]["batched"]
            print(f"n={size}: a DAG costs {ratio:.2f}x a layered genome in the batched path "
                  f"({rows['dag', size]['connections']:.0f} vs {rows['layered', size]['connections']:.0f} connections)")
    key = ("layered", 64) if ("layered", 64) in rows else next(iter(rows))
    final = rows[key]
    print(f"speedup_vs_loop={final['speedup_vs_loop']:.2f} speedup_vs_ray_per_task={final['speedup_vs_ray_per_task']:.2f} "
          f"useful_peak_fraction={final['useful_peak_fraction']:.3f}")


if __name__ == "__main__":
    main()
