"""A genome as a store row holds it: its connection genes as columns, the same stored bytes as
its JSON form, and the JSON form back when read."""

import numpy as np
import pytest
from sqlalchemy.dialects import sqlite

from connevo.errors import GenomeError
from connevo.evolution.candidates import stored_genome
from connevo.results import genome_codec
from connevo.results.schema import PackedGenome
from connevo.search_space.genome import Genome
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.starts import hidden_layer_genome
from tests.support import random_genome


def weighted(genome: Genome, weights: str, groups: str, rng: np.random.Generator) -> Genome:
    """``genome`` with weights (float32 values, float64 values, some missing, none) and groups
    (on every gene, some genes, none)."""
    n = len(genome.table)
    values = {"float32": rng.normal(size=n).astype(np.float32).astype(np.float64), "float64": rng.normal(size=n),
              "some missing": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
              "none": np.full(n, np.nan)}[weights]
    group = {"every": rng.integers(0, 3, size=n), "some": np.where(rng.random(n) < 0.5, -1, rng.integers(0, 3, size=n)),
             "none": np.full(n, -1)}[groups]
    if groups == "some" and n:
        group[0], group[-1] = -1, 1
    return genome.replace(table=genome.table.replace(weight=values, group=group.astype(np.int64)))


@pytest.mark.parametrize("weights", ["float32", "float64", "some missing", "none"])
@pytest.mark.parametrize("groups", ["every", "some", "none"])
@pytest.mark.parametrize("seed", range(6))
def test_a_stored_genome_gives_the_bytes_of_its_json_form_and_reads_back_as_it(seed, weights, groups):
    rng = np.random.default_rng(seed)
    genome = weighted(random_genome(seed, steps=10 + 15 * seed), weights, groups, rng)
    document = genome.to_dict()
    packed = genome_codec.encode(stored_genome(genome), strict=True)
    assert packed == genome_codec.encode(document, strict=True)
    assert genome_codec.decode(packed) == document
    assert PackedGenome().process_bind_param({"genome": stored_genome(genome)}, sqlite.dialect()) == \
        genome_codec.encode({"genome": document})


def test_a_genome_of_fewer_connections_than_a_table_is_stored_as_objects():
    genome = weighted(random_genome(0, steps=0), "float32", "none", np.random.default_rng(0))
    genome = genome.replace(table=genome.table.take(np.arange(min(3, len(genome.table)))))
    assert stored_genome(genome) == genome.to_dict()


def test_a_trained_genome_of_100_000_connections_is_stored_without_an_object_per_gene():
    rng = np.random.default_rng(1)
    genome = weighted(hidden_layer_genome(784, 10, 128, rng, InnovationTracker(), input_density=0.99),
                      "float32", "none", rng)
    stored = stored_genome(genome)
    assert isinstance(stored["connections"], genome_codec.Records) and len(stored["connections"]) > 100_000
    packed = genome_codec.encode(stored, strict=True)
    assert packed == genome_codec.encode(genome.to_dict())
    assert Genome.from_dict(genome_codec.decode(packed)) == genome


@pytest.mark.parametrize("weights", ["float32", "some missing"])
@pytest.mark.parametrize("groups", ["every", "some", "none"])
@pytest.mark.parametrize("seed", range(4))
def test_a_stored_genome_read_with_its_genes_as_columns_is_the_same_genome(seed, weights, groups):
    genome = weighted(random_genome(seed, steps=10 + 15 * seed), weights, groups, np.random.default_rng(seed))
    packed = genome_codec.encode(stored_genome(genome), strict=True)
    assert Genome.from_dict(genome_codec.decode(packed, columns=True)) == genome


def test_a_100_000_connection_genome_is_read_back_from_its_columns():
    rng = np.random.default_rng(1)
    genome = weighted(hidden_layer_genome(784, 10, 128, rng, InnovationTracker(), input_density=0.99),
                      "float32", "every", rng)
    document = genome_codec.decode(genome_codec.encode(stored_genome(genome)), columns=True)
    assert isinstance(document["connections"], genome_codec.Records)
    assert Genome.from_dict(document) == genome


@pytest.mark.parametrize("column, values, message", [
    ("group", [0, -2, 1, 0], "group"),
    ("weight", [0.5, float("nan"), 0.1, 0.2], "weight"),
    ("source", [0.0, 1.0, 2.0, 3.0], "source"),
])
def test_genes_given_as_columns_with_a_defect_are_refused_as_their_objects_are(column, values, message):
    genome = weighted(random_genome(1, steps=0), "float32", "every", np.random.default_rng(0))
    genome = genome.replace(table=genome.table.take(np.arange(4)))
    table = genome.table
    keys = ("innovation", "source", "target", "enabled", "weight", "group")
    columns = {k: getattr(table, k) for k in keys}
    columns[column] = np.asarray(values)
    document = genome.document(genome_codec.Records(keys, tuple(columns[k] for k in keys)))
    as_objects = genome.document(genome_codec.Records(keys, tuple(columns[k] for k in keys)).rows())
    with pytest.raises(GenomeError, match=message) as from_columns:
        Genome.from_dict(document)
    with pytest.raises(GenomeError) as from_objects:
        Genome.from_dict(as_objects)
    assert str(from_columns.value) == str(from_objects.value)
