"""frontier.py's --baseline-share: the simple baselines fit on a stratified share of the 75% the
methods are given, on the same held-out rows; connevo's split never changes."""

import argparse

import numpy as np
import pytest

from benchmarks.frontier import fewer_rows, share
from benchmarks.frontier_data import Split


@pytest.fixture
def given() -> Split:
    """100 rows of three classes (50/30/20) to fit on, 20 held out."""
    rng = np.random.default_rng(0)
    y_fit = np.repeat([0, 1, 2], [50, 30, 20])
    return Split(rng.normal(size=(100, 4)), y_fit, rng.normal(size=(20, 4)), np.arange(20) % 3)


def test_a_share_keeps_that_many_rows_of_each_class_and_the_same_held_out_rows(given):
    fewer = fewer_rows(given, 0.6, seed=3)
    assert len(fewer.y_fit) == 60
    assert np.bincount(fewer.y_fit).tolist() == [30, 18, 12]  # stratified
    rows = {tuple(r) for r in given.x_fit}
    assert all(tuple(r) in rows for r in fewer.x_fit)  # rows of the 75%, whole
    assert fewer.x_hold is given.x_hold and fewer.y_hold is given.y_hold


def test_the_seed_fixes_the_share_and_all_of_it_is_the_split_itself(given):
    np.testing.assert_array_equal(fewer_rows(given, 0.6, 3).x_fit, fewer_rows(given, 0.6, 3).x_fit)
    assert not np.array_equal(fewer_rows(given, 0.6, 3).x_fit, fewer_rows(given, 0.6, 4).x_fit)
    assert fewer_rows(given, 1.0, 3) is given


@pytest.mark.parametrize("text", ["0", "-0.5", "1.5", "most"])
def test_a_share_outside_zero_to_one_is_refused_by_name(text):
    with pytest.raises(argparse.ArgumentTypeError, match="--baseline-share"):
        share(text)


def test_a_share_of_one_or_less_is_read_as_a_number():
    assert share("0.6") == 0.6 and share("1") == 1.0
