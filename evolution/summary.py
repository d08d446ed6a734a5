"""What a finished generation looks like from outside: the archive's front and hypervolume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from connevo.evolution.candidates import Candidate
from connevo.evolution.observers import GenerationSummary
from connevo.evolution.strategies import Scoring
from connevo.results.metrics import metric
from connevo.results.pareto import normalized_hypervolume, pareto_mask

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


def summarize(generation: int, children: Sequence[Candidate], archive: Sequence[Candidate], scoring: Scoring,
              population_ids: list[str], candidates_total: int,
              bounds: tuple[Mapping[str, float], Mapping[str, float]],
              rank_accuracy_by: str = "accuracy") -> GenerationSummary:
    """The summary of ``generation``: the front and hypervolume of every fully trained candidate
    so far, the front ranked as ``connevo front`` ranks it (``rank_accuracy_by``, resolved:
    accuracy ties decided by validation loss, or the loss ranking)."""
    objectives, senses = list(scoring.objectives), list(scoring.senses)
    ok = [c for c in archive if c.evaluation is not None and c.evaluation.ok and c.complete]
    values = np.array([scoring.values(c) for c in ok], dtype=float).reshape(len(ok), len(objectives))
    ranked = np.array([scoring.front_ranked(c, rank_accuracy_by) for c in ok], dtype=float).reshape(values.shape)
    mask = pareto_mask(ranked, senses)
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


__all__ = ["REFERENCE_COST_FACTOR", "hypervolume_bounds", "summarize"]
