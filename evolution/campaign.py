"""The campaign loop: initial population, evaluate, select, vary, persist, repeat."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evolution.observers import CampaignObserver, GenerationSummary
from evolution.selection import (
    FAILED_ACCURACY,
    FAILED_COST,
    Scored,
    binary_tournament,
    nsga2_ranking,
    nsga2_survivors,
    weighted_fitness,
)
from evolution.spec import CampaignSpec
from results.pareto import normalized_hypervolume, pareto_mask
from results.store import Store
from search_space.cost import measure
from search_space.genome import Genome
from search_space.innovation import InnovationTracker
from search_space.operators import MUTATIONS, Limits, crossover, minimal_genome
from workers.evaluator import Evaluator, LocalEvaluator
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from workers.tasks import Dataset, load_dataset

log = logging.getLogger(__name__)

REFERENCE_COST_FACTOR = 2.0
"""Hypervolume reference point: accuracy 0, cost = this x the cost of the fully connected
input-to-output network (the largest minimal network)."""


def candidate_seed(campaign_seed: int, number: int) -> int:
    """Training seed of candidate ``number``: derived from (campaign seed, number) only."""
    return int(np.random.SeedSequence([campaign_seed, number]).generate_state(2, dtype=np.uint32)
               .astype(np.uint64).dot(np.array([1 << 31, 1], dtype=np.uint64)))


@dataclass
class Candidate:
    number: int
    generation: int
    genome: Genome               # structure, untrained
    parents: list[str]
    seed: int
    evaluation: Evaluation | None = None


def load_task(spec: CampaignSpec) -> Dataset:
    """Load and split the spec's data set (raises DataError before anything is stored)."""
    task = spec.task
    return load_dataset(
        task.dataset,
        target=task.target,
        validation_fraction=task.validation_fraction,
        test_fraction=task.test_fraction,
        seed=spec.seed,
        samples=task.samples,
        noise=task.noise,
        bits=task.bits,
        base_dir=spec.base_dir,
    )


def training_settings(spec: CampaignSpec) -> TrainingSettings:
    t = spec.training
    return TrainingSettings(
        epochs=t.epochs,
        batch_size=t.batch_size,
        learning_rate=t.learning_rate,
        patience=t.patience,
        time_limit=t.time_limit,
    )


def make_evaluator(spec: CampaignSpec, dataset: Dataset) -> Evaluator:
    """The evaluator the spec asks for: Ray (embedded or a cluster) by default, or in-process."""
    settings = training_settings(spec)
    w = spec.workers
    if w.backend == "local":
        return LocalEvaluator(dataset, settings, chunk_size=w.chunk_size or 8)
    from workers.ray_evaluator import RayEvaluator

    return RayEvaluator(
        dataset,
        settings,
        workers=w.count,
        ray_address=w.ray_address,
        gpus_per_worker=w.gpus_per_worker,
        chunk_size=w.chunk_size,
        max_retries=w.max_retries,
    )


class StoreRecorder(CampaignObserver):
    """Persists each generation (candidates, summary, checkpoint) in one store transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def on_generation_end(self, campaign, summary, rows, checkpoint) -> None:
        self.store.commit_generation(
            campaign.id,
            summary.generation,
            rows,
            {
                "population": summary.population,
                "front_size": summary.front_size,
                "hypervolume": summary.hypervolume,
                "best_val_accuracy": summary.best_val_accuracy,
                "evaluations": summary.evaluations,
            },
            checkpoint,
        )

    def on_finish(self, campaign, status, error) -> None:
        self.store.set_campaign_status(campaign.id, status, error)


class Campaign:
    """One search campaign: a driver holding the population, DEAP selection and our operators.

    The same spec (and seed) gives the same candidates and scores whatever the evaluator and
    the number of workers: candidate numbers and seeds are assigned here, and all variation
    draws from one generator seeded by the campaign seed.
    """

    def __init__(
        self,
        spec: CampaignSpec,
        store: Store,
        *,
        dataset: Dataset | None = None,
        evaluator: Evaluator | None = None,
        observers: Sequence[CampaignObserver] = (),
    ) -> None:
        self.spec = spec
        self.store = store
        self.dataset = dataset if dataset is not None else load_task(spec)
        self._evaluator = evaluator
        self.observers: list[CampaignObserver] = [StoreRecorder(store), *observers]
        self.objectives = spec.objectives.names
        self.senses = spec.objectives.senses
        self.limits = Limits(
            max_hidden_nodes=spec.search_space.max_hidden_nodes,
            max_connections=spec.search_space.max_connections,
            activations=tuple(spec.search_space.activations),
        )
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x5EED]))
        self.innovations = InnovationTracker()
        full = minimal_genome(self.dataset.n_features, self.dataset.n_classes, np.random.default_rng(0),
                              InnovationTracker(), density=1.0)
        full_costs = measure(full).as_dict()
        self.reference_costs = {name: float(full_costs[name]) for name in spec.objectives.minimize}
        self.hv_reference = {"val_accuracy": 0.0, **{k: REFERENCE_COST_FACTOR * v for k, v in self.reference_costs.items()}}
        self.hv_ideal = {"val_accuracy": 1.0, **{k: 0.0 for k in self.reference_costs}}
        self.id: str = ""
        self.archive: list[Candidate] = []
        self.population: list[Candidate] = []
        self.next_number = 0
        self.candidates_total = spec.evolution.population * (spec.evolution.generations + 1)

    # ----- helpers -----------------------------------------------------------------------
    def candidate_id(self, number: int) -> str:
        return f"{self.id}-{number}"

    def _new_candidate(self, genome: Genome, generation: int, parents: list[str]) -> Candidate:
        number = self.next_number
        self.next_number += 1
        return Candidate(number, generation, genome, parents, candidate_seed(self.spec.seed, number))

    def _values(self, c: Candidate) -> tuple[float, ...]:
        e = c.evaluation
        if e is None or not e.ok:
            return (FAILED_ACCURACY,) * len(self.spec.objectives.maximize) + (FAILED_COST,) * len(self.spec.objectives.minimize)
        return tuple(float(getattr(e, name) if name.endswith("accuracy") else e.costs[name]) for name in self.objectives)

    def _weighted(self, c: Candidate) -> float:
        values = self._values(c)
        n_max = len(self.spec.objectives.maximize)
        accuracy = values[0]
        cost = sum(v / self.reference_costs[name] for v, name in zip(values[n_max:], self.spec.objectives.minimize))
        return weighted_fitness(accuracy, cost, 1.0, self.spec.evolution.cost_weight)

    # ----- the loop ----------------------------------------------------------------------
    def run(self) -> str:
        """Run every generation; returns the campaign id. The campaign row is written first."""
        self.id = self.store.create_campaign(self.spec.name, self.spec.model_dump(mode="json"), self.spec.seed)
        evaluator = self._evaluator or make_evaluator(self.spec, self.dataset)
        owns_evaluator = self._evaluator is None
        try:
            for observer in self.observers:
                observer.on_start(self)
            self._generation(0, self._initial_population(), evaluator)
            for generation in range(1, self.spec.evolution.generations + 1):
                self.innovations.next_generation()
                self._generation(generation, self._offspring(generation), evaluator)
        except BaseException as exc:
            status = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
            for observer in self.observers:
                observer.on_finish(self, status, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if owns_evaluator:
                evaluator.close()
        for observer in self.observers:
            observer.on_finish(self, "finished", None)
        return self.id

    def _initial_population(self) -> list[Candidate]:
        low, high = self.spec.search_space.initial_density
        out = []
        for _ in range(self.spec.evolution.population):
            density = float(np.exp(self.rng.uniform(np.log(low), np.log(high))))
            genome = minimal_genome(self.dataset.n_features, self.dataset.n_classes, self.rng, self.innovations, density)
            out.append(self._new_candidate(genome, 0, []))
        return out

    def _generation(self, generation: int, children: list[Candidate], evaluator: Evaluator) -> None:
        for observer in self.observers:
            observer.on_generation_start(self, generation, len(children))
        requests = [EvaluationRequest(self.candidate_id(c.number), c.genome, c.seed) for c in children]

        def progress(done: list[Evaluation]) -> None:
            for observer in self.observers:
                observer.on_evaluations(self, done)

        for child, evaluation in zip(children, evaluator.evaluate(requests, progress)):
            child.evaluation = evaluation
        self.archive.extend(children)
        self.population = self._survivors(self.population + children)
        summary = self._summary(generation, children)
        rows = [self._row(c) for c in children]
        checkpoint = {
            "rng": self.rng.bit_generator.state,
            "innovations": self.innovations.state(),
            "next_number": self.next_number,
        }
        for observer in self.observers:
            observer.on_generation_end(self, summary, rows, checkpoint)

    def _survivors(self, pool: list[Candidate]) -> list[Candidate]:
        k = self.spec.evolution.population
        if len(pool) <= k:
            return pool
        if self.spec.evolution.algorithm == "weighted":
            return sorted(pool, key=lambda c: (-self._weighted(c), c.number))[:k]
        by_number = {c.number: c for c in pool}
        keys = nsga2_survivors([Scored(c.number, self._values(c)) for c in pool], self.senses, k)
        return sorted((by_number[n] for n in keys), key=lambda c: c.number)

    def _offspring(self, generation: int) -> list[Candidate]:
        parents = self.population
        keys = [c.number for c in parents]
        by_number = {c.number: c for c in parents}
        if self.spec.evolution.algorithm == "weighted":
            better = {c.number: (self._weighted(c), -c.number) for c in parents}
        else:
            ranking = nsga2_ranking([Scored(c.number, self._values(c)) for c in parents], self.senses)
            better = {n: (-rank, crowding, -n) for n, (rank, crowding) in ranking.items()}
        rates = self.spec.evolution.mutation.model_dump()
        children = []
        for _ in range(self.spec.evolution.population):
            first = by_number[binary_tournament(keys, better, self.rng)]
            parent_ids = [self.candidate_id(first.number)]
            genome = first.genome
            if self.rng.random() < self.spec.evolution.crossover_rate and len(parents) > 1:
                second = by_number[binary_tournament(keys, better, self.rng)]
                if second is not first:
                    fitter, other = (first, second) if better[first.number] >= better[second.number] else (second, first)
                    genome = crossover(fitter.genome, other.genome, self.rng)
                    parent_ids = [self.candidate_id(fitter.number), self.candidate_id(other.number)]
            genome = self._mutate(genome, rates)
            children.append(self._new_candidate(genome, generation, parent_ids))
        return children

    def _mutate(self, genome: Genome, rates: dict[str, float]) -> Genome:
        original = genome
        for name, operator in MUTATIONS.items():
            if self.rng.random() < rates[name]:
                genome = operator(genome, self.rng, self.innovations, self.limits)
        # A child identical to its parent would waste a training: force one change.
        active = [name for name, rate in rates.items() if rate > 0]
        for _ in range(5):
            if genome != original or not active:
                break
            name = active[int(self.rng.integers(len(active)))]
            genome = MUTATIONS[name](genome, self.rng, self.innovations, self.limits)
        return genome

    def _summary(self, generation: int, children: list[Candidate]) -> GenerationSummary:
        ok = [c for c in self.archive if c.evaluation is not None and c.evaluation.ok]
        values = np.array([self._values(c) for c in ok], dtype=float).reshape(len(ok), len(self.objectives))
        mask = pareto_mask(values, self.senses)
        frame = pd.DataFrame(values, columns=self.objectives)
        hv = normalized_hypervolume(frame[mask], self.objectives, self.hv_reference, self.hv_ideal, self.senses)
        return GenerationSummary(
            generation=generation,
            evaluations=len(children),
            candidates_done=len(self.archive),
            candidates_total=self.candidates_total,
            best_val_accuracy=float(values[:, 0].max()) if len(ok) else None,
            front_size=int(mask.sum()),
            hypervolume=float(hv),
            population=[self.candidate_id(c.number) for c in self.population],
            failed=sum(1 for c in children if c.evaluation is None or not c.evaluation.ok),
        )

    def _row(self, c: Candidate) -> dict[str, Any]:
        e = c.evaluation
        assert e is not None
        genome = e.trained_genome if e.trained_genome is not None else c.genome
        row: dict[str, Any] = {
            "id": self.candidate_id(c.number),
            "campaign_id": self.id,
            "number": c.number,
            "generation": c.generation,
            "parents": c.parents,
            "genome": genome.to_dict(),
            "seed": c.seed,
            **e.metrics(),
        }
        row.pop("device", None)
        if not e.costs:
            row.update(measure(c.genome).as_dict())
        return row


def strip_weights(genome: Genome) -> Genome:
    """The structure of a trained genome, without its weights and biases."""
    return Genome(
        tuple(replace(n, bias=0.0) for n in genome.nodes),
        tuple(replace(c, weight=None) for c in genome.connections),
    )


__all__ = ["Campaign", "Candidate", "StoreRecorder", "candidate_seed", "load_task", "make_evaluator", "training_settings", "Status"]
