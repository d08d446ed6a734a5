"""The columnar operators give what the per-gene originals gave: the same child genome, the same
random draws and the same innovation numbers, on genomes of every shape the search makes."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import informed, operators
from connevo.search_space.connection_table import Insertion
from connevo.search_space.gene_index import PairIndex, rows_of
from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import HIDDEN_ACTIVATIONS, Limits
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.starts import hidden_layer_genome
from tests.search_space import per_gene_operators as reference

OPERATORS = ["add_connection", "remove_connection", "add_node", "remove_node", "toggle_connection", "share_weights", "unshare_weights", "prune_magnitude", "grow_gradient",
             "add_neuron_gradient", "widen_neuron"]
COLUMNAR = {name: getattr(operators, name, None) or getattr(informed, name) for name in OPERATORS}
PER_GENE = {name: getattr(reference, name) for name in OPERATORS}
LIMITS = (Limits(max_hidden_nodes=40, activations=HIDDEN_ACTIVATIONS), Limits(max_hidden_nodes=3, max_connections=30))


def grown(seed: int, steps: int, as_trained) -> tuple[Genome, InnovationTracker]:
    """A genome grown by every registered operator (hidden neurons, skips, disabled genes,
    shared groups), trained-looking (weights, biases, hints) for odd seeds."""
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = operators.minimal_genome(int(rng.integers(1, 9)), int(rng.integers(1, 4)), rng, tracker,
                                      density=float(rng.uniform(0.2, 1.0)))
    names = sorted(MUTATIONS)
    for _ in range(steps):
        genome = MUTATIONS[names[int(rng.integers(len(names)))]](genome, rng, tracker, LIMITS[0])
    if seed % 2:
        genome = as_trained(genome, rng)
    return genome.validate(), tracker


def same(a: Genome, b: Genome) -> bool:
    return a == b and [vars(x) for x in a.connections] == [vars(x) for x in b.connections]


def views_match_a_fresh_genome(genome: Genome) -> bool:
    """The node views a child took over or extended from its parent are those it would compute."""
    fresh = Genome(genome.nodes, genome.table, genome.regularization, genome.hints)
    names = ("node_by_id", "input_ids", "output_ids", "hidden_ids", "live_nodes")
    arrays = ("node_ids", "node_roles", "live_mask", "effective_mask", "source_positions", "target_positions")
    lookup, fresh_lookup = genome._views.position_of, fresh._views.position_of  # node id -> position
    return (all(getattr(genome, n) == getattr(fresh, n) for n in names)
            and all(np.array_equal(getattr(genome, n), getattr(fresh, n)) for n in arrays)
            and (lookup is None) == (fresh_lookup is None)
            and (lookup is None or np.array_equal(lookup, fresh_lookup)))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60), st.sampled_from(OPERATORS), st.integers(0, 1))
def test_every_operator_matches_its_per_gene_original(as_trained, seed, steps, name, limits):
    genome, tracker = grown(seed, steps, as_trained)
    _ = genome.node_by_id, genome.hidden_ids, genome.input_ids, genome.output_ids, genome.node_roles, genome.live_mask
    twin = copy.deepcopy(tracker)
    rng, rng_twin = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    child = COLUMNAR[name](genome, rng, tracker, LIMITS[limits])
    assert views_match_a_fresh_genome(child)
    expected = PER_GENE[name](genome, rng_twin, twin, LIMITS[limits])
    assert same(child.validate(), expected)
    assert child.hints == expected.hints
    assert rng.random() == rng_twin.random()  # the same draws were taken
    assert tracker.connection(10**6, 10**6 + 1) == twin.connection(10**6, 10**6 + 1)
    assert tracker.new_node() == twin.new_node()


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60), st.integers(0, 60), st.integers(0, 1))
def test_crossover_repair_and_limits_match_their_per_gene_originals(as_trained, seed, steps, other_steps, limits):
    fitter, tracker = grown(seed, steps, as_trained)
    rng = np.random.default_rng(seed + 2)
    other = fitter
    names = sorted(MUTATIONS)
    for _ in range(other_steps):  # a relative: shares most innovation numbers
        other = MUTATIONS[names[int(rng.integers(len(names)))]](other, rng, tracker, LIMITS[0])
    twin = np.random.default_rng(seed + 3)
    rng = np.random.default_rng(seed + 3)
    for parent in (fitter, other):  # parents whose views were computed hand them on where they hold
        _ = parent.effective_mask, parent.live_nodes
    for first, second in ((fitter, other), (other, fitter)):
        child = operators.crossover(first, second, rng)
        assert same(child, reference.crossover(first, second, twin))
        assert views_match_a_fresh_genome(child)
    assert same(operators.repair(other, rng, LIMITS[1]), reference.repair(other, twin, LIMITS[1]))
    assert operators.within_limits(other, LIMITS[limits]) == reference.within_limits(other, LIMITS[limits])
    assert rng.random() == twin.random()


@pytest.mark.parametrize("k", [0, 1, 3, 1000])
def test_the_weakest_rows_are_the_per_gene_weakest_connections(as_trained, k):
    genome, _ = grown(7, 40, as_trained)
    assert informed.weakest_connections(genome, k) == reference.weakest_connections(genome, k)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60), st.integers(0, 80), st.booleans())
def test_the_weakest_mask_holds_the_weakest_rows(as_trained, seed, steps, k, coarse):
    """The sort-free set a prune removes is the set of the sorted weakest rows, ties included
    (coarse weights: many connections share a magnitude)."""
    genome, _ = grown(seed | 1, steps, as_trained)
    if coarse:
        genome = genome.with_table(genome.table.replace(weight=np.round(genome.table.weight * 2) / 2))
    mask = informed.weakest_mask(genome, k)
    assert np.array_equal(np.flatnonzero(mask), np.sort(informed.weakest_rows(genome, k)))


@pytest.mark.parametrize("offset", [0, 2**40])  # small counters (a dense table), rewired innovations (search)
def test_rows_of_finds_each_keys_position_or_minus_one(offset):
    rng = np.random.default_rng(offset % 97)
    present = np.unique(rng.integers(0, 5000, size=800)) + offset
    keys = np.concatenate([present[rng.permutation(len(present))[:300]], rng.integers(0, 6000, size=300) + offset, [-1]])
    expected = [int(np.flatnonzero(present == k)[0]) if k in set(present.tolist()) else -1 for k in keys.tolist()]
    assert rows_of(keys, present).tolist() == expected
    assert rows_of(keys, present[:0]).tolist() == [-1] * len(keys)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_prune_that_kills_a_neuron_pinned_to_coordinates_keeps_it_and_its_rows_stop_counting(k):
    """Neuron 3 is pinned (x, y): cut off from the output it stays, and the row into it is no
    longer effective; neuron 4 is not: cut off, it goes."""
    nodes = [NodeGene(0, "input"), NodeGene(1, "input"), NodeGene(2, "output"),
             NodeGene(3, "hidden", "relu", x=0.5, y=0.5), NodeGene(4, "hidden", "relu")]
    weights = {(0, 3): 0.5, (3, 2): 0.01, (0, 2): 1.0, (1, 2): 1.0, (1, 4): 0.5, (4, 2): 0.02, (0, 4): 0.6}
    genome = Genome(nodes, [ConnectionGene(i, s, t, weight=w) for i, ((s, t), w) in enumerate(weights.items())])
    assert genome.effective_mask.all()
    child = informed.prune_weakest(genome, k)
    assert views_match_a_fresh_genome(child)
    assert 3 in child.node_by_id and not child.live_mask[list(child.node_ids).index(3)]
    assert (4 in child.node_by_id) == (k < 2)


def test_a_crossover_that_re_enables_split_genes_takes_over_its_parents_masks():
    rng, tracker = np.random.default_rng(5), InnovationTracker()
    fitter = operators.minimal_genome(6, 3, rng, tracker, density=1.0)
    for _ in range(4):  # each split disables the gene it splits; the neuron keeps both ends live
        fitter = operators.add_node(fitter, rng, tracker)
    other = operators.remove_connection(fitter, rng, tracker)
    _ = fitter.effective_mask, fitter.live_nodes
    re_enabled = 0
    for seed in range(20):
        child = operators.crossover(fitter, other, np.random.default_rng(seed))
        if np.array_equal(child.table.enabled, fitter.table.enabled):
            continue
        re_enabled += 1
        assert {"live_mask", "effective_mask"} <= child.__dict__.keys()  # taken over, not searched again
        assert views_match_a_fresh_genome(child)
    assert re_enabled


@pytest.mark.parametrize("grown_pair", ["dead neuron -> output", "input -> dead neuron", "input -> output"])
def test_a_grown_genomes_views_are_exact_when_growth_revives_or_feeds_a_dead_neuron(as_trained, grown_pair):
    """Growing extends the parent's live and effective masks only where they hold: a connection
    out of a dead neuron revives it and the input that feeds only it; one into it changes nothing."""
    rng = np.random.default_rng(5)
    tracker = InnovationTracker()
    genome = hidden_layer_genome(4, 2, 3, rng, tracker, input_density=1.0)
    dead, first_input, last_input = genome.hidden_ids[0], genome.input_ids[0], genome.input_ids[-1]
    output = genome.output_ids[0]
    table = genome.table
    genome = genome.with_table(table.take((table.source != dead)
                                          & ((table.source != first_input) | (table.target != dead))
                                          & ((table.source != last_input) | (table.target == dead))))
    genome = as_trained(genome, rng)
    _ = genome.effective_mask, genome.live_nodes
    assert dead not in genome.live_nodes and not genome.live_mask[genome.positions(np.array([last_input]))[0]]
    source, target = {"dead neuron -> output": (dead, output), "input -> dead neuron": (first_input, dead),
                      "input -> output": (first_input, output)}[grown_pair]
    if grown_pair == "input -> output":
        genome = genome.with_table(genome.table.take((genome.table.source != source) | (genome.table.target != target)))
        _ = genome.effective_mask, genome.live_nodes
    hinted = genome.replace(hints=replace(genome.hints, grow=((source, target, 1.0),)))
    child = informed.grow_gradient(hinted, rng, tracker, LIMITS[0])
    assert len(child.table) == len(genome.table) + 1
    assert views_match_a_fresh_genome(child)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60))
def test_the_live_mask_over_some_rows_is_that_of_the_genome_of_those_rows(as_trained, seed, steps):
    genome, _ = grown(seed, steps, as_trained)
    rows = np.random.default_rng(seed).random(len(genome.table)) < 0.6
    fewer = Genome(genome.nodes, genome.table.take(rows), genome.regularization)
    assert np.array_equal(genome.live_mask_over(rows), fewer.live_mask)
    assert np.array_equal(genome.live_mask_over(None), genome.live_mask)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60))
def test_the_pair_index_tells_present_pairs_as_its_row_lookup_does(as_trained, seed, steps):
    genome, _ = grown(seed, steps, as_trained)
    pairs = PairIndex(genome)
    rng = np.random.default_rng(seed)
    ids = np.concatenate([genome.node_ids, [-1, 10**6]])
    sources, targets = rng.choice(ids, size=50), rng.choice(ids, size=50)
    known = min(10, len(genome.table))
    sources[:known], targets[:known] = genome.table.source[:known], genome.table.target[:known]
    expected = [pairs.row(s, t) is not None for s, t in zip(sources.tolist(), targets.tolist())]
    assert pairs.present(sources, targets).tolist() == expected


def test_a_mask_of_another_length_selects_no_rows():
    genome, _ = grown(3, 10, lambda g, rng: g)
    with pytest.raises(IndexError, match="mask of"):
        genome.table.take(np.ones(len(genome.table) + 1, dtype=bool))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 50), max_size=30), st.lists(st.integers(0, 60), max_size=8))
def test_an_insertion_puts_rows_where_a_stable_sort_of_both_would(old, new):
    old_keys, new_keys = np.sort(np.array(old, dtype=np.int64)), np.array(new, dtype=np.int64)
    insertion = Insertion.of(old_keys, new_keys)
    tags = np.arange(len(old_keys) + len(new_keys))  # which row went where, ties included
    expected = np.argsort(np.concatenate([old_keys, new_keys]), kind="stable")
    assert np.array_equal(insertion.merged(old_keys, new_keys), np.concatenate([old_keys, new_keys])[expected])
    assert np.array_equal(insertion.merged(tags[:len(old_keys)], tags[len(old_keys):]), expected)
