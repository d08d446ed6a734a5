"""Fuzzing the spec parser: every input is accepted or rejected with SpecError, nothing else."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connevo.errors import SpecError
from connevo.evolution.spec import CampaignSpec, load_spec, parse_spec
from tests.support import small_spec

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=12)
KEYS = ["name", "seed", "task", "evolution", "objectives", "search_space", "regularization", "training", "workers",
        "task.dataset", "task.target", "task.validation_fraction", "task.test_fraction", "task.samples", "task.bits",
        "evolution.population", "evolution.generations", "evolution.algorithm", "evolution.cost_weight",
        "evolution.mutation.add_node", "objectives.maximize", "objectives.minimize", "objectives.probability",
        "search_space.growth", "search_space.growth_start", "search_space.initial_density", "search_space.activations",
        "search_space.layout", "training.epochs", "training.learning_rate", "training.patience",
        "workers.count", "workers.gpus_per_worker", "workers.ray_address", "regularization.dropout", "unknown.key"]

FUZZ = settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def accepted_or_spec_error(data) -> None:
    try:
        spec = parse_spec(data)
    except SpecError as exc:
        assert str(exc)
    else:
        assert isinstance(spec, CampaignSpec)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(KEYS), json_values), min_size=1, max_size=4))
def test_mutated_specs_are_accepted_or_rejected_cleanly(changes):
    data = small_spec()
    for dotted, value in changes:
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    accepted_or_spec_error(data)


@FUZZ
@given(json_values)
def test_arbitrary_json_is_accepted_or_rejected_cleanly(data):
    accepted_or_spec_error(data)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=200), st.sampled_from([".toml", ".json"]))
def test_arbitrary_spec_files_are_accepted_or_rejected_cleanly(tmp_path_factory, text, suffix):
    path = tmp_path_factory.mktemp("f") / f"spec{suffix}"
    path.write_text(text)
    try:
        load_spec(path)
    except SpecError:
        pass


def test_a_valid_spec_survives_a_json_round_trip():
    spec = parse_spec(small_spec())
    assert parse_spec(json.loads(spec.model_dump_json())) == spec
