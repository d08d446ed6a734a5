"""The registry of metrics: every number a candidate carries, with its direction, where it comes
from, and whether a campaign may select on it.

One entry per metric is the single list that the spec's objectives, selection, the hypervolume's
reference point, sorting and front queries read (``results.pareto.OBJECTIVE_SENSES`` is derived
from it). Adding an objective that the workers already measure is one :func:`register_metric` call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connevo.errors import SpecError

Sense = Literal["max", "min"]
Source = Literal["score", "cost", "derived"]


@dataclass(frozen=True)
class Metric:
    """One metric. ``source``: "score" (measured on data by the training: an attribute of the
    evaluation), "cost" (counted on the genome: a key of the evaluation's costs) or "derived"
    (computed from others when stored, e.g. the train/validation gap). ``objective``: a campaign
    may select on it (``objectives.maximize`` / ``minimize`` by its sense); ``compute`` gives a
    metric the workers do not measure from the candidate's genome. A cost objective's
    hypervolume reference is ``reference_factor`` x its value on the fully connected
    input-to-output network; a score's reference and ideal are ``worst`` and ``best``."""

    name: str
    sense: Sense
    source: Source
    description: str
    objective: bool = False
    worst: float | None = None
    best: float | None = None
    reference_factor: float = 2.0
    compute: Callable[[Any], float] | None = None
    """For a metric the workers do not measure: its value from a candidate's genome (computed on
    the driver, stored under the candidate's ``extra``)."""


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry; returns it."""
    if not metric.name.isidentifier():
        raise ValueError(f"a metric's name must be an identifier (it is a column and a spec value), got {metric.name!r}")
    if metric.name in _REGISTRY:
        raise ValueError(f"a metric named {metric.name!r} is registered already")
    if metric.sense not in ("max", "min"):
        raise ValueError(f"metric {metric.name!r}: sense must be 'max' or 'min', got {metric.sense!r}")
    if metric.objective and metric.source == "score" and (metric.worst is None or metric.best is None):
        raise ValueError(f"score objective {metric.name!r} needs its worst and best values (the hypervolume's bounds)")
    _REGISTRY[metric.name] = metric
    return metric


def metric(name: str) -> Metric:
    """The registered metric ``name`` (a :class:`SpecError` naming the known ones otherwise)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SpecError(f"unknown metric {name!r}; known: {', '.join(_REGISTRY)}") from None


def metrics() -> tuple[Metric, ...]:
    """Every registered metric, in registration order."""
    return tuple(_REGISTRY.values())


def objective_names(sense: Sense) -> tuple[str, ...]:
    """The metrics a campaign may maximize (``"max"``) or minimize (``"min"``)."""
    return tuple(m.name for m in _REGISTRY.values() if m.objective and m.sense == sense)


class _Senses(Mapping[str, str]):
    """A live read-only view: metric name -> sense, including metrics registered later."""

    def __getitem__(self, name: str) -> str:
        return _REGISTRY[name].sense

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


SENSES: Mapping[str, str] = _Senses()
"""Every registered metric's sense by name (a live view of the registry)."""


def value_of(evaluation: Any, name: str, genome: Any = None) -> float:
    """The value of metric ``name`` for an evaluation (a score attribute or a cost), or computed
    from ``genome`` for a metric with ``compute``."""
    m = metric(name)
    if m.compute is not None:
        return float(m.compute(genome))
    if m.source == "cost":
        costs: Mapping[str, Any] = evaluation.costs
        return float(costs[name])
    return float(getattr(evaluation, name))


for _metric in (
    Metric("val_accuracy", "max", "score", "accuracy on the validation rows (selection's)", objective=True,
           worst=0.0, best=1.0),
    Metric("test_accuracy", "max", "score", "accuracy on the test rows (reported, never selected on)"),
    Metric("train_accuracy", "max", "score", "accuracy on the training rows"),
    Metric("val_loss", "min", "score", "cross-entropy on the validation rows (decides accuracy ties)"),
    Metric("test_loss", "min", "score", "cross-entropy on the test rows"),
    Metric("train_loss", "min", "score", "cross-entropy on the training rows"),
    Metric("connections", "min", "cost", "weights on an input-to-output path", objective=True),
    Metric("params", "min", "cost", "own weights + one per weight-sharing group + live biases", objective=True),
    Metric("flops", "min", "cost", "forward multiply-adds x 2 per sample", objective=True),
    Metric("wiring_length", "min", "cost", "sum of squared neuron distances over connections", objective=True),
    Metric("depth", "min", "cost", "longest input-to-output path, in connections"),
    Metric("hidden_nodes", "min", "cost", "live hidden neurons"),
    Metric("modularity", "max", "cost", "Newman's Q of the live network (Louvain, igraph)"),
    Metric("seconds", "min", "score", "training wall time"),
    Metric("train_val_gap", "min", "derived", "train_accuracy - val_accuracy"),
    Metric("train_test_gap", "min", "derived", "train_accuracy - test_accuracy"),
):
    register_metric(_metric)


__all__ = ["SENSES", "Metric", "metric", "metrics", "objective_names", "register_metric", "value_of"]
