"""Sparse dynamics inside a training: segments, rewiring at a fixed budget, written back."""

import dataclasses

import numpy as np
import pytest

from connevo.search_space import InnovationTracker, measure, minimal_genome
from connevo.search_space.innovation import REWIRED_INNOVATIONS
from connevo.search_space.starts import hidden_layer_genome
from connevo.workers import EvaluationRequest, Status, TrainingSettings, load_dataset, records, train
from connevo.workers.rewiring import segments

REWIRING = TrainingSettings(epochs=6, batch_size=32, learning_rate=0.02, rewire_fraction=0.4, rewire_every=2)


@pytest.fixture(scope="module")
def requests(wine):
    """Sparse linear networks and a sparse hidden layer: random inputs, worth rewiring."""
    rng = np.random.default_rng(11)
    tracker = InnovationTracker()
    genomes = [minimal_genome(wine.n_features, wine.n_classes, rng, tracker, d) for d in (0.1, 0.25)]
    genomes.append(hidden_layer_genome(wine.n_features, wine.n_classes, 3, rng, tracker, input_density=0.2))
    return [EvaluationRequest(f"c-{i}", g, 70 + i) for i, g in enumerate(genomes)]


@pytest.fixture(scope="module")
def rewired(wine, requests):
    return train(requests, wine, REWIRING)


def without_time(e):
    return dataclasses.replace(e, seconds=0.0)


def test_segments_cover_the_epochs_and_the_share_decays_to_zero():
    plan = segments(10, 3, 0.5)
    assert [n for n, _ in plan] == [3, 3, 3, 1]
    shares = [f for _, f in plan]
    assert shares[-1] == 0.0 and all(a > b for a, b in zip(shares, shares[1:]))
    assert shares[0] == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.3)) / 2)
    assert segments(2, 5, 0.5) == [(2, 0.0)]


def test_a_rewired_network_keeps_its_budget_and_is_stored_as_rewired(requests, rewired):
    for request, e in zip(requests, rewired):
        assert e.status is Status.OK and e.epochs == REWIRING.epochs
        trained = e.trained_genome
        grown = [c for c in trained.connections if c.innovation >= REWIRED_INNOVATIONS]
        assert grown, "training swapped no connection"
        assert {c.innovation for c in request.genome.connections} - {c.innovation for c in trained.connections}
        assert len(trained.effective_connections) <= len(request.genome.effective_connections)
        assert e.costs == measure(trained).as_dict()  # costs of the network it ended as
        assert all(c.weight is not None and np.isfinite(c.weight) for c in trained.effective_connections)


def test_rewiring_finds_better_inputs_than_a_fixed_random_wiring():
    digits = load_dataset("digits", seed=0)
    rng = np.random.default_rng(2)
    tracker = InnovationTracker()
    requests = [EvaluationRequest(f"d-{k}", minimal_genome(64, 10, rng, tracker, 0.05), k) for k in range(3)]
    settings = TrainingSettings(epochs=12, rewire_fraction=0.3, rewire_every=1)
    rewired = train(requests, digits, settings)
    fixed = train(requests, digits, dataclasses.replace(settings, rewire_fraction=0.0))
    for r, f in zip(rewired, fixed):
        assert r.costs["connections"] == f.costs["connections"] == 32
        assert r.val_accuracy > f.val_accuracy + 0.1


def test_a_candidates_rewiring_does_not_depend_on_its_chunk(wine, requests, rewired):
    alone = [train([r], wine, REWIRING)[0] for r in requests]
    assert [without_time(e) for e in alone] == [without_time(e) for e in rewired]


def test_one_at_a_time_rewires_exactly_as_in_a_chunk(wine, requests, rewired):
    one_at_a_time = train(requests, wine, dataclasses.replace(REWIRING, batched=False))
    assert [without_time(e) for e in one_at_a_time] == [without_time(e) for e in rewired]


def test_a_rewired_genome_travels_whole_between_processes(requests, rewired):
    for request, e in zip(requests, rewired):
        detached = records.loads(records.dumps(records.detach_weights(e, request)))
        assert records.attach_weights(detached, request) == e


def test_rewiring_settings_are_checked():
    with pytest.raises(ValueError, match="rewire_fraction"):
        TrainingSettings(rewire_fraction=1.0)
    with pytest.raises(ValueError, match="rewire_every"):
        TrainingSettings(rewire_every=0)


def test_by_default_a_training_rewires_three_times_whatever_its_length():
    assert [n for n, _ in segments(12, None, 0.3)] == [3, 3, 3, 3]
    assert [n for n, _ in segments(4, None, 0.3)] == [1, 1, 1, 1]
    assert [n for n, _ in segments(2, None, 0.3)] == [1, 1]
