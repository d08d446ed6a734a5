"""hidden_nodes and depth are objectives: their hypervolume reference is what the search space
allows (the fully connected input-to-output network has none of either); so are dense bytes."""

from __future__ import annotations

import numpy as np
import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.evolution.strategies import Scoring
from connevo.evolution.summary import hypervolume_bounds
from connevo.results import queries
from connevo.results.pareto import front_matrix, pareto_mask
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.operators import minimal_genome
from tests.support import small_spec

SPEC = small_spec(**{"name": "shallow", "objectives.minimize": ["hidden_nodes", "depth", "connections", "bytes"],
                     "search_space.max_hidden_nodes": 8, "search_space.start": "random",
                     "evolution.population": 8, "evolution.generations": 2,
                     # the front ranks val_accuracy itself, ties by the loss ("auto" would add the loss as an objective)
                     "objectives.rank_accuracy_by": "accuracy"})


def test_their_references_are_the_search_spaces_bounds():
    spec = parse_spec(SPEC)
    full = minimal_genome(2, 1, np.random.default_rng(0), InnovationTracker(), density=1.0)
    reference, ideal = hypervolume_bounds(Scoring.of(spec, full))
    assert (reference["hidden_nodes"], reference["depth"]) == (8.0, 9.0)
    assert (ideal["hidden_nodes"], ideal["depth"]) == (0.0, 0.0)
    assert reference["connections"] == 2 * 2  # the fully connected network's, times 2, as before
    assert reference["bytes"] == 2 * 4 * (2 + 1)  # its one layer: 2 weights and a bias, float32


def test_a_campaign_selects_on_them_and_its_front_is_pareto_in_them(tmp_path):
    result = run(SPEC, str(tmp_path / "s.db"))
    objectives = ["val_accuracy", "hidden_nodes", "depth"]
    front = result.front(objectives)
    assert len(front) >= 1
    # Pareto in the objectives as the front ranks them: equal accuracies decided by the loss
    ranking = queries.accuracy_ranking(result.store, result.campaign_id)
    assert ranking == "accuracy"
    assert pareto_mask(*front_matrix(front, objectives, ["max", "min", "min"], ranking)).all()
    assert (result.store.generations(result.campaign_id)["hypervolume"] > 0).all()


def test_an_unknown_structure_objective_is_refused_by_name():
    with pytest.raises(SpecError, match="hidden_neurons"):
        parse_spec(small_spec(**{"objectives.minimize": ["hidden_neurons"]}))
