"""Cutting a generation's requests into chunks for the workers, balanced by estimated training time.

One chunk per worker with equal numbers of candidates (what the Ray evaluator did before) leaves
one worker idle for a third of a quick-start's training time: the candidates of a generation
differ in depth by up to tens of levels, and a deep one trains 10-15 times longer than a shallow
one (measured on digits). So the requests are grouped as the batched trainer stacks them (one
shape and number of epochs per bucket), each bucket's training time is estimated, and the
buckets are packed into about one chunk per worker of equal estimated time; a bucket is cut
only when it alone would take longer than a worker's share (every part pays the bucket's own
overhead again). A chunk takes its next whole bucket when that brings its estimate nearer its
share than it is without it: stopping every chunk short of its share left a remainder chunk that
one worker ran after its own. The workers take chunks longest first, each the next one as it frees
(longest-processing-time-first scheduling).

Only the speed depends on this: a candidate's result does not depend on its chunk
(:class:`~workers.evaluator.Evaluator`'s contract).

The estimate, per optimizer step of one bucket (measured on 2 cores with digits networks of
1-25 levels, 1-16 candidates a bucket): :data:`BUCKET_LEVEL_MS` per stacked level whatever the
bucket's size (the autograd engine, the optimizer and the elementwise work of a stack), plus per
candidate :data:`CANDIDATE_LEVEL_MS` per level (its matrix products' calls) and its multiply-adds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from connevo.workers.batched import MAX_BUCKET, plan_shape
from connevo.workers.plans import Shape
from connevo.workers.records import EvaluationRequest, TrainingSettings

BUCKET_LEVEL_MS = 0.6
"""Estimated milliseconds per level and step of a bucket, whatever its number of candidates."""
CANDIDATE_LEVEL_MS = 0.1
"""Estimated milliseconds per level and step of each candidate of a bucket."""
FLOP_MS = 3e-8
"""Estimated milliseconds per floating-point operation of a step's matrix products (about 33
GFLOP/s, what one core reaches on these small products)."""
CHUNKS_PER_WORKER = 1
"""Chunks packed per worker from buckets shorter than a worker's share. Each chunk pays its
stacks' overhead and scores its candidates in stacks of its own, so fewer, larger chunks train
faster: on the quick-start's generations 5-14 (two workers, each chunk's training timed in one
process and scheduled longest first) the two workers' busiest time was 2.8 s with three chunks
per worker and 2.0 s with one, the longest-first order still evening out the estimate's errors."""


def bucket_ms(shape: Shape, epochs: int, count: int, n_features: int, rows_per_step: int) -> float:
    """The estimated training time of a bucket of ``count`` candidates of ``shape`` trained
    ``epochs`` epochs, in milliseconds per step of an epoch: every bucket of a data set takes the
    same number of steps an epoch, so this compares buckets as their whole trainings do."""
    return stacked_ms([(shape.depth, shape.executed_per_sample(n_features), epochs)] * count, rows_per_step)


def stacked_ms(networks: Iterable[tuple[int, int, int]], rows_per_step: int) -> float:
    """The estimated training time of ``networks`` trained together, in milliseconds per step of
    an epoch, each given as (depth, :meth:`~workers.plans.Shape.executed_per_sample`, epochs).
    Networks of one depth and number of epochs share a stack (as :mod:`workers.merging` joins
    shapes of one depth on the CPU), which pays :data:`BUCKET_LEVEL_MS` per level once; each
    network pays :data:`CANDIDATE_LEVEL_MS` per level and its multiply-adds (forward and backward)."""
    stacks: dict[tuple[int, int], list[int]] = {}
    for depth, executed, epochs in networks:
        stacks.setdefault((depth, max(epochs, 1)), []).append(executed)
    return sum(epochs * (depth * (BUCKET_LEVEL_MS + CANDIDATE_LEVEL_MS * len(executed))
                         + 3 * sum(executed) * rows_per_step * FLOP_MS)
               for (depth, epochs), executed in stacks.items())


def balanced_chunks(requests: Sequence[EvaluationRequest], settings: TrainingSettings, n_features: int,
                    rows_per_step: int, workers: int) -> list[list[EvaluationRequest]]:
    """``requests`` cut into chunks of about equal estimated training time, longest first.

    Requests of one bucket (shape and epochs) stay together unless the bucket alone would take
    longer than a worker's share of the whole; then it is cut into equal parts, each shorter.
    Smaller buckets are packed, in shape order, into chunks of about a :data:`CHUNKS_PER_WORKER`-th
    of a worker's share, each taking its next whole bucket while that brings it nearer that
    target. A chunk holds at most :data:`~workers.batched.MAX_BUCKET` requests. Requests whose
    shape cannot be computed (they fail in training) form a chunk of their own, last.
    """
    buckets: dict[tuple[Shape, int], list[EvaluationRequest]] = {}
    unshaped: list[EvaluationRequest] = []
    for request in requests:
        try:
            shape = plan_shape(request.genome)
        except Exception:  # the worker reports it as a failed evaluation
            unshaped.append(request)
            continue
        buckets.setdefault((shape, settings.start(request)[1]), []).append(request)
    if not buckets:
        return [unshaped] if unshaped else []

    def cost(shape: Shape, epochs: int, count: int) -> float:
        return bucket_ms(shape, epochs, count, n_features, rows_per_step)

    total = sum(cost(shape, epochs, len(members)) for (shape, epochs), members in buckets.items())
    workers = max(workers, 1)
    share = total / workers  # a bucket longer than a worker's share is cut (each cut costs a bucket's overhead)
    target = total / (workers * CHUNKS_PER_WORKER)  # smaller buckets are packed into chunks of about this
    pieces: list[tuple[float, list[EvaluationRequest], bool]] = []  # (estimate, requests, cut from a bucket)
    for (shape, epochs), members in sorted(buckets.items(), key=lambda item: item[0]):
        whole = cost(shape, epochs, len(members))
        parts = max(math.ceil(whole / share) if share > 0 else 1, math.ceil(len(members) / MAX_BUCKET))
        parts = min(parts, len(members))
        for k in range(parts):
            part = members[k * len(members) // parts : (k + 1) * len(members) // parts]
            pieces.append((cost(shape, epochs, len(part)), part, parts > 1))
    chunks: list[tuple[float, list[EvaluationRequest]]] = []
    current: list[EvaluationRequest] = []
    current_cost = 0.0
    for piece_cost, part, cut in pieces:  # in shape order: small buckets of similar shapes share a chunk
        # A chunk takes a whole bucket when that brings it nearer the target than it is without:
        # always stopping short of the target left a remainder chunk for one of the workers to run
        # after its own (one more round trip, and one more share of the stacks' overhead). A part
        # of a cut bucket (longer than a share, or of more than MAX_BUCKET requests) never takes a
        # chunk past the target.
        overshoot = current_cost + piece_cost - target
        allowed = 0.0 if cut else target - current_cost
        if current and (overshoot > allowed or len(current) + len(part) > MAX_BUCKET):
            chunks.append((current_cost, current))
            current, current_cost = [], 0.0
        current = current + part
        current_cost += piece_cost
    if current:
        chunks.append((current_cost, current))
    ordered = [chunk for _, chunk in sorted(chunks, key=lambda item: -item[0])]
    return ordered + ([unshaped] if unshaped else [])


__all__ = [
    "BUCKET_LEVEL_MS", "CANDIDATE_LEVEL_MS", "CHUNKS_PER_WORKER", "FLOP_MS", "balanced_chunks", "bucket_ms", "stacked_ms",
]
