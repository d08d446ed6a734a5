"""benchmarks/real_tables.py prepares a table as a user would for connevo's CSV loader: numbers
only, text one-hot, no missing value, the target's classes numbered in sorted order."""

import numpy as np
import pandas as pd
import pytest

from benchmarks.real_tables import (
    LARGE_TABLES,
    REAL_GROUPS,
    REAL_TABLES,
    REGRESSION_TABLES,
    prepared,
    prepared_regression,
)


def table() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 5],
        "price": [1.5, 2.0, np.nan, 4.0, 5.5],
        "colour": ["red", "blue", "red", "green", "blue"],
        "mode": ["pier", "beach", "boat", "beach", "pier"],
    })


def test_text_columns_are_one_hot_and_rows_with_a_missing_value_are_left_out():
    x, y = prepared(table(), "mode", drop=("id",))
    # price, then one indicator per colour (sorted: blue, green, red); the third row had no price
    assert x.dtype == np.float64 and x.shape == (4, 4)
    np.testing.assert_array_equal(x, [[1.5, 0, 0, 1], [2.0, 1, 0, 0], [4.0, 0, 1, 0], [5.5, 1, 0, 0]])
    assert list(y) == [1, 0, 0, 1]  # beach 0, pier 1 (boat's only row had no price)


def test_a_sample_is_fixed_and_keeps_rows_whole():
    big = pd.concat([table().dropna()] * 50, ignore_index=True).assign(price=lambda f: np.arange(len(f), dtype=float))
    first, again = prepared(big, "mode", drop=("id",), rows=30), prepared(big, "mode", drop=("id",), rows=30)
    assert first[0].shape == (30, 4)
    np.testing.assert_array_equal(first[0], again[0])
    rows = {int(r[0]): (tuple(r[1:]), label) for r, label in zip(first[0], first[1], strict=True)}
    whole, labels = prepared(big, "mode", drop=("id",))
    assert all(rows[p] == (tuple(whole[p, 1:]), labels[p]) for p in rows)


def test_the_groups_name_every_table_once_and_all_of_them_together():
    groups = [REAL_GROUPS[g] for g in ("real1", "real2", "real3", "real4", "real5", "real6")]
    assert REAL_GROUPS["real"] == [name for group in groups for name in group]
    assert len(set(REAL_GROUPS["real"])) == len(REAL_GROUPS["real"]) == 45
    assert sorted([*REAL_GROUPS["real"], *LARGE_TABLES]) == sorted(REAL_TABLES)  # the large ones: --datasets big
    assert [len(group) for group in groups] == [8, 8, 8, 7, 7, 7]


def test_datasets_names_a_group_by_its_tables_in_place():
    from benchmarks.frontier import dataset_names

    assert dataset_names("digits,real2,iris") == ["digits", *REAL_GROUPS["real2"], "iris"]
    assert dataset_names("big") == ["huge", "diamonds_full"]


def test_a_regression_keeps_its_numeric_target_as_given():
    x, y = prepared_regression(table(), "price", drop=("id",))
    # colour (blue, green, red) and mode (beach, pier: boat's only row had no price) one-hot
    assert x.shape == (4, 5) and y.dtype == np.float64
    np.testing.assert_array_equal(y, [1.5, 2.0, 4.0, 5.5])
    np.testing.assert_array_equal(x, [[0, 0, 1, 0, 1], [1, 0, 0, 1, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 1]])


def test_a_regression_refuses_a_text_target():
    with pytest.raises(ValueError, match="'mode' is not numeric"):
        prepared_regression(table(), "mode", drop=("id",))


def test_the_regression_benchmark_names_the_real_tables_in_place():
    from benchmarks.regression_frontier import dataset_names

    assert dataset_names("diabetes,real") == ["diabetes", *REGRESSION_TABLES]
    assert set(REGRESSION_TABLES).isdisjoint(REAL_TABLES)  # each name says which benchmark it belongs to
