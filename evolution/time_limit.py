"""``evolution.time_limit``: a campaign that starts no generation it expects to end past its limit.

The clock starts when a driver starts (or resumes, or extends) the campaign. Before each
generation after the first, the campaign estimates how long that generation and the final polish
would take, at the pace of the last generation it timed (wall seconds per trained sample-epoch:
rows x epochs) and stops evolving where the two would end past the limit; the polish then runs on
the front so far.
The first generation always runs, and an estimate can be off by a generation's spread, so a
campaign can end a little past its limit.

Every generation a time-limited campaign reaches is the one its seed fixes: it is the first
generations of the same campaign without the limit (:mod:`evolution.campaign`). How many it
reaches depends on the machine, the one thing about a campaign that does; ``connevo resume``
takes a campaign its limit stopped on towards ``evolution.generations``, with the limit again.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
"""Suffixes a time limit written as text may carry: seconds, minutes, hours."""
_TEXT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", re.IGNORECASE)


def parse_seconds(value: object) -> float:
    """Seconds of a time limit written as a number of seconds or as text: ``"90"``, ``"90s"``,
    ``"10m"``, ``"1.5h"``; :class:`ValueError` naming the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("a time limit is seconds (a number) or text such as '90s', '10m' or '1.5h'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _TEXT.fullmatch(value)):
        seconds = float(match.group(1)) * UNITS[(match.group(2) or "s").lower()]
    else:
        raise ValueError("a time limit is seconds (a number) or text such as '90s', '10m' or '1.5h'")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError("a time limit must be a positive number of seconds")
    return seconds


def describe(seconds: float) -> str:
    """``seconds`` as people write it: ``45 s``, ``2.5 min``, ``1.2 h``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Stop:
    """Why a campaign stops evolving at its time limit: after ``generation``, ``elapsed`` seconds
    used, the next generation and the polish estimated at ``next_generation`` and ``polish``."""

    generation: int
    elapsed: float
    next_generation: float
    polish: float
    limit: float

    def line(self, generations: int) -> str:
        """What the run prints."""
        return (f"time limit {describe(self.limit)}: evolution stops after generation {self.generation} of "
                f"{generations} ({describe(self.elapsed)} used; generation {self.generation + 1} would take about "
                f"{describe(self.next_generation)} and the polish about {describe(self.polish)})")


@dataclass
class TimeLimit:
    """The clock of one driver's run of a time-limited campaign."""

    seconds: float
    began: float = field(default_factory=time.monotonic)
    last_generation: float | None = None
    """Wall seconds of the last generation timed (None: none yet)."""
    last_sample_epochs: float = 0.0
    """What it trained: rows x epochs, summed over its children."""

    @property
    def per_sample_epoch(self) -> float | None:
        """The last generation's wall seconds per trained sample-epoch (None: none timed, or none trained)."""
        if self.last_generation is None or self.last_sample_epochs <= 0:
            return None
        return self.last_generation / self.last_sample_epochs

    def timed(self, seconds: float, sample_epochs: float) -> None:
        """A generation took ``seconds`` to train ``sample_epochs`` (rows x epochs, summed)."""
        self.last_generation, self.last_sample_epochs = seconds, sample_epochs

    def stop_before(self, generation: int, sample_epochs: float, polish_sample_epochs: float) -> Stop | None:
        """A :class:`Stop` where ``generation``, training about ``sample_epochs``, and then a
        polish of ``polish_sample_epochs`` would end past the limit, at the last generation's
        pace; None where they fit, or before any generation was timed."""
        if self.last_generation is None:
            return None
        elapsed = time.monotonic() - self.began
        pace = self.per_sample_epoch
        next_generation = self.last_generation if pace is None else pace * sample_epochs
        polish = 0.0 if pace is None else pace * polish_sample_epochs
        if elapsed + next_generation + polish <= self.seconds:
            return None
        return Stop(generation - 1, elapsed, next_generation, polish, self.seconds)


def stopped_at_time_limit(info: Mapping[str, Any]) -> bool:
    """Whether a stored campaign (its store row: status, spec, generations done) finished because
    its time limit stopped evolution before its last generation."""
    evolution = (info.get("spec") or {}).get("evolution") or {}  # a stored spec names every key
    return (info.get("status") == "finished" and evolution.get("time_limit") is not None
            and int(info.get("generations_done") or 0) < int(evolution["generations"]) + 1)


__all__ = ["UNITS", "Stop", "TimeLimit", "describe", "parse_seconds", "stopped_at_time_limit"]
