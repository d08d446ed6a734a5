"""Key -> position lookups over sorted distinct keys: the dense table and the binary search give
the same positions, -1 for any key that is absent (between keys, negative, beyond the last)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space.connection_table import dense_positions, positions_in


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sets(st.integers(0, 300), max_size=60), st.lists(st.integers(-5, 320), max_size=80))
def test_the_dense_table_and_the_binary_search_find_the_same_positions(keys: set[int], asked: list[int]) -> None:
    sorted_keys = np.array(sorted(keys), dtype=np.int64)
    expected = [sorted(keys).index(k) if k in keys else -1 for k in asked]
    lookup = dense_positions(sorted_keys)
    assert positions_in(asked, sorted_keys).tolist() == expected  # binary search
    if lookup is not None:
        assert positions_in(asked, sorted_keys, lookup).tolist() == expected
        inside = [k for k in asked if 0 <= k < len(lookup)]  # the all-in-range path
        assert positions_in(inside, sorted_keys, lookup).tolist() == [sorted(keys).index(k) if k in keys else -1
                                                                       for k in inside]
