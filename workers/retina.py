"""The retina problem of Clune, Mouret and Lipson (2013), "The evolutionary origins of modularity".

Eight pixels in {-1, +1}: pixels 0-3 are the left half, 4-7 the right half. A half shows an
"object" when its pattern is one of eight; the network answers whether there is an object on the
left AND (or OR) on the right. All 256 patterns are the data: train, validation and test are the
same 256 patterns, as in the paper (performance is the fraction of the 256 classified correctly).
"""

from __future__ import annotations

import itertools

import numpy as np

# Written in pixel order (the half's first pixel first); "1" means +1.
LEFT_OBJECTS: tuple[str, ...] = ("1111", "1110", "1010", "1011", "1000", "1101", "0010", "0111")
RIGHT_OBJECTS: tuple[str, ...] = ("1111", "0111", "0101", "1101", "0001", "1011", "0100", "1110")
RETINA_GOALS = ("and", "or")


def _bits(pattern: tuple[int, ...]) -> str:
    return "".join("1" if p > 0 else "0" for p in pattern)


def retina_patterns(goal: str = "and") -> tuple[np.ndarray, np.ndarray]:
    """All 256 inputs (256, 8) in {-1, +1} and their labels (1: the goal holds)."""
    if goal not in RETINA_GOALS:
        raise ValueError(f"retina goal must be one of {RETINA_GOALS}, got {goal!r}")
    x = np.array(list(itertools.product([-1.0, 1.0], repeat=8)), dtype=np.float64)
    left = np.array([_bits(tuple(row[:4])) in LEFT_OBJECTS for row in x])
    right = np.array([_bits(tuple(row[4:])) in RIGHT_OBJECTS for row in x])
    y = (left & right) if goal == "and" else (left | right)
    return x, y.astype(np.int64)
