"""Lamarckian weight inheritance: a child starts from its parent's trained weights."""

import dataclasses

import numpy as np
import pytest

from connevo.search_space import InnovationTracker
from connevo.search_space.genome import ConnectionGene
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import Limits
from connevo.workers import EvaluationRequest, Status, TrainingSettings, train
from tests.support import random_genomes

COLD = TrainingSettings(epochs=6, batch_size=16, learning_rate=0.02)
WARM = dataclasses.replace(COLD, inherit_weights=True, inherited_epochs=0)
PATHS = {"batched": True, "one at a time": False}


@pytest.fixture(scope="module")
def parents(wine):
    """Trained parents of assorted topologies (hidden nodes, skips, shared groups, dropout)."""
    genomes = random_genomes(wine, 8, seed=11)
    done = train([EvaluationRequest(f"p{i}", g, 100 + i) for i, g in enumerate(genomes)], wine, COLD)
    assert all(e.ok for e in done), [e.error for e in done]
    return done


@pytest.mark.parametrize("path", PATHS)
def test_a_child_identical_to_its_parent_starts_at_the_parents_accuracy(wine, parents, path):
    settings = dataclasses.replace(WARM, batched=PATHS[path])
    children = [EvaluationRequest(f"c{i}", p.trained_genome, 999 + i) for i, p in enumerate(parents)]
    started = train(children, wine, settings)
    for parent, child in zip(parents, started):
        assert child.status is Status.OK and child.epochs == 0
        for part in ("train", "val", "test"):
            assert getattr(child, f"{part}_accuracy") == getattr(parent, f"{part}_accuracy")
            assert getattr(child, f"{part}_loss") == pytest.approx(getattr(parent, f"{part}_loss"), abs=1e-6)


def test_without_inheritance_the_same_child_starts_from_scratch(wine, parents):
    settings = dataclasses.replace(WARM, inherit_weights=False, epochs=1, inherited_epochs=None)
    fresh = train([EvaluationRequest(f"c{i}", p.trained_genome, 999 + i) for i, p in enumerate(parents)], wine, settings)
    assert all(f.epochs == 1 for f in fresh)
    assert np.mean([f.val_loss for f in fresh]) > np.mean([p.val_loss for p in parents]) + 0.05


def test_a_warm_child_trains_inherited_epochs_and_a_cold_one_epochs_in_one_chunk(wine, parents):
    settings = dataclasses.replace(WARM, inherited_epochs=2)
    cold = parents[0].trained_genome.with_connections(
        [dataclasses.replace(c, weight=None) for c in parents[0].trained_genome.connections])
    done = train([EvaluationRequest("warm", parents[1].trained_genome, 5), EvaluationRequest("cold", cold, 6)], wine, settings)
    assert [e.epochs for e in done] == [2, COLD.epochs]


@pytest.mark.parametrize("path", PATHS)
def test_new_connections_start_small_so_a_mutated_child_starts_near_its_parent(wine, parents, path):
    settings = dataclasses.replace(WARM, batched=PATHS[path])
    rng = np.random.default_rng(5)
    tracker = InnovationTracker(next_innovation=10_000, next_node_id=10_000)
    children = []
    for parent in parents:
        genome = parent.trained_genome
        for _ in range(3):
            genome = MUTATIONS["add_connection"](genome, rng, tracker, Limits(max_hidden_nodes=64))
        assert any(c.weight is None for c in genome.effective_connections)
        children.append(EvaluationRequest("c", genome, 7))
    started = train(children, wine, settings)
    gaps = [abs(c.val_accuracy - p.val_accuracy) for c, p in zip(started, parents)]
    assert np.mean(gaps) < 0.05, gaps
    assert np.mean([c.val_accuracy for c in started]) > 0.8


def test_a_warm_started_child_trains_the_same_alone_and_in_a_chunk(wine, parents):
    rng = np.random.default_rng(9)
    tracker = InnovationTracker(next_innovation=20_000, next_node_id=20_000)
    requests = []
    for i, parent in enumerate(parents):
        genome = MUTATIONS["add_node"](parent.trained_genome, rng, tracker, Limits(max_hidden_nodes=64))
        requests.append(EvaluationRequest(f"c{i}", genome, 40 + i))
    settings = dataclasses.replace(WARM, inherited_epochs=2)
    batched = train(requests, wine, settings)
    single = train(requests, wine, dataclasses.replace(settings, batched=False))
    for b, s in zip(batched, single):
        assert b.status is s.status is Status.OK and b.epochs == s.epochs == 2
        assert dataclasses.replace(b, seconds=0.0) == dataclasses.replace(s, seconds=0.0)


def test_the_trained_child_carries_its_weights_for_the_next_generation(wine, parents):
    settings = dataclasses.replace(WARM, inherited_epochs=1)
    (child,) = train([EvaluationRequest("c", parents[0].trained_genome, 3)], wine, settings)
    before = {c.innovation: c.weight for c in parents[0].trained_genome.effective_connections}
    after = {c.innovation: c.weight for c in child.trained_genome.effective_connections}
    assert before.keys() == after.keys() and all(isinstance(w, float) for w in after.values())
    assert before != after  # one more epoch moved them


def test_inherited_epochs_must_not_exceed_epochs() -> None:
    with pytest.raises(ValueError, match="inherited_epochs"):
        TrainingSettings(epochs=3, inherit_weights=True, inherited_epochs=4)
    assert ConnectionGene(1, 0, 2).weight is None
