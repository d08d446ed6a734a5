"""connevo: evolve the connection topology of neural networks and query the Pareto front.

The public Python API, loaded lazily so that importing :mod:`connevo.errors` from any package
costs nothing::

    import connevo
    spec = connevo.load_spec("examples/quickstart.toml")
    result = connevo.run(spec, store="connevo.db")
    result.front()        # pandas DataFrame of the non-dominated candidates
    result.candidates()   # every candidate
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from connevo.errors import (
    ConnevoError,
    DataError,
    GenomeError,
    NotFoundError,
    SpecError,
    StoreError,
)

__version__ = "0.1.0"

_LAZY = {
    "load_spec": "evolution.spec",
    "CampaignSpec": "evolution.spec",
    "run": "evolution.api",
    "CampaignResult": "evolution.api",
    "open_store": "results.store",
    "Store": "results.store",
    "pareto_front": "results.pareto",
    "compress": "evolution.compress",
    "load_model": "evolution.export",
    "resume": "evolution.api",
    "extend": "evolution.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'connevo' has no attribute {name!r}")


__all__ = [
    "ConnevoError",
    "DataError",
    "GenomeError",
    "NotFoundError",
    "SpecError",
    "StoreError",
    "__version__",
    *_LAZY,
]
