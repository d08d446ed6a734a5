"""Shared fixtures: one local Ray instance per test session, small specs, tmp stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session (starting Ray costs seconds)."""
    import ray

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "connevo.db"


def small_spec(**overrides) -> dict:
    """A spec that trains in a second or two: XOR, tiny population, few epochs."""
    spec = {
        "name": "tiny-xor",
        "seed": 3,
        "task": {"dataset": "xor", "samples": 200},
        "evolution": {"population": 6, "generations": 2},
        "objectives": {"maximize": ["val_accuracy"], "minimize": ["connections"]},
        "training": {"epochs": 5, "batch_size": 64, "learning_rate": 0.05},
        "workers": {"count": 2, "backend": "local"},
    }
    for dotted, value in overrides.items():
        node = spec
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return spec
