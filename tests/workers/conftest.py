"""Fixtures of the workers tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def _frame(n_per_class: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat(["cat", "dog", "emu"], n_per_class)
    return pd.DataFrame(
        {
            "height": rng.normal(10, 3, labels.size),
            "weight": rng.integers(0, 100, labels.size),
            "species": labels,
        }
    )


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """``make_frame(n_per_class=20, seed=0)``: a labelled table, 3 species, two numeric features."""
    return _frame
