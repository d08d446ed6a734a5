"""Sparse dynamics inside one evaluation (SET/RigL at a fixed budget), written back to the genome.

With ``TrainingSettings.rewire_fraction > 0`` a candidate's training of ``E`` epochs runs in
segments of ``rewire_every`` epochs (by default a quarter of ``E``, at least one: three
rewirings per training, whether it is a fresh one or a child's short inherited one). After each segment but the last, the trained network's
structure hints are measured (:mod:`workers.hints`: the loss gradient of absent connections) and
:func:`search_space.rewiring.rewire` swaps its weakest connections for the absent ones of
largest gradient, at weight 0; the next segment continues from the trained weights. The share
swapped decays as RigL's cosine, ``fraction x (1 + cos(pi t / E)) / 2`` after epoch ``t``. The
evaluation returned is the last segment's, its epochs and seconds summed over the segments, its
trained genome the rewired network (Lamarckian) and its costs measured on that network.

Each segment trains with the optimizer state reset (Adam restarts), the mini-batch order from a
seed derived from (candidate seed, segment), and its own time limit. A candidate's segments
depend on nothing but the candidate, so results stay independent of chunking and workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch

from connevo.search_space.cost import measure
from connevo.search_space.rewiring import rewire, rewire_count
from connevo.workers.batched import DataTensors
from connevo.workers.hints import GROW_HINTS, add_hints
from connevo.workers.records import Evaluation, EvaluationRequest, TrainingSettings

TrainChunk = Callable[[Sequence[EvaluationRequest]], list[Evaluation]]


def segments(epochs: int, every: int | None, fraction: float) -> list[tuple[int, float]]:
    """(epochs of the segment, share rewired after it) for a training of ``epochs`` epochs, a
    segment every ``every`` epochs (None: a quarter of them, at least one); the last segment
    rewires nothing."""
    every = every if every is not None else max(1, epochs // 4)
    out: list[tuple[int, float]] = []
    done = 0
    while done < epochs:
        n = min(every, epochs - done)
        done += n
        out.append((n, fraction * (1 + math.cos(math.pi * done / epochs)) / 2 if done < epochs else 0.0))
    return out or [(0, 0.0)]


def segment_seed(seed: int, segment: int) -> int:
    """The training seed of segment ``segment`` (> 0) of a candidate seeded ``seed``."""
    state = np.random.SeedSequence([seed, segment]).generate_state(2, dtype=np.uint32).astype(np.uint64)
    return int(state.dot(np.array([1 << 31, 1], dtype=np.uint64)))


def train_rewiring(requests: Sequence[EvaluationRequest], data: DataTensors, settings: TrainingSettings,
                   device: torch.device, train_chunk: TrainChunk) -> list[Evaluation]:
    """Train ``requests`` with rewiring between segments (module doc); one Evaluation each, in
    order. ``train_chunk`` trains a list of requests (either training path), without hints."""
    starts = [settings.start(r) for r in requests]
    plans = [segments(epochs, settings.rewire_every, settings.rewire_fraction) for _, epochs in starts]
    genomes = [r.genome for r in requests]
    rewired = [False] * len(requests)
    spent = [(0, 0.0)] * len(requests)
    results: list[Evaluation | None] = [None] * len(requests)
    active = list(range(len(requests)))
    segment = 0
    while active:
        batch = []
        for i in active:
            r = requests[i]
            batch.append(EvaluationRequest(
                r.candidate_id, genomes[i], r.seed if segment == 0 else segment_seed(r.seed, segment), r.costs,
                epochs=plans[i][segment][0], warm_start=starts[i][0] if segment == 0 else True))
        evaluations = train_chunk(batch)
        going_on = []
        for i, e in zip(active, evaluations):
            epochs, seconds = spent[i]
            spent[i] = (epochs + e.epochs, seconds + e.seconds)
            if e.ok and segment + 1 < len(plans[i]):
                going_on.append((i, e))
            else:
                results[i] = _final(e, spent[i], rewired[i])
        if going_on:
            grow = max(GROW_HINTS, *(rewire_count(e.trained_genome, plans[i][segment][1])  # type: ignore[arg-type]
                                     for i, e in going_on))
            hinted = add_hints([e for _, e in going_on], data, device, grow)
            for (i, _), e in zip(going_on, hinted):
                assert e.trained_genome is not None
                genomes[i] = rewire(e.trained_genome, plans[i][segment][1])
                rewired[i] = rewired[i] or genomes[i] is not e.trained_genome
        active = [i for i, _ in going_on]
        segment += 1
    return [e for e in results if e is not None]


def _final(e: Evaluation, spent: tuple[int, float], rewired: bool) -> Evaluation:
    """The candidate's evaluation: the last segment's, with the totals and, when it was rewired
    and trained to the end, the costs of the network it ended as."""
    epochs, seconds = spent
    costs = measure(e.trained_genome).as_dict() if rewired and e.trained_genome is not None else e.costs
    return replace(e, epochs=epochs, seconds=seconds, costs=costs)


__all__ = ["segment_seed", "segments", "train_rewiring"]
