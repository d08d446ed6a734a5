"""Fuzzing genome JSON loading: every input is a valid genome or a GenomeError, nothing else."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connevo.errors import GenomeError
from connevo.search_space import Genome, InnovationTracker, add_node, minimal_genome, share_weights

FUZZ = settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 40), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["input", "hidden", "output", "relu", "tanh", "connevo.genome", "x"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                      max_leaves=8)


def base_genome() -> dict:
    rng = np.random.default_rng(0)
    tracker = InnovationTracker()
    genome = add_node(minimal_genome(3, 2, rng, tracker), rng, tracker)
    return share_weights(genome, rng, tracker).to_dict()


def loads_or_genome_error(data) -> None:
    try:
        genome = Genome.from_dict(data)
    except GenomeError as exc:
        assert str(exc)
    else:
        assert Genome.from_json(genome.to_json()) == genome


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["nodes", "connections", "top"]), st.integers(0, 12),
                          st.sampled_from(["id", "role", "activation", "bias", "x", "y", "innovation", "source",
                                           "target", "enabled", "weight", "group", "format", "version",
                                           "regularization"]), values), min_size=1, max_size=3))
def test_mutated_genomes_load_or_fail_cleanly(edits):
    data = base_genome()
    for where, index, key, value in edits:
        if where == "top":
            data[key] = value
            continue
        items = data.get(where)
        if isinstance(items, list) and items and isinstance(items[index % len(items)], dict):
            items[index % len(items)][key] = value
    loads_or_genome_error(data)


@FUZZ
@given(values)
def test_arbitrary_json_loads_or_fails_cleanly(data):
    loads_or_genome_error(data)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=100))
def test_arbitrary_text_loads_or_fails_cleanly(text):
    try:
        Genome.from_json(text)
    except GenomeError:
        pass


def test_the_base_genome_is_valid():
    assert Genome.from_json(json.dumps(base_genome())).connections
