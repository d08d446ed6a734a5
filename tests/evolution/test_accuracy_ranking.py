"""objectives.rank_accuracy_by: which score ranks val_accuracy (a regression: val_r2) on the front (selection always ranks
by the accuracy); "auto" decided by the task's kind, once, when the campaign is created."""

from __future__ import annotations

import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.evolution.accuracy_ranking import ranking_line, resolved_ranking
from connevo.results import queries
from tests.support import comparable, small_spec


def test_auto_ranks_a_classifications_front_by_its_accuracy_and_its_loss_together() -> None:
    assert resolved_ranking("auto") == "accuracy_and_loss"
    assert resolved_ranking("accuracy") == "accuracy" and resolved_ranking("loss") == "loss"


def test_auto_ranks_a_regressions_front_by_the_pooled_loss() -> None:
    assert resolved_ranking("auto", kind="regression") == "pooled"
    assert resolved_ranking("accuracy", kind="regression") == "accuracy"


def test_run_says_how_a_regressions_front_is_ranked() -> None:
    spec = parse_spec(small_spec(**{"task": {"dataset": "diabetes", "kind": "regression"}, "objectives": {},
                                    "objectives.rank_accuracy_by": "pooled"}))
    assert ranking_line(spec, 40, 120) == (
        "front: val_r2 ranked by the loss over training and validation rows together (120 training + 40 "
        "validation rows; objectives.rank_accuracy_by)")
    assert ranking_line(parse_spec(small_spec(**{"objectives.rank_accuracy_by": "accuracy"})), 40, 120) is None
    assert ranking_line(parse_spec(small_spec(**{"objectives.rank_accuracy_by": "accuracy_and_loss"})), 40, 120) == (
        "front: every network that none with as few connections beats on both the validation accuracy and the "
        "validation loss (40 validation rows; objectives.rank_accuracy_by)")


def test_a_ranking_that_is_not_one_of_the_five_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"objectives\.rank_accuracy_by.*'auto', 'accuracy', 'loss', 'pooled' or "
                                        r"'accuracy_and_loss'"):
        parse_spec(small_spec(**{"objectives.rank_accuracy_by": "luck"}))


@pytest.mark.parametrize(("samples", "setting", "stored"), [
    (200, "auto", "accuracy_and_loss"),  # 60 validation rows
    (400, "auto", "accuracy_and_loss"),  # 120
    (200, "accuracy", "accuracy"),
    (200, "loss", "loss"),
    (200, "pooled", "pooled"),
])
def test_the_campaign_stores_the_ranking_it_chose_and_its_front_follows_it(store_path, samples, setting, stored) -> None:
    result = run(small_spec(**{"task.samples": samples, "objectives.rank_accuracy_by": setting,
                               "evolution.generations": 1}), str(store_path))
    assert result.info()["spec"]["objectives"]["rank_accuracy_by"] == stored
    assert queries.accuracy_ranking(result.store, result.campaign_id) == stored
    # the generation's summary counts the front `connevo front` lists (a status says as much)
    assert result.store.generations(result.campaign_id)["front_size"].iloc[-1] == len(result.front())
    everything = result.candidates()
    everything["pooled_loss"] = everything["extra"].map(lambda e: e.get("pooled_loss", float("nan")))
    assert everything["pooled_loss"].notna().all() == (stored == "pooled")  # kept only where it ranks
    # the best network of each ranking the front follows is on it (or a twin of equal scores)
    for first in {"loss": ["val_loss"], "pooled": ["pooled_loss"], "accuracy": [None],
                  "accuracy_and_loss": [None, "val_loss"]}[stored]:
        ranked = everything.sort_values([first, "val_accuracy"], ascending=[True, False]) if first \
            else everything.sort_values(["val_accuracy", "val_loss"], ascending=[False, True])
        twins = (everything["val_accuracy"] == ranked.iloc[0]["val_accuracy"]) & (
            everything[first or "val_loss"] == ranked.iloc[0][first or "val_loss"])
        assert ranked.iloc[0]["id"] in set(result.front()["candidate_id"]) | set(everything.loc[twins, "id"])


def test_selection_ranks_by_the_accuracy_whatever_ranks_the_front(tmp_path) -> None:
    by_loss = run(small_spec(**{"objectives.rank_accuracy_by": "loss"}), str(tmp_path / "loss.db"))
    by_accuracy = run(small_spec(**{"objectives.rank_accuracy_by": "accuracy"}), str(tmp_path / "accuracy.db"))
    # the same candidates, bred from the same parents, whichever ranking the front takes
    assert comparable(by_loss.candidates(), by_loss.campaign_id) == comparable(by_accuracy.candidates(),
                                                                             by_accuracy.campaign_id)
