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

from connevo.blas import pin_openblas_kernels
from connevo.errors import (
    ConnevoError,
    DataError,
    GenomeError,
    NotFoundError,
    SpecError,
    StoreError,
)

pin_openblas_kernels()  # before anything imports NumPy: the same BLAS kernels on every x86-64 machine

__version__ = "0.1.0"

_LAZY = {
    "load_spec": "connevo.evolution.spec",
    "CampaignSpec": "connevo.evolution.spec",
    "run": "connevo.evolution.api",
    "CampaignResult": "connevo.evolution.api",
    "open_store": "connevo.results.store",
    "Store": "connevo.results.store",
    "pareto_front": "connevo.results.pareto",
    "compress": "connevo.evolution.compress",
    "load_model": "connevo.evolution.export",
    "export_front": "connevo.evolution.front_export",
    "score_front": "connevo.evolution.heldout",
    "resume": "connevo.evolution.api",
    "extend": "connevo.evolution.api",
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
