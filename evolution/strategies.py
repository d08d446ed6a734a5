"""Selection strategies: how a campaign prefers parents, promotes candidates and keeps survivors.

A :class:`Scoring` reads a candidate's objective values; a :class:`Selection` (NSGA-II or the
weighted fitness, by ``evolution.algorithm``, from :data:`SELECTIONS`) ranks them; :func:`survivors`
builds the next population (duplicates last, budget-niche elites first). Every random draw
comes from the generator passed in, in a fixed order.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connevo.evolution.candidates import Candidate
from connevo.evolution.niches import NicheEntry, niche_elites
from connevo.evolution.selection import (
    FAILED_COST,
    FAILED_SCORE,
    Scored,
    nsga2_ranking,
    nsga2_survivors,
    weighted_fitness,
)
from connevo.evolution.spec import CampaignSpec
from connevo.results.metrics import metric, value_of, worst_value
from connevo.results.pareto import TIE_BREAKERS, pooled_loss, ranks_by_pooled_loss, train_share
from connevo.search_space.cost import measure
from connevo.search_space.genome import Genome

LOSS_TIE_BREAK = 1e-9
"""Validation-accuracy ties are decided by the validation loss: the accuracy selection compares
is lowered by this much per unit of loss (at most :data:`MAX_TIE_LOSS`), far below one sample."""
MAX_TIE_LOSS = 1e3


def _reference_cost(name: str, spec: CampaignSpec, full: Genome, counts: Mapping[str, Any],
                    worst: Mapping[str, float]) -> float:
    """The scale of cost objective ``name``: its value on the fully connected network ``full``,
    or, for a cost that network does not have, what the spec's search space allows."""
    m = metric(name)
    if m.reference is not None:
        return float(m.reference(spec))
    if m.source == "score":  # a score minimized (a loss): the span of its bounds
        return abs(worst[name] - float(m.best or 0.0)) or 1.0
    return value_of(None, name, full) if m.compute else float(counts[name])


@dataclass(frozen=True)
class Scoring:
    """A campaign's objectives (maximized first, then minimized costs) read off its candidates;
    ``reference_costs`` normalize the costs of the weighted fitness."""

    maximize: tuple[str, ...]
    minimize: tuple[str, ...]
    reference_costs: Mapping[str, float]
    worst_scores: Mapping[str, float] = field(default_factory=dict)
    """The worst value of each score objective (:func:`results.metrics.worst_value`: from the
    campaign's data where the metric says so): the hypervolume's reference."""
    pooled_share: float | None = None
    """With ``objectives.rank_accuracy_by = "pooled"``: the training rows' share of training and
    validation rows, the weight of the training loss in :func:`results.pareto.pooled_loss`."""

    @classmethod
    def of(cls, spec: CampaignSpec, full: Genome, dataset: Any = None) -> Scoring:
        """The scoring of ``spec``'s objectives, costs normalized by those of ``full`` (the fully
        connected input-to-output network); ``dataset``: the campaign's data, for the scores whose
        worst value depends on it (log loss, a regression's MSE and MAE)."""
        counts = measure(full, with_modularity=False).as_dict()  # reference costs: counts only
        worst = {name: worst_value(metric(name), dataset) for name in spec.objectives.names
                 if metric(name).source == "score"}
        reference = {name: _reference_cost(name, spec, full, counts, worst) for name in spec.objectives.minimize}
        share = None
        if spec.objectives.rank_accuracy_by == "pooled" and dataset is not None:
            share = train_share(len(dataset.y_train), len(dataset.y_val))
        return cls(tuple(spec.objectives.maximize), tuple(spec.objectives.minimize), reference, worst, share)

    @property
    def objectives(self) -> tuple[str, ...]:
        return (*self.maximize, *self.minimize)

    @property
    def senses(self) -> tuple[str, ...]:
        return ("max",) * len(self.maximize) + ("min",) * len(self.minimize)

    def values(self, c: Candidate) -> tuple[float, ...]:
        """Objective values; a candidate without a successful training scores worst on each."""
        e = c.evaluation
        if e is None or not e.ok:
            return (FAILED_SCORE,) * len(self.maximize) + (FAILED_COST,) * len(self.minimize)
        network = e.trained_genome if e.trained_genome is not None else c.genome  # rewired in training
        return tuple(value_of(e, name, network) for name in self.objectives)

    def ranked(self, c: Candidate) -> tuple[float, ...]:
        """The values selection compares: a validation-accuracy tie is decided by the validation
        loss (:data:`results.pareto.TIE_BREAKERS`), through a shift of the accuracy far below one
        validation sample. Selection always ranks by the accuracy: ranked by the loss, networks
        learning a nonlinear boundary were driven out of the population
        (:mod:`evolution.accuracy_ranking`)."""
        values = self.values(c)
        e = c.evaluation
        if e is None or not e.ok or e.val_loss is None or not math.isfinite(e.val_loss):
            return values
        shift = LOSS_TIE_BREAK * min(e.val_loss, MAX_TIE_LOSS)
        n_max = len(self.maximize)
        return tuple(v - shift if i < n_max else v for i, v in enumerate(values))

    def front_ranked(self, c: Candidate, rank_accuracy_by: str) -> tuple[float, ...]:
        """The values the front compares (:func:`results.pareto.refined_matrix`): :meth:`ranked`,
        or with ``rank_accuracy_by = "loss"`` minus the validation loss in place of
        ``val_accuracy``, with ``"pooled"`` minus the pooled loss (:meth:`pooled_loss`) in place of
        every maximised validation score; equal losses decided by the score (a network without a
        finite loss below every one with a loss). With ``"accuracy_and_loss"``, the objectives'
        values and after them the loss of each maximised accuracy, minimised
        (:func:`results.pareto.front_matrix`):
        :meth:`front_senses` gives the senses of all of them."""
        e = c.evaluation
        if rank_accuracy_by == "accuracy_and_loss":
            losses = [getattr(e, TIE_BREAKERS[name], None) if e is not None and e.ok else None
                      for name in self.maximize if name in TIE_BREAKERS]
            return (*self.values(c), *(x if x is not None and math.isfinite(x) else math.inf for x in losses))
        values = self.ranked(c)
        if rank_accuracy_by not in ("loss", "pooled") or e is None or not e.ok:
            return values
        if rank_accuracy_by == "loss":
            loss, replaced = e.val_loss, (lambda name: name == "val_accuracy")
        else:
            loss, replaced = self.pooled_loss(c), (lambda name: ranks_by_pooled_loss(name, "max"))
        loss = min(loss, MAX_TIE_LOSS) if loss is not None and math.isfinite(loss) else MAX_TIE_LOSS
        plain = self.values(c)
        return tuple(-loss + LOSS_TIE_BREAK * plain[i] if replaced(name) and i < len(self.maximize) else v
                     for i, (name, v) in enumerate(zip(self.objectives, values)))

    def front_senses(self, rank_accuracy_by: str) -> tuple[str, ...]:
        """The senses of :meth:`front_ranked`'s values: the objectives', and with
        ``"accuracy_and_loss"`` ``"min"`` for the loss of each maximised accuracy
        (:data:`results.pareto.TIE_BREAKERS`)."""
        if rank_accuracy_by == "accuracy_and_loss":
            return (*self.senses, *("min" for name in self.maximize if name in TIE_BREAKERS))
        return tuple(self.senses)

    def pooled_loss(self, c: Candidate) -> float | None:
        """``c``'s loss over training and validation rows together (:func:`results.pareto.pooled_loss`);
        None without ``pooled_share`` or without both losses."""
        e = c.evaluation
        if self.pooled_share is None or e is None or not e.ok:
            return None
        return pooled_loss(e.train_loss, e.val_loss, self.pooled_share)

    def weighted(self, c: Candidate, cost_weight: float) -> float:
        """``accuracy - cost_weight x sum of costs / their reference``."""
        values = self.values(c)
        n_max = len(self.maximize)
        cost = sum(v / self.reference_costs[name] for v, name in zip(values[n_max:], self.minimize))
        return weighted_fitness(values[0], cost, 1.0, cost_weight)

    def niche_entry(self, c: Candidate) -> NicheEntry:
        values = self.values(c)
        e = c.evaluation
        if e is None or not e.ok:
            return NicheEntry(c.number, -math.inf, math.inf, math.inf)
        loss = e.val_loss if e.val_loss is not None else math.inf
        return NicheEntry(c.number, values[0], loss, values[len(self.maximize)])


class Selection(abc.ABC):
    """Ranks candidates for a campaign: tournament preferences among parents, and the ``k`` best."""

    def __init__(self, scoring: Scoring, spec: CampaignSpec) -> None:
        self.scoring = scoring
        self.spec = spec

    @abc.abstractmethod
    def preferences(self, parents: Sequence[Candidate], rng: np.random.Generator) -> dict[int, tuple]:
        """Per candidate number, a key that is larger for a candidate a tournament prefers."""

    @abc.abstractmethod
    def best(self, candidates: Sequence[Candidate], k: int, rng: np.random.Generator) -> list[Candidate]:
        """The ``k`` best of ``candidates``, in candidate order (all of them when there are <= k)."""


class NSGA2Selection(Selection):
    """Non-dominated sorting and crowding distance (DEAP), with stochastic dominance where the
    spec asks for it (``objectives.probability``)."""

    def preferences(self, parents: Sequence[Candidate], rng: np.random.Generator) -> dict[int, tuple]:
        ranking = nsga2_ranking([Scored(c.number, self.scoring.ranked(c)) for c in parents], self.scoring.senses,
                                self.spec.objectives.probabilities, rng)
        return {n: (-rank, crowding, -n) for n, (rank, crowding) in ranking.items()}

    def best(self, candidates: Sequence[Candidate], k: int, rng: np.random.Generator) -> list[Candidate]:
        if len(candidates) <= k:
            return list(candidates)
        by_number = {c.number: c for c in candidates}
        keys = nsga2_survivors([Scored(c.number, self.scoring.ranked(c)) for c in candidates], self.scoring.senses,
                               k, self.spec.objectives.probabilities, rng)
        return sorted((by_number[n] for n in keys), key=lambda c: c.number)


class WeightedSelection(Selection):
    """The scalar fitness ``accuracy - evolution.cost_weight x normalized cost``."""

    def preferences(self, parents: Sequence[Candidate], rng: np.random.Generator) -> dict[int, tuple]:
        return {c.number: (self.scoring.weighted(c, self.spec.evolution.cost_weight), -c.number) for c in parents}

    def best(self, candidates: Sequence[Candidate], k: int, rng: np.random.Generator) -> list[Candidate]:
        if len(candidates) <= k:
            return list(candidates)
        weight = self.spec.evolution.cost_weight
        top = sorted(candidates, key=lambda c: (-self.scoring.weighted(c, weight), c.number))[:k]
        return sorted(top, key=lambda c: c.number)


SELECTIONS: dict[str, type[Selection]] = {"nsga2": NSGA2Selection, "weighted": WeightedSelection}
"""Selection strategies by their ``evolution.algorithm`` name."""


def selection_for(spec: CampaignSpec, scoring: Scoring) -> Selection:
    """The selection strategy ``spec`` asks for."""
    return SELECTIONS[spec.evolution.algorithm](scoring, spec)


def survivors(pool: Sequence[Candidate], k: int, selection: Selection, niches: int,
              rng: np.random.Generator) -> list[Candidate]:
    """The next population of ``k`` from ``pool``. Candidates whose objective values repeat an
    earlier candidate's (and failed ones, which all score the same) only fill places left over, so
    copies of one network cannot crowd out the rest (as pymoo's duplicate elimination does); the
    most accurate candidate of each of ``niches`` connection bands survives first."""
    if len(pool) <= k:
        return list(pool)
    seen: set[tuple[float, ...]] = set()
    unique, repeats = [], []
    for c in sorted(pool, key=lambda c: c.number):
        values = selection.scoring.values(c)
        (repeats if values in seen else unique).append(c)
        seen.add(values)
    if len(unique) <= k:
        return sorted(unique + repeats[: k - len(unique)], key=lambda c: c.number)
    elites = set(niche_elites([selection.scoring.niche_entry(c) for c in unique], min(k, niches))) if niches > 0 else set()
    rest = [c for c in unique if c.number not in elites]
    kept = [c for c in unique if c.number in elites] + selection.best(rest, k - len(elites), rng)
    return sorted(kept, key=lambda c: c.number)


__all__ = ["LOSS_TIE_BREAK", "SELECTIONS", "NSGA2Selection", "Scoring", "Selection", "WeightedSelection",
           "selection_for", "survivors"]
