"""Fixtures for the results tests: real stores on real databases, and small genomes.

The store fixture runs every store test against a fresh SQLite file; set
CONNEVO_TEST_POSTGRES_URL (an empty PostgreSQL database) to run the same tests on PostgreSQL too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connevo.results.store import Store, open_store

_POSTGRES_ENV = "CONNEVO_TEST_POSTGRES_URL"


def _backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get(_POSTGRES_ENV) else [])


@pytest.fixture(params=_backends())
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    """An empty store: a new SQLite file in tmp_path (or the PostgreSQL test database)."""
    if request.param == "sqlite":
        with open_store(tmp_path / "connevo.db") as s:
            yield s
        return
    import sqlalchemy as sa

    from connevo.results.schema import metadata

    url = os.environ[_POSTGRES_ENV]
    with open_store(url) as s:
        yield s
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
    engine.dispose()


def genome(n_in: int = 2, n_out: int = 1, hidden: int = 0, weights: bool = False) -> dict[str, Any]:
    """A small valid genome JSON: inputs wired to outputs, optional hidden nodes in a chain."""
    nodes = [{"id": i, "role": "input", "activation": "identity", "bias": 0.0} for i in range(n_in)]
    outs = list(range(n_in, n_in + n_out))
    nodes += [{"id": o, "role": "output", "activation": "sigmoid", "bias": 0.1} for o in outs]
    hids = list(range(n_in + n_out, n_in + n_out + hidden))
    nodes += [{"id": h, "role": "hidden", "activation": "relu", "bias": 0.0} for h in hids]
    edges = [(i, o) for i in range(n_in) for o in outs]
    chain = [0, *hids, outs[0]] if hids else []
    edges += list(zip(chain, chain[1:]))
    conns = [
        {
            "innovation": k,
            "source": s,
            "target": t,
            "enabled": True,
            "weight": (0.5 - k * 0.3) if weights else None,
        }
        for k, (s, t) in enumerate(edges)
    ]
    return {"format": "connevo.genome", "version": 1, "nodes": nodes, "connections": conns}


@pytest.fixture
def make_candidate() -> Callable[..., dict[str, Any]]:
    """Factory: make_candidate(number, generation=0, **fields) -> a candidate dict for the store."""

    def make(number: int, generation: int = 0, **fields: Any) -> dict[str, Any]:
        cand: dict[str, Any] = {
            "number": number,
            "generation": generation,
            "parents": [],
            "genome": genome(),
            "status": "ok",
            "seed": 1000 + number,
        }
        cand.update(fields)
        return cand

    return make


def summary(population: list[str], **fields: Any) -> dict[str, Any]:
    """A generation summary with plausible defaults."""
    out: dict[str, Any] = {
        "population": population,
        "front_size": 1,
        "hypervolume": 0.0,
        "best_val_accuracy": None,
        "evaluations": len(population),
    }
    out.update(fields)
    return out


@pytest.fixture
def make_summary() -> Callable[..., dict[str, Any]]:
    """Factory: make_summary(population, **fields) -> a generation summary dict."""
    return summary


@pytest.fixture
def make_genome() -> Callable[..., dict[str, Any]]:
    """Factory: make_genome(n_in=2, n_out=1, hidden=0, weights=False) -> genome JSON."""
    return genome
