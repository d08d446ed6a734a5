"""The campaign loop: first generation, evaluate, select, vary, persist, repeat, polish.

The campaign coordinates; each job is elsewhere: selection strategies (:mod:`evolution.strategies`),
children (:mod:`evolution.offspring`), evaluation schedules (:mod:`evolution.schedules`), store rows
(:mod:`evolution.candidates`), the store writer (:mod:`evolution.recording`), the generation
summary (:mod:`evolution.summary`) and the final polish (:mod:`evolution.polish`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from connevo.allocator import keep_freed_memory
from connevo.errors import CampaignBusyError, ConnevoError
from connevo.evolution.accuracy_ranking import with_resolved_ranking
from connevo.evolution.candidates import Candidate, candidate_from_row, candidate_row, candidate_seed, strip_weights
from connevo.evolution.extension import extended_spec
from connevo.evolution.initial import InitialPopulation, wiring_plan
from connevo.evolution.interrupts import interrupts_deferred, release_interrupted
from connevo.evolution.observers import CampaignObserver
from connevo.evolution.offspring import Breeding, search_limits
from connevo.evolution.polish import polish_front
from connevo.evolution.recording import Heartbeat, StoreRecorder
from connevo.evolution.schedules import schedule_for
from connevo.evolution.spec import CampaignSpec, parse_spec
from connevo.evolution.strategies import LOSS_TIE_BREAK, Scoring, selection_for, survivors
from connevo.evolution.summary import (
    REFERENCE_COST_FACTOR,
    ArchivedScores,
    front_members,
    hypervolume_bounds,
    summarize,
)
from connevo.evolution.task import load_task, make_evaluator, polish_epochs, training_settings
from connevo.evolution.time_limit import Stop, TimeLimit, stopped_at_time_limit
from connevo.evolution.tracking import trackers_for
from connevo.results.drivers import HEARTBEAT_S, STALE_AFTER_S, new_driver
from connevo.results.storage import BaseStore
from connevo.search_space.genome import Genome, Regularization
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.operators import minimal_genome
from connevo.search_space.start_wiring import hidden_input_scores, magnitude_gradients, zero_weight_gradients
from connevo.workers.chunking import stacked_ms
from connevo.workers.evaluator import Evaluator
from connevo.workers.records import Evaluation, Status
from connevo.workers.tasks import Dataset, polish_row_count


class StopRequested(Exception):
    """Raised inside the loop when :meth:`Campaign.request_stop` was called."""


class Campaign:
    """One search campaign: the driver holding the population, which it hands to its selection
    strategy, breeding, evaluation schedule and observers (the store writer first).

    The same spec (and seed) gives the same candidates and scores whatever the evaluator and
    the number of workers: candidate numbers and seeds are assigned here, and every random draw
    comes from a generator derived from the campaign seed.
    """

    def __init__(self, spec: CampaignSpec, store: BaseStore, *, dataset: Dataset | None = None,
                 evaluator: Evaluator | None = None, observers: Sequence[CampaignObserver] = ()) -> None:
        self.store = store
        self.dataset = dataset if dataset is not None else load_task(spec)
        # "auto" resolved here, once: the stored spec names the ranking its fronts are read with
        spec = with_resolved_ranking(spec, self.dataset.kind)
        self.spec = spec
        self.settings = training_settings(spec, self.dataset)
        self._evaluator = evaluator
        self.observers: list[CampaignObserver] = [StoreRecorder(store), *trackers_for(spec), *observers]
        self.objectives = spec.objectives.names
        self.senses = spec.objectives.senses
        self.limits = search_limits(self.spec, 0)
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x5EED]))
        self.innovations = InnovationTracker()
        # a two-class task needs one output neuron (the logit of class 1), as logistic regression;
        # a regression one (its standardized prediction)
        self.n_outputs = self.dataset.n_outputs
        full = minimal_genome(self.dataset.n_features, self.n_outputs, np.random.default_rng(0),
                              InnovationTracker(), density=1.0)
        self.scoring = Scoring.of(spec, full, self.dataset)
        self.selection = selection_for(spec, self.scoring)
        self.schedule = schedule_for(spec)
        self.hv_reference, self.hv_ideal = hypervolume_bounds(self.scoring)
        self.id: str = ""
        self.archive: list[ArchivedScores] = []  # every candidate so far, its scores only
        self.population: list[Candidate] = []
        self.next_number = 0
        self.candidates_total = spec.evolution.population * (spec.evolution.generations + 1)
        self.next_generation = 0  # the generation being (or next to be) evaluated
        self.pending: dict[int, dict[str, Any]] = {}  # rows of a cut generation, by number (resume)
        self.in_flight: dict[str, Candidate] = {}  # candidates being trained, by id
        # rows made for the store as evaluations finish, reused by the generation's commit
        self._finished_rows: dict[int, tuple[Evaluation | None, dict[str, Any]]] = {}
        self._stop = threading.Event()
        self.driver = new_driver()  # this process, the campaign's one driver (results.drivers)
        self.lost_to: str | None = None  # why another driver took the campaign over, once it did
        self.front_size = 0  # the front's size after the last generation this driver ran
        # (depth, multiply-adds per sample, epochs) of each network the last generation timed trained
        self._last_trained: list[tuple[int, int, int]] = []

    @property
    def last_generation(self) -> int:
        """The last generation committed (-1 before the first): ``evolution.generations`` once the
        campaign evolved them all, fewer where its time limit stopped it."""
        return self.next_generation - 1

    def candidate_id(self, number: int) -> str:
        return f"{self.id}-{number}"

    def _new_candidate(self, genome: Genome, generation: int, parents: list[str]) -> Candidate:
        number = self.next_number
        self.next_number += 1
        return Candidate(number, generation, genome, parents, candidate_seed(self.spec.seed, number))

    def create(self) -> str:
        """Write the campaign row (status "running") and return its id; idempotent."""
        if not self.id:
            self.id = self.store.create_campaign(self.spec.name, self.spec.model_dump(mode="json"), self.spec.seed,
                                                 driver=self.driver)
        return self.id

    def request_stop(self) -> None:
        """Ask the loop to stop at the next chunk boundary; the campaign ends as "stopped".
        Thread-safe: meant to be called from another thread (a server, a signal handler)."""
        self._stop.set()

    def check_stop(self) -> None:
        """Raise :class:`StopRequested` once a stop was requested (called between chunks), or
        :class:`connevo.errors.CampaignBusyError` once another driver took the campaign over."""
        if self.lost_to is not None:
            raise CampaignBusyError(self.lost_to)
        if self._stop.is_set():
            raise StopRequested("stop requested")

    def lose(self) -> None:
        """Called when the heartbeat finds the campaign no longer this driver's: the loop stops
        at the next chunk boundary without writing anything more."""
        self.lost_to = (f"campaign {self.id} was taken over by another process while this one ran it "
                        f"(this driver, {self.driver}, missed its heartbeats for over {STALE_AFTER_S:.0f} s); "
                        f"this process stops and leaves it to the other")

    def run(self) -> str:
        """Run (or, after :meth:`from_store`, continue) to the last generation and the final polish;
        returns the id. The campaign row is written first; each generation is committed in one
        transaction."""
        began = time.monotonic()  # evolution.time_limit counts from here: the workers' start is part of a run
        keep_freed_memory()  # variation makes and drops large columns (connevo/allocator.py)
        self.create()
        heartbeat = Heartbeat(self.store, self.id, HEARTBEAT_S, self.driver, on_lost=self.lose)
        heartbeat.start()
        try:
            return self._run(began)
        finally:
            heartbeat.stop()

    def _run(self, began: float) -> str:
        evaluator = self._evaluator or make_evaluator(self.spec, self.dataset)
        seconds = self.spec.evolution.time_limit
        limit = TimeLimit(seconds, began) if seconds is not None else None
        first = self.next_generation  # this run's first generation (a resume's: the next one)
        stop: Stop | None = None
        try:
            self._tell("on_start")
            if self.next_generation == 0:
                started = time.monotonic()
                self._timed(limit, started, self._generation(0, self._initial_population(), evaluator))
                self.next_generation = 1
            for generation in range(self.next_generation, self.spec.evolution.generations + 1):
                stop = None if limit is None else limit.stop_before(
                    generation, self._generation_estimate(), self._polish_estimate())
                if stop is not None:  # before the offspring draw: the last checkpoint is where a resume goes on
                    self._tell("on_time_limit", stop)
                    break
                self.innovations.next_generation()
                started = time.monotonic()
                self._timed(limit, started, self._generation(generation, self._offspring(generation), evaluator))
                self.next_generation = generation + 1
            self._polish(evaluator)
            if limit is not None and stop is None:
                self._tell("on_time_limit_unused", self.spec.evolution.generations + 1 - first, time.monotonic() - began)
        except StopRequested:
            self._finish("stopped", "stop requested")
            return self.id
        except CampaignBusyError:
            raise  # the campaign is another driver's now: write nothing
        except BaseException as exc:
            with interrupts_deferred():  # a second Ctrl-C waits until the campaign's end is written
                if not isinstance(exc, Exception):
                    release_interrupted(exc)
                self._finish("stopped" if isinstance(exc, KeyboardInterrupt) else "failed",
                             f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if self._evaluator is None:
                evaluator.close()
        self._finish("finished", None)
        return self.id

    def _timed(self, limit: TimeLimit | None, began: float, children: list[Candidate]) -> None:
        """With a time limit, tell it how long the generation of ``children`` took since ``began``
        (``time.monotonic``) and how long their training was estimated to take."""
        if limit is None:
            return
        # the generation's children are the archive's last entries, in order (_generation)
        archived = self.archive[len(self.archive) - len(children):]
        self._last_trained = [(*a.network, c.evaluation.epochs) for c, a in zip(children, archived)
                              if a.network is not None and c.evaluation is not None]
        limit.timed(time.monotonic() - began, self._training_seconds(self._last_trained, len(self.dataset.y_train)))

    def _generation_estimate(self) -> float:
        """The next generation's training, estimated (seconds): its children as the last generation's
        networks trained as long as those did, or after the first generation (whose networks
        trained from scratch) for the epochs of a child that inherits its parents' weights."""
        trained = self._last_trained
        if self.next_generation <= 1:
            s = self.settings
            epochs = s.inherited_epochs if s.inherit_weights and s.inherited_epochs is not None else s.epochs
            trained = [(depth, executed, epochs) for depth, executed, _ in trained]
        return self._training_seconds(trained, len(self.dataset.y_train))

    def _polish_estimate(self) -> float:
        """The final polish of the front as it stands, estimated (seconds)."""
        epochs = polish_epochs(self.spec, self.dataset)
        members = front_members(self.archive, self.scoring, self.spec.objectives.rank_accuracy_by)
        networks = [(*m.network, epochs) for m in members if m.network is not None and epochs > 0]
        return self._training_seconds(networks, polish_row_count(self.dataset, self.settings.polish_rows))

    def _training_seconds(self, networks: list[tuple[int, int, int]], rows: int) -> float:
        """The estimated training time of ``networks`` ((depth, multiply-adds per sample, epochs)
        each) trained together on ``rows`` rows (:func:`~workers.chunking.stacked_ms`)."""
        rows_per_step = max(1, min(self.settings.batch_size, rows))
        steps = math.ceil(self.settings.rows_per_epoch(rows) / rows_per_step)
        return stacked_ms(networks, rows_per_step) * steps / 1000.0

    def _polish(self, evaluator: Evaluator) -> None:
        """The final polish of the front (:mod:`evolution.polish`), unless ``training.polish_epochs``
        is 0: on the campaign's workers where ``evaluator`` offers them, else in this process."""
        self.check_stop()
        epochs = polish_epochs(self.spec, self.dataset)
        if epochs == 0:
            return
        report = polish_front(self.store, self.id, self.dataset, self.settings, epochs,
                              objectives=tuple(self.objectives), senses=tuple(self.senses),
                              on_progress=lambda done, total: self._tell("on_polish_progress", done, total),
                              evaluator=evaluator)
        if report is not None:
            self._tell("on_polish", report)

    def _tell(self, hook: str, *args: Any) -> None:
        for observer in self.observers:
            getattr(observer, hook)(self, *args)

    def _finish(self, status: str, error: str | None) -> None:
        """Tell every observer the campaign ended; one that raises does not silence the others.
        A Ctrl-C or SIGTERM meanwhile waits until they all heard it (the store writes the end)."""
        first: BaseException | None = None
        with interrupts_deferred():
            for observer in self.observers:
                try:
                    observer.on_finish(self, status, error)
                except Exception as exc:
                    first = first or exc
        if first is not None:
            raise first

    @classmethod
    def from_store(cls, store: BaseStore, id_or_name: str, *, evaluator: Evaluator | None = None,
                   observers: Sequence[CampaignObserver] = (), generations: int | None = None) -> Campaign:
        """Rebuild a stopped, failed or killed campaign from its last committed generation.

        :meth:`run` then continues with the next generation. The driver's state (population,
        archive, generator state, innovation counter, next candidate number) comes from the
        store, so the resumed campaign produces exactly what an uninterrupted one would have.
        A generation that was cut short is evaluated again from its start. A finished campaign
        that its time limit stopped before its last generation (:func:`stopped_at_time_limit`)
        goes on towards it, with the limit again. With ``generations``,
        the campaign (finished or not) is extended to that many generations
        (:mod:`evolution.extension`): the stored spec says so from the moment this driver holds it.
        """
        info = store.get_campaign(id_or_name)
        spec = parse_spec(info["spec"])
        if generations is not None:
            spec = extended_spec(spec, generations)
        elif info["status"] == "finished" and not stopped_at_time_limit(info):
            raise ConnevoError(f"campaign {info['id']} ({info['name']!r}) is already finished; "
                               f"`connevo extend {info['id']} --generations N` gives it more generations")
        campaign = cls(spec, store, evaluator=evaluator, observers=observers)
        campaign.id = info["id"]
        latest = store.latest_checkpoint(campaign.id)
        if latest is not None:
            state = latest["checkpoint"]
            campaign.rng.bit_generator.state = state["rng"]
            campaign.innovations = InnovationTracker.from_state(state["innovations"])
            campaign.next_number = int(state["next_number"])
            rows = store.candidates(campaign.id, genomes="columns")  # no Python object per gene
            rows = rows[(rows["generation"] <= latest["generation"]) & (rows["number"] >= 0)]
            # parents pass on their trained weights (inheritance) and their training's hints
            stored = [candidate_from_row(row, keep_weights=True) for row in rows.to_dict("records")]
            campaign.archive = [campaign._archived(c) for c in stored]
            survivors_ids = set(latest["population"])
            campaign.population = [c for c in stored if campaign.candidate_id(c.number) in survivors_ids]
            campaign.next_generation = latest["generation"] + 1
        campaign.pending = store.pending(campaign.id)
        # CampaignBusyError while another runs it; an extension's spec is stored only with the claim
        store.claim_campaign(campaign.id, campaign.driver, None if generations is None else spec.model_dump(mode="json"))
        return campaign

    def _initial_population(self) -> list[Candidate]:
        """The first generation, as ``search_space.start`` asks (:mod:`evolution.initial`)."""
        space = self.spec.search_space
        self.limits = search_limits(self.spec, 0)
        regularization = Regularization(weight_decay=self.spec.regularization.weight_decay,
                                        l1_ratio=self.spec.regularization.l1_ratio,
                                        dropout=self.spec.regularization.dropout)
        plan = wiring_plan(space.start_wiring, tuple(space.initial_density), self.dataset.n_features,
                           space.start, space.layout)
        data = self.dataset
        pair_scores = hidden_scores = None
        if plan.gradient or plan.scored_hidden:
            gradients = zero_weight_gradients(data.x_train, data.y_train, data.kind, self.n_outputs)
            pair_scores = gradients if plan.gradient else None
            if plan.scored_hidden:
                hidden_scores = hidden_input_scores(
                    gradients, magnitude_gradients(data.x_train, data.y_train, data.kind, self.n_outputs))
        start = InitialPopulation(
            start=space.start, n_inputs=self.dataset.n_features, n_outputs=self.n_outputs,
            density=plan.density, activation=space.activations[0], layout=space.layout,
            random_steps=space.random_start_steps, regularization=regularization,
            pair_scores=pair_scores, hidden_scores=hidden_scores,
            gradient_below=plan.gradient_below,
        )
        genomes = start.genomes(self.spec.evolution.population, self.rng, self.innovations, self.limits)
        return [self._new_candidate(genome, 0, []) for genome in genomes]

    def _offspring(self, generation: int) -> list[Candidate]:
        self.limits = search_limits(self.spec, generation)
        breeding = Breeding(self.spec, self.selection, self.rng, self.innovations, self.limits, self.candidate_id)
        return breeding.children(self.population, lambda: self.next_number,
                                 lambda genome, parents: self._new_candidate(genome, generation, parents))

    def _generation(self, generation: int, children: list[Candidate], evaluator: Evaluator) -> list[Candidate]:
        self.check_stop()
        self._tell("on_generation_start", generation, len(children))
        self.schedule.evaluate(self, children, evaluator)
        self.archive.extend(self._archived(c) for c in children)
        pool = self.population + [c for c in children if c.complete]
        self.population = survivors(pool, self.spec.evolution.population, self.selection,
                                    self.spec.budget_niches, self.rng)
        summary = summarize(generation, children, self.archive, self.scoring,
                            [self.candidate_id(c.number) for c in self.population], self.candidates_total,
                            (self.hv_reference, self.hv_ideal), self.spec.objectives.rank_accuracy_by)
        rows = [self._final_row(c) for c in children]
        self._finished_rows.clear()
        checkpoint = {"rng": self.rng.bit_generator.state, "innovations": self.innovations.state(),
                      "next_number": self.next_number}
        self.front_size = summary.front_size
        self._tell("on_generation_end", summary, rows, checkpoint)
        return children

    def _archived(self, c: Candidate) -> ArchivedScores:
        # a time limit estimates training times from the networks' shapes (TimeLimit)
        n_features = self.dataset.n_features if self.spec.evolution.time_limit is not None else None
        return ArchivedScores.of(c, self.scoring, self.spec.objectives.rank_accuracy_by, n_features)

    def rows_for(self, evaluations: list[Evaluation]) -> list[dict[str, Any]]:
        """Store rows of candidates of the running generation that just finished."""
        rows = []
        for e in evaluations:
            c = self.in_flight.get(e.candidate_id)
            if c is not None:
                row = self._row(c)
                self._finished_rows[c.number] = (c.evaluation, row)
                rows.append(row)
        return rows

    def _final_row(self, c: Candidate) -> dict[str, Any]:
        """``c``'s store row for the generation's commit: the one :meth:`rows_for` made when its
        evaluation finished, unless it has been evaluated again since (a row costs a genome's
        document and its metrics: half a millisecond a candidate)."""
        made = self._finished_rows.get(c.number)
        return made[1] if made is not None and made[0] is c.evaluation else self._row(c)

    def _row(self, c: Candidate) -> dict[str, Any]:
        return candidate_row(self.id, c, with_fidelity=self.spec.evolution.fidelity is not None,
                             pooled_share=self.scoring.pooled_share)


__all__ = ["LOSS_TIE_BREAK", "REFERENCE_COST_FACTOR", "Campaign", "Candidate", "StopRequested", "StoreRecorder",
           "Status", "candidate_seed", "load_task", "make_evaluator", "strip_weights", "training_settings"]
