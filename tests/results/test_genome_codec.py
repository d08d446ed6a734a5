"""The genome codec: any JSON document comes back exactly (keys, order, types, values), and a
genome's bytes are a fraction of its JSON."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from connevo.results import genome_codec
from connevo.results.schema import PackedGenome, json_dumps
from connevo.search_space.genome import Genome
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.starts import hidden_layer_genome
from tests.support import random_genome

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    st.text(max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6),
    st.dictionaries(st.text(max_size=6), inner, max_size=5),
    # lists of records sharing their keys: the packed case
    st.integers(4, 12).flatmap(lambda n: st.lists(st.fixed_dictionaries(
        {"id": st.integers(0, 10**6), "w": st.floats(allow_nan=False, width=32), "on": st.booleans(),
         "kind": st.sampled_from(["input", "hidden", "output"])}), min_size=n, max_size=n)),
    # lists of equally long lists (structure hints' rows), integers of every width, sorted or not
    st.integers(4, 12).flatmap(lambda n: st.lists(st.tuples(
        st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-5, 5)), st.floats(allow_nan=False)).map(list),
        min_size=n, max_size=n)),
    st.lists(st.integers(0, 3), min_size=4, max_size=12).map(lambda steps: [{"id": int(v)} for v in
                                                                           np.cumsum(steps)]),
), max_leaves=40)
FIXTURES = Path(__file__).parent.parent / "fixtures"


def same(a, b) -> bool:
    """Equal values of equal types (1 and 1.0 and True differ), recursively, in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=6), documents, max_size=5))
def test_any_json_document_comes_back_exactly(document):
    assert same(genome_codec.decode(genome_codec.encode(document)), document)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=6), documents, max_size=5))
def test_a_plain_document_strictly_encoded_gives_the_bytes_of_its_json_round_trip(document):
    """What the store does with every genome and candidate row (no round trip through JSON)."""
    assert genome_codec.encode(document, strict=True) == genome_codec.encode(json.loads(json.dumps(document)))


columns = st.integers(0, 9).flatmap(lambda n: st.lists(st.one_of(
    st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=bool)),
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=np.int64)),
    st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=np.uint64)),
    st.lists(st.integers(-100, 100), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=np.int16)),
    st.lists(st.floats(width=32), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=np.float32)),
    st.lists(st.floats(), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=np.float64)),
), min_size=0, max_size=4))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(columns, st.booleans())
def test_records_are_packed_as_the_list_of_their_objects(arrays, strict):
    """Columns of any of the supported dtypes (NaN, huge unsigned values and short lists
    included) give the bytes of the objects they stand for, and decode as those objects."""
    records = genome_codec.Records(tuple(f"k{i}" for i in range(len(arrays))), tuple(arrays))
    document = {"before": [1, 2], "genes": records, "after": {"x": 1.5}}
    plain = {**document, "genes": records.rows()}
    assert genome_codec.encode(document, strict=strict) == genome_codec.encode(plain)
    assert json.dumps(list(records)) == json.dumps(records.rows()) and len(records) == len(records.rows())
    assert json.dumps(genome_codec.decode(genome_codec.encode(document))) == json.dumps(plain)


@pytest.mark.parametrize("odd", [
    np.float64(0.5), np.int64(3), np.bool_(True), (1, 2), {1: "a"}, [{1: "a"}] * 4, [np.float32(1.0)] * 4,
    [(1, 2)] * 4, [{"w": np.float64(0.5)}] * 4, [[1, np.int64(2)]] * 4,
])
def test_strict_encoding_refuses_what_json_would_change_and_the_store_takes_it_through_json(odd):
    with pytest.raises(genome_codec.NotPlain):
        genome_codec.encode({"genes": odd}, strict=True)
    stored = PackedGenome().process_bind_param({"genes": odd}, sqlite.dialect())
    assert stored == genome_codec.encode(json.loads(json_dumps({"genes": odd})))


def test_a_trained_784_input_genome_takes_under_five_bytes_a_connection():
    """Version 1 took 6.7: int64 ids, float weights' bytes as they come."""
    rng = np.random.default_rng(0)
    genome = hidden_layer_genome(784, 10, 16, rng, InnovationTracker(), input_density=0.55)
    document = json.loads(json.dumps(genome.to_dict()))
    for gene in document["connections"]:
        gene["weight"] = float(np.float32(rng.normal()))
    packed = genome_codec.encode(document)
    assert same(genome_codec.decode(packed), document)
    assert len(packed) / len(document["connections"]) < 5


def test_a_genome_comes_back_exactly_in_a_tenth_of_its_json():
    document = json.loads(json.dumps(random_genome(7, steps=200).to_dict()))  # as a store's JSON held it
    rng = np.random.default_rng(0)
    for gene in document["connections"]:  # trained weights are float32 values; a few are not
        gene["weight"] = float(rng.normal(size=1).astype(np.float32)[0])
    document["connections"][0]["weight"] = 0.1  # not a float32: the column is kept as float64
    packed = genome_codec.encode(document)
    assert same(genome_codec.decode(packed), document)
    trained = json.loads(json.dumps(document))
    trained["connections"][0]["weight"] = float(np.float32(0.1))
    assert len(genome_codec.encode(trained)) < len(json.dumps(trained)) / 4


def test_ids_that_climb_are_stored_as_steps_in_the_narrowest_integers():
    ids = list(range(100_000, 100_400))
    document = {"nodes": [{"id": i} for i in ids], "pairs": [[i, i % 7] for i in ids]}
    packed = genome_codec.encode(document)
    assert same(genome_codec.decode(packed), document)
    assert len(packed) < 200  # 400 ids as int64 would be 3,200 bytes before compression


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-300, 300), st.integers(0, 70_000)),
                min_size=1, max_size=genome_codec.SMALL_COLUMN))
def test_a_short_integer_column_is_sized_as_a_long_one(values):
    """Short columns are sized in Python, long ones with numpy: the same kind, type and values."""
    kind, array, _ = genome_codec._column(values)
    expected_kind, expected, _ = genome_codec._integers(np.asarray(values, dtype=np.int64))
    assert kind == expected_kind and array.dtype == expected.dtype and array.tolist() == expected.tolist()


def test_a_trained_genome_of_100_000_connections_comes_back_bit_exact():
    rng = np.random.default_rng(1)
    genome = hidden_layer_genome(784, 10, 128, rng, InnovationTracker(), input_density=0.99)
    document = genome.to_dict()
    weights = rng.normal(size=len(document["connections"])).astype(np.float32)
    for gene, weight in zip(document["connections"], weights.tolist()):
        gene["weight"] = weight
    assert len(document["connections"]) > 100_000
    back = genome_codec.decode(genome_codec.encode(document))
    stored = np.asarray([gene["weight"] for gene in back["connections"]], dtype=np.float32)
    assert stored.view(np.uint32).tolist() == weights.view(np.uint32).tolist()
    assert Genome.from_dict(back) == Genome.from_dict(document)


def test_a_version_1_blob_still_reads_as_the_document_it_held():
    blob = (FIXTURES / "genome_codec_v1.bin").read_bytes()
    assert blob.startswith(genome_codec.MAGIC_V1) and not blob.startswith(genome_codec.MAGIC)
    expected = json.loads((FIXTURES / "genome_codec_v1.json").read_text())
    assert same(genome_codec.decode(blob), expected) and same(genome_codec.read(blob), expected)
    assert genome_codec.encode(expected).startswith(genome_codec.MAGIC)


def test_lists_of_unlike_records_and_odd_values_stay_json():
    document = {"mixed": [{"a": 1}, {"a": 2.0}, {"a": 3}, {"a": 4}], "keys": [{"a": 1}, {"b": 2}, {"a": 3}, {"a": 4}],
                "nan": [{"x": math.nan}] * 4, "big": [{"n": 2**80}] * 4, "none": [{"v": None}] * 4}
    back = genome_codec.decode(genome_codec.encode(document))
    assert same(back["mixed"], document["mixed"]) and same(back["keys"], document["keys"])
    assert all(math.isnan(r["x"]) for r in back["nan"]) and back["big"] == document["big"]
    assert same(back["none"], document["none"])


def test_stored_values_of_either_kind_are_read():
    document = {"format": "connevo.genome", "nodes": [{"id": i} for i in range(5)]}
    assert genome_codec.read(genome_codec.encode(document)) == document
    assert genome_codec.read(json.dumps(document)) == document  # a store from before version 3
    assert genome_codec.read(json.dumps(document).encode()) == document  # PostgreSQL's converted column
    assert genome_codec.read(memoryview(genome_codec.encode(document))) == document
    with pytest.raises(ValueError, match="JSON object"):
        genome_codec.read("[1, 2]")
    with pytest.raises(ValueError, match="not an encoded genome"):
        genome_codec.decode(b"nope")
