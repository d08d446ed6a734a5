"""Inference latency of a trained network, measured by the worker that trained it.

``latency_us`` is the median wall time of one forward pass of one row through the network as
connevo compiles it (:func:`search_space.compile.compile_genome`, eval mode, no autograd), on the
CPU, on one thread (the worker trains on one: :func:`workers.train.single_thread`). It is what a
deployment answering one request at a time pays, which the counted costs (connections, FLOPs)
only approximate: a deep chain of small layers costs more per row than one wide layer with as
many weights.

It is a measurement of time, so it varies with the machine and its load: a campaign that selects
on it (``objectives.minimize = ["latency_us"]``) is the one kind of campaign whose seed does not fix
its result. Workers measure it only when the settings ask (``TrainingSettings.measure_latency``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import Genome
from connevo.workers.records import Evaluation

LATENCY = "latency_us"
WARMUP_CALLS = 5
"""Calls before timing: the first ones pay for allocations and dispatch caches."""
TIMED_CALLS = 31
"""Timed calls; their median is the latency (robust to a call interrupted by the scheduler)."""


def inference_latency_us(genome: Genome, calls: int = TIMED_CALLS) -> float:
    """Median microseconds of one single-row forward pass through ``genome``'s network, with its
    own weights, on the CPU."""
    network = compile_genome(genome, use_genome_weights=True).eval()
    row = torch.zeros(1, genome.n_inputs)
    with torch.inference_mode():
        for _ in range(WARMUP_CALLS):
            network(row)
        times = np.empty(calls)
        for k in range(calls):
            start = time.perf_counter_ns()
            network(row)
            times[k] = time.perf_counter_ns() - start
    return float(np.median(times)) / 1000.0


def add_latency(evaluations: Sequence[Evaluation]) -> list[Evaluation]:
    """``evaluations`` with ``latency_us`` among the scores of each one trained successfully."""
    measured = []
    for e in evaluations:
        if e.ok and e.trained_genome is not None:
            e = replace(e, scores={**(e.scores or {}), LATENCY: inference_latency_us(e.trained_genome)})
        measured.append(e)
    return measured


__all__ = ["LATENCY", "add_latency", "inference_latency_us"]
