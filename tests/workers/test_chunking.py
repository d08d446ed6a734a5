"""A generation's requests are cut into chunks of about equal estimated training time: every request
once, buckets (one shape, one number of epochs) kept whole unless one alone is too long, the
longest chunk first."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.search_space.genome import Genome
from connevo.search_space.operators import add_node
from connevo.workers import EvaluationRequest, TrainingSettings
from connevo.workers.batched import MAX_BUCKET, plan_shape
from connevo.workers.chunking import BUCKET_LEVEL_MS, balanced_chunks, bucket_ms, stacked_ms

SETTINGS = TrainingSettings(epochs=9, batch_size=32)
N_INPUTS, N_OUTPUTS = 8, 3


def deep(depth: int, rng: np.random.Generator, tracker: InnovationTracker) -> Genome:
    """A network ``depth`` levels deep: a chain of splits of one connection."""
    genome = minimal_genome(N_INPUTS, N_OUTPUTS, rng, tracker, density=0.5)
    while plan_shape(genome).depth < depth:
        genome = add_node(genome, rng, tracker)
    return genome


@pytest.fixture(scope="module")
def make_requests():
    """``make_requests(depths, short=(), alike=1)``: ``alike`` requests (a number, or one per
    depth) of one network per depth (one bucket); those at the indices in ``short`` train 3 epochs
    (as an inheriting child does), the others 9."""
    def make(depths: list[int], short: tuple[int, ...] = (), alike: int | list[int] = 1) -> list[EvaluationRequest]:
        rng, tracker = np.random.default_rng(0), InnovationTracker()
        counts = [alike] * len(depths) if isinstance(alike, int) else alike
        genomes = [g for d, n in zip(depths, counts) for g in [deep(d, rng, tracker)] * n]
        return [EvaluationRequest(f"c{i}", g, seed=i, epochs=3 if i in short else None) for i, g in enumerate(genomes)]
    return make


def bucket(request: EvaluationRequest) -> tuple:
    return plan_shape(request.genome), SETTINGS.start(request)[1]


def estimate(chunk: list[EvaluationRequest]) -> float:
    """The chunk's estimated training time: the sum over its buckets."""
    keys = [bucket(r) for r in chunk]
    return sum(bucket_ms(*key, keys.count(key), N_INPUTS, 32) for key in set(keys))


def ids(chunks: list[list[EvaluationRequest]]) -> list[str]:
    return [r.candidate_id for chunk in chunks for r in chunk]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=40), st.integers(1, 4))
def test_every_request_goes_to_exactly_one_chunk(make_requests, depths, workers):
    requests = make_requests(depths, short=tuple(range(0, len(depths), 3)))
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers)
    assert sorted(ids(chunks)) == sorted(r.candidate_id for r in requests)
    assert all(0 < len(chunk) <= MAX_BUCKET for chunk in chunks)


def test_a_bucket_stays_whole_unless_it_alone_is_longer_than_a_chunk_should_be(make_requests):
    """A bucket estimated longer than a worker's share of the whole (1 / workers) is cut into as
    many parts as it has shares, any other stays in one chunk."""
    requests = make_requests([1, 2, 3, 4, 2, 3, 8, 2], alike=[6, 6, 6, 6, 6, 6, 30, 6], short=tuple(range(66, 72)))
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers=3)
    chunk_of = {r.candidate_id: k for k, chunk in enumerate(chunks) for r in chunk}
    buckets = {key: [r for r in requests if bucket(r) == key] for key in {bucket(r) for r in requests}}
    ms = {key: bucket_ms(*key, len(members), N_INPUTS, 32) for key, members in buckets.items()}
    share = sum(ms.values()) / 3
    for key, members in buckets.items():
        parts = len({chunk_of[r.candidate_id] for r in members})
        assert parts == (1 if ms[key] <= share else min(len(members), math.ceil(ms[key] / share)))
    assert any(ms[key] > share for key in buckets) and any(ms[key] <= share for key in buckets)


def test_a_bucket_longer_than_a_chunk_is_cut_so_every_worker_shares_it(make_requests):
    requests = make_requests([2], alike=40)  # one bucket, all the work
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers=2)
    assert len(chunks) >= 2
    assert max(len(c) for c in chunks) - min(len(c) for c in chunks) <= 1


def test_a_chunk_takes_the_next_bucket_when_that_brings_it_nearer_its_share(make_requests):
    """Four buckets of similar estimates and two workers: two chunks of two. Stopping every chunk
    short of its share would leave a third chunk, which one worker runs after its own."""
    requests = make_requests([3, 4, 5, 6])
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers=2)
    assert [len(c) for c in chunks] == [2, 2]


def test_the_longest_chunk_comes_first_and_deep_networks_are_not_all_in_one(make_requests):
    """Two deep networks and many shallow ones: the deep ones are in the first two chunks, one in
    each, so that two workers start on them at once; the chunks go longest first."""
    requests = make_requests([12, 12] + [1] * 30, short=tuple(range(2, 32)))
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers=2)
    first, second = ({r.candidate_id for r in chunk} for chunk in chunks[:2])
    assert ("c0" in first and "c1" in second) or ("c1" in first and "c0" in second)
    estimates = [estimate(chunk) for chunk in chunks]
    assert estimates == sorted(estimates, reverse=True)


def test_short_and_long_trainings_of_one_shape_are_separate_buckets(make_requests):
    """The trainer stacks a shape's 3-epoch and 9-epoch trainings apart; each chunk's requests
    of one bucket are contiguous."""
    requests = make_requests([2], alike=8, short=(0, 2, 4, 6))
    chunks = balanced_chunks(requests, SETTINGS, N_INPUTS, 32, workers=1)
    for chunk in chunks:
        keys = [bucket(r) for r in chunk]
        runs = [k for i, k in enumerate(keys) if i == 0 or k != keys[i - 1]]
        assert len(runs) == len(set(runs))


def test_a_request_whose_shape_cannot_be_computed_goes_last_alone(make_requests):
    requests = make_requests([1, 2, 3])
    broken = EvaluationRequest("broken", None, seed=9)  # type: ignore[arg-type]  # no genome: no shape
    chunks = balanced_chunks([*requests, broken], SETTINGS, N_INPUTS, 32, workers=2)
    assert [r.candidate_id for r in chunks[-1]] == ["broken"]
    assert sorted(ids(chunks[:-1])) == ["c0", "c1", "c2"]


def test_a_bucket_is_estimated_as_its_networks_trained_in_one_stack(make_requests):
    [request] = make_requests([3])
    shape = plan_shape(request.genome)
    network = (shape.depth, shape.executed_per_sample(N_INPUTS), 9)
    assert bucket_ms(shape, 9, 5, N_INPUTS, 32) == stacked_ms([network] * 5, 32)


def test_networks_of_one_depth_share_a_stack_and_other_depths_or_epochs_pay_their_own():
    a, b, c = (3, 1_000, 9), (3, 4_000, 9), (5, 1_000, 9)
    apart = stacked_ms([a], 32) + stacked_ms([b], 32)
    assert stacked_ms([a, b], 32) == pytest.approx(apart - 3 * 9 * BUCKET_LEVEL_MS)  # one stack's overhead saved
    assert stacked_ms([a, c], 32) == pytest.approx(stacked_ms([a], 32) + stacked_ms([c], 32))
    assert stacked_ms([a, (3, 1_000, 4)], 32) == pytest.approx(stacked_ms([a], 32) + stacked_ms([(3, 1_000, 4)], 32))
    assert stacked_ms([(3, 1_000, 18)], 32) == pytest.approx(2 * stacked_ms([a], 32))  # linear in epochs
    assert stacked_ms([], 32) == 0.0
