"""Selection on the driver, with DEAP: NSGA-II ranking and survival, or a weighted scalar fitness.

DEAP needs individuals that carry a ``fitness``; we wrap each candidate in a small local object
and build the Fitness class per campaign here, so no ``creator`` globals exist and nothing of
DEAP ever travels to a worker. Every random draw uses the generator passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools

FAILED_SCORE = -1e18
"""What a candidate without a successful training scores on a maximized objective: below any
network's (an R^2 has no lower bound)."""
FAILED_COST = 1e18


@dataclass
class Scored:
    """What selection needs of a candidate: its key, objective values and senses."""

    key: Any
    values: tuple[float, ...]  # objective values, in spec order (maximized first)


class _Individual:
    __slots__ = ("key", "fitness", "rank")

    def __init__(self, key: Any, fitness: base.Fitness) -> None:
        self.key = key
        self.fitness = fitness
        self.rank = 0


def _fitness_class(
    senses: Sequence[str],
    probabilities: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
) -> type[base.Fitness]:
    """A DEAP Fitness class for these senses, local to the caller (no ``creator`` global).

    With ``probabilities`` (stochastic Pareto dominance, Clune et al. 2013), each objective takes
    part in each dominance comparison only with its probability, drawn from ``rng``.
    """
    weights = tuple(1.0 if s == "max" else -1.0 for s in senses)
    namespace: dict[str, Any] = {"weights": weights}
    if probabilities is not None and any(p < 1.0 for p in probabilities):
        if rng is None:
            raise ValueError("stochastic dominance needs a random generator")
        probs = np.asarray(probabilities, dtype=float)

        def dominates(self: base.Fitness, other: base.Fitness, obj: slice = slice(None)) -> bool:
            used = rng.random(len(probs)) < probs
            better = False
            for take, mine, theirs in zip(used, self.wvalues, other.wvalues):
                if not take:
                    continue
                if mine > theirs:
                    better = True
                elif mine < theirs:
                    return False
            return better

        namespace["dominates"] = dominates
    return type("CampaignFitness", (base.Fitness,), namespace)


def _individuals(
    scored: Sequence[Scored],
    senses: Sequence[str],
    probabilities: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
) -> list[_Individual]:
    fitness_class = _fitness_class(senses, probabilities, rng)
    out = []
    for s in scored:
        fitness = fitness_class()
        fitness.values = s.values
        out.append(_Individual(s.key, fitness))
    return out


def nsga2_survivors(
    scored: Sequence[Scored],
    senses: Sequence[str],
    k: int,
    probabilities: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
) -> list[Any]:
    """Keys of the ``k`` survivors by NSGA-II (non-dominated rank, then crowding distance)."""
    individuals = _individuals(scored, senses, probabilities, rng)
    return [ind.key for ind in tools.selNSGA2(individuals, k)]


def nsga2_ranking(
    scored: Sequence[Scored],
    senses: Sequence[str],
    probabilities: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
) -> dict[Any, tuple[int, float]]:
    """(front rank, crowding distance) of each key; rank 0 is the non-dominated front."""
    individuals = _individuals(scored, senses, probabilities, rng)
    ranking: dict[Any, tuple[int, float]] = {}
    for rank, front in enumerate(tools.sortNondominated(individuals, len(individuals))):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            ranking[ind.key] = (rank, float(ind.fitness.crowding_dist))
    return ranking


def weighted_fitness(accuracy: float, cost: float, reference_cost: float, cost_weight: float) -> float:
    """``accuracy - cost_weight * cost / reference_cost``: the scalar of the ``weighted`` algorithm."""
    return accuracy - cost_weight * cost / reference_cost


def binary_tournament(keys: Sequence[Any], better: dict[Any, tuple], rng: np.random.Generator) -> Any:
    """Pick two keys at random, keep the one whose ``better`` tuple is larger (ties: the first)."""
    a = keys[int(rng.integers(len(keys)))]
    b = keys[int(rng.integers(len(keys)))]
    return a if better[a] >= better[b] else b
