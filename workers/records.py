"""Immutable records that cross the boundary between the driver and the workers."""

from __future__ import annotations

import contextlib
import enum
import gc
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from connevo.search_space.genome import Genome, NodeGene
from connevo.workers.tasks import POLISH_ROWS


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (unpickling records makes thousands of small objects
    that would trigger full collections of a large heap)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def dumps(records: Any) -> bytes:
    """Records pickled for another process (genomes as columns: ``Genome.__reduce__``)."""
    with gc_paused():
        return pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """The records of :func:`dumps`, unpickled with the collector paused."""
    with gc_paused():
        return pickle.loads(data)


def detach_weights(evaluation: Evaluation, request: EvaluationRequest) -> tuple:
    """``evaluation`` to send back to the process that holds ``request``: without its trained
    genome, whose weights and biases travel as two arrays, beside its hints (:func:`attach_weights`).

    A trained genome differs from its request's genome only in connection weights, node biases
    and hints, so the receiver rebuilds it from the genome it already has.
    """
    trained = evaluation.trained_genome
    genome = request.genome
    if trained is None or not _same_structure(trained, genome):  # rewired in training: sent whole
        return evaluation, None, None, None
    biases = np.array([n.bias for n in trained.nodes], dtype=np.float64)
    return replace(evaluation, trained_genome=None), trained.table.weight, biases, trained.hints


def _same_structure(a: Genome, b: Genome) -> bool:
    """Whether two genomes have the same genes (weights and biases aside)."""
    return (len(a.table) == len(b.table) and len(a.nodes) == len(b.nodes)
            and np.array_equal(a.table.innovation, b.table.innovation)
            and all(x.id == y.id for x, y in zip(a.nodes, b.nodes)))


def attach_weights(detached: tuple, request: EvaluationRequest) -> Evaluation:
    """The evaluation of :func:`detach_weights`, its trained genome rebuilt from ``request``."""
    evaluation, weights, biases, hints = detached
    if weights is None:
        return evaluation
    genome = request.genome
    with gc_paused():  # a thousand small acyclic objects for a 784-input genome
        nodes = tuple(n if n.bias == b else _node(n, b) for n, b in zip(genome.nodes, biases.tolist()))
    trained = genome._reweighted(nodes, weights, hints)
    return replace(evaluation, trained_genome=trained)


def _node(node: NodeGene, bias: float) -> NodeGene:
    """``replace(node, bias=bias)`` without the dataclass machinery (hundreds per genome)."""
    new: Any = object.__new__(NodeGene)
    new.__dict__.update(node.__dict__)
    new.__dict__["bias"] = bias
    return new


class Status(str, enum.Enum):
    """How a candidate's evaluation ended. Failures are data: the campaign carries on."""

    OK = "ok"
    FAILED = "failed"
    DIVERGED = "diverged"
    TIMEOUT = "timeout"


def rows_per_epoch(rows: int, epoch_rows: int | None) -> int:
    """Training rows one epoch visits out of ``rows``: all of them, or ``epoch_rows`` at most."""
    return rows if epoch_rows is None else min(rows, epoch_rows)


@dataclass(frozen=True)
class TrainingSettings:
    """How every candidate of a campaign is trained (Adam, mini-batches, the loss of the task's
    kind: cross-entropy, or a regression's squared error on the standardized target)."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 0.01
    fan_in_boost: float = 1.0        # neurons of < 10 inputs learn up to this much faster (workers.stack;
                                     # a campaign's training.fan_in_boost is 3 by default)
    patience: int | None = None      # early stopping on validation loss; None = off
    time_limit: float = 300.0        # seconds per candidate
    device: str = "auto"             # "auto" (CUDA when the worker has a GPU), "cpu", "cuda"
    batched: bool = True             # train a chunk together (workers.batched); False: one at a time
    precision: Literal["float32", "bfloat16"] = "float32"  # bfloat16: autocast the matmuls
    inherit_weights: bool = False    # Lamarckian: start from the weights a genome carries
    inherited_epochs: int | None = None  # epochs of a warm-started candidate (None: epochs)
    new_weight_scale: float = 0.1    # warm start: a connection without a weight starts this small
    structure_hints: bool = True     # measure gradients of absent connections (workers.hints)
    epoch_rows: int | None = None    # most training rows an epoch visits (a fresh sample each epoch); None: all
    rewire_fraction: float = 0.0     # sparse dynamics: share of connections swapped per rewiring; 0 = off
    rewire_every: int | None = None  # epochs between two rewirings; None: a quarter of the training
    measure_latency: bool = False   # after training, time single-row inference (workers.latency)
    polish_rows: Literal["training+validation", "all"] = "training+validation"  # what the final polish trains on
    prediction_metrics: tuple[Any, ...] = ()
    """Metrics of the predicted probabilities measured after training (``results.metrics.Metric``
    with ``predictions``: ROC AUC and the user's), each on its ``part`` of the data."""

    def __post_init__(self) -> None:
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}")
        if self.polish_rows not in POLISH_ROWS:
            raise ValueError(f"polish_rows must be {POLISH_ROWS[0]!r} or {POLISH_ROWS[1]!r}, got {self.polish_rows!r}")
        if self.inherited_epochs is not None and not 0 <= self.inherited_epochs <= self.epochs:
            raise ValueError(f"inherited_epochs must be in [0, epochs={self.epochs}], got {self.inherited_epochs!r}")
        if not 1.0 <= self.fan_in_boost <= 100.0:
            raise ValueError(f"fan_in_boost must be in [1, 100], got {self.fan_in_boost!r}")
        if not 0.0 <= self.rewire_fraction < 1.0:
            raise ValueError(f"rewire_fraction must be in [0, 1), got {self.rewire_fraction!r}")
        if self.epoch_rows is not None and self.epoch_rows < 1:
            raise ValueError(f"epoch_rows must be >= 1, got {self.epoch_rows!r}")
        if self.rewire_every is not None and self.rewire_every < 1:
            raise ValueError(f"rewire_every must be >= 1, got {self.rewire_every!r}")

    def rows_per_epoch(self, rows: int) -> int:
        """Training rows one epoch visits out of ``rows``: all of them, or ``epoch_rows`` at most."""
        return rows_per_epoch(rows, self.epoch_rows)

    def warm_start(self, genome: Genome) -> bool:
        """Whether ``genome`` starts from the weights it carries: weight inheritance is on and
        one of its effective connections has a weight (a child of trained parents)."""
        return self.inherit_weights and genome.carries_weights

    def epochs_for(self, genome: Genome) -> int:
        """Epochs ``genome`` trains for: ``inherited_epochs`` when warm-started, else ``epochs``."""
        if self.warm_start(genome) and self.inherited_epochs is not None:
            return self.inherited_epochs
        return self.epochs

    def start(self, request: EvaluationRequest) -> tuple[bool, int]:
        """(warm start?, epochs) of ``request``: its own overrides, else these settings'."""
        warm = request.warm_start if request.warm_start is not None else self.warm_start(request.genome)
        epochs = request.epochs if request.epochs is not None else self.epochs_for(request.genome)
        return warm, epochs


@dataclass(frozen=True)
class EvaluationRequest:
    """One candidate to train: its id (assigned by the driver), genome and derived seed.

    ``costs``: the genome's :func:`search_space.cost.measure` as a dict when the driver already
    has it (the worker then skips measuring, which costs more than training for large
    genomes: the modularity search); None: the worker measures.

    ``epochs`` and ``warm_start`` override what the settings decide for this candidate
    (:meth:`TrainingSettings.start`): multi-fidelity training continues a promoted candidate
    from the weights of its short training for the remaining epochs.
    """

    candidate_id: str
    genome: Genome
    seed: int
    costs: dict[str, Any] | None = None
    epochs: int | None = None
    warm_start: bool | None = None


@dataclass(frozen=True)
class Evaluation:
    """What a worker returns for one candidate. Accuracies and the confusion matrices are None
    for a regression (its scores are R^2, MSE and MAE, under ``scores``); the losses are the
    training loss of the task's kind (:mod:`workers.losses`)."""

    candidate_id: str
    status: Status
    error: str | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    test_loss: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    costs: dict[str, Any] = field(default_factory=dict)
    trained_genome: Genome | None = None
    device: str = "cpu"
    confusion: dict[str, list[list[int]]] | None = None
    """Per part ("train", "val", "test"), the confusion matrix ``[true class][predicted class]``
    of the trained network: the registry's data metrics (balanced accuracy, macro F1) derive
    from it (:mod:`results.metrics`)."""

    scores: dict[str, float] | None = None
    """The prediction metrics the settings asked for (:attr:`TrainingSettings.prediction_metrics`), by name."""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def metrics(self) -> dict[str, Any]:
        """Flat metric columns (no genome), as the store keeps them."""
        skip = {"trained_genome", "costs", "candidate_id", "confusion", "scores"}
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        row["status"] = self.status.value
        row.update(self.costs)
        return row
