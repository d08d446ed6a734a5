"""The mutation registry: one function and one registration make an operator the spec, the
campaign and the variation streams know."""

import subprocess
import sys

import pytest

from connevo.errors import SpecError
from connevo.evolution.spec import MutationSpec, parse_spec
from connevo.search_space.mutations import MUTATIONS, register_mutation, registered_mutations
from tests.support import ROOT, small_spec

NEW_OPERATOR = """
import json, sys
from connevo.search_space.mutations import register_mutation

def keep_one_connection(genome, rng, innovations, limits):
    if not genome.enabled_connections:  # the first generation's network without connections
        return genome
    first = min(genome.enabled_connections, key=lambda c: c.innovation)
    return genome.with_connections([first])

register_mutation("keep_one_connection", keep_one_connection, rate=0.0, description="keep the first connection")

from connevo.evolution import run  # the spec is built after the registration
from tests.support import small_spec

spec = small_spec(**{"evolution.generations": 1, "search_space.initial_density": [1.0, 1.0],
                     "evolution.crossover_rate": 0.0,
                     "evolution.mutation": {"keep_one_connection": 1.0}})
result = run(spec, sys.argv[1])
rows = result.candidates()
print(json.dumps({"children": rows.loc[rows["generation"] == 1, "connections"].tolist(),
                  "parents": rows.loc[rows["generation"] == 0, "connections"].tolist()}))
"""


def test_every_registered_operator_has_a_validated_rate_in_the_spec():
    fields = MutationSpec.model_fields
    for mutation in registered_mutations():
        assert fields[mutation.name].default == mutation.rate
        assert fields[mutation.name].description == mutation.description
        assert MUTATIONS[mutation.name] is mutation.operator
    assert list(MUTATIONS) == [m.name for m in registered_mutations()]
    with pytest.raises(SpecError, match=r"'evolution.mutation.grow_gradient'.*got 2"):
        parse_spec(small_spec(**{"evolution.mutation": {"grow_gradient": 2}}))
    with pytest.raises(SpecError, match="unknown key 'evolution.mutation.grow_sideways'"):
        parse_spec(small_spec(**{"evolution.mutation": {"grow_sideways": 0.1}}))


def test_a_registered_operator_is_applied_by_a_campaign_that_gives_it_a_rate(tmp_path):
    done = subprocess.run([sys.executable, "-c", NEW_OPERATOR, str(tmp_path / "s.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    import json

    counts = json.loads(done.stdout.splitlines()[-1])
    # every child kept one connection (none live when it fed a neuron cut off from the outputs)
    assert max(counts["parents"]) > 1 and max(counts["children"]) <= 1


@pytest.mark.parametrize("name, rate, message", [
    ("add_node", 0.1, "registered already"),
    ("my-op", 0.1, "identifier"),
    ("my_op", 1.5, r"in \[0, 1\]"),
])
def test_bad_registrations_are_refused(name, rate, message):
    with pytest.raises(ValueError, match=message):
        register_mutation(name, lambda g, *a: g, rate=rate, description="x")
    assert "my_op" not in MUTATIONS
