"""Training-informed operators: what each one promises, and valid genomes whatever they meet."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.errors import GenomeError
from connevo.search_space import Genome, InnovationTracker, Limits, add_node, crossover, measure, minimal_genome
from connevo.search_space.compile import compile_genome
from connevo.search_space.hints import StructureHints
from connevo.search_space.informed import (
    SELECTION_SAMPLE,
    add_neuron_gradient,
    grow_gradient,
    kth_smallest,
    prune_magnitude,
    prune_weakest,
    weakest_mask,
    widen_neuron,
)
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.starts import hidden_layer_genome


def outputs(genome: Genome, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return compile_genome(genome, use_genome_weights=True)(x)


@pytest.fixture
def network(as_trained):
    """A trained-looking 6-input, 3-output network with a hidden layer of 4 and direct links."""
    rng = np.random.default_rng(3)
    tracker = InnovationTracker()
    genome = hidden_layer_genome(6, 3, 4, rng, tracker, input_density=0.7)
    genome = genome.with_connections([*genome.connections, *minimal_genome(6, 3, rng, tracker, 0.3).connections])
    return as_trained(genome.validate(), rng), tracker


def test_prune_removes_exactly_the_k_weakest_connections(as_trained):
    rng = np.random.default_rng(0)
    genome = as_trained(minimal_genome(8, 3, rng, InnovationTracker(), 1.0), rng)  # no neuron can die
    for k in (1, 5, 23):
        child = prune_weakest(genome, k)
        removed = {c.innovation for c in genome.connections} - {c.innovation for c in child.connections}
        assert len(removed) == k
        assert max(abs(c.weight) for c in genome.connections if c.innovation in removed) <= min(
            abs(c.weight) for c in child.connections)


def magnitudes(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes of a few shapes: trained-looking, few distinct values (ties), sorted,
    misleading to a strided sample (every sampled position holds the smallest value), and with a
    share infinite (how a prune marks the rows it may not remove)."""
    values = np.abs(rng.normal(size=n))
    if kind == "ties":
        values = np.round(values, 1)
    elif kind == "sorted":
        values = np.sort(values)
    elif kind == "misleading":
        values[:: max(1, n // SELECTION_SAMPLE)] = 0.0
    elif kind == "infinite":
        values[rng.random(n) < 0.3] = np.inf
    return values


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(["normal", "ties", "sorted", "misleading", "infinite"]),
       st.sampled_from([1, 100, 8 * SELECTION_SAMPLE, 30_000]), st.floats(0.0, 1.0), st.integers(0, 2**32))
def test_the_kth_smallest_magnitude_is_numpys_partition(kind, n, share, seed):
    values = magnitudes(kind, n, np.random.default_rng(seed))
    k = 1 + round(share * (n - 1))
    assert kth_smallest(values, k) == np.partition(values, k - 1)[k - 1]


@pytest.mark.parametrize("share", [0.05, 0.5])
def test_a_prune_of_a_wide_network_removes_exactly_the_weakest(as_trained, share):
    rng = np.random.default_rng(1)
    genome = as_trained(minimal_genome(1000, 10, rng, InnovationTracker(), 1.0), rng)  # 10^4 connections
    k = round(share * len(genome.table))
    mask = weakest_mask(genome, k)
    magnitude = np.abs(genome.table.weight)
    assert mask.sum() == k and magnitude[mask].max() <= magnitude[~mask].min()


def test_prune_magnitude_prunes_a_drawn_share_of_the_weakest(network):
    genome, tracker = network
    n = len(genome.effective_connections)
    sizes = set()
    for seed in range(20):
        child = prune_magnitude(genome, np.random.default_rng(seed), tracker)
        k = next(k for k in range(1, n) if prune_weakest(genome, k) == child)
        sizes.add(k)
    assert len(sizes) > 3  # the share is drawn


def test_prune_drops_the_neurons_it_cut_off_from_the_outputs(network):
    genome, tracker = network
    hidden = genome.hidden_ids[0]
    weak = genome.with_connections([replace(c, weight=1e-6) if c.source == hidden else c for c in genome.connections])
    child = prune_magnitude(weak, np.random.default_rng(0), tracker)
    assert hidden not in child.node_by_id
    assert all(hidden not in (c.source, c.target) for c in child.connections)


def test_prune_needs_trained_weights(network):
    genome, tracker = network
    untrained = genome.with_connections([replace(c, weight=None) for c in genome.connections])
    assert prune_magnitude(untrained, np.random.default_rng(0), tracker) is untrained


def test_grown_connections_are_the_first_legal_gradient_hints_at_weight_zero(network):
    genome, tracker = network
    existing = {(c.source, c.target) for c in genome.connections}
    legal = [(s, t) for s, t, _ in genome.hints.grow
             if (s, t) not in existing and s != t and genome.node_by_id[s].role != "output"
             and genome.node_by_id[t].role != "input"]
    for seed in range(10):
        child = grow_gradient(genome, np.random.default_rng(seed), tracker)
        grown = [(c.source, c.target) for c in child.connections if (c.source, c.target) not in existing]
        assert grown and grown == [p for p in legal if p in set(grown)]
        assert set(grown) <= set(legal[: len(grown) + 4])  # only cycles may skip a hint
        assert all(c.weight == 0.0 for c in child.connections if (c.source, c.target) in set(grown))
        x = torch.randn(32, 6)
        assert torch.allclose(outputs(child, x), outputs(genome, x), atol=1e-5)  # layers may regroup


def test_grow_respects_the_connection_limit(network):
    genome, tracker = network
    cap = len(genome.enabled_connections) + 1
    child = grow_gradient(genome, np.random.default_rng(0), tracker, Limits(max_connections=cap))
    assert len(child.enabled_connections) <= cap


def test_a_gradmax_neuron_reads_the_proposed_inputs_and_changes_no_output(network):
    genome, tracker = network
    x = torch.randn(64, 6)
    for seed in range(10):
        child = add_neuron_gradient(genome, np.random.default_rng(seed), tracker)
        (new,) = set(child.hidden_ids) - set(genome.hidden_ids)
        fan_in = [c for c in child.connections if c.target == new]
        fan_out = [c for c in child.connections if c.source == new]
        proposed = [n for n, _ in genome.hints.neuron_in]
        assert [c.source for c in sorted(fan_in, key=lambda c: proposed.index(c.source))] == proposed[: len(fan_in)]
        assert fan_out and all(c.weight == 0.0 for c in fan_out)
        assert sum(c.weight ** 2 for c in fan_in) == pytest.approx(1.0)
        assert torch.allclose(outputs(child, x), outputs(genome, x), atol=1e-6)


def test_widening_copies_a_neuron_and_changes_no_output(network):
    genome, tracker = network
    x = torch.randn(64, 6)
    for seed in range(10):
        child = widen_neuron(genome, np.random.default_rng(seed), tracker)
        (copy,) = set(child.hidden_ids) - set(genome.hidden_ids)
        sources = {c.source for c in child.connections if c.target == copy}
        assert any({c.source for c in genome.effective_connections if c.target == h} == sources for h in genome.hidden_ids)
        assert torch.allclose(outputs(child, x), outputs(genome, x), atol=1e-5)


def test_informed_operators_leave_a_genome_without_hints_or_weights_alone():
    tracker = InnovationTracker()
    genome = minimal_genome(4, 2, np.random.default_rng(0), tracker, 1.0)
    for name in ("prune_magnitude", "grow_gradient", "add_neuron_gradient"):
        assert MUTATIONS[name](genome, np.random.default_rng(0), tracker) is genome


def test_hints_round_trip_through_json_and_bad_hints_are_named(network):
    genome, _ = network
    assert Genome.from_json(genome.to_json()) == genome
    data = genome.to_dict()
    data["hints"]["grow"][0][2] = float("nan")
    with pytest.raises(GenomeError, match="finite"):
        Genome.from_dict(data)
    data["hints"] = {"grow": [], "shrink": []}
    with pytest.raises(GenomeError, match="shrink"):
        Genome.from_dict(data)
    assert StructureHints.from_dict({}) == StructureHints()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ops=st.lists(st.sampled_from(sorted(MUTATIONS) + ["crossover", "retrain"]), min_size=1, max_size=30),
    density=st.floats(0.05, 1.0),
)
def test_any_sequence_with_informed_operators_yields_a_valid_genome(as_trained, seed, ops, density):
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = as_trained(add_node(minimal_genome(4, 2, rng, tracker, density=density), rng, tracker), rng)
    partner = genome
    limits = Limits(max_hidden_nodes=6, max_connections=30)
    for name in ops:
        if name == "crossover":
            genome = crossover(genome, partner, rng)
        elif name == "retrain":
            genome = as_trained(genome, rng)
        else:
            partner, genome = genome, MUTATIONS[name](genome, rng, tracker, limits)
        Genome.from_json(genome.to_json())  # validates
        assert len(genome.hidden_ids) <= limits.max_hidden_nodes
    assert measure(genome).params == compile_genome(genome).effective_parameter_count()
