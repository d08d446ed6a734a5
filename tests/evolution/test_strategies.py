"""Budget niches, per-operator random streams and the spanning first generation."""

import math

import numpy as np
import pytest

from connevo.evolution import run
from connevo.evolution.initial import InitialPopulation
from connevo.evolution.niches import NicheEntry, dominated, niche_elites
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task
from connevo.evolution.variation import Variation, operator_stream
from connevo.search_space import InnovationTracker, Limits, minimal_genome
from connevo.search_space.mutations import MUTATIONS
from tests.support import small_spec


def test_each_budget_band_keeps_its_most_accurate_candidate():
    entries = [
        NicheEntry("tiny-good", 0.6, 1.0, 2), NicheEntry("tiny-bad", 0.4, 1.0, 3),
        NicheEntry("mid", 0.8, 0.5, 40), NicheEntry("mid-better-loss", 0.8, 0.4, 45),
        NicheEntry("big-dominated", 0.79, 0.6, 900), NicheEntry("broken", -math.inf, math.inf, math.inf),
    ]
    assert niche_elites(entries, 3) == ["tiny-good", "mid-better-loss", "big-dominated"]
    assert niche_elites(entries, 0) == []
    assert niche_elites(entries, 1) == ["mid-better-loss"]  # accuracy first, then loss


def test_dominated_entries_are_those_another_beats_on_one_axis_and_matches_on_the_other():
    entries = [NicheEntry("small", 0.8, 1.0, 10), NicheEntry("big-worse", 0.7, 1.0, 100),
               NicheEntry("big-same", 0.8, 0.2, 100), NicheEntry("big-better", 0.9, 1.0, 100),
               NicheEntry("twin", 0.8, 1.0, 10), NicheEntry("broken", -math.inf, math.inf, math.inf)]
    assert dominated(entries) == {"big-worse", "big-same", "broken"}  # equal twins do not dominate each other
    assert dominated([]) == set()


def test_ties_go_to_the_cheaper_then_the_first_entry():
    entries = [NicheEntry("a", 0.5, 1.0, 10), NicheEntry("b", 0.5, 1.0, 9), NicheEntry("c", 0.5, 1.0, 9)]
    assert niche_elites(entries, 1) == ["b"]


def test_an_operator_draws_the_same_whatever_the_other_operators_and_their_rates():
    tracker = InnovationTracker()
    parent = minimal_genome(6, 3, np.random.default_rng(0), tracker, 0.5)

    def child(rates, operators=MUTATIONS):
        return Variation(rates, operators=dict(operators)).mutate(parent, 11, 5, InnovationTracker(100, 100), Limits())

    alone = child({"remove_connection": 1.0})
    assert alone == child({"remove_connection": 1.0, "add_node": 0.0, "change_activation": 0.0})
    assert alone == child({"remove_connection": 1.0}, {"no_op": lambda g, *a: g, **MUTATIONS})
    rng = operator_stream(11, 5, "remove_connection")
    assert rng.random() < 1.0  # the decision draw comes first, then the operator's own
    assert alone == MUTATIONS["remove_connection"](parent, rng, InnovationTracker(100, 100), Limits())


def test_a_child_identical_to_its_parent_is_changed_by_a_forced_operator():
    tracker = InnovationTracker()
    parent = minimal_genome(6, 3, np.random.default_rng(0), tracker, 1.0)
    child = Variation({"add_connection": 1e-9, "remove_connection": 1e-9}).mutate(parent, 1, 1, tracker, Limits())
    assert child.connections != parent.connections


def test_unknown_operators_are_refused_by_name():
    with pytest.raises(ValueError, match="grow_everything"):
        Variation({"grow_everything": 0.5})


def test_the_spanning_start_covers_sparse_linear_and_hidden_layers_of_several_widths():
    start = InitialPopulation("spanning", n_inputs=64, n_outputs=10, density=(0.05, 1.0), activation="relu")
    genomes = start.genomes(24, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=32))
    empty, linear = genomes[-1], [g for g in genomes[:-1] if not g.hidden_ids]
    hidden = [g for g in genomes if g.hidden_ids]
    assert len(linear) == 12 and len(hidden) == 11
    assert not empty.connections and not empty.hidden_ids and len(empty.nodes) == 74  # the front's zero end
    sizes = sorted(len(g.enabled_connections) for g in linear)
    assert 1 <= sizes[0] <= 0.05 * 640 + 1 and sizes[-1] == 640
    assert {len(g.hidden_ids) for g in hidden} == {1, 2, 4, 8, 16, 32}
    fan_ins = {len([c for c in g.connections if c.target == g.hidden_ids[0]]) for g in hidden}
    assert min(fan_ins) <= 8 and max(fan_ins) == 64
    for g in genomes:
        g.validate()


def test_the_spanning_start_respects_the_hidden_limit():
    start = InitialPopulation("spanning", n_inputs=5, n_outputs=1, density=(0.2, 1.0), activation="tanh")
    genomes = start.genomes(10, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=3))
    assert max(len(g.hidden_ids) for g in genomes) == 3
    none = start.genomes(4, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=0))
    assert all(not g.hidden_ids for g in none)


@pytest.mark.parametrize("start", ["minimal", "random"])
def test_only_the_spanning_start_of_several_networks_holds_one_without_connections(start):
    def counts(kind: str, population: int) -> list[int]:
        first = InitialPopulation(kind, n_inputs=6, n_outputs=3, density=(0.2, 1.0), activation="relu", random_steps=2)
        genomes = first.genomes(population, np.random.default_rng(0), InnovationTracker(), Limits())
        return [len(g.connections) for g in genomes]

    assert counts("spanning", 8).count(0) == 1 and counts("spanning", 8)[-1] == 0
    assert counts("spanning", 1) != [0]  # a population of one gets a network that can learn
    assert 0 not in counts(start, 8)


def test_with_niche_parents_each_dominated_niche_elite_parents_one_of_the_next_children(tmp_path):
    spec = small_spec(**{"task.dataset": "wine", "evolution.population": 16, "evolution.generations": 3,
                         "evolution.niche_parents": True, "training.epochs": 3})
    result = run(spec, str(tmp_path / "niches.db"))
    rows = result.candidates().set_index("id")
    generations = result.store.generations(result.campaign_id)
    bred = 0
    for generation in range(1, 4):
        population = rows.loc[generations.iloc[generation - 1]["population"]]
        entries = [NicheEntry(cid, r.val_accuracy, r.val_loss, r.connections) for cid, r in population.iterrows()]
        behind = dominated(entries)
        expected = [k for k in niche_elites(entries, 16 // 3) if k in behind][: 16 // 16]
        children = rows[rows["generation"] == generation].sort_values("number")
        for elite, parents in zip(expected, children["parents"]):
            assert elite in parents
        bred += len(expected)
    assert bred > 0  # some generation had dominated elites to breed from


def test_a_campaign_that_minimizes_no_cost_has_no_budget_niches_and_runs(tmp_path):
    spec = small_spec(**{"evolution.population": 8, "evolution.generations": 3, "objectives.minimize": []})
    result = run(spec, str(tmp_path / "accuracy-only.db"))
    rows = result.candidates()
    assert sorted(rows["generation"].unique()) == [0, 1, 2, 3]
    assert (rows["status"] == "ok").all()


def test_the_front_starts_at_zero_connections_with_the_class_prior(tmp_path):
    """The spanning start's network without connections, trained, predicts the training rows'
    most common class for every row; nothing has fewer connections, so it stays on the front,
    polished and all."""
    spec = small_spec(**{"task.dataset": "wine", "evolution.population": 8, "evolution.generations": 2,
                         "training.polish_epochs": 2})
    result = run(spec, str(tmp_path / "prior.db"))
    front = result.front()
    empty = front[front["connections"] == 0]
    assert len(empty) == 1 and front["connections"].min() == 0
    data = load_task(parse_spec(spec))
    majority = np.bincount(data.y_train).argmax()
    assert empty["val_accuracy"].iloc[0] == pytest.approx(np.mean(data.y_val == majority))
