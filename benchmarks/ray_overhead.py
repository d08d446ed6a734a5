"""What Ray costs: the same chunks trained in-process and through the RayEvaluator, equal cores.

Run from the repository root: ``python -m benchmarks.ray_overhead [--population 64] [--chunk-size 16]``.
Both sides use one core (training runs on one intra-op thread; Ray gets one worker), train the
same chunks of the same seeded genomes in the same order, and are timed side by side in one run.
Prints the ratio Ray time / in-process time (1.10 = 10% overhead); nothing is asserted.

That ratio mixes two things: what Ray itself costs (pickling, the object store, scheduling, the
results' way back) and how fast the same training runs in another process. So a probe actor on
the same cluster does what a worker does with one chunk (unpickle, train, pickle the results)
and times it from inside; the run also prints Ray's own cost, the round trip less the training
inside the worker, as a share of the in-process time, and the in-worker training against the
in-process one.
"""

from __future__ import annotations

import argparse
import time

import ray

from benchmarks.common import requests, timed
from connevo.workers import LocalEvaluator, TrainingSettings, load_dataset, records
from connevo.workers.evaluator import by_shape, chunked
from connevo.workers.ray_evaluator import RayEvaluator, _Trainer, ensure_ray


@ray.remote(num_cpus=1)
class Probe(_Trainer):
    """A worker's actor (workers.ray_evaluator._Trainer) that also times its chunk from inside."""

    def timed_train(self, chunk: bytes) -> tuple[bytes, float]:
        start = time.perf_counter()
        payload = self.train(chunk)
        return payload, time.perf_counter() - start


def probed(probe, reqs: list, chunk_size: int) -> tuple[float, float]:
    """(round trip, seconds inside the worker) of ``reqs`` through ``probe`` in the chunks the
    RayEvaluator makes (by shape), the driver's pickling and rebuilding of the trained genomes
    included in the round trip."""
    start, inside = time.perf_counter(), 0.0
    for chunk in chunked(by_shape(reqs), chunk_size):
        payload, seconds = ray.get(probe.timed_train.remote(records.dumps(chunk)))
        [records.attach_weights(d, r) for d, r in zip(records.loads(payload), chunk)]
        inside += seconds
    return time.perf_counter() - start, inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--chunk-sizes", default="16,64", help="comma-separated chunk sizes")
    parser.add_argument("--kind", default="layered")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=4, help="best of this many runs per side, interleaved")
    args = parser.parse_args()

    dataset = load_dataset("digits", seed=0)
    settings = TrainingSettings(epochs=args.epochs, batch_size=128, learning_rate=0.01)
    reqs = requests(args.kind, args.population)
    ensure_ray(num_cpus=1)
    ratios, own_costs = [], []
    for chunk_size in (int(c) for c in args.chunk_sizes.split(",")):
        local = LocalEvaluator(dataset, settings, chunk_size=chunk_size)
        remote = RayEvaluator(dataset, settings, workers=1, chunk_size=chunk_size)
        local.evaluate(reqs[:2])
        remote.evaluate(reqs[:2])  # the actor is up and has imported torch
        # interleaved, best of each: this machine's speed drifts by tens of percent over a minute,
        # and a block of local runs followed by a block of Ray runs would measure the drift
        runs = [(timed(lambda: local.evaluate(reqs))[0], timed(lambda: remote.evaluate(reqs))[0])
                for _ in range(args.repeats)]
        t_local, t_ray = min(r[0] for r in runs), min(r[1] for r in runs)
        remote.close()
        probe = Probe.remote(dataset, settings)
        probed(probe, reqs[:2], chunk_size)
        trips = [probed(probe, reqs, chunk_size) for _ in range(args.repeats)]
        ray.kill(probe)
        own = min(trip - inside for trip, inside in trips)
        inside = min(inside for _, inside in trips)
        ratio = t_ray / t_local
        ratios.append(ratio)
        own_costs.append(own / t_local)
        print(f"{args.kind} n={args.population} chunk={chunk_size}: in-process {t_local:.2f} s, "
              f"Ray (1 worker) {t_ray:.2f} s, ratio {ratio:.3f} ({(ratio - 1):+.1%}); "
              f"Ray's own cost {own:.3f} s ({own / t_local:+.1%}), the training inside the worker "
              f"{inside:.2f} s ({inside / t_local - 1:+.1%} on the in-process one)", flush=True)
    print(f"ray_overhead={max(ratios) - 1:.3f} ray_own_cost={max(own_costs):.3f}")


if __name__ == "__main__":
    main()
