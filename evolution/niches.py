"""Budget niches: the best candidate of each band of connection budgets survives.

NSGA-II keeps the non-dominated candidates first. With a noisy validation score, a network that
is truly better but a little larger is often dominated by a smaller one that scored a sample or
two higher by chance, and whole budget ranges empty out of the population: the lineages that
would have been pruned down to them are lost. So the survivors start with one elite per niche:
the cost axis, from the smallest to the largest cost in the pool, is cut into ``niches``
log-spaced bands, and each band's best candidate (highest accuracy, then lowest validation loss,
then lowest cost, then oldest) survives; NSGA-II fills the remaining places.

Surviving is not breeding: NSGA-II's tournaments prefer non-dominated parents, so an elite
beyond the front's largest network (say, a wide network that overfits the few training rows
while a smaller one scores higher) rarely has children, and its band never improves. With
``evolution.niche_parents`` the dominated elites (:func:`dominated`) each parent one child per
generation (:class:`evolution.offspring.Breeding`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NicheEntry:
    """What niche selection needs of a candidate."""

    key: Any
    accuracy: float
    loss: float
    cost: float


def niche_elites(entries: Sequence[NicheEntry], niches: int) -> list[Any]:
    """Keys of the best entry of each of ``niches`` log-spaced cost bands (empty bands give none),
    in band order. Entries with a non-finite accuracy or cost are never elites."""
    usable = [e for e in entries if math.isfinite(e.accuracy) and math.isfinite(e.cost) and e.cost >= 0]
    if niches <= 0 or not usable:
        return []
    low = math.log1p(min(e.cost for e in usable))
    high = math.log1p(max(e.cost for e in usable))
    width = (high - low) / niches
    best: dict[int, NicheEntry] = {}
    for e in usable:
        band = min(niches - 1, int((math.log1p(e.cost) - low) / width)) if width > 0 else 0
        current = best.get(band)
        if current is None or _rank(e) < _rank(current):
            best[band] = e
    return [best[band].key for band in sorted(best)]


def dominated(entries: Sequence[NicheEntry]) -> set[Any]:
    """Keys of the entries another entry dominates (accuracy no lower and cost no higher, one of
    them strictly); entries with a non-finite accuracy or cost count as dominated."""
    usable = [e for e in entries if math.isfinite(e.accuracy) and math.isfinite(e.cost)]
    out = {e.key for e in entries} - {e.key for e in usable}
    for e in usable:
        if any(o.accuracy >= e.accuracy and o.cost <= e.cost and (o.accuracy > e.accuracy or o.cost < e.cost)
               for o in usable):
            out.add(e.key)
    return out


def _rank(e: NicheEntry) -> tuple[float, float, float]:
    loss = e.loss if math.isfinite(e.loss) else math.inf
    return (-e.accuracy, loss, e.cost)
