"""Regularization genes, growth schedules, random starts, fixed layouts and stochastic
dominance, each exercised by a real campaign."""

import numpy as np
import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.evolution.selection import Scored, nsga2_ranking
from tests.support import small_spec


def test_growth_schedule_caps_connections_per_generation(store_path):
    spec = small_spec(**{
        "task.dataset": "iris", "evolution.generations": 4, "evolution.population": 8,
        "search_space.growth": "linear", "search_space.growth_start": 3, "search_space.growth_end": 11,
        "evolution.mutation": {"add_connection": 1.0, "add_node": 0.5, "remove_connection": 0.0},
    })
    parsed = parse_spec(spec)
    budgets = [parsed.search_space.connection_budget(g, 4) for g in range(5)]
    assert budgets == [3, 5, 7, 9, 11]
    candidates = run(spec, str(store_path)).candidates()
    enabled = candidates["genome"].map(lambda g: sum(c["enabled"] for c in g["connections"]))
    for generation, budget in enumerate(budgets):
        assert enabled[candidates["generation"] == generation].max() <= budget
    assert enabled[candidates["generation"] == 4].max() > 3  # it did grow


@pytest.mark.parametrize("kind, expected", [("log", [2, 8, 12]), ("exp", [2, 5, 12])])
def test_other_growth_curves(kind, expected):
    spec = parse_spec(small_spec(**{"search_space.growth": kind, "search_space.growth_start": 2,
                                    "search_space.growth_end": 12}))
    assert [spec.search_space.connection_budget(g, 2) for g in range(3)] == expected


def test_growth_needs_its_budgets():
    with pytest.raises(SpecError, match="growth_start"):
        parse_spec(small_spec(**{"search_space.growth": "linear"}))


def test_no_candidate_is_deeper_than_max_layers(store_path):
    spec = small_spec(**{
        "task.dataset": "iris", "evolution.generations": 4, "evolution.population": 8, "search_space.max_layers": 2,
        "evolution.mutation": {"add_node": 1.0, "add_connection": 1.0},
    })
    candidates = run(spec, str(store_path)).candidates()
    assert candidates["depth"].max() == 2  # one hidden layer at most, and the splits did make some
    assert (candidates["hidden_nodes"] > 0).any()


def test_max_layers_below_one_is_refused():
    with pytest.raises(SpecError, match="max_layers"):
        parse_spec(small_spec(**{"search_space.max_layers": 0}))


def test_random_start_begins_with_hidden_neurons(store_path):
    spec = small_spec(**{"search_space.start": "random", "search_space.random_start_steps": 6, "evolution.generations": 0})
    first = run(spec, str(store_path)).candidates()
    assert (first["hidden_nodes"] > 0).any()


def test_regularization_genes_evolve_and_are_stored(store_path):
    spec = small_spec(**{
        "regularization.evolve": True, "regularization.weight_decay": 0.001, "regularization.dropout": 0.1,
        "evolution.mutation": {"mutate_regularization": 1.0}, "evolution.generations": 2,
    })
    candidates = run(spec, str(store_path)).candidates()
    genes = candidates["genome"].map(lambda g: (g["regularization"]["weight_decay"], g["regularization"]["dropout"]))
    assert genes[candidates["generation"] == 0].nunique() == 1  # all start from the spec's values
    assert genes[candidates["generation"] > 0].nunique() > 3
    assert candidates["train_val_gap"].notna().all()
    gaps = candidates["train_accuracy"] - candidates["val_accuracy"]
    assert np.allclose(gaps, candidates["train_val_gap"])


def test_fixed_regularization_stays_fixed(store_path):
    spec = small_spec(**{"regularization.weight_decay": 0.01, "regularization.l1_ratio": 1.0})
    genes = run(spec, str(store_path)).candidates()["genome"].map(lambda g: tuple(g["regularization"].values()))
    assert set(genes) == {(0.01, 1.0, 0.0)}


def test_weight_sharing_in_a_campaign_counts_params_once(store_path):
    spec = small_spec(**{"task.dataset": "iris", "evolution.mutation": {"share_weights": 1.0}, "evolution.generations": 2})
    candidates = run(spec, str(store_path)).candidates()
    shared = candidates[candidates["generation"] > 0]
    assert (shared["params"] < shared["connections"] + shared["hidden_nodes"] + 3).any()


def retina_spec(**overrides):
    base = {
        "name": "retina", "task.dataset": "retina", "search_space.layout": "retina",
        "search_space.activations": ["tanh"], "objectives.minimize": ["wiring_length"],
        "objectives.probability": {"wiring_length": 0.25}, "evolution.population": 8,
        "evolution.generations": 2, "training.epochs": 20, "training.batch_size": 32,
    }
    base.update(overrides)
    return small_spec(**base)


def test_a_retina_campaign_keeps_the_fixed_8_8_4_2_1_layout(store_path):
    candidates = run(retina_spec(), str(store_path)).candidates()
    assert set(candidates["status"]) == {"ok"}
    for genome in candidates["genome"]:
        nodes = {n["id"]: n for n in genome["nodes"]}
        assert len(nodes) == 23
        for c in genome["connections"]:
            assert nodes[c["target"]]["y"] == nodes[c["source"]]["y"] + 1
    assert candidates["modularity"].notna().all()
    assert (candidates["wiring_length"] >= 0).all() and (candidates["wiring_length"] > 0).any()


def test_the_retina_layout_needs_the_retina_task():
    with pytest.raises(SpecError, match="retina"):
        parse_spec(small_spec(**{"search_space.layout": "retina"}))


def test_stochastic_dominance_ignores_an_objective_in_some_comparisons():
    # b is cheaper but less accurate: with the cost always used, neither dominates (both rank 0);
    # with the cost used in only 1% of comparisons, a dominates b almost always.
    scored = [Scored("a", (0.9, 10.0)), Scored("b", (0.5, 1.0))]
    always = nsga2_ranking(scored, ["max", "min"])
    assert always["a"][0] == always["b"][0] == 0
    rng = np.random.default_rng(0)
    ranks = [nsga2_ranking(scored, ["max", "min"], [1.0, 0.01], rng)["b"][0] for _ in range(50)]
    assert sum(ranks) >= 45


def test_objective_probabilities_must_name_objectives():
    with pytest.raises(SpecError, match="not an objective"):
        parse_spec(small_spec(**{"objectives.probability": {"flops": 0.5}}))
