"""connevo asks NumPy's OpenBLAS for one set of kernels on every x86-64 machine with AVX2
(``connevo/blas.py``): processes that import connevo first run OpenBLAS's Haswell kernels, a
user's ``OPENBLAS_CORETYPE`` is kept, and where NumPy came first the children are told the
kernels it chose. Each case runs in a fresh interpreter: OpenBLAS chooses once, when it loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connevo.blas import CORETYPE_ENV, PINNED_KERNELS, runs_pinned_kernels

PROBE = """
import json, logging, os, sys
logging.basicConfig(level=logging.WARNING, format="%(message)s")
first, second = sys.argv[1].split(",")
__import__(first)
__import__(second)
import threadpoolctl
from connevo.blas import check_openblas_kernels
controller = threadpoolctl.ThreadpoolController()
check_openblas_kernels(controller)
check_openblas_kernels(controller)
kernels = [i["architecture"] for i in controller.info() if i.get("internal_api") == "openblas"]
print(json.dumps({"env": os.environ.get("OPENBLAS_CORETYPE"), "kernels": kernels}))
"""

pytestmark = pytest.mark.skipif(not runs_pinned_kernels(), reason="not an x86-64 processor with AVX2 and FMA")


def probe(order: str, coretype: str | None = None) -> tuple[dict, str]:
    """Import the two modules of ``order`` ("connevo,numpy") in a fresh interpreter whose
    ``OPENBLAS_CORETYPE`` is ``coretype`` (None: unset); what it saw, and what it logged."""
    env = {k: v for k, v in os.environ.items() if k != CORETYPE_ENV}
    if coretype is not None:
        env[CORETYPE_ENV] = coretype
    done = subprocess.run([sys.executable, "-c", PROBE, order], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_importing_connevo_before_numpy_loads_the_haswell_kernels():
    seen, logged = probe("connevo,numpy")
    assert seen == {"env": PINNED_KERNELS, "kernels": [PINNED_KERNELS]}
    assert "OpenBLAS" not in logged


def test_a_kernel_set_the_user_chose_is_kept():
    seen, logged = probe("connevo,numpy", coretype="Sandybridge")
    assert seen == {"env": "Sandybridge", "kernels": ["Sandybridge"]}
    assert "OpenBLAS" not in logged


def test_numpy_imported_first_passes_its_kernels_to_the_children_and_warns_once_if_they_differ():
    seen, logged = probe("numpy,connevo")
    (chosen,) = seen["kernels"]
    assert seen["env"] == chosen  # children inherit what this process runs
    warnings = [line for line in logged.splitlines() if "OpenBLAS" in line]
    if chosen == PINNED_KERNELS:
        assert warnings == []
    else:  # e.g. SkylakeX on an AVX-512 machine
        assert len(warnings) == 1
        assert f"runs its {chosen} kernels, not {PINNED_KERNELS}" in warnings[0]
        assert f"{CORETYPE_ENV}={PINNED_KERNELS}" in warnings[0]
