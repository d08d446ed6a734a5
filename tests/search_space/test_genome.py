"""A genome is plain data that validates itself and round-trips through versioned JSON."""

import copy
import gc
import json
import pickle
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ray import cloudpickle  # what Ray pickles requests and results with

from connevo.errors import GenomeError
from connevo.search_space import ConnectionGene, Genome, InnovationTracker, NodeGene, layered_layout, minimal_genome
from connevo.search_space.genome import Regularization, _plain_connections
from connevo.search_space.hints import StructureHints
from tests.support import random_genome


def tiny() -> Genome:
    nodes = (NodeGene(0, "input"), NodeGene(1, "input"), NodeGene(2, "output"), NodeGene(3, "hidden", "relu"))
    conns = (ConnectionGene(0, 0, 3), ConnectionGene(1, 3, 2), ConnectionGene(2, 1, 2, enabled=False))
    return Genome(nodes, conns).validate()


def test_json_round_trip_keeps_every_gene():
    genome = tiny()
    again = Genome.from_json(genome.to_json())
    assert again == genome
    data = json.loads(genome.to_json())
    assert data["format"] == "connevo.genome" and data["version"] == 1


def same_genes(a: Genome, b: Genome) -> bool:
    """Equal genomes whose every gene field has the same Python type too (1 is not 1.0)."""
    pairs = [*zip(a.nodes, b.nodes), *zip(a.connections, b.connections)]
    return a == b and all(type(x) is type(y) and [type(v) for v in vars(x).values()] == [type(v) for v in
                          vars(y).values()] for x, y in pairs)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 80), st.sampled_from(["none", "float", "mixed"]))
def test_a_pickled_genome_comes_back_with_every_gene_and_type(seed, steps, weights):
    genome = random_genome(seed, steps)
    rng = np.random.default_rng(seed)
    if weights != "none":
        genes = [ConnectionGene(c.innovation, c.source, c.target, c.enabled,
                                None if weights == "mixed" and i % 3 == 0 else float(rng.normal()), c.group)
                 for i, c in enumerate(genome.connections)]
        genome = genome.with_connections(genes)
    genome = Genome(genome.nodes, genome.connections, genome.regularization,
                    StructureHints(grow=((0, 7, 0.5),), neuron_in=((1, -0.25),), neuron_out=((6, 0.125),)))
    for again in (pickle.loads(pickle.dumps(genome)), pickle.loads(cloudpickle.dumps(genome)), copy.deepcopy(genome)):
        assert same_genes(again, genome) and again.hints == genome.hints
        assert again.live_nodes == genome.live_nodes


def test_ids_beyond_64_bits_are_refused_by_name():
    with pytest.raises(GenomeError, match="must fit in 64 bits"):
        Genome((NodeGene(0, "input"), NodeGene(1, "output")), (ConnectionGene(2**70, 0, 1),))


def test_pickles_carry_no_cached_views_and_odd_values_survive():
    genome = tiny()
    plain = len(pickle.dumps(genome))
    _ = genome.node_by_id, genome.effective_connections, genome.live_nodes
    assert len(pickle.dumps(genome)) == plain
    odd = Genome((NodeGene(0, "input"), NodeGene(1, "output", "relu", 1, x=0.5, y=None), NodeGene(2, "hidden", bias=2.5)),
                 (ConnectionGene(2**40, 0, 1, weight=1), ConnectionGene(3, 0, 2, weight=0.5, group=4)))
    assert same_genes(pickle.loads(pickle.dumps(odd)), odd)
    assert odd.connections[1].weight == 1.0 and type(odd.connections[1].weight) is float  # weights are floats
    assert same_genes(pickle.loads(pickle.dumps(Genome((NodeGene(0, "input"),)))), Genome((NodeGene(0, "input"),)))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["nodes"].append(dict(d["nodes"][0])), "node ids must be unique"),
        (lambda d: d["connections"].append({"innovation": 9, "source": 2, "target": 0}), "into input node"),
        (lambda d: d["connections"].append({"innovation": 9, "source": 3, "target": 99}), "unknown node"),
        (lambda d: d["connections"].append({"innovation": 0, "source": 1, "target": 3}), "innovation numbers must be unique"),
        (lambda d: d["connections"].append({"innovation": 9, "source": 0, "target": 3}), "duplicate connection"),
        (lambda d: d["connections"].append({"innovation": 9, "source": 2, "target": 3}), "leaves output node"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d["nodes"][3].update(activation="swish"), "activation 'swish'"),
        (lambda d: d.update(nodes=[n for n in d["nodes"] if n["role"] != "output"], connections=[]), "at least one output"),
    ],
)
def test_invalid_genomes_are_rejected_with_the_reason(mutate, message):
    data = tiny().to_dict()
    mutate(data)
    with pytest.raises(GenomeError, match=message):
        Genome.from_dict(data)


def test_a_cycle_is_rejected():
    nodes = (NodeGene(0, "input"), NodeGene(1, "output"), NodeGene(2, "hidden"), NodeGene(3, "hidden"))
    conns = (ConnectionGene(0, 0, 2), ConnectionGene(1, 2, 3), ConnectionGene(2, 3, 2), ConnectionGene(3, 3, 1))
    with pytest.raises(GenomeError, match="cycle"):
        Genome(nodes, conns).validate()


@pytest.mark.parametrize("text", ["", "[", "[]", '{"format": "other"}', "3"])
def test_garbage_json_is_a_genome_error(text):
    with pytest.raises(GenomeError):
        Genome.from_json(text)


def test_minimal_genome_wires_inputs_to_outputs():
    tracker = InnovationTracker()
    genome = minimal_genome(4, 3, np.random.default_rng(0), tracker, density=1.0)
    assert genome.n_inputs == 4 and genome.n_outputs == 3
    assert {(c.source, c.target) for c in genome.connections} == {(i, 4 + o) for i in range(4) for o in range(3)}
    sparse = minimal_genome(4, 3, np.random.default_rng(0), tracker, density=0.25)
    assert len(sparse.connections) == 3
    # The same input-output pair carries the same innovation number in every genome.
    numbers = {(c.source, c.target): c.innovation for c in genome.connections}
    assert all(numbers[(c.source, c.target)] == c.innovation for c in sparse.connections)


def test_live_nodes_and_effective_connections_ignore_dead_ends():
    nodes = (NodeGene(0, "input"), NodeGene(1, "output"), NodeGene(2, "hidden"), NodeGene(3, "hidden"))
    # node 3 receives input but reaches no output: its connection is not effective
    conns = (ConnectionGene(0, 0, 1), ConnectionGene(1, 0, 2), ConnectionGene(2, 2, 1), ConnectionGene(3, 0, 3))
    genome = Genome(nodes, conns).validate()
    assert genome.live_nodes == frozenset({1, 2})
    assert [c.innovation for c in genome.effective_connections] == [0, 1, 2]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 60), st.sampled_from(["none", "float", "int", "mixed"]))
def test_json_read_column_by_column_equals_the_gene_by_gene_read(seed, steps, weights):
    genome = random_genome(seed, steps)  # shared groups and disabled genes among them
    data = genome.to_dict()
    for i, row in enumerate(data["connections"]):
        row["weight"] = {"none": None, "float": 0.25 * i, "int": i, "mixed": None if i % 2 else 0.5 * i}[weights]
        if i % 3 == 0:
            row.pop("enabled")  # optional: true
    data["connections"][0]["weight"] = 0.75
    text_weight = {**data, "connections": [{**data["connections"][0], "weight": "0.75"}, *data["connections"][1:]]}
    assert _plain_connections(data["connections"]) is not None  # read column by column
    assert _plain_connections(text_weight["connections"]) is None  # float("0.75"): gene by gene
    assert Genome.from_dict(data) == Genome.from_dict(text_weight)


@pytest.mark.parametrize("row, message", [
    ({"weight": float("nan")}, "weight must be finite"),
    ({"group": -2}, "group must be >= 0"),
    ({"innovation": 2**70}, "must fit in 64 bits"),
    ({"enabled": 1}, "must be true or false"),
    ({"source": "0"}, "must be an integer"),
])
def test_odd_connection_fields_are_refused_by_name(row, message):
    data = Genome((NodeGene(0, "input"), NodeGene(1, "output")), (ConnectionGene(5, 0, 1, weight=0.5),)).to_dict()
    data["connections"] = [{**data["connections"][0], **row}]
    with pytest.raises(GenomeError, match=message):
        Genome.from_dict(data)


def test_new_hints_or_regularization_keep_the_views_of_the_same_nodes_and_connections():
    """Views are functions of nodes and connections: a genome that changes neither shares them;
    one with other connections computes its own."""
    from connevo.search_space import Regularization

    genome = random_genome(3, steps=25)
    views = ("live_mask", "effective_mask", "effective_table", "source_positions", "shared_groups", "connections")
    computed = {name: getattr(genome, name) for name in views}
    hinted = genome.replace(hints=StructureHints(grow=((genome.input_ids[0], genome.output_ids[0], 1.0),)))
    regularized = genome.replace(regularization=Regularization(weight_decay=0.1))
    for other in (hinted, regularized):
        assert all(other.__dict__.get(name) is computed[name] for name in views)
    rewired = genome.replace(table=genome.table.updated(0, enabled=not bool(genome.table.enabled[0])))
    assert not any(name in rewired.__dict__ for name in views)
    fresh = Genome(rewired.nodes, rewired.table, rewired.regularization, rewired.hints)
    assert np.array_equal(rewired.live_mask, fresh.live_mask) and np.array_equal(rewired.effective_mask, fresh.effective_mask)


def test_a_derived_view_is_computed_once_per_genome_and_goes_with_it():
    genome = minimal_genome(3, 2, np.random.default_rng(0), InnovationTracker(), density=1.0)
    calls = []

    def count(g):
        calls.append(g)
        return len(g.table)

    assert genome.derived("rows", count) == genome.derived("rows", count) == len(genome.table)
    assert len(calls) == 1
    # a copy of the same nodes and connections with other hints keeps what was derived
    assert genome.replace(regularization=Regularization(weight_decay=0.1)).derived("rows", count) == len(genome.table)
    assert len(calls) == 1
    # so does the same structure with trained weights and biases
    trained = genome._reweighted(tuple(NodeGene(n.id, n.role, n.activation, 0.5, n.x, n.y) for n in genome.nodes),
                                 np.full(len(genome.table), 0.25), None)
    assert trained.derived("rows", count) == len(genome.table)
    assert len(calls) == 1
    # an equal genome that is another object derives its own
    assert Genome.from_dict(genome.to_dict()).derived("rows", count) == len(genome.table)
    assert len(calls) == 2


def test_the_layout_keeps_no_genome_alive():
    genome = minimal_genome(4, 2, np.random.default_rng(1), InnovationTracker(), density=1.0)
    assert layered_layout(genome) is layered_layout(genome)
    ref = weakref.ref(genome)
    del genome
    gc.collect()
    assert ref() is None
