"""Variation operators are pure, seeded and always return valid genomes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import (
    Genome,
    InnovationTracker,
    Limits,
    add_connection,
    add_node,
    change_activation,
    crossover,
    crossover_coins,
    measure,
    minimal_genome,
    remove_connection,
)
from connevo.search_space.compile import compile_genome
from connevo.search_space.mutations import MUTATIONS


def start(seed=0, density=0.5) -> tuple[Genome, np.random.Generator, InnovationTracker]:
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    return minimal_genome(5, 3, rng, tracker, density=density), rng, tracker


def test_add_node_splits_a_connection_and_disables_it():
    genome, rng, tracker = start()
    child = add_node(genome, rng, tracker)
    assert len(child.hidden_ids) == 1
    new = child.hidden_ids[0]
    disabled = [c for c in child.connections if not c.enabled]
    assert len(disabled) == 1
    into = [c for c in child.connections if c.target == new]
    out = [c for c in child.connections if c.source == new]
    assert (into[0].source, out[0].target) == (disabled[0].source, disabled[0].target)
    assert into[0].innovation not in {c.innovation for c in genome.connections}


def test_splitting_a_trained_connection_carries_its_weight_through_the_new_neuron():
    genome, rng, tracker = start()
    trained = genome.with_connections([c.__class__(c.innovation, c.source, c.target, c.enabled, 0.5 + c.innovation)
                                       for c in genome.connections])
    child = add_node(trained, rng, tracker)
    (split,) = [c for c in child.connections if not c.enabled]
    new = child.hidden_ids[0]
    (into,) = [c for c in child.connections if c.target == new]
    (out,) = [c for c in child.connections if c.source == new]
    assert (into.weight, out.weight) == (1.0, split.weight)
    untrained = add_node(genome, np.random.default_rng(0), InnovationTracker())
    assert all(c.weight is None for c in untrained.connections)


def test_same_split_in_one_generation_gets_the_same_numbers():
    tracker = InnovationTracker()
    genome = minimal_genome(2, 1, np.random.default_rng(0), tracker, density=1.0)
    a = add_node(genome, np.random.default_rng(5), tracker)
    b = add_node(genome, np.random.default_rng(5), tracker)
    assert a == b
    tracker.next_generation()
    c = add_node(genome, np.random.default_rng(5), tracker)
    assert c.hidden_ids != a.hidden_ids


def test_add_and_remove_connection_change_the_count_by_one():
    genome, rng, tracker = start(density=0.3)
    grown = add_connection(genome, rng, tracker)
    assert len(grown.enabled_connections) == len(genome.enabled_connections) + 1
    shrunk = remove_connection(grown, rng, tracker)
    assert len(shrunk.enabled_connections) == len(genome.enabled_connections)


def test_limits_are_respected():
    genome, rng, tracker = start(density=1.0)
    limits = Limits(max_hidden_nodes=2, max_connections=16)
    for _ in range(50):
        genome = add_node(genome, rng, tracker, limits)
        genome = add_connection(genome, rng, tracker, limits)
    assert len(genome.hidden_ids) <= 2
    assert len(genome.enabled_connections) <= 16


def test_change_activation_picks_another_allowed_activation():
    genome, rng, tracker = start()
    genome = add_node(genome, rng, tracker)
    before = genome.node_by_id[genome.hidden_ids[0]].activation
    after = change_activation(genome, rng, tracker).node_by_id[genome.hidden_ids[0]].activation
    assert after != before


def test_operators_are_deterministic_given_the_generator():
    results = []
    for _ in range(2):
        genome, rng, tracker = start(seed=7)
        for name in ["add_node", "add_connection", "remove_connection", "change_activation"] * 5:
            genome = MUTATIONS[name](genome, rng, tracker)
        results.append(genome)
    assert results[0] == results[1]


def test_crossover_takes_disjoint_genes_from_the_fitter_parent():
    genome, rng, tracker = start(density=1.0)
    fitter = add_node(genome, rng, tracker)
    other = remove_connection(genome, rng, tracker)
    child = crossover(fitter, other, np.random.default_rng(1))
    assert {c.innovation for c in child.connections} == {c.innovation for c in fitter.connections}
    assert child.nodes == fitter.nodes
    child.validate()


def test_crossover_draws_a_fair_pick_and_neats_three_quarters_per_gene():
    """Over 10^5 genes: the other parent's gene is taken half the time, a disabled gene stays
    disabled three times in four, the two independent; the same seed draws the same coins."""
    take_other, stay_disabled = crossover_coins(np.random.default_rng(3), 100_000)
    assert len(take_other) == len(stay_disabled) == 100_000
    assert abs(take_other.mean() - 0.5) < 0.01 and abs(stay_disabled.mean() - 0.75) < 0.01
    assert abs((take_other & stay_disabled).mean() - 0.375) < 0.01
    again = crossover_coins(np.random.default_rng(3), 100_000)
    assert np.array_equal(again[0], take_other) and np.array_equal(again[1], stay_disabled)
    assert [len(c) for c in crossover_coins(np.random.default_rng(3), 0)] == [0, 0]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ops=st.lists(st.sampled_from(sorted(MUTATIONS) + ["crossover"]), min_size=1, max_size=40),
    density=st.floats(0.05, 1.0),
)
def test_any_sequence_of_operators_yields_a_valid_genome_with_consistent_costs(seed, ops, density):
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = minimal_genome(4, 2, rng, tracker, density=density)
    partner = genome
    for i, name in enumerate(ops):
        if name == "crossover":
            genome = crossover(genome, partner, rng)
        else:
            partner, genome = genome, MUTATIONS[name](genome, rng, tracker)
        if i % 7 == 0:
            tracker.next_generation()
        Genome.from_json(genome.to_json())  # validates
    net = compile_genome(genome)
    assert measure(genome).params == net.effective_parameter_count()


def test_remove_node_takes_its_connections_with_it():
    genome, rng, tracker = start(density=1.0)
    grown = add_node(genome, rng, tracker)
    node = grown.hidden_ids[0]
    from connevo.search_space import remove_node

    shrunk = remove_node(grown, rng, tracker)
    assert shrunk.hidden_ids == ()
    assert all(node not in (c.source, c.target) for c in shrunk.connections)


def test_toggle_flips_one_flag_and_never_disables_the_last_connection():
    from connevo.search_space import toggle_connection

    genome, rng, tracker = start(density=0.5)
    toggled = toggle_connection(genome, rng, tracker)
    flips = [a.enabled != b.enabled for a, b in zip(genome.connections, toggled.connections)]
    assert sum(flips) == 1
    single = minimal_genome(1, 1, rng, InnovationTracker())
    assert toggle_connection(single, rng, tracker) == single


def test_regularization_mutation_stays_in_bounds():
    from connevo.search_space import mutate_regularization
    from connevo.search_space.operators import REGULARIZATION_BOUNDS

    genome, rng, tracker = start()
    for _ in range(300):
        genome = mutate_regularization(genome, rng, tracker)
        for name, (low, high) in REGULARIZATION_BOUNDS.items():
            assert low <= getattr(genome.regularization, name) <= high
    assert genome.regularization.weight_decay > 0 or genome.regularization.dropout > 0


def test_share_and_unshare_weights_change_params_not_connections():
    from connevo.search_space import share_weights, unshare_weights

    genome, rng, tracker = start(density=1.0)
    shared = share_weights(genome, rng, tracker)
    assert measure(shared).connections == measure(genome).connections
    assert measure(shared).params == measure(genome).params - 1
    assert measure(unshare_weights(shared, rng, tracker)).params == measure(genome).params


def test_repair_brings_a_genome_within_the_limits():
    from connevo.search_space import repair, within_limits

    genome, rng, tracker = start(density=1.0)
    for _ in range(6):
        genome = add_node(genome, rng, tracker)
    limits = Limits(max_hidden_nodes=2, max_connections=5, activations=("tanh",))
    assert not within_limits(genome, limits)
    fixed = repair(genome, rng, limits)
    assert within_limits(fixed, limits)
    fixed.validate()


def test_repair_removes_neurons_of_the_deepest_hidden_layer_until_the_network_is_shallow_enough():
    from connevo.search_space import repair, within_limits
    from connevo.search_space.layout import layered_layout

    genome, rng, tracker = start(density=1.0)
    for _ in range(30):  # splits of splits: a deep chain somewhere
        genome = add_node(genome, rng, tracker)
    layout = layered_layout(genome)
    assert layout.n_layers >= 4
    limits = Limits(max_hidden_nodes=64, max_layers=2)
    assert not within_limits(genome, limits)
    fixed = repair(genome, np.random.default_rng(1), limits)
    fixed.validate()
    assert within_limits(fixed, limits) and layered_layout(fixed).n_layers == 2
    deep = {n for layer in layout.layers[2:-1] for n in layer}
    removed = set(genome.hidden_ids) - set(fixed.hidden_ids)
    assert removed and removed <= deep  # only neurons above the allowed depth went
    assert set(genome.input_ids) == set(fixed.input_ids) and set(genome.output_ids) == set(fixed.output_ids)


def test_a_limit_of_layers_below_one_is_refused():
    with pytest.raises(ValueError, match="max_layers"):
        Limits(max_layers=0)


def reference_add_connection(genome, rng, innovations, limits, attempts=20):
    """The specification of one add-connection step, written plainly (a fresh gene index and a
    full cycle check per step)."""
    from dataclasses import replace

    from connevo.search_space import graph
    from connevo.search_space.fixed_layouts import adjacent_pairs
    from connevo.search_space.genome import ConnectionGene

    if limits.max_connections is not None and len(genome.enabled_connections) >= limits.max_connections:
        return genome
    existing = {(c.source, c.target): c for c in genome.connections}

    def enable(gene):
        return genome.with_connections([replace(c, enabled=True) if c is gene else c for c in genome.connections])

    def add(source, target):
        return genome.with_connections((*genome.connections, ConnectionGene(innovations.connection(source, target), source, target)))

    if limits.fixed_layout:
        pairs = [p for p in adjacent_pairs(list(genome.nodes)) if p not in existing or not existing[p].enabled]
        if not pairs:
            return genome
        source, target = pairs[int(rng.integers(len(pairs)))]
        return enable(existing[source, target]) if (source, target) in existing else add(source, target)
    sources = [n.id for n in genome.nodes if n.role != "output"]
    targets = [n.id for n in genome.nodes if n.role != "input"]
    for _ in range(attempts):
        source = sources[int(rng.integers(len(sources)))]
        target = targets[int(rng.integers(len(targets)))]
        gene = existing.get((source, target))
        if gene is not None:
            if gene.enabled:
                continue
            return enable(gene)
        if graph.creates_cycle(list(existing), (source, target)):
            continue
        return add(source, target)
    return genome


def reference_remove_connection(genome, rng, innovations, limits):
    enabled = genome.enabled_connections
    if len(enabled) <= 1:
        return genome
    victim = enabled[int(rng.integers(len(enabled)))]
    return genome.with_connections([c for c in genome.connections if c is not victim])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), count=st.integers(0, 40), cap=st.sampled_from([None, 25, 60]),
       fixed=st.booleans())
def test_many_additions_or_removals_in_one_pass_equal_as_many_plain_single_steps(seed, count, cap, fixed):
    from connevo.search_space.fixed_layouts import fixed_layout_genome
    from connevo.search_space.operators import add_connections, remove_connections

    def grown(rng, tracker):
        if fixed:
            return fixed_layout_genome("retina", rng, tracker, density=0.3)
        genome = minimal_genome(6, 3, rng, tracker, density=0.4)
        for _ in range(8):
            genome = add_node(genome, rng, tracker)
        return genome

    limits = Limits(max_connections=cap, fixed_layout=fixed)
    for many, one in ((add_connections, reference_add_connection), (remove_connections, reference_remove_connection)):
        results = []
        for batched in (True, False):
            rng, tracker = np.random.default_rng(seed), InnovationTracker()
            genome = grown(rng, tracker)
            if batched:
                genome = many(genome, rng, tracker, limits, count)
            else:
                for _ in range(count):
                    genome = one(genome, rng, tracker, limits)
            results.append((genome, tracker.state(), rng.bit_generator.state, rng.random()))
        assert results[0] == results[1]
        results[0][0].validate()
