"""objectives.rank_accuracy_by: which score ranks val_accuracy, in selection and on the front;
"auto" decided by the number of validation rows, once, when the campaign is created."""

from __future__ import annotations

import math

import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.evolution.accuracy_ranking import LOSS_RANKING_BELOW_ROWS, resolved_ranking
from connevo.evolution.candidates import Candidate
from connevo.evolution.strategies import Scoring
from connevo.results import queries
from connevo.workers.records import Evaluation, Status
from tests.support import small_spec


def test_auto_ranks_by_the_loss_only_on_a_classification_with_few_validation_rows() -> None:
    assert resolved_ranking("auto", LOSS_RANKING_BELOW_ROWS - 1) == "loss"
    assert resolved_ranking("auto", LOSS_RANKING_BELOW_ROWS) == "accuracy"
    assert resolved_ranking("auto", 10, kind="regression") == "accuracy"
    assert resolved_ranking("accuracy", 10) == "accuracy" and resolved_ranking("loss", 10_000) == "loss"


def test_a_ranking_that_is_not_one_of_the_three_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"objectives\.rank_accuracy_by.*'accuracy', 'loss' or 'auto'"):
        parse_spec(small_spec(**{"objectives.rank_accuracy_by": "luck"}))


@pytest.mark.parametrize(("samples", "setting", "stored"), [
    (200, "auto", "loss"),  # 60 validation rows
    (400, "auto", "accuracy"),  # 120
    (200, "accuracy", "accuracy"),
])
def test_the_campaign_stores_the_ranking_it_chose_and_its_front_follows_it(store_path, samples, setting, stored) -> None:
    result = run(small_spec(**{"task.samples": samples, "objectives.rank_accuracy_by": setting,
                               "evolution.generations": 1}), str(store_path))
    assert result.info()["spec"]["objectives"]["rank_accuracy_by"] == stored
    assert queries.accuracy_ranking(result.store, result.campaign_id) == stored
    everything = result.candidates()
    ranked = everything.sort_values(["val_loss", "val_accuracy"], ascending=[True, False]) if stored == "loss" \
        else everything.sort_values(["val_accuracy", "val_loss"], ascending=[False, True])
    assert ranked.iloc[0]["id"] in set(result.front()["candidate_id"]) | set(
        everything.loc[(everything["val_accuracy"] == ranked.iloc[0]["val_accuracy"])
                       & (everything["val_loss"] == ranked.iloc[0]["val_loss"]), "id"])  # or an identical twin


def scored(number: int, accuracy: float, loss: float | None, ok: bool = True) -> Candidate:
    candidate = Candidate(number, 0, None, [], number)  # type: ignore[arg-type]
    candidate.evaluation = Evaluation(candidate_id=str(number), status=Status.OK if ok else Status.FAILED,
                                      val_accuracy=accuracy if ok else None, val_loss=loss,
                                      costs={"connections": 10})
    return candidate


def test_selection_ranks_by_the_loss_then_the_accuracy_and_a_failed_candidate_last() -> None:
    scoring = Scoring(("val_accuracy",), ("connections",), {"connections": 100.0}, rank_accuracy_by="loss")
    sure, lucky = scored(0, 0.80, 0.30), scored(1, 0.90, 0.60)
    twin = scored(2, 0.85, 0.30)  # as sure as the first, more accurate
    lossless, failed = scored(3, 0.99, math.inf), scored(4, 0.0, None, ok=False)
    order = sorted([sure, lucky, twin, lossless, failed], key=scoring.ranked, reverse=True)
    assert [c.number for c in order] == [2, 0, 1, 3, 4]
    by_accuracy = Scoring(("val_accuracy",), ("connections",), {"connections": 100.0})
    assert [c.number for c in sorted([sure, lucky, twin, lossless, failed], key=by_accuracy.ranked, reverse=True)] \
        == [3, 1, 2, 0, 4]
    # niche selection ranks the same way
    entries = {c.number: scoring.niche_entry(c) for c in (sure, lucky, twin, lossless)}
    assert entries[2].score == entries[0].score > entries[1].score and entries[2].tie_break < entries[0].tie_break
    assert not math.isfinite(entries[3].score)
