"""Microseconds per child for each variation operator and for crossover, on genomes of 100,
1,000, 10,000 and 100,000 connections (the campaign's own variation step included: mutate + repair check).

    python benchmarks/operators.py [--repeats 200]

The parent carries trained weights and structure hints, so the training-informed operators do
their work. Prints one row per genome size and operator, and the ratio to the 1 ms-per-child
budget; "whole child" is crossover + add_connection + remove_connection + add_node + the limits
check, "informed child" crossover + prune_magnitude + grow_gradient + add_neuron_gradient + the check.
The process keeps freed memory as a campaign's driver does (connevo/allocator.py). Each row
is timed per call after a few untimed warm-up calls (the first ones fault in fresh memory), at
least 20 calls a row; it prints the mean and the median, the latter steadier on a machine whose
speed drifts from second to second (measured on 2-core machines: +-30% between batches of one
process).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from connevo.allocator import keep_freed_memory
from connevo.search_space import Genome, InnovationTracker, Limits, crossover, minimal_genome, within_limits
from connevo.search_space.hints import StructureHints
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import add_node
from connevo.workers.hints import GROW_HINTS, NEURON_FAN_IN


def genome_with(connections: int, rng: np.random.Generator, tracker: InnovationTracker):
    """A minimal network with about ``connections`` connections and a few hidden neurons."""
    n_out = 10
    n_in = max(1, connections // n_out)
    genome = minimal_genome(n_in, n_out, rng, tracker, density=1.0)
    for _ in range(10):
        genome = add_node(genome, rng, tracker)
    return trained(genome, rng)


def trained(genome: Genome, rng: np.random.Generator) -> Genome:
    """``genome`` as a training leaves it: a weight on every connection and structure hints of
    the sizes training measures (workers/hints.py: ``GROW_HINTS`` proposed connections, a
    neuron's fan-in of ``NEURON_FAN_IN`` inputs, every output)."""
    weight = rng.normal(size=len(genome.table))
    ids, outputs = np.array(genome.input_ids + genome.hidden_ids), genome.output_ids
    grow = tuple((int(rng.choice(ids)), int(rng.choice(outputs)), float(g))
                 for g in sorted(rng.random(GROW_HINTS), reverse=True))
    fan_in = rng.permutation(genome.input_ids)[:NEURON_FAN_IN]
    hints = StructureHints(grow=grow, neuron_in=tuple((int(n), float(rng.normal())) for n in fan_in),
                           neuron_out=tuple((int(n), 1.0 / (1 + k)) for k, n in enumerate(outputs)))
    # The driver rebuilds a trained genome from the one it sent (workers.records.attach_weights),
    # taking over the views variation had computed of it: its node positions, live and
    # effective masks (measured: every parent of a quick-start campaign carries them).
    _ = genome.effective_mask, genome.live_nodes
    return genome._reweighted(genome.nodes, weight, hints)


WARM_UP = 3
"""Untimed calls before a row is timed."""


def per_child(fn, repeats: int) -> tuple[float, float]:
    """Mean and median microseconds per call of ``fn`` over ``repeats`` timed calls."""
    for _ in range(WARM_UP):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return float(times.mean() * 1e6), float(np.median(times) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    keep_freed_memory()
    limits = Limits(max_hidden_nodes=1000)
    print(f"{'connections':>11} {'operator':>22} {'us/child':>10} {'median':>10} {'of 1 ms':>8}")
    summary = {}
    for size in (100, 1_000, 10_000, 100_000):
        rng = np.random.default_rng(0)
        tracker = InnovationTracker()
        parent = genome_with(size, rng, tracker)
        other = MUTATIONS["remove_connection"](parent, rng, tracker)
        rows = {name: (lambda op=op: op(parent, rng, tracker, limits)) for name, op in MUTATIONS.items()}
        rows["crossover"] = lambda: crossover(parent, other, rng)

        def child():  # what the campaign does per child: crossover, a few mutations, a limits check
            genome = crossover(parent, other, rng)
            for name in ("add_connection", "remove_connection", "add_node"):
                genome = MUTATIONS[name](genome, rng, tracker, limits)
            return within_limits(genome, limits)

        def informed_child():  # the informed operators of the default mutation rates
            genome = crossover(parent, other, rng).replace(hints=parent.hints)
            for name in ("prune_magnitude", "grow_gradient", "add_neuron_gradient"):
                genome = MUTATIONS[name](genome, rng, tracker, limits)
            return within_limits(genome, limits)

        rows["whole child"] = child
        rows["informed child"] = informed_child
        repeats = max(20, args.repeats // (size // 100))
        for name, fn in rows.items():
            us, median = per_child(fn, repeats)
            print(f"{len(parent.connections):>11} {name:>22} {us:>10.1f} {median:>10.1f} {us / 1000:>8.3f}", flush=True)
            if name.endswith("child"):
                summary[name, size] = us, median
    for kind in ("whole child", "informed child"):
        for label, which in (("us", 0), ("median_us", 1)):
            print(kind.replace(" ", "_") + f"_{label} " + " ".join(
                f"{size}={times[which]:.0f}" for (name, size), times in summary.items() if name == kind))


if __name__ == "__main__":
    main()
