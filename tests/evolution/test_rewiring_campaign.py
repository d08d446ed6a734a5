"""Campaigns whose trainings rewire their networks (``training.rewire_fraction``)."""

import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.search_space import measure
from connevo.search_space.genome import Genome
from connevo.search_space.innovation import REWIRED_INNOVATIONS
from tests.support import assert_deterministic_across_workers_and_resume, comparable, small_spec

SPEC = small_spec(**{
    "task.dataset": "wine", "evolution.generations": 3, "evolution.crossover_rate": 0.5,
    "training.epochs": 6, "training.inherited_epochs": 3, "training.rewire_fraction": 0.3,
    "training.rewire_every": 2,
})


def test_candidates_are_stored_as_rewired_with_the_costs_of_that_network(tmp_path):
    rows = run(SPEC, str(tmp_path / "s.db")).candidates()
    ok = rows[rows["status"] == "ok"]
    rewired = 0
    for _, row in ok.iterrows():
        genome = Genome.from_dict(row["genome"])
        costs = measure(genome)
        assert (row["connections"], row["params"], row["flops"]) == (costs.connections, costs.params, costs.flops)
        rewired += any(c.innovation >= REWIRED_INNOVATIONS for c in genome.connections)
    assert rewired > len(ok) / 2


VARIANTS = {
    "inheriting": SPEC,
    "from scratch": dict(SPEC, training=dict(SPEC["training"], inherit_weights=False)),
    "in rungs": dict(SPEC, evolution={"population": 8, "generations": 2,
                                      "fidelity": {"rungs": [0.5, 1.0], "keep": 0.5}}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_rewiring_campaigns_are_deterministic_across_workers_and_resumes(tmp_path, variant):
    assert_deterministic_across_workers_and_resume(VARIANTS[variant], tmp_path)


def test_rewiring_gives_the_same_campaign_on_ray_workers(tmp_path, ray_session):
    local = run(SPEC, str(tmp_path / "local.db"))
    on_ray = run(dict(SPEC, workers={"backend": "ray", "count": 2, "chunk_size": 3}), str(tmp_path / "ray.db"))
    assert comparable(on_ray.candidates(), on_ray.campaign_id) == comparable(local.candidates(), local.campaign_id)


def test_rewiring_with_successive_halving_and_the_polish(tmp_path):
    spec = dict(SPEC, evolution={"population": 8, "generations": 2, "fidelity": {"rungs": [0.5, 1.0], "keep": 0.5}},
                training=dict(SPEC["training"], polish_epochs=2))
    rows = run(spec, str(tmp_path / "s.db")).candidates()
    ok = rows[rows["status"] == "ok"]
    assert all(measure(Genome.from_dict(g)).connections == c for g, c in zip(ok["genome"], ok["connections"]))
    polished = rows[rows["number"] < 0]
    assert len(polished) >= 1  # the polish trains on, without rewiring: the structure stays
    by_id = rows.set_index("id")
    for _, p in polished.iterrows():
        source = by_id.loc[p["parents"][0]]
        assert Genome.from_dict(p["genome"]).edges == Genome.from_dict(source["genome"]).edges


def test_rewiring_a_fixed_layout_is_refused_naming_both_fields():
    retina = dict(SPEC, task={"dataset": "retina"}, search_space={"layout": "retina"})
    with pytest.raises(SpecError, match=r"training.rewire_fraction = 0.3 needs search_space.layout = 'evolved'"):
        parse_spec(retina)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("rewire_fraction", 1.0, "rewire_fraction"), ("rewire_fraction", -0.1, "rewire_fraction"),
    ("rewire_every", 0, "rewire_every"),
])
def test_bad_rewiring_keys_are_rejected_naming_the_field(key, value, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(dict(SPEC, training=dict(SPEC["training"], **{key: value})))
