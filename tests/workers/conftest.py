"""Fixtures of the workers tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from connevo.search_space.compile import compile_genome
from connevo.workers import Status, load_dataset
from connevo.workers.batched import class_logits


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


@pytest.fixture(scope="module")
def wine():
    """The wine data set, split with seed 0."""
    return load_dataset("wine", seed=0)


def _assert_reproduced(e, dataset, rel_tol: float = 1e-4, abs_tol: float = 1e-5) -> None:
    assert e.status is Status.OK, e.error
    net = compile_genome(e.trained_genome, use_genome_weights=True).eval()
    for part in ("train", "val", "test"):
        x = torch.as_tensor(getattr(dataset, f"x_{part}"))
        y = torch.as_tensor(getattr(dataset, f"y_{part}"))
        with torch.no_grad():
            logits = class_logits(net(x).float())
        accuracy = float((logits.argmax(dim=1) == y).float().mean())
        loss = float(torch.nn.functional.cross_entropy(logits, y))
        assert abs(accuracy - getattr(e, f"{part}_accuracy")) <= 1.0 / len(y) + 1e-9, part
        assert math.isclose(loss, getattr(e, f"{part}_loss"), rel_tol=rel_tol, abs_tol=abs_tol), part


@pytest.fixture
def assert_reproduced_by_the_compiled_network() -> Callable[..., None]:
    """``check(evaluation, dataset, rel_tol=1e-4, abs_tol=1e-5)``: the trained genome, compiled on
    its own (:mod:`search_space.compile`: one module per genome, another implementation of the
    forward pass than the trainer's stacks, on the CPU), scores on every part what the trainer
    reported: accuracy to a row (float rounding may flip a tie), loss within the tolerance."""
    return _assert_reproduced
