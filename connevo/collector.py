"""The process-wide garbage-collector setting of the processes connevo owns: ``connevo run``,
``resume`` and ``serve`` as started from the command line.

A full collection walks every object the collector tracks and stops every thread while it runs.
Nearly all of those objects are the imported modules' (torch, pandas, FastAPI, Ray, connevo:
about 300,000), made once and alive until the process ends. Measured on 2 cores: a quick-start's
campaign process spent 0.54 s in 6 full collections while it imported them and 0.85 s in 11
more during the campaign (65-100 ms each); the server's took 100-290 ms each during a running
campaign, and the requests in flight then made the 99th percentile of 50 polling clients. So
these processes hold automatic collections while they import (:func:`hold_collections`), then
freeze what is alive out of the scans (:func:`freeze_long_lived_objects`); a campaign's process
freezes once more after its first generation, when Ray and the rest are imported
(:class:`service.freezing.FreezeAfterFirstGeneration`). Frozen objects are still freed when their
reference counts fall to zero; objects made later are collected as before. Not for library code:
a process that merely imports connevo keeps its collector as it was.

At its end, every command started from the command line freezes what is alive once more
(:func:`freeze_before_exit`): the interpreter's collections while it shuts down then skip those
objects, which are freed by their reference counts as the modules go. With torch imported that
shutdown took 0.37 s, 0.18 s after one collection and the freeze; a quick-start's campaign
process ended 1.1 s after its command returned, 0.37 s with them.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["freeze_before_exit", "freeze_long_lived_objects", "hold_collections"]


def hold_collections() -> None:
    """No automatic collection until :func:`freeze_long_lived_objects` (imports ahead)."""
    gc.disable()


def freeze_long_lived_objects() -> None:
    """Collect once, take every object alive now out of the collector's scans (``gc.freeze``),
    and let automatic collections run again."""
    gc.collect()
    gc.freeze()
    gc.enable()


def freeze_before_exit() -> None:
    """Before a command's own process exits: one collection (what the command left in reference
    cycles is finalized as the interpreter's would have), then everything alive frozen out of the
    collections the interpreter runs while it shuts down. Not where triton is imported (an ONNX
    export, training on CUDA): its native bindings (nanobind) count their objects still alive
    when their module goes and print "leaked instances" for those that a frozen cycle holds."""
    if "triton" in sys.modules:
        return
    gc.collect()
    gc.freeze()
