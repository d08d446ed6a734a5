"""What a finished generation looks like from outside: the archive's front and hypervolume.

The archive keeps each candidate's scores (:class:`ArchivedScores`), not the candidate: a
campaign's summaries need nothing else, and a campaign of thousands of candidates holding every
genome (structure, trained weights, training hints) grew its driver's memory and its garbage
collector's pauses with every generation (measured in a server running a campaign: 1,008 genomes
and 148,000 connection-gene objects alive after about 1,000 candidates, full collections of 100-290
ms during which no request was answered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connevo.evolution.candidates import Candidate
from connevo.evolution.observers import GenerationSummary
from connevo.evolution.strategies import Scoring
from connevo.results.metrics import metric
from connevo.results.pareto import normalized_hypervolume, pareto_mask
from connevo.workers.plans import plan_shape

REFERENCE_COST_FACTOR = 2.0
"""Hypervolume reference point: accuracy 0, cost = this x the cost of the fully connected
input-to-output network (the largest minimal network)."""


def hypervolume_bounds(scoring: Scoring) -> tuple[dict[str, float], dict[str, float]]:
    """(reference point, ideal point) of a campaign's hypervolume: a score objective's worst and
    best values, a cost objective's ``reference_factor`` x its cost on the fully connected
    input-to-output network and 0 (:mod:`results.metrics`)."""
    reference: dict[str, float] = {}
    ideal: dict[str, float] = {}
    for name in scoring.maximize:
        m = metric(name)
        worst = scoring.worst_scores.get(name, float(m.worst or 0.0))
        reference[name], ideal[name] = worst, float(1.0 if m.best is None else m.best)
    for name in scoring.minimize:
        m = metric(name)
        if m.source == "score":  # a score minimized (a loss): its worst (maybe of the data, Metric.worst_of) and best
            reference[name], ideal[name] = scoring.worst_scores.get(name, float(m.worst or 0.0)), float(m.best or 0.0)
        else:
            reference[name], ideal[name] = m.reference_factor * scoring.reference_costs[name], 0.0
    return reference, ideal


@dataclass(frozen=True)
class ArchivedScores:
    """What the archive keeps of a candidate: its objective values, the values its front ranks
    (:meth:`~evolution.strategies.Scoring.front_ranked`), and whether it counts (trained fully
    and successfully)."""

    values: tuple[float, ...]
    front_ranked: tuple[float, ...]
    counted: bool
    network: tuple[int, int] | None = None
    """Where the campaign estimates training times (a time limit): its network's depth and the
    multiply-adds its padded stack executes per sample (:meth:`~workers.plans.Shape.executed_per_sample`)."""

    @classmethod
    def of(cls, c: Candidate, scoring: Scoring, rank_accuracy_by: str,
           n_features: int | None = None) -> ArchivedScores:
        """``c``'s scores; ``c`` must be final (a candidate is archived once its generation is trained).
        With ``n_features`` its :attr:`network` too, where it trained (if only on a lower rung)."""
        network = None
        if n_features is not None and c.evaluation is not None and c.evaluation.ok:
            shape = plan_shape(c.genome)
            network = (shape.depth, shape.executed_per_sample(n_features))
        if not (c.evaluation is not None and c.evaluation.ok and c.complete):
            return cls((), (), False, network)
        return cls(scoring.values(c), scoring.front_ranked(c, rank_accuracy_by), True, network)


def _front_mask(ok: Sequence[ArchivedScores], scoring: Scoring, rank_accuracy_by: str) -> np.ndarray:
    """Which of the counted candidates ``ok`` are on the front, ranked as ``connevo front`` ranks."""
    front_senses = list(scoring.front_senses(rank_accuracy_by))
    ranked = np.array([a.front_ranked for a in ok], dtype=float).reshape(len(ok), len(front_senses))
    return pareto_mask(ranked, front_senses)


def front_members(archive: Sequence[ArchivedScores], scoring: Scoring, rank_accuracy_by: str) -> list[ArchivedScores]:
    """The archive's front as ``connevo front`` lists it (and the polish trains it): one
    candidate per distinct set of objective values, the first archived."""
    ok = [a for a in archive if a.counted]
    members: dict[tuple[float, ...], ArchivedScores] = {}
    for a, on_front in zip(ok, _front_mask(ok, scoring, rank_accuracy_by)):
        if on_front:
            members.setdefault(a.values, a)
    return list(members.values())


def summarize(generation: int, children: Sequence[Candidate], archive: Sequence[ArchivedScores], scoring: Scoring,
              population_ids: list[str], candidates_total: int,
              bounds: tuple[Mapping[str, float], Mapping[str, float]],
              rank_accuracy_by: str) -> GenerationSummary:
    """The summary of ``generation``: the front and hypervolume of every fully trained candidate
    so far (``archive``: one entry per candidate, each ranked as ``connevo front`` ranks it, by
    ``rank_accuracy_by``)."""
    objectives, senses = list(scoring.objectives), list(scoring.senses)
    ok = [a for a in archive if a.counted]
    values = np.array([a.values for a in ok], dtype=float).reshape(len(ok), len(objectives))
    mask = _front_mask(ok, scoring, rank_accuracy_by)
    frame = pd.DataFrame(values, columns=objectives)
    reference, ideal = bounds
    hv = normalized_hypervolume(frame[mask], objectives, dict(reference), dict(ideal), senses)
    return GenerationSummary(
        generation=generation,
        evaluations=len(children),
        candidates_done=len(archive),
        candidates_total=candidates_total,
        best_val_accuracy=float(values[:, 0].max()) if len(ok) else None,
        front_size=len({tuple(row) for row in values[mask]}),  # distinct scores, as `front` lists them
        hypervolume=float(hv),
        population=population_ids,
        failed=sum(1 for c in children if c.evaluation is None or not c.evaluation.ok),
        best_objective=objectives[0],
    )


__all__ = ["REFERENCE_COST_FACTOR", "ArchivedScores", "front_members", "hypervolume_bounds", "summarize"]
