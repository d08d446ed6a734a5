"""The campaign loop: initial population, evaluate, select, vary, persist, repeat."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from connevo.errors import ConnevoError
from evolution.initial import InitialPopulation
from evolution.niches import NicheEntry, niche_elites
from evolution.observers import CampaignObserver, GenerationSummary
from evolution.polish import polish_epochs, polish_front
from evolution.selection import (
    FAILED_ACCURACY,
    FAILED_COST,
    Scored,
    binary_tournament,
    nsga2_ranking,
    nsga2_survivors,
    weighted_fitness,
)
from evolution.spec import CampaignSpec, parse_spec
from evolution.variation import Variation, operator_stream
from results.pareto import normalized_hypervolume, pareto_mask
from results.store import HEARTBEAT_S, Store
from search_space.cost import measure
from search_space.genome import Genome, Regularization
from search_space.innovation import InnovationTracker
from search_space.mutations import MUTATIONS
from search_space.operators import Limits, crossover, minimal_genome, repair, within_limits
from workers.evaluator import Evaluator, LocalEvaluator
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from workers.tasks import Dataset, load_dataset

log = logging.getLogger(__name__)

LOSS_TIE_BREAK = 1e-9
"""Validation-accuracy ties are decided by the validation loss: the accuracy selection compares
is lowered by this much per unit of loss (at most :data:`MAX_TIE_LOSS`), far below one sample."""
MAX_TIE_LOSS = 1e3

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
    genome: Genome               # structure (with inherited, untrained weights under inheritance)
    parents: list[str]
    seed: int
    evaluation: Evaluation | None = None
    fidelity: float = 1.0        # share of the full training behind ``evaluation`` (multi-fidelity)

    @property
    def complete(self) -> bool:
        """Fully trained (every candidate but the rejects of a multi-fidelity rung)."""
        return self.fidelity >= 1.0


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
        retina_goal=task.retina_goal,
    )


def training_settings(spec: CampaignSpec, dataset: Dataset) -> TrainingSettings:
    """The workers' training settings of ``spec`` on ``dataset``: epochs raised so that a
    training takes at least ``training.min_steps`` optimizer steps (a third of them for a child
    that inherited its parent's weights), however small the data set."""
    t = spec.training
    steps_per_epoch = max(1, math.ceil(dataset.x_train.shape[0] / t.batch_size))
    least = math.ceil(t.min_steps / steps_per_epoch)
    epochs = max(t.epochs, least)
    warm = t.inherited_epochs if t.inherited_epochs is not None else min(epochs, max(t.warm_epochs, math.ceil(least / 3)))
    return TrainingSettings(
        epochs=epochs,
        batch_size=t.batch_size,
        learning_rate=t.learning_rate,
        patience=t.patience,
        time_limit=t.time_limit,
        batched=t.batched,
        precision=t.precision,
        inherit_weights=t.inherit_weights,
        inherited_epochs=warm,
        structure_hints=t.structure_hints,
    )


def make_evaluator(spec: CampaignSpec, dataset: Dataset) -> Evaluator:
    """The evaluator the spec asks for: Ray (embedded or a cluster) by default, or in-process."""
    settings = training_settings(spec, dataset)
    w = spec.workers
    if w.backend == "local":
        return LocalEvaluator(dataset, settings, chunk_size=w.chunk_size)
    from workers.ray_evaluator import RayEvaluator

    return RayEvaluator(
        dataset,
        settings,
        workers=w.count,
        ray_address=w.ray_address,
        gpus_per_worker=w.gpus_per_worker,
        cpus_per_worker=w.cpus_per_worker,
        chunk_size=w.chunk_size,
        max_retries=w.max_retries,
    )


class StoreRecorder(CampaignObserver):
    """Persists each generation (candidates, summary, checkpoint) in one store transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def on_evaluations(self, campaign, evaluations) -> None:
        if campaign.spec.evolution.fidelity is not None:
            return  # rungs: a cut generation is evaluated again from its start
        generation = campaign._next_generation
        self.store.add_pending(campaign.id, generation, campaign.rows_for(evaluations))

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


class _Heartbeat(threading.Thread):
    """Touches the campaign's row every :data:`results.store.HEARTBEAT_S` while it runs, so a
    campaign whose driver died shows as ``stale`` rather than running forever."""

    def __init__(self, store: Store, campaign_id: str, interval: float) -> None:
        super().__init__(name=f"heartbeat-{campaign_id}", daemon=True)
        self.store, self.campaign_id, self.interval = store, campaign_id, interval
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                self.store.heartbeat(self.campaign_id)
            except Exception as exc:  # the loop's own writes report store trouble
                log.debug("heartbeat of campaign %s failed: %s", self.campaign_id, exc)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


class StopRequested(Exception):
    """Raised inside the loop when :meth:`Campaign.request_stop` was called."""


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
        self.settings = training_settings(spec, self.dataset)
        self._evaluator = evaluator
        self.observers: list[CampaignObserver] = [StoreRecorder(store), *observers]
        self.objectives = spec.objectives.names
        self.senses = spec.objectives.senses
        self.limits = self._limits(0)
        self.initial_regularization = Regularization(
            weight_decay=spec.regularization.weight_decay,
            l1_ratio=spec.regularization.l1_ratio,
            dropout=spec.regularization.dropout,
        )
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x5EED]))
        self.innovations = InnovationTracker()
        # a two-class task needs one output neuron (the logit of class 1), as logistic regression
        self.n_outputs = 1 if self.dataset.n_classes == 2 else self.dataset.n_classes
        full = minimal_genome(self.dataset.n_features, self.n_outputs, np.random.default_rng(0),
                              InnovationTracker(), density=1.0)
        full_costs = measure(full, with_modularity=False).as_dict()  # reference costs: counts only
        self.reference_costs = {name: float(full_costs[name]) for name in spec.objectives.minimize}
        self.hv_reference = {"val_accuracy": 0.0, **{k: REFERENCE_COST_FACTOR * v for k, v in self.reference_costs.items()}}
        self.hv_ideal = {"val_accuracy": 1.0, **{k: 0.0 for k in self.reference_costs}}
        self.id: str = ""
        self.archive: list[Candidate] = []
        self.population: list[Candidate] = []
        self.next_number = 0
        self.candidates_total = spec.evolution.population * (spec.evolution.generations + 1)
        self._stop = threading.Event()
        self._next_generation = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._in_flight: dict[str, Candidate] = {}

    # ----- helpers -----------------------------------------------------------------------
    def _limits(self, generation: int) -> Limits:
        """Search-space limits of ``generation``, the growth schedule's budget included."""
        space = self.spec.search_space
        return Limits(
            max_hidden_nodes=space.max_hidden_nodes,
            max_connections=space.connection_budget(generation, self.spec.evolution.generations),
            activations=tuple(space.activations),
            fixed_layout=space.layout != "evolved",
        )

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

    def _ranked(self, c: Candidate) -> tuple[float, ...]:
        """The objective values selection compares: a validation-accuracy tie is decided by the
        validation loss (:data:`results.pareto.TIE_BREAKERS`), through a shift of the accuracy
        far below one validation sample."""
        values = self._values(c)
        e = c.evaluation
        if e is None or not e.ok or e.val_loss is None or not math.isfinite(e.val_loss):
            return values
        shift = LOSS_TIE_BREAK * min(e.val_loss, MAX_TIE_LOSS)
        n_max = len(self.spec.objectives.maximize)
        return tuple(v - shift if i < n_max else v for i, v in enumerate(values))

    def _weighted(self, c: Candidate) -> float:
        values = self._values(c)
        n_max = len(self.spec.objectives.maximize)
        accuracy = values[0]
        cost = sum(v / self.reference_costs[name] for v, name in zip(values[n_max:], self.spec.objectives.minimize))
        return weighted_fitness(accuracy, cost, 1.0, self.spec.evolution.cost_weight)

    # ----- the loop ----------------------------------------------------------------------
    def create(self) -> str:
        """Write the campaign row (status "running") and return its id; idempotent."""
        if not self.id:
            self.id = self.store.create_campaign(self.spec.name, self.spec.model_dump(mode="json"), self.spec.seed)
        return self.id

    def request_stop(self) -> None:
        """Ask the loop to stop at the next chunk boundary; the campaign ends as "stopped".

        Thread-safe: meant to be called from another thread (a server, a signal handler).
        """
        self._stop.set()

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise StopRequested("stop requested")

    def run(self) -> str:
        """Run (or, after :meth:`from_store`, continue) to the last generation; returns the id.

        The campaign row is written first; each generation is committed in one transaction.
        """
        self.create()
        heartbeat = _Heartbeat(self.store, self.id, HEARTBEAT_S)
        heartbeat.start()
        try:
            return self._run()
        finally:
            heartbeat.stop()

    def _run(self) -> str:
        evaluator = self._evaluator or make_evaluator(self.spec, self.dataset)
        owns_evaluator = self._evaluator is None
        try:
            for observer in self.observers:
                observer.on_start(self)
            if self._next_generation == 0:
                self._generation(0, self._initial_population(), evaluator)
                self._next_generation = 1
            for generation in range(self._next_generation, self.spec.evolution.generations + 1):
                self.innovations.next_generation()
                self._generation(generation, self._offspring(generation), evaluator)
                self._next_generation = generation + 1
            self._polish()
        except StopRequested:
            self._finish("stopped", "stop requested")
            return self.id
        except BaseException as exc:
            status = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
            self._finish(status, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if owns_evaluator:
                evaluator.close()
        self._finish("finished", None)
        return self.id

    def _polish(self) -> None:
        """The final polish of the front (:mod:`evolution.polish`), unless ``training.polish_epochs`` is 0."""
        self._check_stop()
        epochs = polish_epochs(self.spec.training.polish_epochs, self.settings)
        if epochs == 0:
            return
        report = polish_front(self.store, self.id, self.dataset, self.settings, epochs,
                              objectives=tuple(self.objectives), senses=tuple(self.senses))
        if report is not None:
            for observer in self.observers:
                observer.on_polish(self, report)

    def _finish(self, status: str, error: str | None) -> None:
        """Tell every observer the campaign ended; one that raises (the store could not take
        the status) does not keep the others from hearing it, and its error is raised after."""
        first: BaseException | None = None
        for observer in self.observers:
            try:
                observer.on_finish(self, status, error)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    @classmethod
    def from_store(
        cls,
        store: Store,
        id_or_name: str,
        *,
        evaluator: Evaluator | None = None,
        observers: Sequence[CampaignObserver] = (),
    ) -> Campaign:
        """Rebuild a stopped, failed or killed campaign from its last committed generation.

        :meth:`run` then continues with the next generation. The driver's state (population,
        archive, generator state, innovation counter, next candidate number) comes from the
        store, so the resumed campaign produces exactly what an uninterrupted one would have.
        A generation that was cut short is evaluated again from its start.
        """
        info = store.get_campaign(id_or_name)
        if info["status"] == "finished":
            raise ConnevoError(f"campaign {info['id']} ({info['name']!r}) is already finished")
        spec = parse_spec(info["spec"])
        campaign = cls(spec, store, evaluator=evaluator, observers=observers)
        campaign.id = info["id"]
        latest = store.latest_checkpoint(campaign.id)
        if latest is not None:
            state = latest["checkpoint"]
            campaign.rng.bit_generator.state = state["rng"]
            campaign.innovations = InnovationTracker.from_state(state["innovations"])
            campaign.next_number = int(state["next_number"])
            rows = store.candidates(campaign.id)
            rows = rows[(rows["generation"] <= latest["generation"]) & (rows["number"] >= 0)]
            # parents pass on their trained weights (inheritance) and their training's hints
            campaign.archive = [_candidate_from_row(row, keep_weights=True) for row in rows.to_dict("records")]
            survivors = set(latest["population"])
            campaign.population = [c for c in campaign.archive if campaign.candidate_id(c.number) in survivors]
            campaign._next_generation = latest["generation"] + 1
        campaign._pending = store.pending(campaign.id)
        store.set_campaign_status(campaign.id, "running", None)
        return campaign

    def _initial_population(self) -> list[Candidate]:
        """The first generation, as ``search_space.start`` asks (:mod:`evolution.initial`)."""
        space = self.spec.search_space
        self.limits = self._limits(0)
        start = InitialPopulation(
            start=space.start, n_inputs=self.dataset.n_features, n_outputs=self.n_outputs,
            density=tuple(space.initial_density), activation=space.activations[0], layout=space.layout,
            random_steps=space.random_start_steps, regularization=self.initial_regularization,
        )
        genomes = start.genomes(self.spec.evolution.population, self.rng, self.innovations, self.limits)
        return [self._new_candidate(genome, 0, []) for genome in genomes]

    def _generation(self, generation: int, children: list[Candidate], evaluator: Evaluator) -> None:
        self._check_stop()
        for observer in self.observers:
            observer.on_generation_start(self, generation, len(children))
        if self.spec.evolution.fidelity is not None:
            self._evaluate_in_rungs(children, evaluator)
        else:
            self._evaluate(children, evaluator)
        self.archive.extend(children)
        self.population = self._survivors(self.population + [c for c in children if c.complete])
        summary = self._summary(generation, children)
        rows = [self._row(c) for c in children]
        checkpoint = {
            "rng": self.rng.bit_generator.state,
            "innovations": self.innovations.state(),
            "next_number": self.next_number,
        }
        for observer in self.observers:
            observer.on_generation_end(self, summary, rows, checkpoint)

    def _evaluate(self, children: list[Candidate], evaluator: Evaluator) -> None:
        """Train every child fully (reusing evaluations that finished before a cut)."""
        todo = []
        for child in children:  # after a resume: reuse evaluations finished before the cut
            row = self._pending.pop(child.number, None)
            if row is not None and strip_weights(Genome.from_dict(row["genome"])) == strip_weights(child.genome):
                child.evaluation = _candidate_from_row(row, keep_weights=True).evaluation
            else:
                todo.append(child)
        self._in_flight = {self.candidate_id(c.number): c for c in todo}
        requests = [EvaluationRequest(self.candidate_id(c.number), c.genome, c.seed) for c in todo]

        def progress(done: list[Evaluation]) -> None:
            for evaluation in done:
                self._in_flight[evaluation.candidate_id].evaluation = evaluation
            for observer in self.observers:
                observer.on_evaluations(self, done)
            self._check_stop()

        evaluator.evaluate(requests, progress)
        self._in_flight = {}

    def _evaluate_in_rungs(self, children: list[Candidate], evaluator: Evaluator) -> None:
        """Successive halving: every child trains for the first rung's share of its epochs; the
        best ``keep`` share (the selection in use, on this rung's scores) continues from those
        weights to the next rung; the last rung is the full training. Each candidate ends with
        the evaluation of the last rung it reached, its ``fidelity`` that rung.
        """
        fidelity = self.spec.evolution.fidelity
        assert fidelity is not None
        full = {c.number: self.settings.epochs_for(c.genome) for c in children}
        done = {c.number: (0, 0.0) for c in children}  # epochs trained, seconds spent so far
        active = list(children)
        for rung, share in enumerate(fidelity.rungs):
            last = rung == len(fidelity.rungs) - 1
            requests = []
            for c in active:
                target = full[c.number] if last else max(1, round(full[c.number] * share))
                target = max(target, done[c.number][0])
                start = c.genome if rung == 0 else c.evaluation.trained_genome  # type: ignore[union-attr]
                requests.append(EvaluationRequest(
                    self.candidate_id(c.number), start, c.seed if rung == 0 else candidate_seed(c.seed, rung),
                    epochs=target - done[c.number][0], warm_start=None if rung == 0 else True,
                ))
            by_id = {self.candidate_id(c.number): c for c in active}

            def progress(batch: list[Evaluation]) -> None:
                for evaluation in batch:
                    c = by_id[evaluation.candidate_id]
                    epochs, seconds = done[c.number]
                    c.evaluation = replace(evaluation, epochs=epochs + evaluation.epochs,
                                           seconds=seconds + evaluation.seconds)
                    c.fidelity = share
                self._check_stop()

            evaluator.evaluate(requests, progress)
            for c in active:
                assert c.evaluation is not None
                done[c.number] = (c.evaluation.epochs, c.evaluation.seconds)
            promoted = [] if last else self._promote([c for c in active if c.evaluation.ok],  # type: ignore[union-attr]
                                                     math.ceil(fidelity.keep * len(active)))
            going_on = {c.number for c in promoted}
            final = [c.evaluation for c in active if c.number not in going_on]
            for observer in self.observers:
                observer.on_evaluations(self, final)  # type: ignore[arg-type]
            active = promoted
            if not active:
                break

    def _promote(self, candidates: list[Candidate], k: int) -> list[Candidate]:
        """The ``k`` best by the campaign's selection (NSGA-II or weighted), in candidate order."""
        if len(candidates) <= k:
            return candidates
        if self.spec.evolution.algorithm == "weighted":
            return sorted(sorted(candidates, key=lambda c: (-self._weighted(c), c.number))[:k], key=lambda c: c.number)
        by_number = {c.number: c for c in candidates}
        keys = nsga2_survivors([Scored(c.number, self._ranked(c)) for c in candidates], self.senses, k,
                               self.spec.objectives.probabilities, self.rng)
        return sorted((by_number[n] for n in keys), key=lambda c: c.number)

    def rows_for(self, evaluations: list[Evaluation]) -> list[dict[str, Any]]:
        """Store rows of candidates of the running generation that just finished."""
        return [self._row(self._in_flight[e.candidate_id]) for e in evaluations if e.candidate_id in self._in_flight]

    def _survivors(self, pool: list[Candidate]) -> list[Candidate]:
        """The next population. Candidates whose objective values repeat an earlier candidate's
        (and failed ones, which all score the same) only fill places left over, so copies of one
        network cannot crowd out the rest (as pymoo's duplicate elimination does)."""
        k = self.spec.evolution.population
        if len(pool) <= k:
            return pool
        seen: set[tuple[float, ...]] = set()
        unique, repeats = [], []
        for c in sorted(pool, key=lambda c: c.number):
            values = self._values(c)
            (repeats if values in seen else unique).append(c)
            seen.add(values)
        if len(unique) <= k:
            return sorted(unique + repeats[: k - len(unique)], key=lambda c: c.number)
        elites = set(niche_elites([self._niche_entry(c) for c in unique], min(k, self.spec.evolution.niche_count)))
        rest = [c for c in unique if c.number not in elites]
        kept = [c for c in unique if c.number in elites] + self._promote(rest, k - len(elites))
        return sorted(kept, key=lambda c: c.number)

    def _niche_entry(self, c: Candidate) -> NicheEntry:
        values = self._values(c)
        e = c.evaluation
        ok = e is not None and e.ok
        loss = e.val_loss if ok and e.val_loss is not None else math.inf  # type: ignore[union-attr]
        cost = values[len(self.spec.objectives.maximize)] if ok else math.inf
        return NicheEntry(c.number, values[0] if ok else -math.inf, loss, cost)

    def _offspring(self, generation: int) -> list[Candidate]:
        self.limits = self._limits(generation)
        parents = self.population
        keys = [c.number for c in parents]
        by_number = {c.number: c for c in parents}
        if self.spec.evolution.algorithm == "weighted":
            better = {c.number: (self._weighted(c), -c.number) for c in parents}
        else:
            ranking = nsga2_ranking([Scored(c.number, self._ranked(c)) for c in parents], self.senses,
                                    self.spec.objectives.probabilities, self.rng)
            better = {n: (-rank, crowding, -n) for n, (rank, crowding) in ranking.items()}
        variation = self.variation(generation)
        children = []
        for _ in range(self.spec.evolution.population):
            number = self.next_number
            first = by_number[binary_tournament(keys, better, self.rng)]
            parent_ids = [self.candidate_id(first.number)]
            genome = self._heritage(first)
            mating = operator_stream(self.spec.seed, number, "crossover")
            if mating.random() < self.spec.evolution.crossover_rate and len(parents) > 1:
                second = by_number[binary_tournament(keys, better, self.rng)]
                if second is not first:
                    fitter, other = (first, second) if better[first.number] >= better[second.number] else (second, first)
                    genome = crossover(self._heritage(fitter), self._heritage(other), mating)
                    parent_ids = [self.candidate_id(fitter.number), self.candidate_id(other.number)]
            genome = variation.mutate(genome, self.spec.seed, number, self.innovations, self.limits)
            if not within_limits(genome, self.limits):  # a child beyond a limit is repaired
                genome = repair(genome, operator_stream(self.spec.seed, number, "repair"), self.limits)
            children.append(self._new_candidate(replace(genome, hints=None), generation, parent_ids))
        return children

    def variation(self, generation: int) -> Variation:
        """The mutation operators and their rates for ``generation``'s children."""
        mutation = self.spec.evolution.mutation
        # an operator registered after the spec model was built has no rate there: it stays off
        rates = {name: rate for name, rate in mutation.model_dump().items() if name in MUTATIONS}
        if not self.spec.regularization.evolve:
            rates["mutate_regularization"] = 0.0
        return Variation(rates, mutation.connection_step)

    def _heritage(self, parent: Candidate) -> Genome:
        """What a child starts from: the parent's structure and, with weight inheritance, its
        trained weights (a parent that failed passes on its structure only), with the hints
        its training measured (read by the training-informed operators)."""
        e = parent.evaluation
        trained = e.trained_genome if e is not None and e.ok else None
        if not self.spec.training.inherit_weights:
            if trained is not None and trained.hints is not None:
                return replace(parent.genome, hints=trained.hints)
            return parent.genome
        if trained is not None:
            return trained
        return strip_weights(parent.genome)

    def _summary(self, generation: int, children: list[Candidate]) -> GenerationSummary:
        ok = [c for c in self.archive if c.evaluation is not None and c.evaluation.ok and c.complete]
        values = np.array([self._values(c) for c in ok], dtype=float).reshape(len(ok), len(self.objectives))
        ranked = np.array([self._ranked(c) for c in ok], dtype=float).reshape(values.shape)
        mask = pareto_mask(ranked, self.senses)
        frame = pd.DataFrame(values, columns=self.objectives)
        hv = normalized_hypervolume(frame[mask], self.objectives, self.hv_reference, self.hv_ideal, self.senses)
        return GenerationSummary(
            generation=generation,
            evaluations=len(children),
            candidates_done=len(self.archive),
            candidates_total=self.candidates_total,
            best_val_accuracy=float(values[:, 0].max()) if len(ok) else None,
            front_size=len({tuple(row) for row in values[mask]}),  # distinct scores, as `front` lists them
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
        if self.spec.evolution.fidelity is not None:
            row["extra"] = {"fidelity": c.fidelity}
        row.pop("device", None)
        if not e.costs:
            row.update(measure(c.genome).as_dict())
        if e.train_accuracy is not None and e.val_accuracy is not None and e.test_accuracy is not None:
            row["train_val_gap"] = e.train_accuracy - e.val_accuracy
            row["train_test_gap"] = e.train_accuracy - e.test_accuracy
        return row


_COST_COLUMNS = ("connections", "params", "flops", "wiring_length", "depth", "hidden_nodes", "modularity")
_METRIC_COLUMNS = ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "val_loss", "test_loss")


def _candidate_from_row(row: dict[str, Any], keep_weights: bool = False) -> Candidate:
    """A stored candidate back as the driver's record (structure without trained weights; the
    evaluation keeps the trained genome when ``keep_weights``)."""
    def value(name: str) -> Any:
        v = row.get(name)
        return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v

    stored = Genome.from_dict(row["genome"])
    genome = strip_weights(stored)
    evaluation = Evaluation(
        candidate_id=row["id"],
        status=Status(row["status"]),
        error=value("error"),
        **{name: (None if value(name) is None else float(value(name))) for name in _METRIC_COLUMNS},
        epochs=int(value("epochs") or 0),
        seconds=float(value("seconds") or 0.0),
        costs={name: value(name) for name in _COST_COLUMNS},
        trained_genome=stored if keep_weights and row["status"] == "ok" else None,
    )
    extra = row.get("extra")
    return Candidate(
        number=int(row["number"]),
        generation=int(row["generation"]),
        genome=genome,
        parents=list(row["parents"]),
        seed=int(row["seed"]),
        evaluation=evaluation,
        fidelity=float((extra if isinstance(extra, dict) else {}).get("fidelity", 1.0)),
    )


def strip_weights(genome: Genome) -> Genome:
    """The structure of a trained genome, without its weights and biases."""
    return Genome(
        tuple(replace(n, bias=0.0) for n in genome.nodes),
        tuple(replace(c, weight=None) for c in genome.connections),
        genome.regularization,
    )


__all__ = ["Campaign", "Candidate", "StoreRecorder", "candidate_seed", "load_task", "make_evaluator", "training_settings", "Status"]
