"""A generation's children: tournaments among the population, heritage, crossover, the
registered mutations (each from a stream of its own) and repair beyond the limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from connevo.evolution.candidates import Candidate, strip_weights
from connevo.evolution.niches import dominated, niche_elites
from connevo.evolution.selection import binary_tournament
from connevo.evolution.spec import CampaignSpec
from connevo.evolution.strategies import Selection
from connevo.evolution.variation import Variation, operator_stream
from connevo.search_space.genome import Genome
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import Limits, crossover, repair, within_limits


def search_limits(spec: CampaignSpec, generation: int) -> Limits:
    """Search-space limits of ``generation``, the growth schedule's budget included."""
    space = spec.search_space
    return Limits(max_hidden_nodes=space.max_hidden_nodes,
                  max_connections=space.connection_budget(generation, spec.evolution.generations),
                  max_layers=space.max_layers,
                  activations=tuple(space.activations), fixed_layout=space.layout != "evolved")


def variation_for(spec: CampaignSpec) -> Variation:
    """The mutation operators and their rates that ``spec`` asks for."""
    mutation = spec.evolution.mutation
    # an operator registered after the spec model was built has no rate there: it stays off
    rates = {name: rate for name, rate in mutation.model_dump().items() if name in MUTATIONS}
    if not spec.regularization.evolve:
        rates["mutate_regularization"] = 0.0
    return Variation(rates, mutation.connection_step)


def heritage(parent: Candidate, inherit_weights: bool) -> Genome:
    """What a child starts from: the parent's structure and, with weight inheritance, its trained
    weights (a parent that failed passes on its structure only), with the hints its training
    measured (read by the training-informed operators)."""
    e = parent.evaluation
    trained = e.trained_genome if e is not None and e.ok else None
    if not inherit_weights:
        if trained is not None:  # its structure as trained (rewired, when training rewires), its hints
            return strip_weights(trained).replace(hints=trained.hints)
        return parent.genome
    if trained is not None:
        return trained
    return strip_weights(parent.genome)


@dataclass
class Breeding:
    """Makes one generation's children from ``parents``. ``new_candidate(genome, parent_ids)``
    numbers each child (the campaign's counter); ``next_number()`` is the number the next child
    gets, which seeds its crossover and mutation streams."""

    spec: CampaignSpec
    selection: Selection
    rng: np.random.Generator
    innovations: InnovationTracker
    limits: Limits
    candidate_id: Callable[[int], str]

    def children(self, parents: Sequence[Candidate], next_number: Callable[[], int],
                 new_candidate: Callable[[Genome, list[str]], Candidate]) -> list[Candidate]:
        keys = [c.number for c in parents]
        by_number = {c.number: c for c in parents}
        better = self.selection.preferences(parents, self.rng)
        variation = variation_for(self.spec)
        inherit = self.spec.training.inherit_weights
        elites = self._niche_parents(parents)
        children = []
        for i in range(self.spec.evolution.population):
            number = next_number()
            first = elites[i] if i < len(elites) else by_number[binary_tournament(keys, better, self.rng)]
            parent_ids = [self.candidate_id(first.number)]
            genome = heritage(first, inherit)
            mating = operator_stream(self.spec.seed, number, "crossover")
            if mating.random() < self.spec.evolution.crossover_rate and len(parents) > 1:
                second = by_number[binary_tournament(keys, better, self.rng)]
                if second is not first:
                    fitter, other = (first, second) if better[first.number] >= better[second.number] else (second, first)
                    genome = crossover(heritage(fitter, inherit), heritage(other, inherit), mating)
                    parent_ids = [self.candidate_id(fitter.number), self.candidate_id(other.number)]
            genome = variation.mutate(genome, self.spec.seed, number, self.innovations, self.limits)
            if not within_limits(genome, self.limits):  # a child beyond a limit is repaired
                genome = repair(genome, operator_stream(self.spec.seed, number, "repair"), self.limits)
            children.append(new_candidate(genome.replace(hints=None), parent_ids))
        return children

    def _niche_parents(self, parents: Sequence[Candidate]) -> list[Candidate]:
        """With ``evolution.niche_parents``: the budget-niche elites among ``parents`` that another
        parent dominates, cheapest band first, at most a sixteenth of the children; else none."""
        evolution = self.spec.evolution
        if not evolution.niche_parents or self.spec.budget_niches <= 0:
            return []
        by_number = {c.number: c for c in parents}
        entries = [self.selection.scoring.niche_entry(c) for c in parents]
        elites = niche_elites(entries, min(len(parents), self.spec.budget_niches))
        behind = dominated(entries)
        return [by_number[k] for k in elites if k in behind][: max(1, evolution.population // 16)]


__all__ = ["Breeding", "heritage", "search_limits", "variation_for"]
