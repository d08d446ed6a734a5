"""Evaluation schedules: how a generation's children get trained.

:class:`FullTraining` trains every child fully; :class:`SuccessiveHalving` (``evolution.fidelity``)
trains all of them briefly and only the best share to the end. A schedule sets each child's
``evaluation`` (and ``fidelity``) and tells the campaign's observers as chunks finish.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from connevo.evolution.candidates import Candidate, candidate_from_row, candidate_seed, strip_weights
from connevo.evolution.spec import CampaignSpec, FidelitySpec
from connevo.search_space.genome import Genome
from connevo.workers.evaluator import Evaluator
from connevo.workers.records import Evaluation, EvaluationRequest

if TYPE_CHECKING:
    from connevo.evolution.campaign import Campaign


class FullTraining:
    """Every child trains its full epochs; after a resume, evaluations that finished before the
    cut (the store's pending rows) are reused when the genome matches."""

    def evaluate(self, campaign: Campaign, children: Sequence[Candidate], evaluator: Evaluator) -> None:
        todo = []
        for child in children:
            row = campaign.pending.pop(child.number, None)
            if row is not None and strip_weights(Genome.from_dict(row["genome"])) == strip_weights(child.genome):
                child.evaluation = candidate_from_row(row, keep_weights=True).evaluation
            else:
                todo.append(child)
        campaign.in_flight = {campaign.candidate_id(c.number): c for c in todo}
        requests = [EvaluationRequest(campaign.candidate_id(c.number), c.genome, c.seed) for c in todo]

        def progress(done: list[Evaluation]) -> None:
            for evaluation in done:
                campaign.in_flight[evaluation.candidate_id].evaluation = evaluation
            for observer in campaign.observers:
                observer.on_evaluations(campaign, done)
            campaign.check_stop()

        evaluator.evaluate(requests, progress)
        campaign.in_flight = {}


class SuccessiveHalving:
    """Every child trains for the first rung's share of its epochs; the best ``keep`` share (the
    campaign's selection, on this rung's scores) continues from those weights to the next rung;
    the last rung is the full training. Each candidate ends with the evaluation of the last rung
    it reached, its ``fidelity`` that rung's share."""

    def __init__(self, fidelity: FidelitySpec) -> None:
        self.fidelity = fidelity

    def evaluate(self, campaign: Campaign, children: Sequence[Candidate], evaluator: Evaluator) -> None:
        rungs = self.fidelity.rungs
        full = {c.number: campaign.settings.epochs_for(c.genome) for c in children}
        done = {c.number: (0, 0.0) for c in children}  # epochs trained, seconds spent so far
        active = list(children)
        for rung, share in enumerate(rungs):
            last = rung == len(rungs) - 1
            requests = [self._request(campaign, c, rung, full[c.number] if last else max(1, round(full[c.number] * share)),
                                      done[c.number][0]) for c in active]
            by_id = {campaign.candidate_id(c.number): c for c in active}

            def progress(batch: list[Evaluation], share: float = share, by_id: dict = by_id) -> None:
                for evaluation in batch:
                    c = by_id[evaluation.candidate_id]
                    epochs, seconds = done[c.number]
                    c.evaluation = replace(evaluation, epochs=epochs + evaluation.epochs,
                                           seconds=seconds + evaluation.seconds)
                    c.fidelity = share
                campaign.check_stop()

            evaluator.evaluate(requests, progress)
            finished: list[Evaluation] = []
            for c in active:
                assert c.evaluation is not None
                done[c.number] = (c.evaluation.epochs, c.evaluation.seconds)
                finished.append(c.evaluation)
            trained = [c for c, e in zip(active, finished) if e.ok]
            promoted = [] if last else campaign.selection.best(trained, math.ceil(self.fidelity.keep * len(active)),
                                                               campaign.rng)
            going_on = {c.number for c in promoted}
            for observer in campaign.observers:
                observer.on_evaluations(campaign, [e for c, e in zip(active, finished) if c.number not in going_on])
            active = promoted
            if not active:
                break

    @staticmethod
    def _request(campaign: Campaign, c: Candidate, rung: int, target: int, trained: int) -> EvaluationRequest:
        target = max(target, trained)
        if rung == 0:
            return EvaluationRequest(campaign.candidate_id(c.number), c.genome, c.seed, epochs=target - trained)
        assert c.evaluation is not None and c.evaluation.trained_genome is not None
        return EvaluationRequest(campaign.candidate_id(c.number), c.evaluation.trained_genome,
                                 candidate_seed(c.seed, rung), epochs=target - trained, warm_start=True)


def schedule_for(spec: CampaignSpec) -> FullTraining | SuccessiveHalving:
    """The evaluation schedule ``spec`` asks for."""
    return FullTraining() if spec.evolution.fidelity is None else SuccessiveHalving(spec.evolution.fidelity)


__all__ = ["FullTraining", "SuccessiveHalving", "schedule_for"]
