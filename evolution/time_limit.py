"""``evolution.time_limit``: a campaign that starts no generation it expects to end past its limit.

The clock starts when a driver starts (or resumes, or extends) the campaign. Before each
generation after the first, the campaign estimates how long that generation and the final polish
would take (:class:`TimeLimit`: the estimated training time of their networks, at the pace the
generations timed so far kept to their estimates) and stops evolving where the two would end past
the limit; the polish then runs on the front so far.
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
import statistics
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
    """The clock of one driver's run of a time-limited campaign.

    Its estimates are the training time :func:`~workers.chunking.stacked_ms` estimates for the
    networks concerned (the next generation: the last generation's children, trained as long as
    they trained; the polish: the front's networks, trained its epochs on its rows), times the
    campaign's pace: the median, over the generations timed, of wall seconds per estimated second
    (the first generation, whose wall holds the workers' start, counts only until another is
    timed). Measured on the quick-start (digits, embedded Ray, 2 workers), that ratio held within
    0.53-0.71 over twelve generations whose wall times ranged 0.8-3.9 s, and was 0.52 for the
    polish; the wall seconds per trained sample-epoch, what this estimated before, ranged
    2.6-10.3 us over the generations, and was 3.6 us for the polish.
    """

    seconds: float
    began: float = field(default_factory=time.monotonic)
    last_generation: float | None = None
    """Wall seconds of the last generation timed (None: none yet)."""
    paces: list[float] = field(default_factory=list)
    """Per generation timed (whose estimate was positive): its wall seconds per estimated second."""

    @property
    def pace(self) -> float | None:
        """Wall seconds per estimated second of training: the median over the generations timed,
        the first left out once another is timed (None: none timed)."""
        if not self.paces:
            return None
        return statistics.median(self.paces[1:] or self.paces)

    def timed(self, seconds: float, estimated: float) -> None:
        """A generation took ``seconds`` of wall time; its training was estimated at ``estimated`` seconds."""
        self.last_generation = seconds
        if estimated > 0:
            self.paces.append(seconds / estimated)

    def stop_before(self, generation: int, estimated: float, polish_estimated: float) -> Stop | None:
        """A :class:`Stop` where ``generation``, its training estimated at ``estimated`` seconds,
        and then a polish estimated at ``polish_estimated`` would end past the limit, at the
        campaign's :attr:`pace`; None where they fit, or before any generation was timed."""
        if self.last_generation is None:
            return None
        elapsed = time.monotonic() - self.began
        pace = self.pace
        next_generation = self.last_generation if pace is None else pace * estimated
        polish = 0.0 if pace is None else pace * polish_estimated
        if elapsed + next_generation + polish <= self.seconds:
            return None
        return Stop(generation - 1, elapsed, next_generation, polish, self.seconds)


UNUSED_SHARE = 0.5
"""A run that evolves to its last generation within this share of its time limit says so."""


def unused_limit_line(evolved: int, last: int, elapsed: float, limit: float) -> str | None:
    """What a time-limited run prints when ``evolution.generations`` (``last``), not the limit,
    ended it: it evolved ``evolved`` generations and finished in ``elapsed`` seconds, under
    :data:`UNUSED_SHARE` of ``limit``. The line says about how many generations the limit would
    allow at the run's pace (its whole wall time, the workers' start and the polish included,
    per generation); None where the run used more of its limit."""
    if evolved <= 0 or elapsed <= 0 or elapsed >= UNUSED_SHARE * limit:
        return None
    fits = int(evolved * limit / elapsed)
    return (f"time limit {describe(limit)}: evolution.generations ({last}) ended the run after {describe(elapsed)}, "
            f"not the limit; at this pace about {fits} generations would fit in it (raise evolution.generations "
            f"and the limit stops evolution in time)")


def stopped_at_time_limit(info: Mapping[str, Any]) -> bool:
    """Whether a stored campaign (its store row: status, spec, generations done) finished because
    its time limit stopped evolution before its last generation."""
    evolution = (info.get("spec") or {}).get("evolution") or {}  # a stored spec names every key
    return (info.get("status") == "finished" and evolution.get("time_limit") is not None
            and int(info.get("generations_done") or 0) < int(evolution["generations"]) + 1)


__all__ = ["UNITS", "UNUSED_SHARE", "Stop", "TimeLimit", "describe", "parse_seconds", "stopped_at_time_limit",
           "unused_limit_line"]
