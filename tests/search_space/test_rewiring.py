"""Rewiring at a fixed budget: the weakest connections out, the largest-gradient absent ones in."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.search_space.hints import StructureHints
from connevo.search_space.innovation import REWIRED_INNOVATIONS, rewired_innovation
from connevo.search_space.rewiring import rewire, rewire_count
from connevo.search_space.starts import hidden_layer_genome


@pytest.fixture
def linear(as_trained):
    """A trained-looking sparse linear network, 10 inputs -> 3 outputs, with honest hints:
    absent input -> output pairs, the largest gradient first."""
    rng = np.random.default_rng(7)
    genome = as_trained(minimal_genome(10, 3, rng, InnovationTracker(), 0.4), rng)
    present = {(c.source, c.target) for c in genome.connections}
    absent = [(i, o) for i in range(10) for o in (10, 11, 12) if (i, o) not in present]
    order = rng.permutation(len(absent))
    grow = tuple((absent[k][0], absent[k][1], 1.0 / (1 + r)) for r, k in enumerate(order))
    return genome.replace(hints=StructureHints(grow=grow))


def test_rewire_swaps_the_k_weakest_for_the_k_largest_gradients_at_weight_zero(linear):
    k = rewire_count(linear, 0.25)
    assert k >= 2
    child = rewire(linear, 0.25)
    before = {c.innovation: c for c in linear.connections}
    after = {c.innovation: c for c in child.connections}
    dropped = [before[i] for i in before.keys() - after.keys()]
    grown = [after[i] for i in after.keys() - before.keys()]
    assert len(dropped) == len(grown) == k
    assert len(child.effective_connections) == len(linear.effective_connections)  # the budget holds
    assert max(abs(c.weight) for c in dropped) <= min(abs(c.weight) for c in child.connections if c.innovation in before)
    assert {(c.source, c.target) for c in grown} == {(s, t) for s, t, _ in linear.hints.grow[:k]}
    assert all(c.weight == 0.0 and c.enabled and c.innovation >= REWIRED_INNOVATIONS for c in grown)
    assert child.hints is None  # the hints described the network before
    child.validate()


def test_kept_connections_keep_their_trained_weights(linear):
    child = rewire(linear, 0.3)
    before = {c.innovation: c.weight for c in linear.connections}
    assert all(c.weight == before[c.innovation] for c in child.connections if c.innovation in before)


def test_no_rewiring_without_a_share_hints_or_weights(linear):
    assert rewire(linear, 0.0) is linear
    unhinted = linear.replace(hints=None)
    assert rewire(unhinted, 0.5) is unhinted
    untrained = linear.with_connections([replace(c, weight=None) for c in linear.connections])
    assert rewire(untrained, 0.5) is untrained


def test_with_fewer_usable_hints_fewer_connections_drop(linear):
    few = linear.replace(hints=StructureHints(grow=linear.hints.grow[:1]))
    child = rewire(few, 0.5)
    assert len(child.connections) == len(linear.connections)
    assert len({c.innovation for c in linear.connections} - {c.innovation for c in child.connections}) == 1


def test_hints_naming_present_pairs_cycles_or_inputs_as_targets_are_skipped():
    rng = np.random.default_rng(1)
    tracker = InnovationTracker()
    genome = hidden_layer_genome(4, 2, 2, rng, tracker, input_density=1.0)
    genome = genome.with_connections([replace(c, weight=float(w)) for c, w in
                                      zip(genome.connections, rng.normal(size=len(genome.connections)) + 3)])
    h0, h1 = genome.hidden_ids
    out = genome.output_ids[0]
    present = next(c for c in genome.connections)
    bad = ((present.source, present.target, 9.0), (out, h0, 8.0), (h0, 0, 7.0), (h0, h0, 6.0))
    hinted = genome.replace(hints=StructureHints(grow=(*bad, (h0, h1, 1.0))))
    child = rewire(hinted, 0.1)
    grown = {(c.source, c.target) for c in child.connections} - {(c.source, c.target) for c in genome.connections}
    assert grown == {(h0, h1)}
    child.validate()


def test_shared_weight_connections_are_never_dropped(linear):
    shared = linear.with_connections([replace(c, group=0, weight=1e-9) if k < 2 else c
                                      for k, c in enumerate(linear.connections)])
    child = rewire(shared, 0.5)
    assert {c.innovation for c in shared.connections if c.group is not None} <= {c.innovation for c in child.connections}


def test_rewired_innovations_name_the_pair_and_stay_apart_from_the_tracker():
    pairs = [(s, t) for s in range(40) for t in range(40)]
    numbers = [rewired_innovation(s, t) for s, t in pairs]
    assert len(set(numbers)) == len(numbers)
    assert rewired_innovation(3, 5) == rewired_innovation(3, 5) >= REWIRED_INNOVATIONS
    with pytest.raises(ValueError, match="node ids"):
        rewired_innovation(-1, 2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.01, 0.95))
def test_rewiring_any_trained_genome_gives_a_valid_genome_within_its_budget(as_trained, seed, fraction):
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = hidden_layer_genome(5, 3, int(rng.integers(1, 4)), rng, tracker, input_density=0.6)
    genome = as_trained(genome, rng, grow=20)
    child = rewire(genome, fraction)
    child.validate()
    assert len(child.effective_connections) <= len(genome.effective_connections)
    assert len(child.connections) <= len(genome.connections)
