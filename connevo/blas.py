"""One set of OpenBLAS kernels on every x86-64 machine, so a seed gives the same bits on each.

A stack's products on the CPU are NumPy's (:mod:`workers.kernels`), and NumPy's OpenBLAS picks
its kernels by processor at load time: on an AVX-512 machine its SkylakeX kernels, on an AVX2
one its Haswell kernels (or Zen, the same code). They sum in other orders, so the same
candidates trained to other bits under the two (benchmarks/README.md, *The same bits on AVX2 and
AVX-512*). connevo therefore asks OpenBLAS for its Haswell kernels, which every x86-64 processor
with AVX2 and FMA runs, by setting ``OPENBLAS_CORETYPE`` before NumPy is first imported:
:func:`pin_openblas_kernels` runs when the ``connevo`` package is imported, and child processes
(the embedded Ray's workers, a supervised driver) inherit the variable. On this project's 2-core
AMD EPYC the Haswell kernels train digits networks as fast as the SkylakeX ones (within the
machine's noise): the products are small.

Where ``OPENBLAS_CORETYPE`` is set already, it is left as it is (the user chose). On a processor
without AVX2 or FMA, or not x86-64, nothing is pinned: such a machine computes other bits anyway
(torch's own kernels differ there too). Where NumPy was imported before connevo, OpenBLAS has
chosen already: ``OPENBLAS_CORETYPE`` is then set to the kernels it chose, so that this process's
children (the embedded Ray's workers, ``connevo`` commands it runs) run the same ones as it does,
and :func:`check_openblas_kernels` logs one warning when training starts. A Ray worker imports
connevo before NumPy, so workers on a cluster's nodes pin their own kernels.

Only the standard library is imported here (threadpoolctl only once NumPy is loaded): this runs
before anything heavy.
"""

from __future__ import annotations

import logging
import os
import platform
import sys

log = logging.getLogger(__name__)

CORETYPE_ENV = "OPENBLAS_CORETYPE"
PINNED_KERNELS = "Haswell"
"""OpenBLAS's kernel set for x86-64 processors with AVX2 and FMA."""
_NEEDED_FLAGS = frozenset({"avx2", "fma"})
_warned = False
_chosen_before: str | None = None
"""The kernels OpenBLAS had chosen when connevo was imported after NumPy (None: it was not)."""


def processor_flags() -> frozenset[str]:
    """The processor's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def runs_pinned_kernels() -> bool:
    """Whether this machine can run :data:`PINNED_KERNELS`: x86-64 with AVX2 and FMA."""
    return platform.machine().lower() in ("x86_64", "amd64") and _NEEDED_FLAGS <= processor_flags()


def pin_openblas_kernels() -> None:
    """Set ``OPENBLAS_CORETYPE`` where it is unset: to :data:`PINNED_KERNELS` where NumPy is not
    loaded yet and this machine runs them (NumPy then loads them, here and in child processes);
    where NumPy is loaded already, to the kernels its OpenBLAS chose, for the children."""
    global _chosen_before
    if CORETYPE_ENV in os.environ:
        return
    if "numpy" in sys.modules:
        from threadpoolctl import ThreadpoolController

        chosen = openblas_kernels(ThreadpoolController())
        if chosen:
            _chosen_before = chosen[0]
            os.environ[CORETYPE_ENV] = chosen[0]
        return
    if runs_pinned_kernels():
        os.environ[CORETYPE_ENV] = PINNED_KERNELS


def openblas_kernels(controller: object) -> list[str]:
    """The kernel sets (``architecture``) of the OpenBLAS libraries a threadpoolctl
    ``ThreadpoolController`` found loaded."""
    infos: list[dict[str, object]] = getattr(controller, "info", lambda: [])()
    return [str(i.get("architecture")) for i in infos if i.get("internal_api") == "openblas"]


def check_openblas_kernels(controller: object) -> None:
    """Log once if NumPy was imported before connevo and its OpenBLAS chose other kernels than
    :data:`PINNED_KERNELS` on a machine that runs them. ``controller``: a threadpoolctl
    ``ThreadpoolController`` (the trainer's)."""
    global _warned
    if _warned or _chosen_before is None or not runs_pinned_kernels():
        return
    others = [k for k in openblas_kernels(controller) if k.lower() != PINNED_KERNELS.lower()]
    if others:
        _warned = True
        log.warning(
            "NumPy's OpenBLAS runs its %s kernels, not %s, because NumPy was imported before "
            "connevo: trainings here give the same bits whatever the workers and chunks, but not "
            "those of other machines (import connevo first, or set %s=%s before starting Python)",
            others[0], PINNED_KERNELS, CORETYPE_ENV, PINNED_KERNELS,
        )


__all__ = ["CORETYPE_ENV", "PINNED_KERNELS", "check_openblas_kernels", "openblas_kernels",
           "pin_openblas_kernels", "processor_flags", "runs_pinned_kernels"]
