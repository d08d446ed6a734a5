"""Pareto masks, fronts and hypervolume on small tables checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from connevo.errors import ConnevoError, SpecError
from connevo.results.pareto import (
    OBJECTIVE_SENSES,
    front_matrix,
    hypervolume,
    normalized_hypervolume,
    pareto_front,
    pareto_mask,
    pooled_loss,
    refined_matrix,
    train_share,
)

ACC_CONN = ["max", "min"]


def test_objective_senses_maximise_accuracies_and_modularity_and_minimise_costs() -> None:
    assert {k for k, v in OBJECTIVE_SENSES.items() if v == "max"} == {
        "val_accuracy",
        "test_accuracy",
        "train_accuracy",
        "modularity",
        *(f"{part}_{name}" for part in ("train", "val", "test") for name in ("balanced_accuracy", "macro_f1")),
        "val_auc",
        "test_auc",
        *(f"{part}_r2" for part in ("train", "val", "test")),
    }
    assert OBJECTIVE_SENSES["connections"] == "min"
    assert OBJECTIVE_SENSES["latency_us"] == OBJECTIVE_SENSES["val_log_loss"] == OBJECTIVE_SENSES["val_mse"] == "min"
    assert OBJECTIVE_SENSES["wiring_length"] == "min"


def test_mask_keeps_the_trade_off_and_drops_dominated_rows() -> None:
    values = np.array(
        [
            [0.90, 10],  # front: most accurate
            [0.80, 4],  # front
            [0.70, 6],  # dominated by row 1
            [0.50, 1],  # front: cheapest
            [0.85, 12],  # dominated by row 0
        ]
    )
    assert pareto_mask(values, ACC_CONN).tolist() == [True, True, False, True, False]


def test_a_tie_in_one_objective_is_broken_by_the_other() -> None:
    values = np.array([[0.8, 5], [0.8, 3], [0.6, 3]])
    assert pareto_mask(values, ACC_CONN).tolist() == [False, True, False]


def test_identical_rows_are_all_kept() -> None:
    values = np.array([[0.8, 3], [0.8, 3], [0.9, 9], [0.5, 9]])
    assert pareto_mask(values, ACC_CONN).tolist() == [True, True, True, False]


def test_senses_decide_the_direction() -> None:
    values = np.array([[1.0, 1.0], [2.0, 2.0]])
    assert pareto_mask(values, ["min", "min"]).tolist() == [True, False]
    assert pareto_mask(values, ["max", "max"]).tolist() == [False, True]
    assert pareto_mask(values, ["max", "min"]).tolist() == [True, True]


def test_rows_with_nan_are_never_on_the_front_and_dominate_nothing() -> None:
    values = np.array([[np.nan, 0], [0.7, 5], [0.9, np.nan], [0.6, 8]])
    assert pareto_mask(values, ACC_CONN).tolist() == [False, True, False, False]
    assert pareto_mask(np.full((2, 2), np.nan), ACC_CONN).tolist() == [False, False]


def test_three_objectives() -> None:
    # accuracy (max), connections (min), flops (min)
    values = np.array(
        [
            [0.9, 10, 100],  # front
            [0.9, 10, 50],  # front: dominates row 0? yes -> row 0 off
            [0.8, 5, 500],  # front: fewest connections among accurate ones
            [0.8, 6, 500],  # dominated by row 2
            [0.1, 20, 10],  # front: fewest flops
        ]
    )
    assert pareto_mask(values, ["max", "min", "min"]).tolist() == [False, True, True, False, True]


def test_empty_input_gives_an_empty_mask() -> None:
    assert pareto_mask(np.empty((0, 2)), ACC_CONN).shape == (0,)
    assert pareto_mask(np.empty((0, 2)), ACC_CONN).dtype == bool


def test_bad_senses_are_spec_errors_naming_the_value() -> None:
    with pytest.raises(SpecError, match="'maximize'"):
        pareto_mask(np.zeros((2, 2)), ["maximize", "min"])
    with pytest.raises(SpecError, match="1 senses for 2 objectives"):
        pareto_mask(np.zeros((2, 2)), ["min"])


def _naive_mask(values: np.ndarray, senses: list[str]) -> list[bool]:
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    pts = values * sign
    out = []
    for i, p in enumerate(pts):
        if np.isnan(p).any():
            out.append(False)
            continue
        dominated = any(
            not np.isnan(q).any() and (q <= p).all() and (q < p).any() for j, q in enumerate(pts) if j != i
        )
        out.append(not dominated)
    return out


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(0, 12), st.integers(1, 3)),
        elements=st.one_of(st.integers(0, 4).map(float), st.just(float("nan"))),
    ),
    data=st.data(),
)
def test_mask_agrees_with_the_definition_of_dominance(values: np.ndarray, data: st.DataObject) -> None:
    senses = data.draw(st.lists(st.sampled_from(["max", "min"]), min_size=values.shape[1], max_size=values.shape[1]))
    assert pareto_mask(values, senses).tolist() == _naive_mask(values, senses)


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "val_accuracy": [0.90, 0.80, 0.70, 0.50, np.nan],
            "connections": [10, 4, 6, 1, 0],
            "params": [30, 12, 9, 3, 2],
        }
    )


def test_front_returns_rows_sorted_by_cost_then_accuracy() -> None:
    front = pareto_front(_table(), ["val_accuracy", "connections"])
    assert front["id"].tolist() == ["d", "b", "a"]
    assert front.index.tolist() == [0, 1, 2]
    assert list(front.columns) == list(_table().columns)


def test_front_with_only_maximised_objectives_sorts_by_accuracy_descending() -> None:
    df = pd.DataFrame({"val_accuracy": [0.5, 0.9, 0.7], "test_accuracy": [0.9, 0.5, 0.7]})
    front = pareto_front(df, ["val_accuracy", "test_accuracy"])
    assert front["val_accuracy"].tolist() == [0.9, 0.7, 0.5]


def test_front_accepts_explicit_senses_for_unknown_objectives() -> None:
    df = _table().rename(columns={"params": "energy"})
    front = pareto_front(df, ["val_accuracy", "energy"], ["max", "min"])
    assert front["id"].tolist() == ["d", "c", "b", "a"]


def test_front_of_an_unknown_objective_names_it_and_the_known_ones() -> None:
    with pytest.raises(SpecError, match=r"'energy'.*val_accuracy, test_accuracy") as info:
        pareto_front(_table(), ["val_accuracy", "energy"])
    assert isinstance(info.value, ConnevoError)


def test_front_of_a_missing_column_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="'flops'"):
        pareto_front(_table(), ["val_accuracy", "flops"])


def test_front_of_an_empty_table_keeps_the_columns() -> None:
    empty = _table().iloc[0:0]
    front = pareto_front(empty, ["val_accuracy", "connections"])
    assert front.empty and list(front.columns) == list(empty.columns)


def test_front_handles_nullable_integer_columns() -> None:
    df = pd.DataFrame(
        {"val_accuracy": [0.9, 0.8, 0.95], "connections": pd.array([3, 1, None], dtype="Int64")}
    )
    assert pareto_front(df, ["val_accuracy", "connections"])["connections"].tolist() == [1, 3]


def test_hypervolume_of_two_points_in_two_dimensions() -> None:
    # min/min: boxes [1,3]x[2,3] and [2,3]x[1,3] -> 2 + 2 - 1 = 3
    assert hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), ["min", "min"], [3.0, 3.0]) == pytest.approx(3.0)


def test_hypervolume_with_accuracy_maximised_and_connections_minimised() -> None:
    # (acc 0.9, 10 conns) -> box 0.9 x 10 = 9; (0.5, 2) -> 0.5 x 18 = 9; overlap 0.5 x 10 = 5
    values = np.array([[0.9, 10], [0.5, 2]])
    assert hypervolume(values, ACC_CONN, [0.0, 20.0]) == pytest.approx(13.0)


def test_dominated_points_add_nothing_to_the_hypervolume() -> None:
    base = hypervolume(np.array([[0.9, 10], [0.5, 2]]), ACC_CONN, [0.0, 20.0])
    more = hypervolume(np.array([[0.9, 10], [0.5, 2], [0.4, 15]]), ACC_CONN, [0.0, 20.0])
    assert more == pytest.approx(base)


def test_points_not_strictly_better_than_the_reference_are_dropped() -> None:
    assert hypervolume(np.array([[0.0, 5.0]]), ACC_CONN, [0.0, 20.0]) == 0.0  # accuracy at the reference
    assert hypervolume(np.array([[0.9, 25.0]]), ACC_CONN, [0.0, 20.0]) == 0.0  # beyond the budget
    assert hypervolume(np.array([[np.nan, 5.0], [0.5, 10.0]]), ACC_CONN, [0.0, 20.0]) == pytest.approx(5.0)


def test_hypervolume_of_nothing_is_zero() -> None:
    assert hypervolume(np.empty((0, 2)), ACC_CONN, [0.0, 20.0]) == 0.0


def test_hypervolume_in_three_dimensions() -> None:
    assert hypervolume(np.array([[1.0, 1.0, 1.0]]), ["min"] * 3, [2.0, 3.0, 4.0]) == pytest.approx(6.0)
    # second point adds the slab [2,3] x [1,3] x [1,4] minus nothing it shares beyond x in [1,2]
    two = hypervolume(np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 3.0]]), ["min"] * 3, [2.0, 3.0, 4.0])
    # union: box A [1,2]x[1,3]x[1,4] = 6, box B [0,2]x[2,3]x[3,4] = 2, overlap [1,2]x[2,3]x[3,4] = 1
    assert two == pytest.approx(7.0)


def test_reference_of_the_wrong_length_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="2 coordinates"):
        hypervolume(np.array([[1.0, 1.0]]), ["min", "min"], [3.0])


IDEAL = {"val_accuracy": 1.0, "connections": 0}
REFERENCE = {"val_accuracy": 0.0, "connections": 1280}


def test_normalized_hypervolume_of_the_ideal_point_is_one() -> None:
    df = pd.DataFrame({"val_accuracy": [1.0], "connections": [0]})
    assert normalized_hypervolume(df, ["val_accuracy", "connections"], REFERENCE, IDEAL) == pytest.approx(1.0)


def test_normalized_hypervolume_by_hand() -> None:
    one = pd.DataFrame({"val_accuracy": [0.5], "connections": [640]})
    assert normalized_hypervolume(one, ["val_accuracy", "connections"], REFERENCE, IDEAL) == pytest.approx(0.25)
    # scaled points (0.2, 0.5) and (0.5, 0.25): 0.8*0.5 + 0.5*0.75 - 0.5*0.5 = 0.525
    two = pd.DataFrame({"val_accuracy": [0.8, 0.5], "connections": [640, 320]})
    assert normalized_hypervolume(two, ["val_accuracy", "connections"], REFERENCE, IDEAL) == pytest.approx(0.525)


def test_normalized_hypervolume_stays_in_the_unit_interval() -> None:
    df = pd.DataFrame({"val_accuracy": [1.0, -0.5, 0.5], "connections": [-10, 5000, 640]})
    hv = normalized_hypervolume(df, ["val_accuracy", "connections"], REFERENCE, IDEAL)
    assert hv == pytest.approx(1.0)
    empty = df.iloc[0:0]
    assert normalized_hypervolume(empty, ["val_accuracy", "connections"], REFERENCE, IDEAL) == 0.0


def test_normalized_hypervolume_rejects_an_ideal_worse_than_the_reference() -> None:
    df = pd.DataFrame({"val_accuracy": [0.5], "connections": [640]})
    with pytest.raises(SpecError, match="'connections'"):
        normalized_hypervolume(df, ["val_accuracy", "connections"], REFERENCE, {"val_accuracy": 1.0, "connections": 2000})
    with pytest.raises(SpecError, match="lacks"):
        normalized_hypervolume(df, ["val_accuracy", "connections"], {"val_accuracy": 0.0}, IDEAL)


def test_an_accuracy_tie_is_decided_by_the_loss_on_the_same_rows() -> None:
    df = pd.DataFrame({
        "val_accuracy": [0.90, 0.90, 0.90, 0.95, 0.80, np.nan],
        "val_loss": [0.30, 0.20, 0.25, 0.10, 0.10, 0.05],
        "connections": [10, 20, 30, 40, 5, 1],
    })
    front = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="accuracy")
    # 20 connections tie 10 on accuracy with a lower loss: kept; 30 ties too, but 20 is surer and smaller
    assert list(front["connections"]) == [5, 10, 20, 40]
    plain = pareto_front(df.drop(columns="val_loss"), ["val_accuracy", "connections"], rank_accuracy_by="accuracy")
    assert list(plain["connections"]) == [5, 10, 40]
    same = pd.DataFrame({"val_accuracy": [0.9, 0.9], "val_loss": [0.2, 0.2], "connections": [3, 3]})
    assert len(pareto_front(same, ["val_accuracy", "connections"], rank_accuracy_by="accuracy")) == 2  # identical rows stay


def test_ranked_by_the_loss_a_front_keeps_the_surer_network_of_lower_accuracy() -> None:
    df = pd.DataFrame({
        "val_accuracy": [0.90, 0.88, 0.90, 0.95, 0.80, 0.97, np.nan],
        "val_loss": [0.30, 0.20, 0.20, 0.10, 0.35, np.nan, 0.01],
        "connections": [10, 20, 30, 40, 5, 50, 1],
    })
    front = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="loss")
    # 20 connections are less accurate than 10 but surer: on the front; 30 as sure as 20 and more
    # accurate: on it too; a network without a loss ranks below every one with a loss, and one
    # without an accuracy is never on the front
    assert list(front["connections"]) == [5, 10, 20, 30, 40]
    df.loc[4, "val_loss"] = 0.10  # as sure as 40 connections: equal losses go to the accuracy
    assert list(pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="loss")["connections"]) == [5, 40]
    # ranked by the accuracy (the default): the accuracy staircase, ties decided by the loss
    by_accuracy = pareto_front(df, ["val_accuracy", "connections"])
    assert list(by_accuracy["connections"]) == [5, 10, 30, 40, 50]


def test_ranked_by_accuracy_and_loss_a_front_keeps_every_network_no_other_beats_on_both() -> None:
    df = pd.DataFrame({
        "val_accuracy": [0.90, 0.88, 0.90, 0.95, 0.80, 0.97, np.nan, 0.90, 0.94],
        "val_loss": [0.30, 0.20, 0.20, 0.10, 0.35, np.nan, 0.01, 0.25, 0.15],
        "connections": [10, 20, 30, 40, 5, 50, 1, 15, 45],
    })
    front = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="accuracy_and_loss")
    # 15 connections: surer than 10 at the same accuracy; 45: less accurate than 40 and less sure,
    # with more connections: off; 50, without a loss, is the most accurate: on; no accuracy: never
    assert list(front["connections"]) == [5, 10, 15, 20, 30, 40, 50]
    by_accuracy = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="accuracy")
    by_loss = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="loss")
    assert set(by_accuracy["connections"]) | set(by_loss["connections"]) <= set(front["connections"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.5, 0.6, 0.7, 0.8]), st.sampled_from([0.1, 0.2, 0.3, float("nan")]),
                          st.integers(1, 6)), min_size=1, max_size=25))
def test_the_accuracy_and_loss_front_is_what_no_row_dominates_on_accuracy_loss_and_connections(rows) -> None:
    df = pd.DataFrame(rows, columns=["val_accuracy", "val_loss", "connections"])
    front = pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="accuracy_and_loss")
    loss = df["val_loss"].fillna(np.inf)

    def dominated(i: int) -> bool:
        return any(df.val_accuracy[j] >= df.val_accuracy[i] and loss[j] <= loss[i]
                   and df.connections[j] <= df.connections[i]
                   and (df.val_accuracy[j], -loss[j], -df.connections[j]) != (df.val_accuracy[i], -loss[i],
                                                                             -df.connections[i])
                   for j in range(len(df)))

    expected = sorted((df.connections[i], -df.val_accuracy[i], loss[i]) for i in range(len(df)) if not dominated(i))
    got = sorted(zip(front["connections"], -front["val_accuracy"], front["val_loss"].fillna(np.inf)))
    assert got == expected
    for ranking in ("accuracy", "loss"):  # it holds both fronts of one score
        assert len(pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by=ranking).merge(
            front, how="left", indicator=True).query("_merge == 'left_only'")) == 0


def test_accuracy_and_loss_compares_more_columns_than_objectives() -> None:
    df = pd.DataFrame({"val_accuracy": [0.9, 0.8], "val_loss": [0.3, 0.1], "connections": [3, 3]})
    matrix, senses = front_matrix(df, ["val_accuracy", "connections"], ["max", "min"], "accuracy_and_loss")
    assert matrix.tolist() == [[0.9, 3, 0.3], [0.8, 3, 0.1]] and senses == ["max", "min", "min"]
    with pytest.raises(ValueError, match="front_matrix"):
        refined_matrix(df, ["val_accuracy", "connections"], ["max", "min"], "accuracy_and_loss")
    # without a loss column, the objectives alone
    assert front_matrix(df.drop(columns="val_loss"), ["val_accuracy", "connections"], ["max", "min"],
                        "accuracy_and_loss")[1] == ["max", "min"]


def test_ranked_by_the_pooled_loss_a_front_follows_it_for_every_validation_score() -> None:
    df = pd.DataFrame({
        "val_r2": [0.40, 0.30, 0.45, 0.42, np.nan],
        "pooled_loss": [0.50, 0.45, 0.44, np.nan, 0.01],
        "connections": [1, 2, 3, 4, 5],
    })
    # 2 connections fit worse on the validation rows than 1 but better over training and
    # validation rows together: on the front; a network without a pooled loss ranks below every
    # one with one, and one without a score is never on the front
    assert list(pareto_front(df, ["val_r2", "connections"], rank_accuracy_by="pooled")["connections"]) == [1, 2, 3]
    assert list(pareto_front(df, ["val_r2", "connections"])["connections"]) == [1, 3]
    # a table without the column: the scores themselves
    plain = pareto_front(df.drop(columns="pooled_loss"), ["val_r2", "connections"], rank_accuracy_by="pooled")
    assert list(plain["connections"]) == [1, 3]
    # a classification's accuracy too: the pooled loss ranks it, not the validation loss
    both = pd.DataFrame({"val_accuracy": [0.8, 0.9], "pooled_loss": [0.1, 0.2], "val_loss": [0.3, 0.1],
                         "connections": [3, 3]})
    assert list(pareto_front(both, ["val_accuracy", "connections"], rank_accuracy_by="pooled")["val_accuracy"]) == [0.8]
    assert list(pareto_front(both, ["val_accuracy", "connections"], rank_accuracy_by="loss")["val_accuracy"]) == [0.9]


def test_the_pooled_loss_weighs_every_training_and_validation_row_alike() -> None:
    share = train_share(300, 100)
    assert share == 0.75 and pooled_loss(0.2, 0.6, share) == pytest.approx(0.3)
    assert pooled_loss(None, 0.6, share) is None and pooled_loss(0.2, float("inf"), share) is None
    assert train_share(0, 0) == 0.0


def test_an_unknown_accuracy_ranking_is_refused_naming_the_choices() -> None:
    df = pd.DataFrame({"val_accuracy": [0.9], "val_loss": [0.2], "connections": [3]})
    with pytest.raises(SpecError, match="rank_accuracy_by must be one of accuracy, loss, pooled, accuracy_and_loss, "
                                        "got 'sure'"):
        pareto_front(df, ["val_accuracy", "connections"], rank_accuracy_by="sure")
