"""Campaigns with weight inheritance: children start from their parents' trained weights."""

import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.search_space.genome import Genome
from tests.support import assert_deterministic_across_workers_and_resume, small_spec

SPEC = small_spec(**{
    "task.dataset": "wine", "evolution.generations": 3, "evolution.crossover_rate": 0.5,
    "training.epochs": 6, "training.inherit_weights": True, "training.inherited_epochs": 2,
})


def weights(genome_dict: dict) -> dict[int, float]:
    genome = Genome.from_dict(genome_dict)
    return {c.innovation: c.weight for c in genome.connections if c.weight is not None}


def test_children_train_inherited_epochs_from_their_parents_weights(tmp_path):
    result = run(SPEC, str(tmp_path / "s.db"))
    rows = result.candidates().set_index("id")
    first = rows[rows["generation"] == 0]
    later = rows[(rows["generation"] > 0) & (rows["status"] == "ok")]
    assert set(first["epochs"]) == {6} and set(later["epochs"]) <= {2, 6}
    # a child keeping none of its parents' trained connections (mutations replaced them all, or
    # its parent is the first generation's network without connections) has nothing to inherit
    # and trains from scratch; most children of a network with connections inherit
    of_wired = later[[rows.loc[parents[0], "connections"] > 0 for parents in later["parents"]]]
    assert len(of_wired) > 0.5 * len(later) and (of_wired["epochs"] == 2).mean() > 0.8
    # a child's trained weights moved on from its parent's: most inherited genes are close
    close = []
    for _, child in of_wired[of_wired["epochs"] == 2].iterrows():
        mine, theirs = weights(child["genome"]), weights(rows.loc[child["parents"][0], "genome"])
        shared = set(mine) & set(theirs)
        if shared:
            close.append(sum(abs(mine[k] - theirs[k]) < 0.5 for k in shared) / len(shared))
    assert len(close) > 0.8 * len(of_wired) and sum(close) / len(close) > 0.8


def test_inheritance_is_deterministic_across_workers_and_resumes(tmp_path):
    assert_deterministic_across_workers_and_resume(SPEC, tmp_path)


def test_inherited_epochs_beyond_epochs_is_rejected_naming_both_fields():
    with pytest.raises(SpecError, match=r"training.inherited_epochs \(7\) must not exceed training.epochs \(6\)"):
        parse_spec(dict(SPEC, training={"epochs": 6, "inherited_epochs": 7}))


def test_inherited_epochs_default_to_a_third_of_epochs():
    spec = parse_spec(dict(SPEC, training={"epochs": 9, "inherit_weights": True}))
    assert spec.training.warm_epochs == 3
    assert parse_spec(dict(SPEC, training={"epochs": 1})).training.warm_epochs == 1
