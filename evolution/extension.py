"""Extending a campaign: more generations for a finished (or stopped) one.

An extended campaign continues from its last committed generation exactly as it would have run
had it been launched with the larger number of generations: nothing in evolution depends on the
total except a growing connection budget (``search_space.growth``), which is therefore refused.
Its front is then polished again: the members that have no polished copy yet
(:func:`evolution.polish.polish_front`).
"""

from __future__ import annotations

from typing import Any

from connevo.errors import SpecError
from connevo.evolution.spec import CampaignSpec


def extended_spec(spec: CampaignSpec, generations: Any) -> CampaignSpec:
    """``spec`` with ``evolution.generations`` raised to ``generations``; :class:`SpecError`
    naming ``generations`` when it is not a larger whole number, or when the spec's connection
    budget grows over the generations (its schedule would change for those already run)."""
    current = spec.evolution.generations
    if isinstance(generations, bool) or not isinstance(generations, int):
        raise SpecError(f"generations must be a whole number of generations, got {generations!r}")
    if generations <= current:
        raise SpecError(f"generations must be more than the campaign's {current} to extend it, got {generations}")
    growth = spec.search_space.growth
    if growth != "none":
        raise SpecError(
            f"this campaign's connection budget grows over its {current} generations (search_space.growth = "
            f"{growth!r}): with more generations it would have grown more slowly, so it cannot be extended "
            "into the campaign it would have been; launch a new one")
    return spec.with_overrides(**{"evolution.generations": generations})


__all__ = ["extended_spec"]
