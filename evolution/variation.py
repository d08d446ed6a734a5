"""Variation: how a child's genome is made from its parent, one mutation operator after another.

Each operator of a child draws from a random stream of its own, derived from (campaign seed,
child number, operator name) only: adding an operator, or changing one operator's rate, changes
no other operator's draws, and an operator at rate 0 draws nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from connevo.search_space.genome import Genome
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import Limits
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import add_connections, remove_connections

Operator = Callable[[Genome, np.random.Generator, InnovationTracker, Limits], Genome]

FORCED = "forced"
"""Stream name of the change forced on a child that came out identical to its parent."""
FORCED_TRIES = 5


def operator_stream(seed: int, number: int, name: str) -> np.random.Generator:
    """The random generator of operator ``name`` for child ``number`` of a campaign with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, number, zlib.crc32(name.encode())]))


@dataclass(frozen=True)
class Variation:
    """Applies each mutation operator with its rate, in registry order.

    ``connection_step`` > 0: an add/remove-connection mutation acts ``1 + Poisson(step x
    connections)`` times. A child identical to its parent would waste a training, so up to
    :data:`FORCED_TRIES` operators drawn among those with a positive rate are applied until it
    differs.
    """

    rates: Mapping[str, float]
    connection_step: float = 0.0
    operators: Mapping[str, Operator] = field(default_factory=lambda: dict(MUTATIONS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rates) - set(self.operators))
        if unknown:
            raise ValueError(f"no mutation operator named {unknown}; known: {sorted(self.operators)}")

    def mutate(self, genome: Genome, seed: int, number: int, innovations: InnovationTracker, limits: Limits) -> Genome:
        """Child ``number``'s genome from ``genome`` (its parent's, or a crossover's)."""
        original = genome
        for name, operator in self.operators.items():
            rate = self.rates.get(name, 0.0)
            if rate <= 0:
                continue
            rng = operator_stream(seed, number, name)
            if rng.random() < rate:
                genome = self._apply(name, operator, genome, rng, innovations, limits)
        active = [name for name in self.operators if self.rates.get(name, 0.0) > 0]
        if _same_structure(genome, original) and active:
            rng = operator_stream(seed, number, FORCED)
            for _ in range(FORCED_TRIES):
                name = active[int(rng.integers(len(active)))]
                genome = self._apply(name, self.operators[name], genome, rng, innovations, limits)
                if not _same_structure(genome, original):
                    break
        return genome

    def _apply(self, name: str, operator: Operator, genome: Genome, rng: np.random.Generator,
               innovations: InnovationTracker, limits: Limits) -> Genome:
        if name in ("add_connection", "remove_connection") and self.connection_step > 0:
            repeats = 1 + int(rng.poisson(self.connection_step * genome.n_enabled))
            many = add_connections if name == "add_connection" else remove_connections
            return many(genome, rng, innovations, limits, repeats)
        return operator(genome, rng, innovations, limits)


def _same_structure(a: Genome, b: Genome) -> bool:
    return a.nodes == b.nodes and a.table.equals(b.table) and a.regularization == b.regularization
