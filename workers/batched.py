"""Train many genomes of different topologies at once: stacked, padded, batched matmuls.

Each candidate is compiled to a plan (:mod:`workers.plans`); candidates whose plans have the
same shape form a *bucket*, whose weights are stacked (:mod:`workers.stack`) and trained
together: one matrix product per candidate, the elementwise work stacked
(:mod:`workers.kernels`), one Adam over the stacked parameters (:mod:`workers.optim`) and the
per-candidate losses summed, so every candidate's gradient, and its Adam update, stays its own.
A candidate's metrics do not depend on which candidates share its chunk, its bucket or its
worker (the determinism argument is in :mod:`workers.kernels`); the scores and trained genomes
are read off the stack by :mod:`workers.scoring`. On CUDA a bucket's training step is captured
once per mini-batch size as a CUDA graph and replayed (:mod:`workers.step_graphs`), with the
eager steps' bits.

Randomness, per candidate: initial weights from a
``torch.Generator`` seeded with the candidate's seed (:func:`workers.plans.initial_weights`);
the mini-batch order from a second generator seeded with the seed (one ``randperm`` per epoch);
dropout masks from a counter-based hash (:func:`workers.kernels.dropout_noise`).

The data tensors, kernels, plans, stack and Adam that other modules import from here are
re-exported from their own modules.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from connevo.search_space.cost import measure
from connevo.search_space.genome import Genome
from connevo.workers import step_graphs
from connevo.workers.data_tensors import DataTensors
from connevo.workers.hints import stack_hints
from connevo.workers.kernels import Autocast, class_logits, dropout_noise, per_candidate_matmul, seed_key
from connevo.workers.merging import merged_shapes, widen
from connevo.workers.optim import Adam, flat_leaves
from connevo.workers.plans import Plan, Shape, build_plan, check_fits, padded_width, plan_shape
from connevo.workers.plans import initial_weights as _initial_values
from connevo.workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from connevo.workers.scoring import score, stack_arrays, stack_prediction_scores, trained_genome
from connevo.workers.stack import Stack

__all__ = [
    "MAX_BUCKET",
    "Adam",
    "BatchResult",
    "BatchStats",
    "DataTensors",
    "Shape",
    "check_fits",
    "class_logits",
    "dropout_noise",
    "flop_counts",
    "padded_width",
    "per_candidate_matmul",
    "plan_shape",
    "seed_key",
    "train_batched",
]

MAX_BUCKET = 128
"""Candidates trained in one stack at most (bounds memory); larger buckets are split."""


@dataclass
class BatchStats:
    """What a batched training run did: candidates, buckets, FLOPs (multiply-adds x 2)."""

    candidates: int = 0
    buckets: int = 0
    useful_flops: float = 0.0      # 2 x connections x samples (x 3 for a training step)
    executed_flops: float = 0.0    # the same over the padded matmuls actually run
    seconds: float = 0.0
    bucket_sizes: list[int] = field(default_factory=list)

    def add(self, other: BatchStats) -> None:
        self.candidates += other.candidates
        self.buckets += other.buckets
        self.useful_flops += other.useful_flops
        self.executed_flops += other.executed_flops
        self.seconds += other.seconds
        self.bucket_sizes.extend(other.bucket_sizes)


@dataclass
class BatchResult:
    evaluations: list[Evaluation]
    stats: BatchStats


def _plan(request: EvaluationRequest, n_features: int, n_outputs: int,
          settings: TrainingSettings | None = None) -> Plan:
    """:func:`workers.plans.build_plan` drawing the initial weights with this module's
    ``_initial_values`` (looked up at each call: the tests replace it to poison a candidate)."""
    return build_plan(request, n_features, n_outputs, settings, draw_weights=_initial_values)


def _evaluation(plan: Plan, status: Status, error: str | None, epochs: int, seconds: float,
                device: torch.device, **metrics: Any) -> Evaluation:
    return Evaluation(
        candidate_id=plan.request.candidate_id, status=status, error=error, epochs=epochs,
        seconds=seconds, costs=plan.costs, device=str(device), **metrics,
    )


class _BucketTraining:
    """The training of one bucket (plans of one shape): the state its epochs share.

    Stack rows are compacted as candidates diverge or stop early; ``alive`` maps each row to its
    plan index. A candidate that finished training keeps the parameters to score in ``finals``.
    """

    def __init__(self, plans: list[Plan], data: DataTensors, settings: TrainingSettings,
                 device: torch.device, stats: BatchStats, hints: bool = False) -> None:
        self.start = time.perf_counter()
        self.plans, self.data, self.settings, self.device, self.stats = plans, data, settings, device, stats
        self.hints = hints
        self.autocast = Autocast(device, settings.precision)
        self.stack = Stack.build(plans, device)
        self.n = data.x_train.shape[0]
        # per plan, what its products execute per sample: on its own shape, however padded
        self.executed = [p.product_shape.executed_per_sample(data.n_features) for p in plans]
        self.generators = [torch.Generator().manual_seed(p.request.seed) for p in plans]
        self.alive = list(range(len(plans)))        # plan index of each stack row
        self.results: dict[int, Evaluation] = {}
        self.finals: dict[int, list[torch.Tensor]] = {}   # plan index -> parameters to score
        self.epochs_run = {i: 0 for i in self.alive}
        self.finish_time: dict[int, float] = {}
        scales = None if settings.fan_in_boost == 1.0 else self.stack.fan_in_scales(settings.fan_in_boost)
        # off the CPU every per-step number is a device tensor, so a step can be a CUDA graph
        # (workers/step_graphs.py); the CPU keeps its host scalars and its bits
        on_device = step_graphs.keeps_step_numbers_on_device(device)
        self._flatten_parameters()
        self.optimizer = Adam(self.stack.parameters(), settings.learning_rate, scales=scales,
                              device_scalars=on_device, live=self.stack.live_masks())
        self.step_tensor = torch.zeros((), dtype=torch.int64, device=device) if on_device else None
        self.graphs = self._step_graphs()
        self.best: list[torch.Tensor] | None = None
        self.best_val = [math.inf] * len(plans)
        self.has_best = [False] * len(plans)
        self.stale = [0] * len(plans)
        self.step = 0

    def run(self) -> list[Evaluation]:
        """Train, score and export; one Evaluation per plan, in order."""
        for epoch in range(self.plans[0].epochs):
            if not self.alive:
                break
            epoch_loss = self._epoch()
            if epoch_loss is None:
                self._time_out(epoch)
                break
            for i in self.alive:
                self.epochs_run[i] = epoch + 1
            self._drop_diverged(epoch, epoch_loss.tolist())
            if self.settings.patience is not None and self.alive:
                self._stop_early()
        if self.alive:
            self._finish(list(range(len(self.alive))), use_best=True)
        self.graphs = None  # their memory back at once
        self._score_finished()
        self.stats.buckets += 1
        self.stats.bucket_sizes.append(len(self.plans))
        return [self.results[i] for i in range(len(self.plans))]

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _epoch(self) -> torch.Tensor | None:
        """One epoch of mini-batches; the summed loss per stack row, None past the time limit."""
        settings, stats, plans = self.settings, self.stats, self.plans
        # the first epoch_rows of each candidate's permutation: a fresh sample of the rows each epoch
        visited = settings.rows_per_epoch(self.n)
        order = torch.stack([torch.randperm(self.n, generator=g)[:visited] for g in self.generators]).to(self.device)
        epoch_loss = torch.zeros(len(self.alive), device=self.device)
        graphs = self.graphs
        for begin in range(0, visited, settings.batch_size):
            index = order[:, begin : begin + settings.batch_size]
            c, rows = index.shape
            epoch_loss += self._step(index) if graphs is None else graphs(self._step, index)
            self.step += 1
            stats.useful_flops += 3.0 * rows * sum(plans[i].useful_per_sample for i in self.alive)
            stats.executed_flops += 3.0 * rows * sum(self.executed[i] for i in self.alive)
            if self._elapsed() > settings.time_limit:
                return None
        return epoch_loss

    def _step(self, index: torch.Tensor) -> torch.Tensor:
        """One step of training on the rows ``index`` ``(C, rows)``; the per-candidate mean loss.
        Static where the device keeps its step numbers (``step_tensor``): it may be replayed as
        a CUDA graph (:mod:`workers.step_graphs`)."""
        data = self.data
        c, rows = index.shape
        # index_select of the flat rows: the same rows as x_train[index], 1.5-4x faster
        flat = index.reshape(-1)
        xb = data.x_train.index_select(0, flat).view(c, rows, -1)
        yb = data.y_train.index_select(0, flat).view(c, rows)
        with self.autocast():
            logits = self.stack.forward(xb, self.step if self.step_tensor is None else self.step_tensor)
        loss = data.loss.rows(logits.float(), yb).mean(dim=1)
        objective = loss.sum()
        if self.stack.any_penalty and not self.stack.l1_by_hand:
            objective = objective + self.stack.penalty().sum()
        objective.backward()
        if self.stack.l1_by_hand:
            self.stack.add_l1_gradients()
        self.optimizer.step()
        if self.step_tensor is not None:
            self.step_tensor.add_(1)
        return loss.detach()

    def _flatten_parameters(self) -> None:
        """On a device that runs each op as it comes (the CPU), the stack's parameters become
        views of one buffer, so that Adam updates them with one op per arithmetic step
        (:func:`workers.optim.flat_leaves`); replayed CUDA graphs launch no per-op work to save."""
        if not step_graphs.keeps_step_numbers_on_device(self.device):
            self.stack.replace_parameters(flat_leaves(self.stack.parameters()))

    def _step_graphs(self) -> step_graphs.StepGraphs | None:
        """CUDA graphs of this stack's steps where the device replays them; rebuilt when the
        stack is compacted (the graphs hold the old stack's tensors)."""
        if not step_graphs.uses_step_graphs(self.device):
            return None
        return step_graphs.StepGraphs(self.device, self.stack.parameters())

    def _time_out(self, epoch: int) -> None:
        """Every candidate still training gets a timeout."""
        message = f"training ran past the time limit of {self.settings.time_limit:g} s in epoch {epoch + 1}"
        for i in self.alive:
            self.results[i] = _evaluation(self.plans[i], Status.TIMEOUT, message, self.epochs_run[i],
                                          self._elapsed(), self.device)
        self.alive = []

    def _drop_diverged(self, epoch: int, values: list[float]) -> None:
        """Candidates whose epoch loss is not finite diverged: recorded and dropped."""
        diverged = [r for r, v in enumerate(values) if not math.isfinite(v)]
        for r in diverged:
            i = self.alive[r]
            self.results[i] = _evaluation(self.plans[i], Status.DIVERGED,
                                          f"training loss became {values[r]} in epoch {epoch + 1}", epoch + 1,
                                          self._elapsed(), self.device)
        if diverged:
            self._remove(diverged)

    def _stop_early(self) -> None:
        """Early stopping on the validation loss: keep each candidate's best parameters, stop
        those without improvement for ``settings.patience`` epochs."""
        data, stats, plans = self.data, self.stats, self.plans
        _, val_losses, _ = score(self.stack, data.x_val, data.y_val, self.autocast, loss=data.loss)
        stats.useful_flops += data.x_val.shape[0] * sum(plans[i].useful_per_sample for i in self.alive)
        stats.executed_flops += data.x_val.shape[0] * sum(self.executed[i] for i in self.alive)
        improved, stopped = [], []
        for r, v in enumerate(val_losses):
            i = self.alive[r]
            if v < self.best_val[i] - 1e-6:
                self.best_val[i], self.stale[i] = v, 0
                improved.append(r)
                self.has_best[i] = True
            else:
                self.stale[i] += 1
                if self.stale[i] >= self.settings.patience:
                    stopped.append(r)
        if improved:
            self._keep_best(improved)
        if stopped:
            self._finish(stopped, use_best=True)
            self._remove(stopped)

    def _keep_best(self, improved: list[int]) -> None:
        """Copy the current parameters of stack rows ``improved`` into the best ones."""
        params = self.stack.parameters()
        if self.best is None:
            self.best = [p.detach().clone() for p in params]
        else:
            rows_t = torch.tensor(improved, dtype=torch.long, device=self.device)
            for b, p in zip(self.best, params):
                b.index_copy_(0, rows_t, p.detach().index_select(0, rows_t))

    def _remove(self, gone: list[int]) -> None:
        """Drop the stack rows ``gone`` from training (stacked state compacted)."""
        keep = [r for r in range(len(self.alive)) if r not in set(gone)]
        if not keep:
            self.alive = []
            return
        rows = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.graphs = None  # they hold the old stack's tensors: freed before the new stack is built
        self.stack = self.stack.select(rows)
        self._flatten_parameters()
        self.optimizer = self.optimizer.select(self.stack.parameters(), rows)
        self.graphs = self._step_graphs()
        if self.best is not None:
            self.best = [b.index_select(0, rows) for b in self.best]
        self.alive = [self.alive[r] for r in keep]
        self.generators = [self.generators[r] for r in keep]

    def _finish(self, rows: list[int], use_best: bool) -> None:
        """Stack rows ``rows`` finished training: keep their parameters (best or last) to score."""
        params = self.stack.parameters()
        for r in rows:
            i = self.alive[r]
            chosen = self.best if (use_best and self.best is not None and self.has_best[i]) else params
            self.finals[i] = [t[r].detach().clone() for t in chosen]
            self.finish_time[i] = self._elapsed()

    def _score_finished(self) -> None:
        """Score every candidate that finished training, in one stack, and export its genome."""
        done = sorted(self.finals)
        if not done:
            return
        data, stats, plans, finals = self.data, self.stats, self.plans, self.finals
        full = Stack.build(plans, self.device)  # masks of every plan; parameters replaced below
        rows_t = torch.tensor(done, dtype=torch.long, device=self.device)
        params = [torch.stack([finals[i][k] for i in done]) for k in range(len(finals[done[0]]))]
        scored = full.select(rows_t, params)
        metrics = {}
        wanted = self.settings.prediction_metrics
        parts_wanted = {m.part for m in wanted}
        probabilities: dict[str, list[np.ndarray]] = {part: [] for part in parts_wanted}
        labels: dict[str, np.ndarray] = {}
        classes = max(2, data.n_classes) if data.kind == "classification" else None  # confusion matrices' size
        for part, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val),
                           ("test", data.x_test, data.y_test)):
            metrics[part] = score(scored, x, y, self.autocast, classes, probabilities.get(part), data.loss)
            if part in parts_wanted:
                labels[part] = y.cpu().numpy()
            rows_scored = x.shape[0]
            stats.useful_flops += rows_scored * sum(plans[i].useful_per_sample for i in done)
            stats.executed_flops += rows_scored * sum(self.executed[i] for i in done)
        weights, biases = stack_arrays(scored)
        # the prediction metrics of the candidates whose losses are finite (the others diverged)
        finite = [r for r in range(len(done)) if all(math.isfinite(metrics[part][1][r]) for part in metrics)]
        scores: dict[int, dict[str, float] | None] = dict.fromkeys(finite)
        if wanted:
            scores.update(zip(finite, stack_prediction_scores(
                wanted, labels, {part: [probabilities[part][r] for r in finite] for part in parts_wanted}, data.original)))
        for r, i in enumerate(done):
            accuracy = {part: metrics[part][0][r] for part in metrics}
            loss = {part: metrics[part][1][r] for part in metrics}
            seconds = plans[i].seconds + self.finish_time[i]
            if r not in scores:
                self.results[i] = _evaluation(plans[i], Status.DIVERGED, "final loss is not finite",
                                              self.epochs_run[i], seconds, self.device)
                continue
            self.results[i] = _evaluation(
                plans[i], Status.OK, None, self.epochs_run[i], seconds, self.device,
                train_accuracy=accuracy["train"], val_accuracy=accuracy["val"], test_accuracy=accuracy["test"],
                train_loss=loss["train"], val_loss=loss["val"], test_loss=loss["test"],
                trained_genome=trained_genome(plans[i], weights, biases, r),
                confusion=None if classes is None else {part: metrics[part][2][r] for part in metrics},  # type: ignore[index]
                scores=scores[r],
            )
        if self.hints:
            self._add_hints(scored, done)

    def _add_hints(self, scored: Stack, done: list[int]) -> None:
        """Structure hints on the trained genome of every candidate of ``done`` (the rows of
        ``scored``) that trained: measured on ``scored`` itself, which holds the weights its
        trained genome carries (the same hints as :func:`workers.hints.add_hints` gives it)."""
        rows = [r for r, i in enumerate(done) if self.results[i].ok and self.results[i].trained_genome is not None]
        if not rows:
            return
        stack = scored if len(rows) == len(done) else scored.select(torch.tensor(rows, device=self.device))
        hints = stack_hints([self.plans[done[r]] for r in rows], self.data, self.device, stack=stack)
        for r, hint in zip(rows, hints or []):
            i = done[r]
            genome = self.results[i].trained_genome
            assert genome is not None
            self.results[i] = replace(self.results[i], trained_genome=genome.replace(hints=hint))


def _train_bucket(plans: list[Plan], data: DataTensors, settings: TrainingSettings,
                  device: torch.device, stats: BatchStats, hints: bool = False) -> list[Evaluation]:
    """Train one bucket (plans of one shape); one Evaluation per plan, in order."""
    return _BucketTraining(plans, data, settings, device, stats, hints).run()


def flop_counts(genomes: Sequence[Genome], n_features: int, samples: int) -> tuple[float, float]:
    """(useful, executed) FLOPs of one forward pass of ``samples`` rows through each genome."""
    useful = executed = 0.0
    for genome in genomes:
        useful += 2.0 * len(genome.effective_connections) * samples
        executed += float(plan_shape(genome).executed_per_sample(n_features)) * samples
    return useful, executed


def train_batched(
    requests: Sequence[EvaluationRequest],
    data: DataTensors,
    settings: TrainingSettings,
    device: torch.device,
    hints: bool = False,
) -> BatchResult:
    """Train every request, bucketed by shape; one Evaluation each, in request order; with
    ``hints``, each trained genome carries its structure hints (:mod:`workers.hints`), measured
    on the stack its bucket was scored with.

    Failures are statuses: a candidate that raises is ``failed``, one whose loss is not finite
    ``diverged``, one past the time limit ``timeout``. A bucket whose training raises
    is retried one candidate at a time, so one bad candidate cannot fail the others.
    """
    begin = time.perf_counter()
    stats = BatchStats(candidates=len(requests))
    results: dict[int, Evaluation] = {}
    buckets: dict[tuple[Shape, int], list[tuple[int, Plan]]] = {}
    for k, request in enumerate(requests):
        start = time.perf_counter()
        try:
            plan = _plan(request, data.n_features, data.outputs_needed, settings)
        except Exception as exc:  # a failing candidate is data, not a crash of the campaign
            costs: dict = dict(request.costs or {})
            try:
                costs = costs or measure(request.genome).as_dict()
            except Exception:
                pass
            results[k] = Evaluation(
                candidate_id=request.candidate_id, status=Status.FAILED, error=f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - start, costs=costs, device=str(device),
            )
            continue
        buckets.setdefault((plan.shape, plan.epochs), []).append((k, plan))
    if device.type == "cpu" and settings.precision != "bfloat16":
        buckets = _merged(buckets, data.n_features, settings.batch_size)
    for members in buckets.values():
        for first in range(0, len(members), MAX_BUCKET):
            part = members[first : first + MAX_BUCKET]
            error: str | None = None
            try:
                done = _train_bucket([p for _, p in part], data, settings, device, stats, hints)
            except Exception as exc:
                # Only note the error here: retrying inside this block would keep the failed
                # bucket's tensors alive through the traceback (an out-of-memory bucket would
                # then fail every retry too).
                error, done = f"{type(exc).__name__}: {exc}", []
            if error is not None:
                if len(part) == 1:
                    done = [_failed(part[0][1], device, error=error)]
                else:
                    for _, plan in part:
                        try:
                            done.extend(_train_bucket([plan], data, settings, device, stats, hints))
                        except Exception as exc:
                            done.append(_failed(plan, device, exc))
            for (k, _), evaluation in zip(part, done):
                results[k] = evaluation
    stats.seconds = time.perf_counter() - begin
    return BatchResult([results[k] for k in range(len(requests))], stats)


def _merged(buckets: dict[tuple[Shape, int], list[tuple[int, Plan]]], n_features: int, rows: int
            ) -> dict[tuple[Shape, int], list[tuple[int, Plan]]]:
    """The buckets of one number of epochs with shapes merged (:mod:`workers.merging`): their
    plans padded to the merged shape, members of one own shape next to each other."""
    merged: dict[tuple[Shape, int], list[tuple[int, Plan]]] = {}
    for epochs in sorted({epochs for _, epochs in buckets}):
        shapes = [shape for shape, e in buckets if e == epochs]
        into = merged_shapes(shapes, n_features, rows)
        for shape in sorted(shapes):
            members = [(k, widen(plan, into[shape], n_features)) for k, plan in buckets[shape, epochs]]
            merged.setdefault((into[shape], epochs), []).extend(members)
    return merged


def _failed(plan: Plan, device: torch.device, exc: BaseException | None = None, error: str | None = None
            ) -> Evaluation:
    if error is None:
        exc = exc or sys.exc_info()[1]
        error = f"{type(exc).__name__}: {exc}" if exc is not None else "training failed"
    return _evaluation(plan, Status.FAILED, error, 0, plan.seconds, device)
