"""Benchmark scripts, run as ``python -m benchmarks.<name>`` (see README.md).

connevo is imported before anything imports NumPy, so that the scripts' own trainings and the
``connevo`` commands they start run the OpenBLAS kernels a user's ``connevo`` runs
(:mod:`connevo.blas`)."""

import connevo  # noqa: F401
