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
"""

from __future__ import annotations

import gc

__all__ = ["freeze_long_lived_objects", "hold_collections"]


def hold_collections() -> None:
    """No automatic collection until :func:`freeze_long_lived_objects` (imports ahead)."""
    gc.disable()


def freeze_long_lived_objects() -> None:
    """Collect once, take every object alive now out of the collector's scans (``gc.freeze``),
    and let automatic collections run again."""
    gc.collect()
    gc.freeze()
    gc.enable()
