"""The training-informed operators at work in real campaigns (real training, real store)."""

import pytest

from connevo.evolution import run
from connevo.search_space.genome import Genome
from tests.support import small_spec

ONLY = {name: 0.0 for name in ("add_connection", "remove_connection", "add_node", "remove_node", "change_activation",
                               "toggle_connection", "prune_magnitude", "grow_gradient", "add_neuron_gradient",
                               "widen_neuron")}


def campaign(tmp_path, operator):
    spec = small_spec(**{"task.dataset": "wine", "evolution.population": 6, "evolution.generations": 1,
                         "evolution.crossover_rate": 0.0, "evolution.mutation": {**ONLY, operator: 1.0}})
    result = run(spec, str(tmp_path / f"{operator}.db"))
    rows = result.candidates().set_index("id")
    genomes = {cid: Genome.from_dict(g) for cid, g in rows["genome"].items()}
    children = rows[rows["generation"] == 1]
    return [(genomes[cid], genomes[parents[0]]) for cid, parents in children["parents"].items()]


def test_pruned_children_lose_their_parents_weakest_trained_connections(tmp_path):
    pruned = [(child, parent) for child, parent in campaign(tmp_path, "prune_magnitude") if parent.connections]
    assert pruned  # all but the children of the first generation's network without connections
    for child, parent in pruned:
        kept = {c.innovation for c in child.connections}
        removed = [c for c in parent.effective_connections if c.innovation not in kept]
        assert removed
        weakest_kept = min(abs(c.weight) for c in parent.effective_connections if c.innovation in kept)
        assert max(abs(c.weight) for c in removed) <= weakest_kept


def test_grown_children_gain_the_connections_their_parents_training_asked_for(tmp_path):
    grew = 0
    for child, parent in campaign(tmp_path, "grow_gradient"):
        assert parent.hints is not None
        before = {(c.source, c.target) for c in parent.connections}
        grown = {(c.source, c.target) for c in child.connections} - before
        asked = [(s, t) for s, t, _ in parent.hints.grow]  # none when every legal pair is wired
        assert grown <= set(asked) and bool(grown) == bool(asked)
        grew += bool(grown)
    assert grew


@pytest.mark.parametrize("operator", ["add_neuron_gradient", "widen_neuron"])
def test_neurons_are_added_where_the_gradient_or_the_parent_asks(tmp_path, operator):
    for child, parent in campaign(tmp_path, operator):
        new = set(child.hidden_ids) - set(parent.hidden_ids)
        if operator == "add_neuron_gradient":
            (neuron,) = new
            fan_in = {c.source for c in child.connections if c.target == neuron}
            assert fan_in <= {n for n, _ in parent.hints.neuron_in}
        elif any(n in parent.live_nodes for n in parent.hidden_ids):
            (copy,) = new
            fan_in = {c.source for c in child.connections if c.target == copy}
            assert any(fan_in == {c.source for c in parent.effective_connections if c.target == h}
                       for h in parent.hidden_ids)
